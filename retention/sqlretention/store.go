package sqlretention

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The Store's embedded schema: migrations/<dialect>, component
// "retention".
//
//go:embed migrations
var storeMigrationFS embed.FS

func newStoreError(op, field string, err error) error {
	return &retention.Error{Op: op, Field: field, Err: err}
}

var storeSchema = sqlbase.Schema{Package: "sqlretention", Component: "retention", FS: storeMigrationFS,
	ErrInvalid: retention.ErrInvalid, Error: newStoreError}

// Option configures a Store. The SQL stores of the module share it: an
// option means the same in sqlretention, sqlexport, sqlerasure,
// sqlconsent, sqlkeys and sqlaudit.
type Option = sqlbase.Option

// WithTablePrefix sets the prefix of the Store's table names:
// <prefix>retention_holds, <prefix>retention_hold_cats and
// <prefix>retention_sweeps, and the version table <prefix>schema_version
// that Migrate shares with the module's other stores of the same prefix.
// It must match ^[a-z_][a-z0-9_]{0,39}$. Default: "gdpr_".
func WithTablePrefix(p string) Option { return sqlbase.WithTablePrefix(p) }

// Limits of the Store's columns, in bytes, the same on every database so
// that the tables move between databases unchanged. A longer value is
// refused before the database sees it, with an error wrapping
// retention.ErrInvalid that names the field; so is a string that is not
// valid UTF-8 or holds a NUL byte (PostgreSQL's text refuses both).
const (
	// MaxIDLen is the longest hold ID, subject ID, category, actor ID,
	// sweep name and lease owner (retention.MaxKeyLen and
	// gdpr.MaxIDLen).
	MaxIDLen = 255
	// MaxKindLen is the longest actor kind (gdpr.ActorKind).
	MaxKindLen = 32
	// MaxReasonLen is the longest hold reason (retention.MaxTextLen).
	MaxReasonLen = 4096
	// MaxStateLen is the longest sweep checkpoint, as JSON. A Sweep
	// within retention.MaxTargets and retention.MaxCursorLen stays well
	// under it.
	MaxStateLen = 4 << 20
)

// Store is a retention.Store in a SQL database: the legal holds and the
// sweeps' leases and checkpoints. It is safe for concurrent use by many
// goroutines and by many processes sharing the database.
type Store struct {
	b  *sqlbase.Base
	st *sqlstmt.Cache
	q  storeQueries
}

var (
	_ retention.Store = (*Store)(nil)
	_ gdpr.LegalHolds = (*Store)(nil)
)

// New returns a Store over db, a database of dialect d. It does not touch
// the database; call Migrate once at start-up (or apply Migrations with
// your own tool) before use. The *sql.DB stays the caller's to close. A
// nil db, an unknown dialect or a bad option is an error wrapping
// retention.ErrInvalid, Op "sqlretention.New".
//
// For SQLite, open db with a busy timeout, e.g.
// "file:app.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
// with modernc.org/sqlite, so concurrent writers wait instead of failing.
func New(db *sql.DB, d sqldialect.Dialect, opts ...Option) (*Store, error) {
	b, err := storeSchema.Open(db, d, opts...)
	if err != nil {
		return nil, err
	}
	return &Store{b: b, st: b.Stmt, q: buildStoreQueries(b.D, b.Prefix)}, nil
}

// Migrate creates or updates the Store's tables (migration component
// "retention"). It is idempotent and safe to run from several processes
// at once, and behind PgBouncer.
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
// table prefix, as versioned files (0001_retention_holds.sql,
// 0002_retention_hold_cats.sql, 0003_retention_sweeps.sql), for hosts
// that apply migrations with their own tool (goose, golang-migrate,
// atlas). Each file holds plain statements separated by ";" at line
// ends; on MySQL one statement per file.
func Migrations(d sqldialect.Dialect, prefix string) (fs.FS, error) {
	return storeSchema.Migrations(d, prefix)
}

