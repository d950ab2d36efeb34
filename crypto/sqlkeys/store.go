package sqlkeys

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

//go:embed migrations
var migrationFS embed.FS

var schema = sqlbase.Schema{Package: "sqlkeys", Component: "crypto", FS: migrationFS, ErrInvalid: crypto.ErrInvalid,
	Error: func(op, field string, err error) error { return &crypto.Error{Op: op, Field: field, Err: err} }}

// MaxRefLen is the longest Ref, in bytes, that a Store accepts (the width of
// the ref column on MySQL). The Keyring's Refs are 64 bytes.
const MaxRefLen = 255

// Store is a crypto.Store in a SQL database. It is safe for concurrent use
// by many goroutines and by many processes sharing the database. It is
// also a crypto.TombstoneReader, a crypto.BatchUpdater and a
// crypto.BatchGetter, and Tx gives a view of it that runs in the caller's
// transaction.
type Store struct {
	b *sqlbase.Base
	q queries
	v view // the Store's methods, on the pool
}

var (
	_ crypto.Store           = (*Store)(nil)
	_ crypto.TombstoneReader = (*Store)(nil)
	_ crypto.BatchUpdater    = (*Store)(nil)
	_ crypto.BatchGetter     = (*Store)(nil)
)

// Option configures a Store. The SQL stores of the module share it: an
// option means the same in sqlconsent, sqlkeys and sqlaudit.
type Option = sqlbase.Option

// WithTablePrefix sets the prefix of the Store's table name: table
// <prefix>crypto_keys, and the version table <prefix>schema_version that
// Migrate shares with the module's other stores of the same prefix. It
// must match ^[a-z_][a-z0-9_]{0,39}$. Default: "gdpr_".
func WithTablePrefix(p string) Option { return sqlbase.WithTablePrefix(p) }

// New returns a Store over db, a database of dialect d. It does not touch the
// database; call Migrate once at start-up (or apply Migrations with your own
// tool) before use. The *sql.DB stays the caller's to close. A nil db, an
// unknown dialect or a bad option is an error wrapping crypto.ErrInvalid.
//
// For SQLite, open db with a busy timeout, e.g.
// "file:keys.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
// with modernc.org/sqlite, so concurrent writers wait instead of failing.
// For MySQL, leave the driver's clientFoundRows parameter off (its default).
func New(db *sql.DB, d sqldialect.Dialect, opts ...Option) (*Store, error) {
	b, err := schema.Open(db, d, opts...)
	if err != nil {
		return nil, err
	}
	s := &Store{b: b, q: buildQueries(b.D, b.Table("crypto_keys"))}
	s.v = view{q: &s.q, r: poolRunner{b.Stmt}}
	return s, nil
}

// Migrate creates or updates the Store's table. It is idempotent and safe
// to run from several processes at once, and behind PgBouncer.
func (s *Store) Migrate(ctx context.Context) error { return s.b.Migrate(ctx) }

// Close releases the Store's prepared statements. The *sql.DB stays open:
// it is the caller's to close. A Store may be used after Close; it prepares
// its statements again. Call it when no call on the Store is in flight.
func (s *Store) Close() error { return s.b.Close() }

// Migrations returns the Store's schema for dialect d with the given table
// prefix, as versioned files (0001_crypto_keys.sql, …), for hosts that apply
// migrations with their own tool (goose, golang-migrate, atlas). Each file
// holds plain statements separated by ";" at line ends.
func Migrations(d sqldialect.Dialect, prefix string) (fs.FS, error) {
	return schema.Migrations(d, prefix)
}

