package sqlerasure

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The embedded schema: migrations/<dialect> holds the requests, leases
// and codes (component "erasure"), journal/migrations/<dialect> the
// journal (component "erasure_journal"), which may live in another
// database.
//
//go:embed migrations journal/migrations
var migrationFS embed.FS

func newError(op, field string, err error) error {
	return &erasure.Error{Op: op, Field: field, Err: err}
}

var schema = sqlbase.Schema{Package: "sqlerasure", Component: "erasure", FS: migrationFS,
	ErrInvalid: erasure.ErrInvalid, Error: newError}

var journalSchema = func() sqlbase.Schema {
	sub, err := fs.Sub(migrationFS, "journal")
	if err != nil {
		panic(err) // a constant path into the embedded files
	}
	return sqlbase.Schema{Package: "sqlerasure", Component: "erasure_journal", FS: sub,
		ErrInvalid: erasure.ErrInvalid, Error: newError}
}()

// Option configures a Store, a CodeStore or a Journal. The SQL stores of
// the module share it: an option means the same in sqlerasure,
// sqlconsent, sqlkeys and sqlaudit.
type Option = sqlbase.Option

// WithTablePrefix sets the prefix of the table names: <prefix>erasure_requests,
// <prefix>erasure_leases, <prefix>erasure_codes, <prefix>erasure_restrictions
// and <prefix>erasure_statements for a Store and a CodeStore,
// <prefix>erasure_journal for a Journal, and the version table
// <prefix>schema_version that Migrate shares with the module's other
// stores of the same prefix. It must match ^[a-z_][a-z0-9_]{0,39}$.
// Default: "gdpr_".
func WithTablePrefix(p string) Option { return sqlbase.WithTablePrefix(p) }

// Limits of the columns, the same on every database so that the tables
// move between databases unchanged. Longer values are refused with an
// error wrapping erasure.ErrInvalid.
const (
	// MaxIDLen is the longest request ID (the Engine's are 36-byte
	// UUIDs), SubjectRef (the Engine's are 64 hex digits), lease owner
	// and subject ID, restriction and statement ID, and a statement's
	// Target and Field, in bytes.
	MaxIDLen = 255
	// MaxKeyLen is the longest Kind (of a request or a restriction) and
	// State, in bytes.
	MaxKeyLen = 32
	// MaxHashLen is the longest code hash (erasure.Code.Hash is 32 bytes).
	MaxHashLen = 255
)

// Store is an erasure.Store in a SQL database: the requests and the
// workers' leases. It is safe for concurrent use by many goroutines and by
// many processes sharing the database.
type Store struct {
	b  *sqlbase.Base
	st *sqlstmt.Cache
	q  storeQueries
	r  restrictionQueries // restrictions.go
}

var _ erasure.Store = (*Store)(nil)

// New returns a Store over db, a database of dialect d. It does not touch
// the database; call Migrate once at start-up (or apply Migrations with
// your own tool) before use. The *sql.DB stays the caller's to close. A
// nil db, an unknown dialect or a bad option is an error wrapping
// erasure.ErrInvalid.
//
// For SQLite, open db with a busy timeout, e.g.
// "file:app.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
// with modernc.org/sqlite, so concurrent writers wait instead of failing.
// For MySQL/MariaDB, MySQL 8.0.16 or MariaDB 10.6 or later (SKIP LOCKED).
func New(db *sql.DB, d sqldialect.Dialect, opts ...Option) (*Store, error) {
	b, err := schema.Open(db, d, opts...)
	if err != nil {
		return nil, err
	}
	return &Store{b: b, st: b.Stmt, q: buildStoreQueries(b.D, b.Prefix), r: buildRestrictionQueries(b.D, b.Prefix)}, nil
}

// Migrate creates or updates the tables of the Store and the CodeStore
// (one migration component, "erasure"). It is idempotent and safe to run
// from several processes at once, and behind PgBouncer.
func (s *Store) Migrate(ctx context.Context) error { return s.b.Migrate(ctx) }

// Close releases the Store's prepared statements. The *sql.DB stays open:
// it is the caller's to close. A Store may be used after Close; it
// prepares its statements again. Call it when no call on the Store is in
// flight.
func (s *Store) Close() error { return s.b.Close() }

