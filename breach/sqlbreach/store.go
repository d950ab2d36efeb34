package sqlbreach

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The Store's embedded schema: migrations/<dialect>, component "breach".
//
//go:embed migrations
var migrationFS embed.FS

func newError(op, field string, err error) error {
	return &breach.Error{Op: op, Field: field, Err: err}
}

var schema = sqlbase.Schema{Package: "sqlbreach", Component: "breach", FS: migrationFS,
	ErrInvalid: breach.ErrInvalid, Error: newError}

// Option configures a Store. The SQL stores of the module share it: an
// option means the same in sqlbreach, sqlretention, sqlexport,
// sqlerasure, sqlconsent, sqlkeys and sqlaudit.
type Option = sqlbase.Option

// WithTablePrefix sets the prefix of the Store's table names:
// <prefix>breach_events and <prefix>breach_notices, and the version table
// <prefix>schema_version that Migrate shares with the module's other
// stores of the same prefix. It must match ^[a-z_][a-z0-9_]{0,39}$.
// Default: "gdpr_".
func WithTablePrefix(p string) Option { return sqlbase.WithTablePrefix(p) }

// Store is a breach.Store in a SQL database: the breach register's events
// and the outcomes of the communications to subjects. It is safe for
// concurrent use by many goroutines and by many processes sharing the
// database.
type Store struct {
	b  *sqlbase.Base
	st *sqlstmt.Cache
	q  queries
}

var _ breach.Store = (*Store)(nil)

// New returns a Store over db, a database of dialect d. It does not touch
// the database; call Migrate once at start-up (or apply Migrations with
// your own tool) before use. The *sql.DB stays the caller's to close. A
// nil db, an unknown dialect or a bad option is an error wrapping
// breach.ErrInvalid, Op "sqlbreach.New".
//
// For SQLite, open db with a busy timeout, e.g.
// "file:app.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
// with modernc.org/sqlite, so concurrent writers wait instead of failing.
func New(db *sql.DB, d sqldialect.Dialect, opts ...Option) (*Store, error) {
	b, err := schema.Open(db, d, opts...)
	if err != nil {
		return nil, err
	}
	return &Store{b: b, st: b.Stmt, q: buildQueries(b.D, b.Prefix)}, nil
}

// Migrate creates or updates the Store's tables (migration component
// "breach"). It is idempotent and safe to run from several processes at
// once, and behind PgBouncer.
func (s *Store) Migrate(ctx context.Context) error {
	if err := checkCtx("Migrate", ctx); err != nil {
		return err
	}
	return s.b.Migrate(ctx)
}

// Close releases the Store's prepared statements. The *sql.DB stays open:
// it is the caller's to close. A Store may be used after Close; it
// prepares its statements again. Call it when no call on the Store is in
// flight.
func (s *Store) Close() error { return s.b.Close() }

// Migrations returns the Store's schema for dialect d with the given
// table prefix, as versioned files (0001_breach_events.sql,
// 0002_breach_notices.sql), for hosts that apply migrations with their
// own tool (goose, golang-migrate, atlas). Each file holds one plain
// statement ending in ";".
func Migrations(d sqldialect.Dialect, prefix string) (fs.FS, error) {
	return schema.Migrations(d, prefix)
}

// The outcomes as the SQL spells them: constants of package breach, so
// safe to splice.
const (
	sqlPending = "'" + string(breach.Pending) + "'"
	sqlFailed  = "'" + string(breach.Failed) + "'"
)

type queries struct {
	first     string // Append of Seq 1: a plain INSERT, the primary key refuses a second
	next      string // Append of Seq n > 1: INSERT … SELECT from the row of Seq n-1
	list      string // Events
	breaches  string // Breaches: the rows of Seq 1 after a breach ID
	exists    string // whether a breach has events (its row of Seq 1)
	claim     string // PostgreSQL, SQLite: the conditional upsert; MySQL: its INSERT … SELECT
	reclaim   string // MySQL: the conditional UPDATE of a notice there already
	settle    string // the conditional UPDATE of Settle
	notice    string // a notice's outcome and time, when settle changed nothing
	page      string // Notices after a Ref
	firstPage string // Notices from the first Ref
}

