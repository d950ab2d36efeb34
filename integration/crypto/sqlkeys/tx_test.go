package sqlkeys_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/keystest"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

// host is a host's own table beside the key store, written in the same
// transactions as the keys.
type host struct {
	db     *sql.DB
	insert string
}

func hostTable(t *testing.T, d sqldialect.Dialect, db *sql.DB) host {
	t.Helper()
	blob := "BLOB"
	if d == sqldialect.Postgres {
		blob = "BYTEA"
	}
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE host_users (id VARCHAR(64) PRIMARY KEY, email "+blob+")"); err != nil {
		t.Fatal(err)
	}
	return host{db: db, insert: dialect.Of(d).Rebind("INSERT INTO host_users (id, email) VALUES (?, ?)")}
}

func (h host) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := h.db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM host_users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func begin(t *testing.T, db *sql.DB) *sql.Tx {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return tx
}

func mustGet(t *testing.T, s crypto.Store, ref, what string) crypto.Record {
	t.Helper()
	r, err := s.Get(t.Context(), ref)
	if err != nil {
		t.Fatalf("%s: Get: %v; want the live record", what, err)
	}
	return r
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: %v; want an error wrapping %v", what, err, target)
	}
}

// The view of Store.Tx writes in the caller's transaction: what it writes
// is seen in the transaction at once, by others only after the commit,
// and never after a rollback.
func TestTxCommitAndRollback(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		db := testdb.Open(t, d)
		s := newStore(t, d, db)
		alice := keystest.NewRecord(keystest.Ref("alice"), 1, 0)

		tx := begin(t, db)
		v := s.Tx(tx)
		if err := v.Create(ctx, alice); err != nil {
			t.Fatalf("Create in the transaction: %v", err)
		}
		if got := mustGet(t, v, alice.Ref, "in the transaction, after Create"); got.Version != 1 || got.KEK != alice.KEK {
			t.Errorf("Get in the transaction = version %d, KEK %q; want the record created", got.Version, got.KEK)
		}
		if recs, err := v.List(ctx, "", 10); err != nil || len(recs) != 1 {
			t.Errorf("List in the transaction = %d records, %v; want the one created in it", len(recs), err)
		}
		_, err := s.Get(ctx, alice.Ref)
		wantErr(t, err, crypto.ErrNotFound, "Get on the pool of a key created in an open transaction")
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		mustGet(t, s, alice.Ref, "on the pool after the commit")

		// A shred in a transaction that rolls back leaves the key live.
		tx = begin(t, db)
		v = s.Tx(tx)
		if err := v.Shred(ctx, alice.Ref, time.Now()); err != nil {
			t.Fatal(err)
		}
		_, err = v.Get(ctx, alice.Ref)
		wantErr(t, err, crypto.ErrShredded, "Get in the transaction after Shred in it")
		if _, err := v.(crypto.TombstoneReader).Tombstone(ctx, alice.Ref); err != nil {
			t.Errorf("Tombstone in the transaction after Shred in it: %v", err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		mustGet(t, s, alice.Ref, "on the pool after a rolled-back Shred")

		// A key created and rotated in a transaction that rolls back never
		// existed.
		bob := keystest.NewRecord(keystest.Ref("bob"), 1, 0)
		tx = begin(t, db)
		v = s.Tx(tx)
		if err := v.Create(ctx, bob); err != nil {
			t.Fatal(err)
		}
		if err := v.Update(ctx, keystest.NewRecord(bob.Ref, 2, 1)); err != nil {
			t.Fatalf("Update in the transaction of a key created in it: %v", err)
		}
		if got := mustGet(t, v, bob.Ref, "in the transaction after Update"); got.Version != 2 {
			t.Errorf("Version after Update in the transaction = %d, want 2", got.Version)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(ctx, bob.Ref)
		wantErr(t, err, crypto.ErrNotFound, "Get on the pool of a key created in a rolled-back transaction")

		// Shred and Revive in one committed transaction.
		back := keystest.NewRecord(alice.Ref, 3, 2)
		tx = begin(t, db)
		v = s.Tx(tx)
		if err := v.Shred(ctx, alice.Ref, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := v.Revive(ctx, back); err != nil {
			t.Fatalf("Revive in the transaction: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, alice.Ref, "on the pool after Shred and Revive committed"); got.Version != 1 || string(got.Wrapped) != string(back.Wrapped) {
			t.Errorf("Get after Shred and Revive committed = version %d; want the revived record at version 1", got.Version)
		}
	})
}

// A write the view refuses (ErrConflict, ErrShredded, ErrNotFound,
// ErrInvalid) leaves the caller's transaction as it was and usable, on
// PostgreSQL too, where a failed statement would abort it: the host's own
// writes in it, before and after, commit.
func TestTxRefusalLeavesTxUsable(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		db := testdb.Open(t, d)
		s := newStore(t, d, db)
		h := hostTable(t, d, db)
		alice := keystest.NewRecord(keystest.Ref("alice"), 1, 0)
		if err := s.Create(ctx, alice); err != nil {
			t.Fatal(err)
		}
		bob := keystest.Ref("bob")
		if err := s.Shred(ctx, bob, time.Now()); err != nil {
			t.Fatal(err)
		}

		tx := begin(t, db)
		v := s.Tx(tx)
		if _, err := tx.ExecContext(ctx, h.insert, "u1", []byte{1}); err != nil {
			t.Fatal(err)
		}
		stale := keystest.NewRecord(alice.Ref, 2, 1)
		stale.Version = 7
		for _, c := range []struct {
			what   string
			err    error
			target error
		}{
			{"Create of a live Ref", v.Create(ctx, alice), crypto.ErrConflict},
			{"Create of a shredded Ref", v.Create(ctx, keystest.NewRecord(bob, 1, 0)), crypto.ErrShredded},
			{"Update from a stale Version", v.Update(ctx, stale), crypto.ErrConflict},
			{"Update of a shredded Ref", v.Update(ctx, keystest.NewRecord(bob, 1, 0)), crypto.ErrShredded},
			{"Update of an unknown Ref", v.Update(ctx, keystest.NewRecord(keystest.Ref("nobody"), 1, 0)), crypto.ErrNotFound},
			{"Revive of a live Ref", v.Revive(ctx, alice), crypto.ErrConflict},
			{"Create with an empty Ref", v.Create(ctx, crypto.Record{}), crypto.ErrInvalid},
		} {
			wantErr(t, c.err, c.target, c.what+" in the transaction")
			var ce *crypto.Error
			if !errors.As(c.err, &ce) {
				t.Errorf("%s in the transaction: %v is not a *crypto.Error", c.what, c.err)
			}
		}
		if _, err := tx.ExecContext(ctx, h.insert, "u2", []byte{2}); err != nil {
			t.Fatalf("the host's insert after the refused writes: %v; want the transaction usable", err)
		}
		carol := keystest.NewRecord(keystest.Ref("carol"), 1, 0)
		if err := v.Create(ctx, carol); err != nil {
			t.Fatalf("Create after the refused writes: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("Commit after the refused writes: %v", err)
		}
		if n := h.count(t); n != 2 {
			t.Errorf("%d host rows after the commit, want 2", n)
		}
		mustGet(t, s, carol.Ref, "on the pool, the key created after the refused writes")
		if got := mustGet(t, s, alice.Ref, "on the pool, the live key the refused writes met"); got.Version != 1 || got.KEK != alice.KEK {
			t.Errorf("the refused writes changed the live key: version %d, KEK %q", got.Version, got.KEK)
		}
	})
}

// A key another process commits after the transaction's snapshot: an
// insert through the view meets it and reports ErrConflict, and a Get
// through the view then finds it (a locking read on MySQL, whose plain
// reads see the snapshot), so the Keyring uses the winner's key.
func TestTxSeesKeyCommittedAfterSnapshot(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		if d == sqldialect.SQLite {
			t.Skip("SQLite has one writer: another connection cannot commit while the transaction holds the write lock")
		}
		ctx := t.Context()
		db := testdb.Open(t, d)
		s := newStore(t, d, db)
		other := otherStore(t, d, testdb.Reopen(t, d, db))
		ref := keystest.Ref("first-use")

		tx := begin(t, db)
		v := s.Tx(tx)
		_, err := v.Get(ctx, ref)
		wantErr(t, err, crypto.ErrNotFound, "Get in the transaction before the other process creates the key")
		winner := keystest.NewRecord(ref, 1, 0)
		if err := other.Create(ctx, winner); err != nil {
			t.Fatal(err)
		}
		wantErr(t, v.Create(ctx, keystest.NewRecord(ref, 2, 0)), crypto.ErrConflict,
			"Create in the transaction of a key committed after its snapshot")
		got := mustGet(t, v, ref, "in the transaction, after its Create met the other's key")
		if string(got.Wrapped) != string(winner.Wrapped) {
			t.Errorf("Get in the transaction returned another keyset than the one committed")
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	})
}

// Tx(nil) refuses every call with ErrInvalid, Field "tx".
func TestTxNil(t *testing.T) {
	s, err := sqlkeys.New(testdb.Open(t, sqldialect.SQLite), sqldialect.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	v := s.Tx(nil)
	ctx := context.Background()
	r := keystest.NewRecord(keystest.Ref("a"), 1, 0)
	errs := []error{
		func() error { _, err := v.Get(ctx, r.Ref); return err }(),
		v.Create(ctx, r), v.Update(ctx, r), v.Shred(ctx, r.Ref, time.Now()), v.Revive(ctx, r),
		func() error { _, err := v.List(ctx, "", 1); return err }(),
		func() error { _, err := v.(crypto.TombstoneReader).Tombstone(ctx, r.Ref); return err }(),
	}
	for i, err := range errs {
		var ce *crypto.Error
		if !errors.As(err, &ce) || ce.Field != "tx" || !errors.Is(err, crypto.ErrInvalid) {
			t.Errorf("call %d on Tx(nil): %v; want *crypto.Error{Field: \"tx\"} wrapping crypto.ErrInvalid", i, err)
		}
	}
}

// At REPEATABLE READ on PostgreSQL, an insert through the view that meets a
// key committed after the transaction's snapshot fails with a
// serialization failure (SQLSTATE 40001), as Store.Tx documents: the
// caller retries its transaction, which then sees the key.
func TestTxRepeatableReadOnPostgres(t *testing.T) {
	ctx := t.Context()
	d := sqldialect.Postgres
	db := testdb.Open(t, d)
	s := newStore(t, d, db)
	other := otherStore(t, d, testdb.Reopen(t, d, db))
	ref := keystest.Ref("first-use")
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	v := s.Tx(tx)
	_, err = v.Get(ctx, ref) // takes the snapshot
	wantErr(t, err, crypto.ErrNotFound, "Get in the transaction before the other process creates the key")
	if err := other.Create(ctx, keystest.NewRecord(ref, 1, 0)); err != nil {
		t.Fatal(err)
	}
	err = v.Create(ctx, keystest.NewRecord(ref, 2, 0))
	var se *dialect.ServerError
	if !errors.As(err, &se) || se.Code != "SQLSTATE 40001" {
		t.Errorf("Create at REPEATABLE READ of a key committed after the snapshot: %v; want a serialization failure (SQLSTATE 40001)", err)
	}
}