// Migrations returns the schema of the Store and the CodeStore for
// dialect d with the given table prefix, as versioned files
// (0001_erasure_requests.sql, …), for hosts that apply migrations with
// their own tool (goose, golang-migrate, atlas). Each file holds plain
// statements separated by ";" at line ends. The Journal's schema is
// JournalMigrations.
func Migrations(d sqldialect.Dialect, prefix string) (fs.FS, error) {
	return schema.Migrations(d, prefix)
}

// reqSelect are the columns a request is read from, in scanRequest's
// order.
const reqSelect = "id, kind, state, subject, subject_ref, received_us, next_us, closed_us, version, body"

// reqWrite are the columns a write sets, in row.args' order.
const reqWrite = "id, kind, state, subject, subject_ref, open_key, received_us, due_us, next_us, ready_us, closed_us, version, body"

type storeQueries struct {
	reqs, leases string
	create       string
	get, byOpen  string
	version      string // the stored version, for a refused Update
	lockVersion  string // the same as a locking read (PostgreSQL, MySQL)
	update       string
	// touch is, on SQLite, a write that matches no row: the first
	// statement of every transaction, it takes the database's write
	// lock before anything is read, whatever the DSN's _txlock, so no
	// transaction fails to upgrade a read snapshot another writer made
	// stale.
	touch string
	// Leases.
	candidates, candidatesAfter string
	anyDue                      string // SQLite: is there a candidate at all?
	lockOne                     string
	takeLease                   string
	leaseToken                  string // MySQL: the token after takeLease
	holdLease, leaseUntil       string
	release                     string
	// PostgreSQL: a lease-checked Update in one statement, the lease
	// extended (updateHeld) or, for a closing write, ended (updateClose)
	// in a data-modifying CTE; heldNow tells a lost lease from a stale
	// version when it matches nothing. closeLease ends the lease of a
	// closing write in the transaction of the other dialects.
	updateHeld, updateClose, heldNow string
	closeLease                       string
}

