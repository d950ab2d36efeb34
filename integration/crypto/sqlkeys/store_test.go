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
	s, err := sqlkeys.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		keystest.RunStoreTests(t, func(t *testing.T) crypto.Store { return newStore(t, d, testdb.Open(t, d)) })
	})
}

// TestTwoStoresOneDatabase runs the suite's races across two Stores on two
// connection pools, as two processes would: what serialises them is the
// database, not the Store.
func TestTwoStoresOneDatabase(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		a := newStore(t, d, db)
		b, err := sqlkeys.New(db, d)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for i := range 30 {
			ref := keystest.Ref(fmt.Sprint("pair-", i))
			errs := make(chan error, 2)
			go func() { errs <- a.Create(ctx, keystest.NewRecord(ref, 1, 0)) }()
			go func() { errs <- b.Shred(ctx, ref, time.Now()) }()
			<-errs
			<-errs
			if _, err := a.Get(ctx, ref); !errors.Is(err, crypto.ErrShredded) {
				t.Fatalf("round %d: Get after Create (store A) raced Shred (store B): %v; want ErrShredded", i, err)
			}
		}
	})
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
				b.Skipf("%s: no DSN set (see internal/testdb)", d.String())
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
		s, err := sqlkeys.New(testdb.Open(t, d), d)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(ctx, "secret\xff\xfeCANARY")
		if err == nil {
			t.Fatal("Get of an invalid ref succeeded")
		}
		// Refs are not personal data, so the store's own ErrNotFound may
		// name one; a server's message must not reach the caller.
		var se *dialect.ServerError
		switch {
		case errors.Is(err, crypto.ErrNotFound):
		case errors.As(err, &se):
			if strings.Contains(err.Error(), "CANARY") || strings.Contains(err.Error(), "0xff") {
				t.Fatalf("server error quotes the bound value: %v", err)
			}
		default:
			t.Fatalf("error %v is neither ErrNotFound nor a withheld server error", err)
		}
	})
}
