package sqlkeys

import (
	"context"
	"database/sql"
	"time"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
)

// Tx returns a crypto.Store (and crypto.TombstoneReader) that runs every
// query in tx, a transaction the caller began on the Store's *sql.DB: a
// key created through it commits or rolls back with the host's own writes.
// Give it to crypto.Keyring.In, whose Encrypt then creates a new subject's
// key in the host's transaction:
//
//	tx, err := db.BeginTx(ctx, nil)
//	…
//	ct, err := ring.In(keys.Tx(tx)).Encrypt(ctx, subject, email, plaintext)
//	_, err = tx.ExecContext(ctx, "INSERT INTO users (id, email) VALUES (?, ?)", subject, ct)
//	err = tx.Commit()
//
// That matters on SQLite, which has one writer at a time: while tx holds
// the write lock, a key created on another connection (a plain
// Keyring.Encrypt) waits for tx to end, and fails when the busy timeout
// expires. On PostgreSQL and MySQL a plain Encrypt inside the host's
// transaction works, but its key outlives a rollback.
//
// The view never commits or rolls back tx, and never retries: a deadlock
// or serialization failure is returned (its code kept, the server's
// message withheld), and the caller retries its whole transaction. A refused write —
// ErrConflict, ErrShredded, ErrNotFound — leaves tx as it was and usable on
// every database: on PostgreSQL, where a failed statement aborts the
// transaction, an insert into a Ref that has a row is INSERT … ON CONFLICT
// DO NOTHING, which fails no statement; MySQL and SQLite roll back only the
// failed statement. Any other database error aborts tx on PostgreSQL, as
// every failed statement does there.
//
// Reads see what tx sees: its own writes, and others' as its isolation
// level allows, with one exception that crypto-shredding needs: a live key
// is never taken from a snapshot older than a Shred that has returned. A
// Get that finds a live key reads it as committed now, with a locking
// read: FOR SHARE on PostgreSQL (one statement), and on MySQL, whose plain
// reads in a transaction see its snapshot (REPEATABLE READ, the default),
// a second read LOCK IN SHARE MODE after the plain one (a locking read of
// a missing row would take a gap lock, on which two transactions creating
// keys would deadlock). So a Decrypt through the view after a Shred
// returned finds the tombstone, even if tx began before it. At REPEATABLE
// READ or SERIALIZABLE on PostgreSQL, that read of a key changed since
// tx's snapshot fails with a serialization failure instead (SQLSTATE
// 40001, which aborts tx: retry the transaction). The share lock, on that
// key's row alone, is held until tx ends: a Shred, Rotate or Rewrap of
// that key waits for the host's transaction, and then happens after it.
//
// Likewise on MySQL, the row that refused an insert or update is read with
// a locking read, and after a refused insert so is every later Get of that
// Ref through the view: a key another process created after tx's snapshot
// is then found (the Keyring uses it) instead of staying invisible. At
// REPEATABLE READ or SERIALIZABLE on PostgreSQL, an insert that meets a
// key committed after tx's snapshot fails with a serialization failure
// (SQLSTATE 40001: retry the transaction). On SQLite, begin tx with BEGIN
// IMMEDIATE (modernc.org/sqlite: _txlock=immediate in the DSN): it holds
// the write lock, so no Shred commits while tx is open. A deferred
// transaction that has already read may fail with SQLITE_BUSY when the
// view first writes, and it keeps the snapshot of its first read: SQLite
// has no locking read, so a key shredded since then is still found in it.
//
// Writes take row locks in tx that are held until it ends: a key created
// in tx is invisible to other connections, and another Create of the same
// Ref waits for tx, until then. Keep such transactions short.
//
// Like tx itself, the view is for one goroutine at a time. With a nil tx,
// every method returns an error wrapping crypto.ErrInvalid (Field "tx").
func (s *Store) Tx(tx *sql.Tx) crypto.Store {
	if tx == nil {
		return nilTx{}
	}
	v := view{q: &s.q, r: txRunner{s.b.Stmt, tx}, tx: true}
	if s.q.getLocked != s.q.get {
		v.met = &refSet{}
	}
	return txStore{v}
}

// txStore is the Store's view in a caller's transaction.
type txStore struct{ view }

var (
	_ crypto.Store           = txStore{}
	_ crypto.TombstoneReader = txStore{}
	_ crypto.Store           = nilTx{}
	_ crypto.TombstoneReader = nilTx{}
)

// txRunner runs the Store's statements in tx, on their prepared statements
// where the Store prepares.
type txRunner struct {
	st *sqlstmt.Cache
	tx *sql.Tx
}

func (r txRunner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return r.st.TxExec(ctx, r.tx, q, args...)
}

func (r txRunner) queryRow(ctx context.Context, q string, args ...any) sqlstmt.Row {
	return r.st.TxQueryRow(ctx, r.tx, q, args...)
}

func (r txRunner) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return r.st.TxQuery(ctx, r.tx, q, args...)
}

// nilTx is the view of Tx(nil): every call is refused.
type nilTx struct{}

func errNilTx(op string) error { return errOf(op, "tx", crypto.ErrInvalid, "nil transaction") }

func (nilTx) Get(context.Context, string) (crypto.Record, error) {
	return crypto.Record{}, errNilTx("get")
}
func (nilTx) Create(context.Context, crypto.Record) error    { return errNilTx("create") }
func (nilTx) Update(context.Context, crypto.Record) error    { return errNilTx("update") }
func (nilTx) Shred(context.Context, string, time.Time) error { return errNilTx("shred") }
func (nilTx) Revive(context.Context, crypto.Record) error    { return errNilTx("revive") }
func (nilTx) List(context.Context, string, int) ([]crypto.Record, error) {
	return nil, errNilTx("list")
}
func (nilTx) Refs(context.Context, string, int) ([]string, error) {
	return nil, errNilTx("refs")
}
func (nilTx) Tombstone(context.Context, string) (time.Time, error) {
	return time.Time{}, errNilTx("tombstone")
}