type queries struct {
	get, state, create, update, shred, revive, list, refs string
	// stateLocked and getLocked are state and get as locking reads on
	// MySQL, whose plain reads in a transaction see its snapshot: after a
	// refused write, the row that refused it is read as it is now. The
	// same as state and get elsewhere.
	stateLocked, getLocked string
	// getTx is get in a caller's transaction: on PostgreSQL a locking
	// read (FOR SHARE), which reads the row as committed now (or, at
	// REPEATABLE READ, fails with a serialization failure if it changed
	// since the snapshot) and takes no lock where there is no row. The
	// same as get elsewhere.
	getTx string
	// relock: in a caller's transaction, a live row found by a plain read
	// is read again with getLocked (MySQL): its snapshot may predate a
	// Shred. The first read is plain because a locking read of a missing
	// row would take a gap lock, and two transactions creating keys would
	// deadlock on it; a row that exists is locked alone.
	relock bool
	// createQuiet is create without an error for a Ref that has a row:
	// INSERT … ON CONFLICT DO NOTHING, which reports 0 rows instead. Used
	// in a caller's transaction on PostgreSQL, where a failed statement
	// aborts the transaction. Empty on the other databases, which roll
	// back only the failed statement.
	createQuiet string
	// shredTwice: the shred statement binds its time twice (MySQL).
	shredTwice bool
	// updateMany is update over arrays (PostgreSQL): one statement for a
	// whole batch, returning the Refs it updated. Empty elsewhere, where
	// UpdateMany runs update once per record in one transaction.
	updateMany string
	// getManyArray is GetMany's read over an array (PostgreSQL): one
	// statement per MaxBatch Refs. Empty elsewhere, where getManyIn[k]
	// reads inSizes[k] Refs with an IN list.
	getManyArray string
	getManyIn    [len(inSizes)]string
}

// inSizes are the sizes of GetMany's prepared "ref IN (…)" lists on MySQL
// and SQLite: a chunk of Refs takes the smallest that holds it, padded
// with a repeated Ref, so each connection prepares at most len(inSizes)
// statements.
var inSizes = [...]int{1, 2, 4, 8, 16, 32, 64, 128, 256}

const liveCols = "wrapped, kek, version, created_us, updated_us"