func buildQueries(d dialect.Dialect, p string) queries {
	ev, nt := p+"breach_events", p+"breach_notices"
	q := queries{
		first: d.Rebind("INSERT INTO " + ev + " (breach_id, seq, time_us, kind, data) VALUES (?, ?, ?, ?, ?)"),
		// One row, or none when Seq n-1 is not stored (a gap); a Seq
		// taken already is the primary key's violation. The previous
		// row is read by its primary key.
		next: d.Rebind("INSERT INTO " + ev + " (breach_id, seq, time_us, kind, data) SELECT ?, ?, ?, ?, ? FROM " + ev +
			" WHERE breach_id = ? AND seq = ?"),
		list:      d.Rebind("SELECT seq, time_us, kind, data FROM " + ev + " WHERE breach_id = ? ORDER BY seq"),
		breaches:  d.Rebind("SELECT breach_id FROM " + ev + " WHERE seq = 1 AND breach_id > ? ORDER BY breach_id LIMIT ?"),
		exists:    d.Rebind("SELECT 1 FROM " + ev + " WHERE breach_id = ? AND seq = 1"),
		settle:    d.Rebind("UPDATE " + nt + " SET outcome = ?, time_us = ? WHERE breach_id = ? AND ref = ? AND outcome IN (" + sqlPending + ", " + sqlFailed + ")"),
		notice:    d.Rebind("SELECT outcome, time_us FROM " + nt + " WHERE breach_id = ? AND ref = ?"),
		page:      d.Rebind("SELECT ref, time_us, outcome FROM " + nt + " WHERE breach_id = ? AND ref > ? ORDER BY ref LIMIT ?"),
		firstPage: d.Rebind("SELECT ref, time_us, outcome FROM " + nt + " WHERE breach_id = ? ORDER BY ref LIMIT ?"),
	}
	// A claim inserts a pending notice for a breach that has events (its
	// row of Seq 1), or turns a failed one pending; a notice of any
	// other outcome stays.
	ins := "INSERT INTO " + nt + " (breach_id, ref, time_us, outcome) SELECT ?, ?, ?, " + sqlPending + " FROM " + ev +
		" WHERE breach_id = ? AND seq = 1"
	if d == dialect.MySQL {
		// Two statements (claimMySQL), each of whose rows affected is the
		// same with and without clientFoundRows: a plain INSERT … SELECT,
		// and an UPDATE that always changes the row it matches.
		q.claim = ins
		q.reclaim = "UPDATE " + nt + " SET time_us = ?, outcome = " + sqlPending +
			" WHERE breach_id = ? AND ref = ? AND outcome IN (" + sqlFailed + ", ?)"
	} else {
		// Concurrent upserts of one notice serialise on the primary key,
		// and the condition is evaluated on the row as committed, so one
		// of them inserts or updates and the others change nothing.
		q.claim = d.Rebind(ins + " ON CONFLICT (breach_id, ref) DO UPDATE SET time_us = excluded.time_us, outcome = excluded.outcome" +
			" WHERE " + nt + ".outcome IN (" + sqlFailed + ", ?)")
	}
	return q
}

// storableID reports whether id could be a stored breach ID: breach.CheckEvent
// lets only UUIDs in (36 bytes of hex digits and hyphens). Any other ID
// names no breach, and is not sent to the database, where a byte that is
// not UTF-8 would be an error of PostgreSQL's.
func storableID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '-':
		default:
			return false
		}
	}
	return true
}

// pageAfter returns a bound for breach_id > ? that selects the same
// stored IDs as after, in byte order, and that every database takes as
// text: after up to its first byte that is NUL or not ASCII. Stored IDs
// are ASCII without NUL or DEL, so an ID is after a NUL there exactly
// when it is after the part before it, and before a byte of 0x80 or more
// exactly when it is before the part before it followed by DEL.
func pageAfter(after string) string {
	for i := 0; i < len(after); i++ {
		switch c := after[i]; {
		case c == 0:
			return after[:i]
		case c >= 0x7f:
			return after[:i] + "\x7f"
		}
	}
	return after
}