// holdCols are a hold's columns, in scanHold's order.
const holdCols = "id, subject, categories, reason, placed_by_kind, placed_by_id, placed_us, until_us, released_us, released_by_kind, released_by_id"

// The parts of a ListHolds query: the conditions of a filter's fields.
const (
	condSubject  = "(h.subject = ? OR h.subject IS NULL)"
	condInForce  = "h.placed_us <= ? AND (h.ends_us IS NULL OR h.ends_us > ?)"
	condAfter    = "h.id > ?"
	condCategory = "(h.categories IS NULL OR EXISTS (SELECT 1 FROM %s c WHERE c.hold_id = h.id AND c.category = ?))"
)

type storeQueries struct {
	holds, cats, sweeps string

	insHold    string // inserts nothing when the ID is taken
	insCat     string
	getHold    string
	release    string // the conditional UPDATE of ReleaseHold
	inForceFor string // a page of Holds(subject, now)
	purgeCats  string // PurgeHolds: the categories of the holds ended before an instant,
	purgeHolds string // then the holds

	takeSweep  string // the conditional upsert of AcquireSweep
	sweepToken string // MySQL: the token after takeSweep
	saveSweep  string // the conditional UPDATE of SaveSweep
	sweepUntil string // MySQL: until_us of a token, when saveSweep changed nothing
	freeSweep  string // ReleaseSweep's UPDATE
	lastSweep  string
}

func buildStoreQueries(d dialect.Dialect, p string) storeQueries {
	holds, cats, sweeps := p+"retention_holds", p+"retention_hold_cats", p+"retention_sweeps"
	q := storeQueries{
		holds: holds, cats: cats, sweeps: sweeps,
		insHold: d.InsertIgnore(holds, "id", "subject", "categories", "reason", "placed_by_kind", "placed_by_id",
			"placed_us", "until_us", "released_us", "released_by_kind", "released_by_id", "ends_us"),
		insCat:  d.InsertIgnore(cats, "hold_id", "category"),
		getHold: d.Rebind("SELECT " + holdCols + " FROM " + holds + " WHERE id = ?"),
		// Only a hold neither released nor ended at the instant: of
		// concurrent releases the row's lock lets one write, the others
		// then find released_us set.
		release: d.Rebind("UPDATE " + holds + " SET released_us = ?, released_by_kind = ?, released_by_id = ?, ends_us = ?" +
			" WHERE id = ? AND released_us IS NULL AND (until_us IS NULL OR until_us > ?)"),
		inForceFor: d.Rebind("SELECT " + prefixHoldCols("h.") + " FROM " + holds + " h WHERE " + condSubject +
			" AND " + condInForce + " AND " + condAfter + " ORDER BY h.id LIMIT ?"),
		purgeCats: d.Rebind("DELETE FROM " + cats + " WHERE hold_id IN (SELECT id FROM " + holds +
			" WHERE ends_us IS NOT NULL AND ends_us < ?)"),
		purgeHolds: d.Rebind("DELETE FROM " + holds + " WHERE ends_us IS NOT NULL AND ends_us < ?"),
		saveSweep:  d.Rebind("UPDATE " + sweeps + " SET state = ?, until_us = ? WHERE name = ? AND token = ? AND until_us > ?"),
		sweepUntil: d.Rebind("SELECT until_us FROM " + sweeps + " WHERE name = ? AND token = ?"),
		freeSweep:  d.Rebind("UPDATE " + sweeps + " SET until_us = ? WHERE name = ? AND token = ?"),
		lastSweep:  d.Rebind("SELECT state FROM " + sweeps + " WHERE name = ?"),
	}
	// takeSweep inserts the sweep's lease, or takes over one that has
	// expired, keeping its checkpoint; a live one stays. Concurrent
	// upserts of one name serialise on the primary key, and the
	// condition is evaluated on the row as committed, so exactly one of
	// them takes the lease.
	const cols = " (name, owner, token, until_us) VALUES (?, ?, ?, ?)"
	if d == dialect.MySQL {
		// ON DUPLICATE KEY UPDATE assigns left to right: until_us, which
		// the conditions read, comes last. The values are bound again
		// rather than read with VALUES(), deprecated in MySQL 8.0.20.
		q.takeSweep = "INSERT INTO " + sweeps + cols + " ON DUPLICATE KEY UPDATE" +
			" owner = IF(until_us <= ?, ?, owner)," +
			" token = IF(until_us <= ?, ?, token)," +
			" until_us = IF(until_us <= ?, ?, until_us)"
		q.sweepToken = "SELECT token FROM " + sweeps + " WHERE name = ? FOR UPDATE"
	} else {
		q.takeSweep = d.Rebind("INSERT INTO " + sweeps + cols + " ON CONFLICT (name) DO UPDATE SET" +
			" owner = excluded.owner, token = excluded.token, until_us = excluded.until_us" +
			" WHERE " + sweeps + ".until_us <= ?")
	}
	return q
}