func buildQueries(d dialect.Dialect, t string) queries {
	q := queries{
		get:   d.Rebind("SELECT " + liveCols + ", shredded_us FROM " + t + " WHERE ref = ?"),
		state: d.Rebind("SELECT shredded_us FROM " + t + " WHERE ref = ?"),
		// A plain INSERT: the primary key refuses a second row for a Ref,
		// live or tombstone, and the loser reads which it met.
		create: d.Rebind("INSERT INTO " + t + " (ref, " + liveCols + ") VALUES (?, ?, ?, 1, ?, ?)"),
		update: d.Rebind("UPDATE " + t + " SET wrapped = ?, kek = ?, version = version + 1, updated_us = ?" +
			" WHERE ref = ? AND version = ? AND shredded_us IS NULL"),
		// Revive of a tombstone; a Ref with no row is inserted by create.
		revive: d.Rebind("UPDATE " + t + " SET wrapped = ?, kek = ?, version = 1, created_us = ?, updated_us = ?, shredded_us = NULL" +
			" WHERE ref = ? AND shredded_us IS NOT NULL"),
		list: d.Rebind("SELECT ref, " + liveCols + " FROM " + t +
			" WHERE shredded_us IS NULL AND ref > ? ORDER BY ref LIMIT ?"),
		// The primary key alone: a range scan of the index.
		refs: d.Rebind("SELECT ref FROM " + t + " WHERE ref > ? ORDER BY ref LIMIT ?"),
	}
	q.stateLocked, q.getLocked, q.getTx = q.state, q.get, q.get
	switch d {
	case dialect.MySQL:
		// LOCK IN SHARE MODE rather than FOR SHARE: MariaDB knows only it.
		q.stateLocked += " LOCK IN SHARE MODE"
		q.getLocked += " LOCK IN SHARE MODE"
		q.relock = true
	case dialect.Postgres:
		q.getTx += " FOR SHARE"
		// The arrays are bound as text literals, which every driver
		// passes through, and cast by the server. Each row joins one
		// element on the primary key and keeps update's condition.
		q.updateMany = d.Rebind("UPDATE " + t + " AS k SET wrapped = u.w, kek = u.kek, version = k.version + 1, updated_us = u.up" +
			" FROM unnest(?::text[], ?::bytea[], ?::text[], ?::bigint[], ?::bigint[]) AS u(ref, w, kek, up, v)" +
			" WHERE k.ref = u.ref AND k.version = u.v AND k.shredded_us IS NULL RETURNING k.ref")
		q.createQuiet = d.Rebind("INSERT INTO " + t + " (ref, " + liveCols + ") VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (ref) DO NOTHING")
	}
	if d == dialect.Postgres {
		q.getManyArray = d.Rebind("SELECT ref, " + liveCols + ", shredded_us FROM " + t + " WHERE ref = ANY(?::text[])")
	} else {
		for i, n := range inSizes {
			q.getManyIn[i] = d.Rebind("SELECT ref, " + liveCols + ", shredded_us FROM " + t +
				" WHERE ref IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")")
		}
	}
	// Shred is one upsert: it inserts a tombstone, or turns the live row
	// into one (dropping the keyset), or keeps a tombstone with its first
	// date. The statement waits for, and then sees, any concurrent insert
	// of the Ref, so no Create slips past it.
	const tomb = " (ref, version, created_us, updated_us, shredded_us) VALUES (?, 0, 0, 0, ?)"
	const wipe = "wrapped = NULL, kek = NULL, version = 0, created_us = 0, updated_us = 0, "
	if d == dialect.MySQL {
		// ON DUPLICATE KEY UPDATE evaluates left to right; shredded_us is
		// read before it is assigned. The time is bound again rather than
		// read with VALUES(), deprecated in MySQL 8.0.20.
		q.shred = "INSERT INTO " + t + tomb + " ON DUPLICATE KEY UPDATE " + wipe + "shredded_us = COALESCE(shredded_us, ?)"
		q.shredTwice = true
	} else {
		q.shred = d.Rebind("INSERT INTO " + t + tomb + " ON CONFLICT (ref) DO UPDATE SET " + wipe +
			"shredded_us = COALESCE(" + t + ".shredded_us, excluded.shredded_us)")
	}
	return q
}

// Errors. Every error is a *crypto.Error naming the operation and, for a
// condition of the crypto.Store contract, Field "ref": never the Ref
// itself, a stable pseudonym of a subject.

// errOf is the error of op about field: the sentinel, with a fixed detail.
func errOf(op, field string, sentinel error, detail string) error {
	err := sentinel
	if detail != "" {
		err = fmt.Errorf("%w: %s", sentinel, detail)
	}
	return &crypto.Error{Op: op, Field: field, Err: err}
}

// condErr is the error of a condition of the crypto.Store contract. It
// never wraps a driver error: MySQL's duplicate-key text quotes the key.
func condErr(op string, sentinel error, detail string) error {
	return errOf(op, "ref", sentinel, detail)
}

// storeErr wraps a database error, with the server's message withheld
// (dialect.Redact): servers quote bound values in their messages and
// details, and those values are Refs or key material.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &crypto.Error{Op: op, Err: dialect.Redact(err)}
}

// checkRef refuses a Ref the table cannot hold.
func checkRef(op, ref string) error {
	if ref == "" || len(ref) > MaxRefLen {
		return condErr(op, crypto.ErrInvalid, fmt.Sprintf("a ref is 1 to %d bytes", MaxRefLen))
	}
	return nil
}

// errNilContext is the cause of every refusal of a nil context.
var errNilContext = fmt.Errorf("%w: nil context", crypto.ErrInvalid)

// checkCtx refuses a nil context: database/sql would panic on it.
func checkCtx(op string, ctx context.Context) error {
	if ctx == nil {
		return &crypto.Error{Op: op, Field: "ctx", Err: errNilContext}
	}
	return nil
}