func buildStoreQueries(d dialect.Dialect, p string) storeQueries {
	reqs, leases := p+"erasure_requests", p+"erasure_leases"
	forUpdate := ""
	if d != dialect.SQLite {
		forUpdate = " FOR UPDATE"
	}
	set := make([]string, 0, 13)
	for _, c := range strings.Split(reqWrite, ", ")[1:] {
		set = append(set, c+" = ?")
	}
	q := storeQueries{
		reqs: reqs, leases: leases,
		create:      d.InsertIgnore(reqs, strings.Split(reqWrite, ", ")...),
		get:         d.Rebind("SELECT " + reqSelect + " FROM " + reqs + " WHERE id = ?"),
		byOpen:      d.Rebind("SELECT " + reqSelect + " FROM " + reqs + " WHERE open_key = ?"),
		version:     d.Rebind("SELECT version FROM " + reqs + " WHERE id = ?"),
		lockVersion: d.Rebind("SELECT version FROM " + reqs + " WHERE id = ?" + forUpdate),
		update:      d.Rebind("UPDATE " + reqs + " SET " + strings.Join(set, ", ") + " WHERE id = ? AND version = ?"),
	}
	if d == dialect.MySQL {
		// A plain INSERT, whose duplicate-key error Create reads as "not
		// inserted": ON DUPLICATE KEY UPDATE would report a duplicate as
		// one row affected on a connection with clientFoundRows set. A
		// failed statement does not abort anything on MySQL.
		q.create = "INSERT INTO " + reqs + " (" + reqWrite + ") VALUES (" + placeholders(len(strings.Split(reqWrite, ", "))) + ")"
	}
	if d == dialect.SQLite {
		q.touch = "UPDATE " + leases + " SET until_us = until_us WHERE 1 = 0"
	}
	// Acquire's pick: the due requests in ready order whose subject has
	// no live lease, locked, skipping rows another Acquire holds. The
	// NOT EXISTS only saves work; the lease upsert decides.
	pick := "SELECT " + prefixCols("r.", reqSelect) + " FROM " + reqs + " r WHERE r.ready_us <= ?" +
		" AND NOT EXISTS (SELECT 1 FROM " + leases + " l WHERE l.subject_ref = r.subject_ref AND l.until_us > ?)"
	order := " ORDER BY r.ready_us, r.id LIMIT ?" + d.ForUpdateSkipLocked()
	q.candidates = d.Rebind(pick + order)
	q.anyDue = d.Rebind("SELECT r.id FROM " + reqs + " r WHERE r.ready_us <= ?" +
		" AND NOT EXISTS (SELECT 1 FROM " + leases + " l WHERE l.subject_ref = r.subject_ref AND l.until_us > ?) LIMIT 1")
	q.candidatesAfter = d.Rebind(pick + " AND (r.ready_us > ? OR (r.ready_us = ? AND r.id > ?))" + order)
	q.lockOne = d.Rebind("SELECT " + reqSelect + " FROM " + reqs + " WHERE id = ?" + forUpdate)
	// takeLease inserts the subject's lease, or takes over one that has
	// expired; a live one stays. Concurrent upserts of one subject_ref
	// serialise on the primary key, and the condition is evaluated on the
	// row as committed, so exactly one of them leases the subject.
	const leaseCols = " (subject_ref, request_id, owner, token, until_us) VALUES (?, ?, ?, ?, ?)"
	if d == dialect.MySQL {
		// ON DUPLICATE KEY UPDATE assigns left to right: until_us,
		// which the conditions read, comes last. The values are bound
		// again rather than read with VALUES(), deprecated in MySQL
		// 8.0.20 (MariaDB has no other way).
		q.takeLease = "INSERT INTO " + leases + leaseCols + " ON DUPLICATE KEY UPDATE" +
			" request_id = IF(until_us <= ?, ?, request_id)," +
			" owner = IF(until_us <= ?, ?, owner)," +
			" token = IF(until_us <= ?, ?, token)," +
			" until_us = IF(until_us <= ?, ?, until_us)"
		q.leaseToken = "SELECT token FROM " + leases + " WHERE subject_ref = ? FOR UPDATE"
	} else {
		q.takeLease = d.Rebind("INSERT INTO " + leases + leaseCols + " ON CONFLICT (subject_ref) DO UPDATE SET" +
			" request_id = excluded.request_id, owner = excluded.owner, token = excluded.token, until_us = excluded.until_us" +
			" WHERE " + leases + ".until_us <= ?")
	}
	q.holdLease = d.Rebind("UPDATE " + leases + " SET until_us = ? WHERE subject_ref = ? AND request_id = ? AND token = ? AND until_us > ?")
	q.leaseUntil = d.Rebind("SELECT until_us FROM " + leases + " WHERE subject_ref = ? AND request_id = ? AND token = ?")
	q.release = d.Rebind("DELETE FROM " + leases + " WHERE subject_ref = ? AND request_id = ? AND token = ?")
	q.closeLease = d.Rebind("DELETE FROM " + leases + " WHERE subject_ref = ? AND request_id = ? AND token = ? AND until_us > ?")
	q.heldNow = d.Rebind("SELECT 1 FROM " + leases + " WHERE subject_ref = ? AND request_id = ? AND token = ? AND until_us > ?")
	if d == dialect.Postgres {
		// The CTE locks the lease row and extends (or deletes) it; the
		// request is written only if it did, and only at the expected
		// version. A stale version leaves the lease extended, which is
		// harmless: it is still the caller's.
		setReq := " UPDATE " + reqs + " SET " + strings.Join(set, ", ") + " WHERE id = ? AND version = ? AND EXISTS (SELECT 1 FROM l)"
		q.updateHeld = d.Rebind("WITH l AS (UPDATE " + leases + " SET until_us = ? WHERE subject_ref = ? AND request_id = ? AND token = ? AND until_us > ? RETURNING 1)" + setReq)
		// The closing write deletes the lease only at the expected
		// version, so that a stale write does not end it.
		q.updateClose = d.Rebind("WITH l AS (DELETE FROM " + leases + " WHERE subject_ref = ? AND request_id = ? AND token = ? AND until_us > ?" +
			" AND EXISTS (SELECT 1 FROM " + reqs + " WHERE id = ? AND version = ?) RETURNING 1)" + setReq)
	}
	return q
}

