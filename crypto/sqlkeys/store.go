package sqlkeys

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

//go:embed migrations
var migrationFS embed.FS

var schema = sqlbase.Schema{Component: "crypto", FS: migrationFS}

// MaxRefLen is the longest Ref, in bytes, that a Store accepts (the width of
// the ref column on MySQL). The Keyring's Refs are 64 bytes.
const MaxRefLen = 255

// Store is a crypto.Store in a SQL database. It is safe for concurrent use
// by many goroutines and by many processes sharing the database.
type Store struct {
	b  *sqlbase.Base
	st *sqlstmt.Cache
	q  queries
}

var _ crypto.Store = (*Store)(nil)

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
	b, err := sqlbase.New(db, d, schema, opts...)
	if err != nil {
		return nil, invalid("sqlkeys.New", err)
	}
	return &Store{b: b, st: b.Stmt, q: buildQueries(b.D, b.Table("crypto_keys"))}, nil
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
	f, err := sqlbase.Migrations(schema, d, prefix)
	if err != nil {
		return nil, invalid("sqlkeys.Migrations", err)
	}
	return f, nil
}

func invalid(op string, err error) error {
	field, cause := sqlbase.Invalid(err, crypto.ErrInvalid)
	return &crypto.Error{Op: op, Field: field, Err: cause}
}

// exec runs a prepared statement and returns the rows it affected.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.st.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

type queries struct {
	get, state, create, update, shred, revive, list string
	// shredTwice: the shred statement binds its time twice (MySQL).
	shredTwice bool
}

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

// wrappedArg returns w as bound for a live row: never NULL, so that an empty
// keyset stays distinguishable from a tombstone.
func wrappedArg(w []byte) []byte {
	if w == nil {
		return []byte{}
	}
	return w
}

func checkRef(op, ref string) error {
	if ref == "" || len(ref) > MaxRefLen {
		return &crypto.Error{Op: op, Err: fmt.Errorf("sqlkeys: %w: a ref must be 1 to %d bytes", crypto.ErrInvalid, MaxRefLen)}
	}
	return nil
}

// condErr is the error of a condition of the crypto.Store contract. It
// never wraps a driver error: MySQL's duplicate-key text quotes the key.
func condErr(op string, sentinel error, ref, what string) error {
	return &crypto.Error{Op: op, Err: fmt.Errorf("sqlkeys: %w: ref %q %s", sentinel, ref, what)}
}

// storeErr wraps a database error, with the server's message withheld
// (dialect.Redact): servers quote bound values in their messages and
// details, and those values are personal data or key material.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &crypto.Error{Op: op, Err: fmt.Errorf("sqlkeys: %w", dialect.Redact(err))}
}

// Get implements crypto.Store. It is one primary-key lookup.
func (s *Store) Get(ctx context.Context, ref string) (crypto.Record, error) {
	r := crypto.Record{Ref: ref}
	var kek sql.NullString
	var created, updated int64
	var shredded sql.NullInt64
	err := s.st.QueryRow(ctx, s.q.get, ref).Scan(&r.Wrapped, &kek, &r.Version, &created, &updated, &shredded)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return crypto.Record{}, condErr("get", crypto.ErrNotFound, ref, "has no key")
	case err != nil:
		return crypto.Record{}, storeErr("get", err)
	case shredded.Valid:
		return crypto.Record{}, condErr("get", crypto.ErrShredded, ref, "was shredded")
	}
	r.KEK, r.Created, r.Updated = kek.String, sqlbase.FromMicros(created), sqlbase.FromMicros(updated)
	return r, nil
}

// state reads what a refused write met: ErrNotFound (no row), ErrShredded
// (a tombstone) or nil (a live row).
func (s *Store) state(ctx context.Context, op, ref string) error {
	var shredded sql.NullInt64
	err := s.st.QueryRow(ctx, s.q.state, ref).Scan(&shredded)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return condErr(op, crypto.ErrNotFound, ref, "has no key")
	case err != nil:
		return storeErr(op, err)
	case shredded.Valid:
		return condErr(op, crypto.ErrShredded, ref, "was shredded")
	}
	return nil
}