// wrappedArg returns w as bound for a live row: never NULL, so that an empty
// keyset stays distinguishable from a tombstone.
func wrappedArg(w []byte) []byte {
	if w == nil {
		return []byte{}
	}
	return w
}

// Get implements crypto.Store. It is one primary-key lookup.
func (s *Store) Get(ctx context.Context, ref string) (crypto.Record, error) { return s.v.Get(ctx, ref) }

// Create implements crypto.Store: one INSERT, which the primary key refuses
// if the Ref has a row, live or tombstone; one read of that row then tells
// crypto.ErrConflict from crypto.ErrShredded. The stored Version is 1
// whatever r.Version holds.
func (s *Store) Create(ctx context.Context, r crypto.Record) error { return s.v.Create(ctx, r) }

// Update implements crypto.Store: one conditional UPDATE. It replaces
// Wrapped, KEK and Updated; Created keeps its stored value. When no row
// matches, a read tells ErrConflict, ErrShredded and ErrNotFound apart.
func (s *Store) Update(ctx context.Context, r crypto.Record) error { return s.v.Update(ctx, r) }

// UpdateMany implements crypto.BatchUpdater. On PostgreSQL it is one
// UPDATE joined to arrays of the records (unnest), per batch of up to
// MaxBatch records; on MySQL and SQLite, one transaction per batch of the
// conditional UPDATEs of Update, prepared once, so a batch costs one
// commit instead of one per record. Each record keeps its own condition
// (its Version, no tombstone); a refused one is then read, as Update does,
// to tell ErrConflict, ErrShredded and ErrNotFound apart. A deadlock or
// serialization failure, which writes nothing, is retried.
func (s *Store) UpdateMany(ctx context.Context, rs []crypto.Record) ([]error, error) {
	const op = "update"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	seen := make(map[string]struct{}, len(rs))
	for _, r := range rs {
		if _, ok := seen[r.Ref]; ok {
			return nil, condErr(op, crypto.ErrInvalid, "a ref repeated in one UpdateMany")
		}
		seen[r.Ref] = struct{}{}
	}
	errs := make([]error, len(rs))
	for lo := 0; lo < len(rs); lo += MaxBatch {
		hi := min(lo+MaxBatch, len(rs))
		var err error
		if s.q.updateMany != "" {
			err = s.updateArrays(ctx, rs[lo:hi], errs[lo:hi])
		} else {
			err = s.updateTx(ctx, rs[lo:hi], errs[lo:hi])
		}
		if err != nil {
			return nil, err
		}
	}
	return errs, nil
}

// MaxBatch is the most records one statement (PostgreSQL) or transaction
// (MySQL, SQLite) of UpdateMany writes, and the most Refs one statement
// of GetMany reads on PostgreSQL; a longer call takes several.
const MaxBatch = 1000