func prefixCols(alias, cols string) string {
	cs := strings.Split(cols, ", ")
	for i, c := range cs {
		cs[i] = alias + c
	}
	return strings.Join(cs, ", ")
}

// Create implements erasure.Store with one INSERT that inserts nothing
// when a unique key refuses the row (ON CONFLICT DO NOTHING; on MySQL a
// plain INSERT whose duplicate-key error is read as such, as rows
// affected by ON DUPLICATE KEY UPDATE would count a duplicate with
// clientFoundRows on): the primary key (the ID) or
// the unique open_key (one open request per kind and subject). Two
// racing Creates of one open key serialise on that key: the second
// waits for the first to commit and inserts nothing. Then the open
// request of the key is read and returned with created false; if there
// is none, the ID was taken, and that is erasure.ErrConflict. If the
// open request closed between the two statements, the INSERT is tried
// again. The stored Version is 1 whatever r.Version holds.
func (s *Store) Create(ctx context.Context, r erasure.Request) (erasure.Request, bool, error) {
	const op = "Create"
	if err := checkCtx(op, ctx); err != nil {
		return erasure.Request{}, false, err
	}
	if r.ID == "" {
		return erasure.Request{}, false, fieldErr(op, "id", "empty request ID")
	}
	r.Version = 1
	w, err := encodeRequest(op, r)
	if err != nil {
		return erasure.Request{}, false, err
	}
	for range sqlbase.MaxAttempts {
		var n int64
		err := sqlbase.Retry(ctx, func() error {
			res, err := s.st.Exec(ctx, s.q.create, w.args()...)
			if err != nil && dialect.IsUniqueViolation(err) {
				n = 0
				return nil
			}
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return erasure.Request{}, false, storeErr(op, err)
		}
		if n == 1 {
			return w.stored, true, nil
		}
		if w.openKey != nil {
			got, err := scanRequest(s.st.QueryRow(ctx, s.q.byOpen, w.openKey))
			if err == nil {
				return got, false, nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return erasure.Request{}, false, storeErr(op, err)
			}
		}
		var v int64
		err = s.st.QueryRow(ctx, s.q.version, r.ID).Scan(&v)
		if err == nil {
			return erasure.Request{}, false, condErr(op, erasure.ErrConflict, "the request ID exists")
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return erasure.Request{}, false, storeErr(op, err)
		}
		// The row that refused the insert is gone or closed: again.
	}
	return erasure.Request{}, false, condErr(op, erasure.ErrConflict, "the open request of the kind and subject kept changing")
}

// Get implements erasure.Store: one primary-key lookup.
func (s *Store) Get(ctx context.Context, id string) (erasure.Request, error) {
	const op = "Get"
	if err := checkCtx(op, ctx); err != nil {
		return erasure.Request{}, err
	}
	r, err := scanRequest(s.st.QueryRow(ctx, s.q.get, id))
	if errors.Is(err, sql.ErrNoRows) {
		return erasure.Request{}, condErr(op, erasure.ErrNotFound, "")
	}
	return r, storeErr(op, err)
}

// Update implements erasure.Store. Without a lease it is one UPDATE …
// WHERE id = ? AND version = ?; when it matches no row, a read of the
// stored version tells erasure.ErrConflict from erasure.ErrNotFound.
//
// With a lease it is one transaction that locks the request's row
// (SELECT … FOR UPDATE; on SQLite the transaction holds the database's
// write lock), extends the lease (UPDATE … WHERE subject_ref, request_id
// and token match and until_us is after now: no row is
// erasure.ErrLeaseLost), then writes the request if its version is still
// r.Version. Every failure rolls the whole back. The row lock comes
// before the lease's, in the order Acquire takes them, so an Update and
// an Acquire do not deadlock; deadlocks and serialization failures that
// happen all the same are run again.
func (s *Store) Update(ctx context.Context, r erasure.Request, lease *erasure.Lease, now time.Time) error {
	const op = "Update"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	expect := r.Version
	r.Version = expect + 1
	w, err := encodeRequest(op, r)
	if err != nil {
		return err
	}
	args := append(w.args()[1:], r.ID, expect)
	if lease == nil {
		if ok, err := s.writeOne(ctx, op, s.q.update, args); ok || err != nil {
			return err
		}
		if err := s.exists(ctx, op, r.ID); err != nil {
			return err
		}
		return condErr(op, erasure.ErrConflict, "the stored version moved on")
	}
	l := *lease
	if s.q.updateHeld != "" {
		return s.updatePG(ctx, op, r, l, now, args)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var v int64
		err := s.st.TxQueryRow(ctx, tx, s.q.lockVersion, r.ID).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return condErr(op, erasure.ErrNotFound, "")
		case err != nil:
			return err
		}
		if err := s.hold(ctx, tx, op, l, now, l.Until); err != nil {
			return err
		}
		if v != expect {
			return condErr(op, erasure.ErrConflict, "the stored version moved on")
		}
		if _, err = s.st.TxExec(ctx, tx, s.q.update, args...); err != nil || r.State.Open() {
			return err
		}
		// A closing write ends the lease (erasure.Store).
		_, err = s.st.TxExec(ctx, tx, s.q.closeLease, l.Subject, l.Request, l.Token, sqlbase.Micros(now))
		return err
	})
	if dialect.IsUniqueViolation(err) {
		return condErr(op, erasure.ErrConflict, "another open request of the kind and subject exists")
	}
	return storeErr(op, err)
}