// listHolds returns the query of ListHolds for a filter of that shape,
// and its arguments. There are eight shapes, so the statement cache keeps
// at most eight texts.
func (q storeQueries) listHolds(d dialect.Dialect, f retention.HoldFilter, limit int) (string, []any) {
	conds := []string{condAfter}
	args := []any{f.After}
	if f.Subject != "" {
		conds, args = append(conds, condSubject), append(args, storable(string(f.Subject)))
	}
	if f.Category != "" {
		conds, args = append(conds, fmt.Sprintf(condCategory, q.cats)), append(args, storable(f.Category))
	}
	if !f.InForce.IsZero() {
		now := sqlbase.Micros(f.InForce)
		conds, args = append(conds, condInForce), append(args, now, now)
	}
	return d.Rebind("SELECT " + prefixHoldCols("h.") + " FROM " + q.holds + " h WHERE " +
		strings.Join(conds, " AND ") + " ORDER BY h.id LIMIT ?"), append(args, limit)
}

func prefixHoldCols(alias string) string {
	cs := strings.Split(holdCols, ", ")
	for i, c := range cs {
		cs[i] = alias + c
	}
	return strings.Join(cs, ", ")
}

// validText reports whether v is text every database keeps unchanged:
// valid UTF-8 without NUL.
func validText(v string) bool { return utf8.ValidString(v) && !strings.ContainsRune(v, 0) }

// checkCol refuses a value its column cannot keep.
func checkCol(op, field, v string, max int) error {
	switch {
	case len(v) > max:
		return fieldErr(op, field, fmt.Sprintf("longer than %d bytes", max))
	case !validText(v):
		return fieldErr(op, field, "not valid UTF-8 text without NUL")
	}
	return nil
}

// storable returns v as the argument of a lookup: v itself if a column
// can hold it, or "", which no key column holds, if none can (so that an
// ID or subject too long or not UTF-8 finds nothing, instead of being an
// error of the database).
func storable(v string) string {
	if len(v) > MaxIDLen || !validText(v) {
		return ""
	}
	return v
}

// nullMicros returns t as a nullable column: NULL for the zero time.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return sqlbase.Micros(t)
}

// nullString returns v as a nullable column: NULL for "".
func nullString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// tx runs fn in a transaction, again on a deadlock or serialization
// failure (sqlbase.Retry). On MySQL/MariaDB it is READ COMMITTED: record
// locks only, no gap locks. Every transaction's first statement is a
// write, so on SQLite it takes the write lock before it reads anything,
// whatever the DSN's _txlock.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if s.b.D == dialect.MySQL {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return sqlbase.Retry(ctx, func() error {
		tx, err := s.b.DB.BeginTx(ctx, opts)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// newLeaseToken returns a random lease token: 128 bits, hex.
func newLeaseToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