// GetMany implements crypto.BatchGetter: one SELECT of the rows of a
// chunk of distinct Refs, each row read with its tombstone time, so a
// shredded Ref costs nothing more. On PostgreSQL it is "ref =
// ANY(array)" per MaxBatch Refs, the array bound as UpdateMany's are; on
// MySQL and SQLite an IN list of 1, 2, 4, … 256 placeholders per chunk
// (the last one padded with a repeated Ref), each size prepared once per
// connection. Each statement runs alone, in autocommit, on the pool: the
// Refs of one chunk are read from one snapshot, those of different
// chunks not.
func (s *Store) GetMany(ctx context.Context, refs []string) ([]crypto.RefState, error) {
	const op = "get"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	out := make([]crypto.RefState, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	uniq := make([]string, 0, len(refs))
	got := make(map[string]crypto.RefState, len(refs))
	for _, ref := range refs {
		if _, ok := got[ref]; !ok {
			got[ref] = crypto.RefState{}
			uniq = append(uniq, ref)
		}
	}
	for len(uniq) > 0 {
		var q string
		var args []any
		var n int
		if s.q.getManyArray != "" {
			n = min(len(uniq), MaxBatch)
			q, args = s.q.getManyArray, []any{s.b.Arrays.Texts(uniq[:n])}
		} else {
			k := 0
			for inSizes[k] < len(uniq) && k < len(inSizes)-1 {
				k++
			}
			n = min(len(uniq), inSizes[k])
			args = make([]any, inSizes[k])
			for j := range args {
				args[j] = uniq[min(j, n-1)]
			}
			q = s.q.getManyIn[k]
		}
		if err := s.scanStates(ctx, q, args, got); err != nil {
			return nil, err
		}
		uniq = uniq[n:]
	}
	for i, ref := range refs {
		out[i] = got[ref]
	}
	return out, nil
}

// scanStates runs GetMany's query q and puts the state of every row it
// returns in into, by Ref.
func (s *Store) scanStates(ctx context.Context, q string, args []any, into map[string]crypto.RefState) error {
	rows, err := s.b.Stmt.Query(ctx, q, args...)
	if err != nil {
		return storeErr("get", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r crypto.Record
		var kek sql.NullString
		var created, updated int64
		var shredded sql.NullInt64
		if err := rows.Scan(&r.Ref, &r.Wrapped, &kek, &r.Version, &created, &updated, &shredded); err != nil {
			return storeErr("get", err)
		}
		if shredded.Valid {
			into[r.Ref] = crypto.RefState{State: gdpr.KeyShredded, Shredded: sqlbase.FromMicros(shredded.Int64)}
			continue
		}
		r.KEK, r.Created, r.Updated = kek.String, sqlbase.FromMicros(created), sqlbase.FromMicros(updated)
		into[r.Ref] = crypto.RefState{State: gdpr.KeyLive, Record: r}
	}
	return storeErr("get", rows.Err())
}

// updateArrays is UpdateMany on PostgreSQL: one statement, retried whole.
func (s *Store) updateArrays(ctx context.Context, rs []crypto.Record, errs []error) error {
	refs, keks := make([]string, len(rs)), make([]string, len(rs))
	ws := make([][]byte, len(rs))
	ups, vs := make([]int64, len(rs)), make([]int64, len(rs))
	for i, r := range rs {
		refs[i], ws[i], keks[i], ups[i], vs[i] = r.Ref, wrappedArg(r.Wrapped), r.KEK, sqlbase.Micros(r.Updated), r.Version
	}
	a := s.b.Arrays
	args := []any{a.Texts(refs), a.Byteas(ws), a.Texts(keks), a.Int64s(ups), a.Int64s(vs)}
	var done map[string]bool
	err := sqlbase.Retry(ctx, func() error {
		done = make(map[string]bool, len(rs))
		rows, err := s.b.Stmt.Query(ctx, s.q.updateMany, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				return err
			}
			done[ref] = true
		}
		return rows.Err()
	})
	if err != nil {
		return storeErr("update", err)
	}
	for i, r := range rs {
		if !done[r.Ref] {
			if errs[i] = s.v.state(ctx, "update", r.Ref); errs[i] == nil {
				errs[i] = condErr("update", crypto.ErrConflict, "stored version differs")
			} else if !isCond(errs[i]) {
				return errs[i]
			}
		}
	}
	return nil
}

// updateTx is UpdateMany on MySQL and SQLite: Update of each record in one
// transaction, which a deadlock or busy snapshot runs again.
func (s *Store) updateTx(ctx context.Context, rs []crypto.Record, errs []error) error {
	return storeErrKeep("update", sqlbase.Retry(ctx, func() error {
		tx, err := s.b.DB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		v := view{q: &s.q, r: txRunner{s.b.Stmt, tx}, tx: true}
		for i, r := range rs {
			errs[i] = v.Update(ctx, r)
			if errs[i] != nil && !isCond(errs[i]) {
				return errs[i]
			}
		}
		return tx.Commit()
	}))
}

// isCond reports whether err is a refusal of the crypto.Store contract,
// not a failure.
func isCond(err error) bool {
	return errors.Is(err, crypto.ErrConflict) || errors.Is(err, crypto.ErrShredded) || errors.Is(err, crypto.ErrNotFound)
}

// storeErrKeep is storeErr for an error that may already be the Store's
// own (*crypto.Error, driver text withheld), which it keeps as it is.
func storeErrKeep(op string, err error) error {
	var ce *crypto.Error
	if errors.As(err, &ce) {
		return err
	}
	return storeErr(op, err)
}

// Shred implements crypto.Store: one upsert that leaves a tombstone whatever
// the Ref held. Shredding a shredded Ref keeps the first tombstone's time.
func (s *Store) Shred(ctx context.Context, ref string, at time.Time) error {
	return s.v.Shred(ctx, ref, at)
}

// Revive implements crypto.Store: an UPDATE that turns a tombstone into a
// live row with Version 1; if the Ref has no tombstone, it is created as
// Create does. The stored Version is 1 whatever r.Version holds.
func (s *Store) Revive(ctx context.Context, r crypto.Record) error { return s.v.Revive(ctx, r) }

// List implements crypto.Store: live rows in primary-key order.
func (s *Store) List(ctx context.Context, after string, limit int) ([]crypto.Record, error) {
	return s.v.List(ctx, after, limit)
}

// Refs implements crypto.Store: the Refs of live rows and tombstones, in
// primary-key order (an index range scan).
func (s *Store) Refs(ctx context.Context, after string, limit int) ([]string, error) {
	return s.v.Refs(ctx, after, limit)
}

// Tombstone implements crypto.TombstoneReader: the time of ref's
// tombstone (that of the first Shred, which later Shreds keep), or an
// error wrapping crypto.ErrNotFound for a live or unknown Ref. It is one
// primary-key lookup.
func (s *Store) Tombstone(ctx context.Context, ref string) (time.Time, error) {
	return s.v.Tombstone(ctx, ref)
}

// runner runs the Store's statements: on the pool, or in a transaction.
type runner interface {
	exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	queryRow(ctx context.Context, q string, args ...any) sqlstmt.Row
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// poolRunner runs each statement on its own, in autocommit, on the pool.
type poolRunner struct{ st *sqlstmt.Cache }

func (p poolRunner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return p.st.Exec(ctx, q, args...)
}

func (p poolRunner) queryRow(ctx context.Context, q string, args ...any) sqlstmt.Row {
	return p.st.QueryRow(ctx, q, args...)
}

func (p poolRunner) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return p.st.Query(ctx, q, args...)
}

// view is the crypto.Store over one runner: the Store itself (the pool) or
// a transaction (Tx).
type view struct {
	q  *queries
	r  runner
	tx bool // r runs in a caller's transaction
	// met, in a transaction on MySQL, holds the Refs whose insert met a
	// row, which tx's snapshot may not show: Get reads them with a
	// locking read (of a row that exists: a record lock, no gap lock).
	met *refSet
}

// refSet is a set of Refs, safe for concurrent use.
type refSet struct {
	mu   sync.Mutex
	refs map[string]struct{}
}

func (m *refSet) add(ref string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refs == nil {
		m.refs = map[string]struct{}{}
	}
	m.refs[ref] = struct{}{}
}

func (m *refSet) has(ref string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.refs[ref]
	return ok
}

func (v view) execN(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := v.r.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (v view) Get(ctx context.Context, ref string) (crypto.Record, error) {
	if err := checkCtx("get", ctx); err != nil {
		return crypto.Record{}, err
	}
	q := v.q.get
	switch {
	case v.met != nil && v.met.has(ref):
		q = v.q.getLocked
	case v.tx:
		q = v.q.getTx
	}
	r, err := v.get(ctx, q, ref)
	if err == nil && v.tx && v.q.relock && q != v.q.getLocked {
		// A live key in tx's snapshot: read it as committed now, so
		// that a Shred which returned before this call is seen.
		r, err = v.get(ctx, v.q.getLocked, ref)
	}
	return r, err
}

func (v view) get(ctx context.Context, q, ref string) (crypto.Record, error) {
	r := crypto.Record{Ref: ref}
	var kek sql.NullString
	var created, updated int64
	var shredded sql.NullInt64
	err := v.r.queryRow(ctx, q, ref).Scan(&r.Wrapped, &kek, &r.Version, &created, &updated, &shredded)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return crypto.Record{}, condErr("get", crypto.ErrNotFound, "")
	case err != nil:
		return crypto.Record{}, storeErr("get", err)
	case shredded.Valid:
		return crypto.Record{}, condErr("get", crypto.ErrShredded, "")
	}
	r.KEK, r.Created, r.Updated = kek.String, sqlbase.FromMicros(created), sqlbase.FromMicros(updated)
	return r, nil
}

// state reads what a refused write met: ErrNotFound (no row), ErrShredded
// (a tombstone) or nil (a live row). In a transaction it is a locking read
// on MySQL, which sees the row as committed now, not as tx's snapshot.
func (v view) state(ctx context.Context, op, ref string) error {
	q := v.q.state
	if v.tx {
		q = v.q.stateLocked
	}
	var shredded sql.NullInt64
	err := v.r.queryRow(ctx, q, ref).Scan(&shredded)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return condErr(op, crypto.ErrNotFound, "")
	case err != nil:
		return storeErr(op, err)
	case shredded.Valid:
		return condErr(op, crypto.ErrShredded, "")
	}
	return nil
}