// writeOne runs the request write q, again on a deadlock or
// serialization failure, and reports whether it wrote the row. A clash
// with another open request of the kind and subject is ErrConflict.
func (s *Store) writeOne(ctx context.Context, op, q string, args []any) (bool, error) {
	var n int64
	err := sqlbase.Retry(ctx, func() error {
		res, err := s.st.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if dialect.IsUniqueViolation(err) {
		return false, condErr(op, erasure.ErrConflict, "another open request of the kind and subject exists")
	}
	if err != nil {
		return false, storeErr(op, err)
	}
	return n == 1, nil
}

// exists returns nil if the request id is stored, else ErrNotFound (or
// the store's error): after a write that matched nothing.
func (s *Store) exists(ctx context.Context, op, id string) error {
	var v int64
	err := s.st.QueryRow(ctx, s.q.version, id).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return condErr(op, erasure.ErrNotFound, "")
	case err != nil:
		return storeErr(op, err)
	}
	return nil
}

// updatePG is Update under a lease on PostgreSQL: one statement, no
// explicit transaction (see updateHeld). When it writes nothing, reads
// tell why: no request, a lease not held, or a stale version.
func (s *Store) updatePG(ctx context.Context, op string, r erasure.Request, l erasure.Lease, now time.Time, args []any) error {
	nowUS := sqlbase.Micros(now)
	q, head := s.q.updateHeld, []any{sqlbase.Micros(l.Until), l.Subject, l.Request, l.Token, nowUS}
	if !r.State.Open() {
		q, head = s.q.updateClose, []any{l.Subject, l.Request, l.Token, nowUS, r.ID, r.Version - 1}
	}
	if ok, err := s.writeOne(ctx, op, q, append(head, args...)); ok || err != nil {
		return err
	}
	if err := s.exists(ctx, op, r.ID); err != nil {
		return err
	}
	var one int
	err := s.st.QueryRow(ctx, s.q.heldNow, l.Subject, l.Request, l.Token, nowUS).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return condErr(op, erasure.ErrLeaseLost, "")
	case err != nil:
		return storeErr(op, err)
	}
	return condErr(op, erasure.ErrConflict, "the stored version moved on")
}

// tx runs fn in a transaction, again on a deadlock or serialization
// failure (sqlbase.Retry). On MySQL/MariaDB it is READ COMMITTED: record
// locks only, no gap locks that would block other workers' writes near
// the rows it reads. On SQLite it first takes the write lock (touch).
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return runTx(ctx, s.b, s.q.touch, fn)
}