// Append implements breach.Store: for Seq 1 one INSERT, for Seq n > 1 one
// INSERT … SELECT from the breach's row of Seq n-1, which inserts nothing
// when there is none (a gap: ErrInvalid, Field "Seq"). The primary key
// (breach_id, seq) refuses a Seq stored already, whoever stored it:
// ErrConflict. Of concurrent Appends of one Seq one commits; the others
// wait for it and are refused by the key.
func (s *Store) Append(ctx context.Context, ev breach.Event) error {
	const op = "Append"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := breach.CheckEvent(ev); err != nil {
		return checked(op, err)
	}
	var n int64
	err := sqlbase.Retry(ctx, func() error {
		var res sql.Result
		var err error
		if ev.Seq == 1 {
			res, err = s.st.Exec(ctx, s.q.first, ev.Breach, ev.Seq, sqlbase.Micros(ev.Time), string(ev.Kind), ev.Data)
		} else {
			res, err = s.st.Exec(ctx, s.q.next, ev.Breach, ev.Seq, sqlbase.Micros(ev.Time), string(ev.Kind), ev.Data,
				ev.Breach, ev.Seq-1)
		}
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	switch {
	case dialect.IsUniqueViolation(err):
		return condErr(op, "", breach.ErrConflict, "the breach has an event of that Seq")
	case err != nil:
		return storeErr(op, err)
	case n == 0:
		return condErr(op, "Seq", breach.ErrInvalid, "not one more than the breach's last event")
	}
	return nil
}

// Events implements breach.Store: one query of the breach's rows on the
// primary key, in Seq order. None is ErrNotFound.
func (s *Store) Events(ctx context.Context, id string) ([]breach.Event, error) {
	const op = "Events"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	notFound := condErr(op, "", breach.ErrNotFound, "no breach of that ID")
	if !storableID(id) {
		return nil, notFound
	}
	var out []breach.Event
	err := sqlbase.Retry(ctx, func() error {
		out = out[:0]
		rows, err := s.st.Query(ctx, s.q.list, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ev := breach.Event{Breach: id}
			var us int64
			var kind string
			if err := rows.Scan(&ev.Seq, &us, &kind, &ev.Data); err != nil {
				return err
			}
			ev.Time, ev.Kind = sqlbase.FromMicros(us), breach.Kind(kind)
			out = append(out, ev)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, storeErr(op, err)
	}
	if len(out) == 0 {
		return nil, notFound
	}
	return out, nil
}

// Breaches implements breach.Store: one query of the rows of Seq 1 after
// after, on the primary key, in byte order of the IDs.
func (s *Store) Breaches(ctx context.Context, after string, limit int) ([]string, error) {
	const op = "Breaches"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if err := breach.CheckLimit("breaches", limit); err != nil {
		return nil, checked(op, err)
	}
	ids := []string{}
	err := sqlbase.Retry(ctx, func() error {
		ids = ids[:0]
		rows, err := s.st.Query(ctx, s.q.breaches, pageAfter(after), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, storeErr(op, err)
	}
	return ids, nil
}

// Claim implements breach.Store. On PostgreSQL and SQLite it is one
// conditional upsert: INSERT … SELECT from the breach's row of Seq 1 ON
// CONFLICT (breach_id, ref) DO UPDATE … WHERE outcome IN ('failed', and
// 'skipped' when skipped is true), whose
// rows affected tell whether it claimed; when it claimed nothing, a read
// of the breach's row of Seq 1 tells an unknown breach (ErrNotFound) from
// a notice that is not to be claimed (false). On MySQL/MariaDB see
// claimMySQL.
func (s *Store) Claim(ctx context.Context, n breach.Notice, skipped bool) (bool, error) {
	const op = "Claim"
	if err := checkCtx(op, ctx); err != nil {
		return false, err
	}
	if err := breach.CheckNotice("claim", n, true); err != nil {
		return false, checked(op, err)
	}
	us := sqlbase.Micros(n.Time)
	// The second outcome a claim takes back: skipped, or failed again.
	again := string(breach.Failed)
	if skipped {
		again = string(breach.Skipped)
	}
	if s.b.D == dialect.MySQL {
		return s.claimMySQL(ctx, n, us, again)
	}
	claimed, err := s.execOne(ctx, s.q.claim, n.Breach, n.Ref, us, n.Breach, again)
	if err != nil || claimed {
		return claimed, storeErr(op, err)
	}
	var one int
	err = sqlbase.Retry(ctx, func() error { return s.st.QueryRow(ctx, s.q.exists, n.Breach).Scan(&one) })
	if errors.Is(err, sql.ErrNoRows) {
		return false, condErr(op, "", breach.ErrNotFound, "no breach of that ID")
	}
	return false, storeErr(op, err)
}

// claimMySQL claims n on MySQL/MariaDB with two statements, each of whose
// rows affected is the same with and without clientFoundRows: the INSERT
// … SELECT from the breach's row of Seq 1, which inserts the pending
// notice (claimed) or nothing (no such breach: ErrNotFound); and, when
// the notice's row is there already (the primary key's violation), an
// UPDATE of it to pending WHERE outcome is failed (or skipped, when
// Claim's skipped is true), which always changes
// the row it matches (claimed) or matches none (not to be claimed). Of
// concurrent claimers of a new notice the primary key lets one insert;
// the others wait for it, then find it pending. Of concurrent claimers
// of a failed one the row's lock lets one UPDATE change it; the others
// wait for it, then find it pending.
func (s *Store) claimMySQL(ctx context.Context, n breach.Notice, us int64, again string) (bool, error) {
	const op = "Claim"
	ok, err := s.execOne(ctx, s.q.claim, n.Breach, n.Ref, us, n.Breach)
	switch {
	case dialect.IsUniqueViolation(err):
		ok, err = s.execOne(ctx, s.q.reclaim, us, n.Breach, n.Ref, again)
		return ok, storeErr(op, err)
	case err != nil:
		return false, storeErr(op, err)
	case !ok:
		return false, condErr(op, "", breach.ErrNotFound, "no breach of that ID")
	}
	return true, nil
}

// execOne runs q, again on a deadlock or serialization failure, and
// reports whether it wrote a row.
func (s *Store) execOne(ctx context.Context, q string, args ...any) (bool, error) {
	var n int64
	err := sqlbase.Retry(ctx, func() error {
		res, err := s.st.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// Settle implements breach.Store: one UPDATE of the notice's row, by
// primary key, WHERE outcome is pending or failed. When it changes
// nothing, a read of the row tells: none is ErrNotFound, sent or skipped
// ErrConflict; on MySQL/MariaDB, whose rows affected leave out a row
// matched but left unchanged, the outcome and time Settle wrote mean the
// row matched (and the Settle succeeded).
func (s *Store) Settle(ctx context.Context, n breach.Notice) error {
	const op = "Settle"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := breach.CheckNotice("settle", n, false); err != nil {
		return checked(op, err)
	}
	us := sqlbase.Micros(n.Time)
	ok, err := s.execOne(ctx, s.q.settle, string(n.Outcome), us, n.Breach, n.Ref)
	if err != nil || ok {
		return storeErr(op, err)
	}
	var outcome string
	var at int64
	err = sqlbase.Retry(ctx, func() error { return s.st.QueryRow(ctx, s.q.notice, n.Breach, n.Ref).Scan(&outcome, &at) })
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return condErr(op, "", breach.ErrNotFound, "the notice was not claimed")
	case err != nil:
		return storeErr(op, err)
	case outcome == string(breach.Sent) || outcome == string(breach.Skipped):
		return condErr(op, "", breach.ErrConflict, "the notice's outcome is recorded already")
	case s.b.D == dialect.MySQL && outcome == string(n.Outcome) && at == us:
		return nil
	}
	// Pending or failed now, but not when the UPDATE ran: there was no
	// row then, and a Claim inserted one since.
	return condErr(op, "", breach.ErrNotFound, "the notice was not claimed")
}

// Notices implements breach.Store: one query of the breach's notices
// after a Ref, on the primary key, in byte order of the Refs.
func (s *Store) Notices(ctx context.Context, id string, after []byte, limit int) ([]breach.Notice, error) {
	const op = "Notices"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if err := breach.CheckLimit("notices", limit); err != nil {
		return nil, checked(op, err)
	}
	if !storableID(id) {
		return nil, nil
	}
	q, args := s.q.firstPage, []any{id, limit}
	if len(after) > 0 {
		q, args = s.q.page, []any{id, after, limit}
	}
	var out []breach.Notice
	err := sqlbase.Retry(ctx, func() error {
		out = out[:0]
		rows, err := s.st.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n := breach.Notice{Breach: id}
			var us int64
			var outcome string
			if err := rows.Scan(&n.Ref, &us, &outcome); err != nil {
				return err
			}
			n.Time, n.Outcome = sqlbase.FromMicros(us), breach.Outcome(outcome)
			out = append(out, n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, storeErr(op, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