func (v view) Create(ctx context.Context, r crypto.Record) error {
	if err := checkCtx("create", ctx); err != nil {
		return err
	}
	if err := checkRef("create", r.Ref); err != nil {
		return err
	}
	return v.insert(ctx, "create", r)
}

func (v view) insert(ctx context.Context, op string, r crypto.Record) error {
	args := []any{r.Ref, wrappedArg(r.Wrapped), r.KEK, sqlbase.Micros(r.Created), sqlbase.Micros(r.Updated)}
	if v.tx && v.q.createQuiet != "" {
		// In a PostgreSQL transaction a duplicate key would abort tx:
		// insert nothing instead, and read what is there.
		n, err := v.execN(ctx, v.q.createQuiet, args...)
		if err != nil {
			return storeErr(op, err)
		}
		if n == 1 {
			return nil
		}
	} else {
		_, err := v.r.exec(ctx, v.q.create, args...)
		if err == nil || !dialect.IsUniqueViolation(err) {
			return storeErr(op, err)
		}
	}
	// Rows are never deleted, so the row that refused the insert is still
	// there; it is live or a tombstone.
	if v.met != nil {
		v.met.add(r.Ref)
	}
	switch err := v.state(ctx, op, r.Ref); {
	case errors.Is(err, crypto.ErrNotFound):
		// Not visible: a row committed after the snapshot of a
		// REPEATABLE READ transaction, or deleted by hand.
		return condErr(op, crypto.ErrConflict, "a concurrent key is not visible here")
	case err != nil:
		return err
	}
	return condErr(op, crypto.ErrConflict, "a live key exists")
}