func runTx(ctx context.Context, b *sqlbase.Base, touch string, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if b.D == dialect.MySQL {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return sqlbase.Retry(ctx, func() error {
		tx, err := b.DB.BeginTx(ctx, opts)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if touch != "" {
			if _, err := b.Stmt.TxExec(ctx, tx, touch); err != nil {
				return err
			}
		}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// List implements erasure.Store: one query in primary-key (ID) order,
// after f.After, at most the limit.
func (s *Store) List(ctx context.Context, f erasure.Filter) ([]erasure.Request, error) {
	const op = "List"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	where, args := s.where(f, true)
	limit := erasure.PageSize(f.Limit)
	// Built per call from the filter's shape: run directly, not kept in
	// the statement cache.
	q := s.b.D.Rebind("SELECT " + reqSelect + " FROM " + s.q.reqs + where + " ORDER BY id LIMIT ?")
	rows, err := s.b.DB.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, storeErr(op, err)
	}
	defer rows.Close()
	var out []erasure.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, storeErr(op, err)
		}
		out = append(out, r)
	}
	return out, storeErr(op, rows.Err())
}

// Count implements erasure.Store: one GROUP BY state, kind.
func (s *Store) Count(ctx context.Context, f erasure.Filter) ([]erasure.Count, error) {
	const op = "Count"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	where, args := s.where(f, false)
	q := s.b.D.Rebind("SELECT state, kind, COUNT(*) FROM " + s.q.reqs + where + " GROUP BY state, kind")
	rows, err := s.b.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, storeErr(op, err)
	}
	defer rows.Close()
	var out []erasure.Count
	for rows.Next() {
		var c erasure.Count
		var state, kind string
		if err := rows.Scan(&state, &kind, &c.N); err != nil {
			return nil, storeErr(op, err)
		}
		c.State, c.Kind = erasure.State(state), erasureKind(kind)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr(op, err)
	}
	// In lifecycle order (erasure.States), then by Kind, as memerasure.
	rank := func(st erasure.State) int {
		if i := slices.Index(erasure.States(), st); i >= 0 {
			return i
		}
		return len(erasure.States())
	}
	slices.SortFunc(out, func(a, b erasure.Count) int {
		return cmp.Or(cmp.Compare(rank(a.State), rank(b.State)), cmp.Compare(a.State, b.State), cmp.Compare(a.Kind, b.Kind))
	})
	return out, nil
}

// where returns the WHERE clause of f, with '?' placeholders, and its
// arguments; after says whether f.After counts.
func (s *Store) where(f erasure.Filter, after bool) (string, []any) {
	var conds []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		conds = append(conds, col+" IN ("+placeholders(len(vals))+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	states := make([]string, len(f.States))
	for i, st := range f.States {
		states[i] = string(st)
	}
	kinds := make([]string, len(f.Kinds))
	for i, k := range f.Kinds {
		kinds[i] = string(k)
	}
	in("state", states)
	in("kind", kinds)
	if f.SubjectRef != "" {
		conds = append(conds, "subject_ref = ?")
		args = append(args, f.SubjectRef)
	}
	if !f.DueBefore.IsZero() {
		conds = append(conds, "due_us < ?")
		args = append(args, ceilMicros(f.DueBefore))
	}
	if !f.ClosedBefore.IsZero() {
		conds = append(conds, "open_key IS NULL AND closed_us < ?")
		args = append(args, ceilMicros(f.ClosedBefore))
	}
	if after && f.After != "" {
		conds = append(conds, "id > ?")
		args = append(args, f.After)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// ceilMicros is t in microseconds, rounded up: a stored time (whole
// microseconds) is before t exactly when it is before ceilMicros(t).
func ceilMicros(t time.Time) int64 {
	us := sqlbase.Micros(t)
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// maxIn bounds the values of one IN list.
const maxIn = 500

// Delete implements erasure.Store: one DELETE per 500 IDs. A lease taken
// for a deleted request stays until it is released or expires, as it
// would for any other request of the subject.
func (s *Store) Delete(ctx context.Context, ids ...string) (int64, error) {
	const op = "Delete"
	if err := checkCtx(op, ctx); err != nil {
		return 0, err
	}
	var total int64
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxIn)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		in := " IN (" + placeholders(len(chunk)) + ")"
		err := sqlbase.Retry(ctx, func() error {
			res, err := s.b.DB.ExecContext(ctx, s.b.D.Rebind("DELETE FROM "+s.q.reqs+" WHERE id"+in), args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
			return nil
		})
		if err != nil {
			return total, storeErr(op, err)
		}
	}
	return total, nil
}
