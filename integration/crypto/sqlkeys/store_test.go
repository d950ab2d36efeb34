package sqlkeys_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/keystest"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

func newStore(t testing.TB, d sqldialect.Dialect, db *sql.DB) *sqlkeys.Store {
	t.Helper()
	return testdb.Migrated(t, d, db, sqlkeys.New)
}

func TestConformance(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		keystest.RunStoreTests(t, func(t *testing.T) (s, other crypto.Store) {
			return testdb.Pair(t, d, sqlkeys.New)
		})
	})
}

// otherStore returns a Store over db without migrating: the first handle
// did.
func otherStore(t testing.TB, d sqldialect.Dialect, db *sql.DB) *sqlkeys.Store {
	t.Helper()
	s, err := sqlkeys.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestErrors checks the typed errors, the invalid inputs, that an empty
// keyset is stored as such, and that a duplicate key becomes a condition
// error without the driver's text (MySQL: "Duplicate entry '…' for key …").
func TestErrors(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s := newStore(t, d, testdb.Open(t, d))
		r := keystest.NewRecord(keystest.Ref("alice"), 1, 0)
		r.Wrapped = []byte("CANARY-KEY-MATERIAL")
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		bad := r
		bad.Version = 7
		for what, err := range map[string]error{
			"duplicate Create":     s.Create(ctx, r),
			"Revive of a live key": s.Revive(ctx, r),
			"stale Update":         s.Update(ctx, bad),
		} {
			var ce *crypto.Error
			if !errors.Is(err, crypto.ErrConflict) || !errors.As(err, &ce) {
				t.Errorf("%s: %v; want a *crypto.Error wrapping crypto.ErrConflict", what, err)
				continue
			}
			msg := strings.ToLower(err.Error())
			if strings.Contains(msg, "canary") || strings.Contains(msg, "duplicate") || strings.Contains(msg, "unique") {
				t.Errorf("%s: error %q quotes key material or the driver's text; want neither", what, err)
			}
		}
		if err := s.Shred(ctx, r.Ref, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, r); !errors.Is(err, crypto.ErrShredded) || strings.Contains(strings.ToLower(err.Error()), "duplicate") {
			t.Errorf("Create after Shred: %v; want crypto.ErrShredded without the driver's text", err)
		}
		for what, err := range map[string]error{
			"Create with an empty Ref":   s.Create(ctx, crypto.Record{KEK: "k"}),
			"Create with a 256-byte Ref": s.Create(ctx, crypto.Record{Ref: strings.Repeat("a", 256), KEK: "k"}),
			"Shred of an empty Ref":      s.Shred(ctx, "", time.Now()),
			"Revive with an empty Ref":   s.Revive(ctx, crypto.Record{}),
			"List with a negative limit": func() error { _, err := s.List(ctx, "", -1); return err }(),
			"Refs with a negative limit": func() error { _, err := s.Refs(ctx, "", -1); return err }(),
		} {
			if !errors.Is(err, crypto.ErrInvalid) {
				t.Errorf("%s: %v; want crypto.ErrInvalid", what, err)
			}
		}
		long := keystest.NewRecord(strings.Repeat("f", sqlkeys.MaxRefLen), 1, 0)
		long.Wrapped = nil
		if err := s.Create(ctx, long); err != nil {
			t.Fatalf("Create with a %d-byte Ref and no Wrapped bytes: %v", sqlkeys.MaxRefLen, err)
		}
		if got, err := s.Get(ctx, long.Ref); err != nil || len(got.Wrapped) != 0 || got.KEK != long.KEK {
			t.Errorf("Get of a record with no Wrapped bytes = %x, %q, %v; want it stored as created", got.Wrapped, got.KEK, err)
		}
	})
}

// BenchmarkGet compares Get (a prepared primary-key lookup of 10,000 rows,
// in random order) with a raw prepared "SELECT 1" round trip on the same
// *sql.DB, on every available database.
func BenchmarkGet(b *testing.B) {
	for _, d := range testdb.All() {
		b.Run(d.String(), func(b *testing.B) {
			if !testdb.Available(d) {
				b.Skipf("%s: no DSN set (see integration/testdb)", d.String())
			}
			const n = 10_000
			ctx := context.Background()
			db := testdb.Open(b, d)
			s := newStore(b, d, db)
			refs := make([]string, n)
			for i := range refs {
				refs[i] = keystest.Ref(fmt.Sprint("subject-", i))
			}
			// Load in one transaction: 10,000 autocommits are slow.
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			ins := dialect.Of(d).Rebind("INSERT INTO gdpr_crypto_keys (ref, wrapped, kek, version, created_us, updated_us) VALUES (?, ?, ?, 1, 0, 0)")
			for i, ref := range refs {
				r := keystest.NewRecord(ref, i, 0)
				if _, err := tx.ExecContext(ctx, ins, r.Ref, r.Wrapped, r.KEK); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })

			b.Run("sqlkeys", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					r, err := s.Get(ctx, refs[i%n])
					if err != nil || len(r.Wrapped) == 0 {
						b.Fatalf("Get: %v", err)
					}
					i++
				}
			})
			b.Run("select1-baseline", func(b *testing.B) {
				st, err := db.PrepareContext(ctx, "SELECT 1")
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				b.ReportAllocs()
				for b.Loop() {
					var one int
					if err := st.QueryRowContext(ctx).Scan(&one); err != nil || one != 1 {
						b.Fatalf("SELECT 1: %v", err)
					}
				}
			})
		})
	}
}