func (v view) Update(ctx context.Context, r crypto.Record) error {
	if err := checkCtx("update", ctx); err != nil {
		return err
	}
	n, err := v.execN(ctx, v.q.update, wrappedArg(r.Wrapped), r.KEK, sqlbase.Micros(r.Updated), r.Ref, r.Version)
	if err != nil {
		return storeErr("update", err)
	}
	if n == 1 {
		return nil
	}
	if err := v.state(ctx, "update", r.Ref); err != nil {
		return err
	}
	return condErr("update", crypto.ErrConflict, "stored version differs")
}

func (v view) Shred(ctx context.Context, ref string, at time.Time) error {
	if err := checkCtx("shred", ctx); err != nil {
		return err
	}
	if err := checkRef("shred", ref); err != nil {
		return err
	}
	args := []any{ref, sqlbase.Micros(at)}
	if v.q.shredTwice {
		args = append(args, sqlbase.Micros(at))
	}
	_, err := v.r.exec(ctx, v.q.shred, args...)
	return storeErr("shred", err)
}

func (v view) Revive(ctx context.Context, r crypto.Record) error {
	if err := checkCtx("revive", ctx); err != nil {
		return err
	}
	if err := checkRef("revive", r.Ref); err != nil {
		return err
	}
	// A Ref's row, once written, is never deleted, so each step's outcome
	// holds for the next: a tombstone that the UPDATE missed because it
	// did not exist yet makes the INSERT fail, and the retry finds it.
	for range 3 {
		n, err := v.execN(ctx, v.q.revive, wrappedArg(r.Wrapped), r.KEK, sqlbase.Micros(r.Created), sqlbase.Micros(r.Updated), r.Ref)
		if err != nil {
			return storeErr("revive", err)
		}
		if n == 1 {
			return nil
		}
		err = v.insert(ctx, "revive", r)
		if !errors.Is(err, crypto.ErrShredded) {
			return err
		}
		// A Shred inserted a tombstone between the two statements.
	}
	return condErr("revive", crypto.ErrConflict, "shredded and revived concurrently")
}