// Create implements crypto.Store: one INSERT, which the primary key refuses
// if the Ref has a row, live or tombstone. The stored Version is 1 whatever
// r.Version holds.
func (s *Store) Create(ctx context.Context, r crypto.Record) error {
	if err := checkRef("create", r.Ref); err != nil {
		return err
	}
	return s.insert(ctx, "create", r)
}

func (s *Store) insert(ctx context.Context, op string, r crypto.Record) error {
	_, err := s.exec(ctx, s.q.create, r.Ref, wrappedArg(r.Wrapped), r.KEK, sqlbase.Micros(r.Created), sqlbase.Micros(r.Updated))
	if err == nil || !dialect.IsUniqueViolation(err) {
		return storeErr(op, err)
	}
	// Rows are never deleted, so the row that refused the insert is still
	// there; it is live or a tombstone.
	if err := s.state(ctx, op, r.Ref); err != nil {
		return err
	}
	return condErr(op, crypto.ErrConflict, r.Ref, "has a live key")
}

// Update implements crypto.Store: one conditional UPDATE. It replaces
// Wrapped, KEK and Updated; Created keeps its stored value. When no row
// matches, a read tells ErrConflict, ErrShredded and ErrNotFound apart.
func (s *Store) Update(ctx context.Context, r crypto.Record) error {
	n, err := s.exec(ctx, s.q.update, wrappedArg(r.Wrapped), r.KEK, sqlbase.Micros(r.Updated), r.Ref, r.Version)
	if err != nil {
		return storeErr("update", err)
	}
	if n == 1 {
		return nil
	}
	if err := s.state(ctx, "update", r.Ref); err != nil {
		return err
	}
	return condErr("update", crypto.ErrConflict, r.Ref, fmt.Sprintf("is not at version %d", r.Version))
}

// Shred implements crypto.Store: one upsert that leaves a tombstone whatever
// the Ref held. Shredding a shredded Ref keeps the first tombstone's time.
func (s *Store) Shred(ctx context.Context, ref string, at time.Time) error {
	if err := checkRef("shred", ref); err != nil {
		return err
	}
	args := []any{ref, sqlbase.Micros(at)}
	if s.q.shredTwice {
		args = append(args, sqlbase.Micros(at))
	}
	_, err := s.exec(ctx, s.q.shred, args...)
	return storeErr("shred", err)
}

// Revive implements crypto.Store: an UPDATE that turns a tombstone into a
// live row with Version 1; if the Ref has no tombstone, it is created as
// Create does. The stored Version is 1 whatever r.Version holds.
func (s *Store) Revive(ctx context.Context, r crypto.Record) error {
	if err := checkRef("revive", r.Ref); err != nil {
		return err
	}
	// A Ref's row, once written, is never deleted, so each step's outcome
	// holds for the next: a tombstone that the UPDATE missed because it
	// did not exist yet makes the INSERT fail, and the retry finds it.
	for range 3 {
		n, err := s.exec(ctx, s.q.revive, wrappedArg(r.Wrapped), r.KEK, sqlbase.Micros(r.Created), sqlbase.Micros(r.Updated), r.Ref)
		if err != nil {
			return storeErr("revive", err)
		}
		if n == 1 {
			return nil
		}
		err = s.insert(ctx, "revive", r)
		if !errors.Is(err, crypto.ErrShredded) {
			return err
		}
		// A Shred inserted a tombstone between the two statements.
	}
	return condErr("revive", crypto.ErrConflict, r.Ref, "is being shredded and revived concurrently")
}

// List implements crypto.Store: live rows in primary-key order.
func (s *Store) List(ctx context.Context, after string, limit int) ([]crypto.Record, error) {
	if limit < 0 {
		return nil, &crypto.Error{Op: "list", Err: fmt.Errorf("sqlkeys: %w: negative limit", crypto.ErrInvalid)}
	}
	if limit == 0 {
		return []crypto.Record{}, nil
	}
	rows, err := s.st.Query(ctx, s.q.list, after, limit)
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