// A server error that would quote the bound value (PostgreSQL rejects
// invalid UTF-8 and says which bytes) reaches the caller with its message
// withheld.
func TestServerErrorsWithheld(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := context.Background()
		s := newStore(t, d, testdb.Open(t, d))
		_, err := s.Get(ctx, "secret\xff\xfeCANARY")
		if err == nil {
			t.Fatal("Get of an invalid ref succeeded")
		}
		if strings.Contains(err.Error(), "CANARY") || strings.Contains(err.Error(), "0xff") {
			t.Fatalf("error quotes the bound value: %v", err)
		}
		var se *dialect.ServerError
		if !errors.Is(err, crypto.ErrNotFound) && !errors.As(err, &se) {
			t.Fatalf("error %v is neither ErrNotFound nor a withheld server error", err)
		}
	})
}

// Error texts are in the package shape, "crypto <op>: <field>: <cause>",
// name the package once, and never carry the Ref: a Ref is a stable
// pseudonym of a subject (tombstones are keyed by it long after their
// erasure), so it stays out of error texts and logs, as in memkeys.
func TestErrorTexts(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s := newStore(t, d, testdb.Open(t, d))
		ref := keystest.Ref("alice")
		r := keystest.NewRecord(ref, 1, 0)
		_, getErr := s.Get(ctx, ref)
		_, tombErr := s.Tombstone(ctx, ref)
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		bad := r
		bad.Version = 5
		createErr, updateErr, reviveErr := s.Create(ctx, r), s.Update(ctx, bad), s.Revive(ctx, r)
		shredded := keystest.Ref("bob")
		if err := s.Shred(ctx, shredded, time.Now()); err != nil {
			t.Fatal(err)
		}
		_, getShredErr := s.Get(ctx, shredded)
		_, listErr := s.List(ctx, "", -1)
		var nilCtx context.Context
		_, nilCtxErr := s.Get(nilCtx, ref)
		_, nilTxErr := s.Tx(nil).Get(ctx, ref)
		for _, c := range []struct {
			err  error
			want string
		}{
			{getErr, "crypto get: ref: not found"},
			{tombErr, "crypto tombstone: ref: not found: no tombstone"},
			{createErr, "crypto create: ref: conflict: a live key exists"},
			{updateErr, "crypto update: ref: conflict: stored version differs"},
			{reviveErr, "crypto revive: ref: conflict: a live key exists"},
			{getShredErr, "crypto get: ref: key shredded"},
			{s.Create(ctx, keystest.NewRecord(shredded, 1, 0)), "crypto create: ref: key shredded"},
			{s.Update(ctx, keystest.NewRecord(keystest.Ref("carol"), 1, 0)), "crypto update: ref: not found"},
			{s.Create(ctx, crypto.Record{}), "crypto create: ref: invalid input: a ref is 1 to 255 bytes"},
			{listErr, "crypto list: limit: invalid input: negative limit"},
			{nilCtxErr, "crypto get: ctx: invalid input: nil context"},
			{nilTxErr, "crypto get: tx: invalid input: nil transaction"},
		} {
			if c.err == nil || c.err.Error() != c.want {
				t.Errorf("error %v; want %q", c.err, c.want)
				continue
			}
			var ce *crypto.Error
			if !errors.As(c.err, &ce) {
				t.Errorf("error %q is not a *crypto.Error", c.err)
			}
			for _, leak := range []string{ref[:16], shredded[:16], "sqlkeys"} {
				if strings.Contains(c.err.Error(), leak) {
					t.Errorf("error %q contains %q: no Ref, and the package named once", c.err, leak)
				}
			}
		}
	})
}

// txAndTombstone is what Store.Tx returns.
type txAndTombstone interface {
	crypto.Store
	crypto.TombstoneReader
}

// A nil context is an error (Field "ctx") wrapping crypto.ErrInvalid,
// never a panic, in every method, on the pool and in a transaction.
func TestNilContext(t *testing.T) {
	db := testdb.Open(t, sqldialect.SQLite)
	s := newStore(t, sqldialect.SQLite, db)
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	view, ok := s.Tx(tx).(txAndTombstone)
	if !ok {
		t.Fatal("Store.Tx does not return a crypto.TombstoneReader")
	}
	var nilCtx context.Context
	r := keystest.NewRecord(keystest.Ref("a"), 1, 0)
	for name, v := range map[string]txAndTombstone{"Store": s, "Tx": view} {
		for op, call := range map[string]func() error{
			"get":       func() error { _, err := v.Get(nilCtx, r.Ref); return err },
			"create":    func() error { return v.Create(nilCtx, r) },
			"update":    func() error { return v.Update(nilCtx, r) },
			"shred":     func() error { return v.Shred(nilCtx, r.Ref, time.Now()) },
			"revive":    func() error { return v.Revive(nilCtx, r) },
			"list":      func() error { _, err := v.List(nilCtx, "", 1); return err },
			"refs":      func() error { _, err := v.Refs(nilCtx, "", 1); return err },
			"tombstone": func() error { _, err := v.Tombstone(nilCtx, r.Ref); return err },
		} {
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s: %s with a nil context panicked: %v", name, op, p)
					}
				}()
				err = call()
			}()
			var ce *crypto.Error
			if !errors.As(err, &ce) || ce.Op != op || ce.Field != "ctx" || !errors.Is(err, crypto.ErrInvalid) {
				t.Errorf("%s: %s with a nil context: %v; want *crypto.Error{Op: %q, Field: \"ctx\"} wrapping crypto.ErrInvalid", name, op, err, op)
			}
		}
	}
}