func (v view) List(ctx context.Context, after string, limit int) ([]crypto.Record, error) {
	if err := checkCtx("list", ctx); err != nil {
		return nil, err
	}
	if limit < 0 {
		return nil, errOf("list", "limit", crypto.ErrInvalid, "negative limit")
	}
	if limit == 0 {
		return []crypto.Record{}, nil
	}
	rows, err := v.r.query(ctx, v.q.list, after, limit)
	if err != nil {
		return nil, storeErr("list", err)
	}
	defer rows.Close()
	out := make([]crypto.Record, 0, min(limit, 1024))
	for rows.Next() {
		var r crypto.Record
		var kek sql.NullString
		var created, updated int64
		if err := rows.Scan(&r.Ref, &r.Wrapped, &kek, &r.Version, &created, &updated); err != nil {
			return nil, storeErr("list", err)
		}
		r.KEK, r.Created, r.Updated = kek.String, sqlbase.FromMicros(created), sqlbase.FromMicros(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("list", err)
	}
	return out, nil
}

func (v view) Refs(ctx context.Context, after string, limit int) ([]string, error) {
	if err := checkCtx("refs", ctx); err != nil {
		return nil, err
	}
	if limit < 0 {
		return nil, errOf("refs", "limit", crypto.ErrInvalid, "negative limit")
	}
	if limit == 0 {
		return []string{}, nil
	}
	rows, err := v.r.query(ctx, v.q.refs, after, limit)
	if err != nil {
		return nil, storeErr("refs", err)
	}
	defer rows.Close()
	out := make([]string, 0, min(limit, 1024))
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			return nil, storeErr("refs", err)
		}
		out = append(out, ref)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("refs", err)
	}
	return out, nil
}

func (v view) Tombstone(ctx context.Context, ref string) (time.Time, error) {
	if err := checkCtx("tombstone", ctx); err != nil {
		return time.Time{}, err
	}
	var shredded sql.NullInt64
	err := v.r.queryRow(ctx, v.q.state, ref).Scan(&shredded)
	switch {
	case errors.Is(err, sql.ErrNoRows), err == nil && !shredded.Valid:
		return time.Time{}, condErr("tombstone", crypto.ErrNotFound, "no tombstone")
	case err != nil:
		return time.Time{}, storeErr("tombstone", err)
	}
	return sqlbase.FromMicros(shredded.Int64), nil
}
