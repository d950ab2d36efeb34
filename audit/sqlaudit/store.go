package sqlaudit

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

//go:embed migrations
var migrationFS embed.FS

var schema = sqlbase.Schema{Package: "sqlaudit", Component: "audit", FS: migrationFS, ErrInvalid: audit.ErrInvalid,
	Error: func(op, field string, err error) error { return &audit.Error{Op: op, Field: field, Err: err} }}

// Limits of what a Store keeps, in bytes. They are the widths of the
// columns on MySQL; the Store enforces them on every database, so that a
// log moves between databases unchanged. Append refuses an entry over a
// limit, and Salt and PutCheckpoint a value over one, with an error wrapping
// audit.ErrInvalid.
const (
	MaxSubjectLen = 32      // a subject pseudonym (HMAC-SHA-256)
	MaxActorLen   = 255     // an actor: a pseudonym or a system name, with its kind
	MaxBodyLen    = 1 << 20 // an entry's encoding (the Log's entries stay under 16 KiB)
	MaxRefLen     = 64      // a salt's ref
	MaxSaltLen    = 64      // a salt
	MaxNoteLen    = 65535   // a signed checkpoint
)

// Store is an audit.Store in a SQL database. It is safe for concurrent use
// by many goroutines and by many processes sharing the database.
type Store struct {
	b      *sqlbase.Base
	db     *sql.DB
	d      dialect.Dialect
	q      queries
	st     *sqlstmt.Cache
	chunks chunks // MySQL and SQLite
}

var (
	_ audit.Store        = (*Store)(nil)
	_ audit.SaltLookuper = (*Store)(nil)
)

// Option configures a Store. The SQL stores of the module share it: an
// option means the same in sqlconsent, sqlkeys and sqlaudit.
type Option = sqlbase.Option

// WithTablePrefix sets the prefix of the Store's table names
// (<prefix>audit_head, <prefix>audit_entries, …), and of the version table
// <prefix>schema_version that Migrate shares with the module's other
// stores of the same prefix. It must match ^[a-z_][a-z0-9_]{0,39}$.
// Default: "gdpr_".
func WithTablePrefix(p string) Option { return sqlbase.WithTablePrefix(p) }

// New returns a Store over db, a database of dialect d. It does not touch the
// database; call Migrate once at start-up (or apply Migrations with your own
// tool) before use. The *sql.DB stays the caller's to close. A nil db, an
// unknown dialect or a bad option is an error wrapping audit.ErrInvalid.
//
// For SQLite, open db with a busy timeout, e.g.
// "file:audit.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
// with modernc.org/sqlite, so concurrent writers wait instead of failing.
// For MySQL, leave the driver's clientFoundRows parameter off (its default).
func New(db *sql.DB, d sqldialect.Dialect, opts ...Option) (*Store, error) {
	b, err := schema.Open(db, d, opts...)
	if err != nil {
		return nil, err
	}
	return &Store{b: b, db: db, d: b.D, q: buildQueries(b.D, b.Prefix), st: b.Stmt, chunks: chunkSizes[b.D]}, nil
}

// Migrate creates or updates the Store's tables. It is idempotent and safe
// to run from several processes at once, and behind PgBouncer.
func (s *Store) Migrate(ctx context.Context) error { return s.b.Migrate(ctx) }

// Migrations returns the Store's schema for dialect d with the given table
// prefix, as versioned files (0001_audit.sql, …), for hosts that apply
// migrations with their own tool (goose, golang-migrate, atlas). Each file
// holds plain statements separated by ";" at line ends. The first file
// also inserts the head row, which the Store needs.
func Migrations(d sqldialect.Dialect, prefix string) (fs.FS, error) {
	return schema.Migrations(d, prefix)
}

// Close releases the Store's prepared statements. The *sql.DB stays open:
// it is the caller's to close. A Store may be used after Close; it prepares
// its statements again. Call it when no call on the Store is in flight.
func (s *Store) Close() error { return s.b.Close() }

// Chunking of the multi-row statements of MySQL and SQLite. A chunk holds at
// most chunks.entries entries (5 parameters each) or chunks.hashes hashes
// (2 each), and about chunkBytes of bodies, below MySQL's smallest default
// max_allowed_packet (4 MiB). MySQL allows 65,535 parameters per
// statement; SQLite 32,766 since 3.32 and 999 before, which its chunks
// stay under. Full chunks run as prepared statements; the last, shorter
// one runs unprepared.
type chunks struct{ entries, hashes int }

var chunkSizes = map[dialect.Dialect]chunks{
	dialect.MySQL:  {entries: 256, hashes: 1024}, // 1,280 and 2,048 parameters
	dialect.SQLite: {entries: 192, hashes: 480},  // 960 parameters each
}

const chunkBytes = 1 << 20

// inSizes are the sizes of the prepared "idx IN (…)" lists of MySQL and
// SQLite: a read of k hashes uses the smallest that holds k, padded with
// repeats of the last index, so a handful of statements serve every read.
var inSizes = [...]int{1, 2, 4, 8, 16, 32, 64, 128, 256}

// pgHashChunk bounds the indexes of one PostgreSQL hash read.
const pgHashChunk = 4096

// pgSaltChunk bounds the refs of one PostgreSQL read of salts
// (LookupSalts): more than the Log asks at a time (1000), so that its
// calls are one statement each.
const pgSaltChunk = 4096

// savepoint is the savepoint an Appender from Tx writes under.
const savepoint = "gdpr_audit_append"

type queries struct {
	entriesT, hashesT string // table names, for the chunked inserts

	head      string // read the head
	lockHead  string // read the head and lock it (FOR UPDATE; plain on SQLite)
	touchHead string // SQLite: a write that takes the database's write lock
	setHead   string // move the head (MySQL, SQLite)
	pgWrite   string // PostgreSQL: entries, hashes and head in one statement
	pgHashes  string // PostgreSQL: hashes WHERE idx = ANY(array)
	hashRange string // hashes in [?, ?), in order

	hashesIn       [len(inSizes)]string // MySQL, SQLite: IN lists
	hashesInLocked [len(inSizes)]string // the same, as locking reads (MySQL in an append)

	entries        string
	query          [16]string // by the f* bits of the filter
	redact, exists string

	saltGet, saltPut, saltDel string
	saltGetLocked             string // saltGet as a locking read on MySQL

	// Salts of an append (audit.SaltReader). PostgreSQL: insert the
	// missing ones and read all in one statement, then read the latest
	// committed of any left. MySQL and SQLite: multi-row inserts that do
	// nothing on a duplicate, then IN lists (locking reads on MySQL), of
	// the sizes of inSizes.
	pgSalts, pgSaltsGet string
	saltsPut, saltsIn   [len(inSizes)]string
	// saltsGetIn are the IN lists of LookupSalts on MySQL and SQLite:
	// saltsIn without the locking read, for the pool (PostgreSQL reads
	// with pgSaltsGet).
	saltsGetIn      [len(inSizes)]string
	cpPut, cpLatest string
}

// Bits of a filter, indexing queries.query.
const (
	fSubject = 1 << iota
	fActor
	fSince
	fUntil
)

const entryCols = "idx, time_us, subject, actor, body"

// sqliteNulls is a column that SQLite reads add after entryCols: which of
// subject, actor and body are NULL, since modernc.org/sqlite returns nil
// for an empty blob too, and an empty value is not a redacted one.
const sqliteNulls = ", (subject IS NULL) + 2 * (actor IS NULL) + 4 * (body IS NULL)"

func buildQueries(d dialect.Dialect, prefix string) queries {
	head := prefix + "audit_head"
	entries := prefix + "audit_entries"
	hashes := prefix + "audit_hashes"
	salts := prefix + "audit_salts"
	cps := prefix + "audit_checkpoints"
	sel := entryCols
	if d == dialect.SQLite {
		sel += sqliteNulls
	}
	q := queries{
		entriesT: entries,
		hashesT:  hashes,
		head:     "SELECT size, root FROM " + head + " WHERE id = 1",
		entries:  d.Rebind("SELECT " + sel + " FROM " + entries + " WHERE idx >= ? ORDER BY idx LIMIT ?"),
		redact: d.Rebind("UPDATE " + entries + " SET time_us = NULL, subject = NULL, actor = NULL, body = NULL" +
			" WHERE idx = ?"),
		exists:    d.Rebind("SELECT 1 FROM " + entries + " WHERE idx = ?"),
		hashRange: d.Rebind("SELECT idx, hash FROM " + hashes + " WHERE idx >= ? AND idx < ? ORDER BY idx"),
		saltGet:   d.Rebind("SELECT salt FROM " + salts + " WHERE ref = ?"),
		saltPut:   d.InsertIgnore(salts, "ref", "salt"),
		saltDel:   d.Rebind("DELETE FROM " + salts + " WHERE ref = ?"),
		cpPut:     d.InsertIgnore(cps, "size", "note", "created_us"),
		cpLatest:  "SELECT note FROM " + cps + " ORDER BY size DESC LIMIT 1",
	}
	q.saltGetLocked = q.saltGet
	if d == dialect.MySQL {
		q.saltGetLocked += " LOCK IN SHARE MODE"
	}
	if d == dialect.Postgres {
		// The outer read sees the table as it was when the statement
		// began, without the rows the INSERT adds: those come from
		// RETURNING. A ref another transaction inserted meanwhile is in
		// neither, and read again by pgSaltsGet.
		q.pgSalts = "WITH i AS (INSERT INTO " + salts + " (ref, salt) SELECT * FROM unnest($1::bytea[], $2::bytea[])" +
			" ON CONFLICT DO NOTHING RETURNING ref, salt)" +
			" SELECT ref, salt FROM i UNION ALL SELECT ref, salt FROM " + salts + " WHERE ref = ANY($1::bytea[])"
		q.pgSaltsGet = "SELECT ref, salt FROM " + salts + " WHERE ref = ANY($1::bytea[])"
	} else {
		one := d.InsertIgnore(salts, "ref", "salt")
		for i, n := range inSizes {
			q.saltsPut[i] = strings.Replace(one, "VALUES (?, ?)", "VALUES "+placeholders(n, 2), 1)
			q.saltsIn[i] = d.Rebind("SELECT ref, salt FROM " + salts + " WHERE ref IN (" + placeholders(n, 1) + ")")
			q.saltsGetIn[i] = q.saltsIn[i]
			if d == dialect.MySQL {
				q.saltsIn[i] += " LOCK IN SHARE MODE"
			}
		}
	}
	switch d {
	case dialect.SQLite:
		q.lockHead = q.head
		q.touchHead = "UPDATE " + head + " SET size = size WHERE id = 1"
	default:
		q.lockHead = q.head + " FOR UPDATE"
	}
	if d == dialect.Postgres {
		// Arrays are bound as text literals ('{…}'), which every driver
		// passes through, and cast by the server: one statement whatever
		// the batch's size. Data-modifying CTEs run to completion whether
		// or not the outer statement reads them.
		q.pgWrite = d.Rebind("WITH e AS (INSERT INTO " + entries + " (" + entryCols + ")" +
			" SELECT ?::bigint + u.n - 1, u.t, u.s, u.a, u.b" +
			" FROM unnest(?::bigint[], ?::bytea[], ?::bytea[], ?::bytea[]) WITH ORDINALITY AS u(t, s, a, b, n))," +
			" h AS (INSERT INTO " + hashes + " (idx, hash)" +
			" SELECT ?::bigint + u.n - 1, u.h FROM unnest(?::bytea[]) WITH ORDINALITY AS u(h, n))" +
			" UPDATE " + head + " SET size = ?, root = ? WHERE id = 1 AND size = ?")
		q.pgHashes = d.Rebind("SELECT idx, hash FROM " + hashes + " WHERE idx = ANY(?::bigint[])")
	} else {
		q.setHead = d.Rebind("UPDATE " + head + " SET size = ?, root = ? WHERE id = 1 AND size = ?")
		for i, n := range inSizes {
			q.hashesIn[i] = d.Rebind("SELECT idx, hash FROM " + hashes + " WHERE idx IN (" + placeholders(n, 1) + ")")
			q.hashesInLocked[i] = q.hashesIn[i]
			if d == dialect.MySQL {
				// A locking read sees the latest committed rows even when
				// the caller's transaction (Tx) took its snapshot before
				// the head lock. LOCK IN SHARE MODE, not FOR SHARE: MariaDB
				// 10.6 knows only the former.
				q.hashesInLocked[i] += " LOCK IN SHARE MODE"
			}
		}
	}
	for m := range q.query {
		// Placeholders are numbered: $1 is From, then the filter's
		// values in order, then the limit (Rebind does it for the ? of
		// MySQL and SQLite).
		n := 1
		ph := func() string {
			n++
			if d == dialect.Postgres {
				return "$" + strconv.Itoa(n)
			}
			return "?"
		}
		from := "?"
		if d == dialect.Postgres {
			from = "$1"
		}
		var b strings.Builder
		b.WriteString("SELECT " + sel + " FROM " + entries + " WHERE body IS NOT NULL")
		if d != dialect.Postgres {
			b.WriteString(" AND idx >= ?") // first, as its argument is
		}
		// On a subject or an actor, the (column, idx) index answers the
		// query in order and stops at the limit. On PostgreSQL the From
		// bound is written as a row comparison on that index: a generic
		// plan of the prepared statement (chosen after a few runs) then
		// cannot prefer a walk of the primary key filtered by the column,
		// which reads the whole table for a rare subject or actor.
		col := ""
		switch {
		case m&fSubject != 0:
			col = "subject"
		case m&fActor != 0:
			col = "actor"
		}
		if m&fSubject != 0 {
			p := ph()
			b.WriteString(" AND subject = " + p)
			if col == "subject" && d == dialect.Postgres {
				b.WriteString(" AND (subject, idx) >= (" + p + ", " + from + ")")
			}
		}
		if m&fActor != 0 {
			p := ph()
			b.WriteString(" AND actor = " + p)
			if col == "actor" && d == dialect.Postgres {
				b.WriteString(" AND (actor, idx) >= (" + p + ", " + from + ")")
			}
		}
		// Without a column, the From bound is on the primary key. With one
		// and a time bound as well, it is also written plainly: a custom
		// plan that walks the primary key filtered by the column and the
		// times (the planner's choice when the window holds most of the
		// trail) then starts at From instead of at the first entry, which
		// made every page of a long search read the trail from its start.
		if d == dialect.Postgres && (col == "" || m&(fSince|fUntil) != 0) {
			b.WriteString(" AND idx >= " + from)
		}
		if m&fSince != 0 {
			b.WriteString(" AND time_us >= " + ph())
		}
		if m&fUntil != 0 {
			b.WriteString(" AND time_us < " + ph())
		}
		if col != "" {
			b.WriteString(" ORDER BY " + col + ", idx LIMIT " + ph())
		} else {
			b.WriteString(" ORDER BY idx LIMIT " + ph())
		}
		if d == dialect.Postgres {
			q.query[m] = b.String()
		} else {
			q.query[m] = d.Rebind(b.String())
		}
	}
	return q
}

// placeholders returns n rows of k '?' each: "?, ?" for n = 1, k = 2;
// "(?, ?), (?, ?)" for n = 2, k = 2 (parenthesised when k > 1).
func placeholders(n, k int) string {
	row := strings.TrimSuffix(strings.Repeat("?, ", k), ", ")
	if k > 1 {
		row = "(" + row + ")"
	}
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// nullBytes binds nil as NULL and anything else, empty included, as bytes:
// some drivers bind a nil []byte as an empty blob.
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// condErr is the error of a condition of the audit.Store contract. It never
// wraps a driver error: MySQL's duplicate-key text quotes the key.
func condErr(op string, sentinel error, format string, args ...any) error {
	return &audit.Error{Op: op, Err: fmt.Errorf("sqlaudit: %w: "+format, append([]any{sentinel}, args...)...)}
}

// storeErr wraps a database error, with the server's message withheld
// (dialect.Redact): servers quote bound values in their messages and
// details, and those values are pseudonyms, entries or salts.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &audit.Error{Op: op, Err: fmt.Errorf("sqlaudit: %w", dialect.Redact(err))}
}

// Head implements audit.Store: one primary-key read.
func (s *Store) Head(ctx context.Context) (audit.Head, error) {
	var size int64
	var root []byte
	if err := s.st.QueryRow(ctx, s.q.head).Scan(&size, &root); err != nil {
		return audit.Head{}, headErr("head", err)
	}
	return makeHead(size, root)
}

func headErr(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return &audit.Error{Op: op, Err: errors.New("sqlaudit: the head row is missing (run Migrate)")}
	}
	return storeErr(op, err)
}

func makeHead(size int64, root []byte) (audit.Head, error) {
	h := audit.Head{Size: size}
	if len(root) != tlog.HashSize || size < 0 {
		return audit.Head{}, condErr("head", audit.ErrTampered, "the stored head is malformed")
	}
	copy(h.Root[:], root)
	return h, nil
}

// rowsFunc runs a query: on the Store's pool, or in a transaction.
type rowsFunc func(ctx context.Context, query string, args ...any) (*sql.Rows, error)

// ReadHashes implements audit.Store. A run of consecutive indexes, as
// verification and proofs ask for, is read as a range of the primary key;
// scattered indexes with "idx = ANY(array)" on PostgreSQL and IN lists on
// the others.
func (s *Store) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return []tlog.Hash{}, nil
	}
	if lo := indexes[0]; lo >= 0 && consecutive(indexes) {
		return s.readRange(ctx, lo, len(indexes))
	}
	got, err := s.readHashes(ctx, s.st.Query, indexes, false)
	if err != nil {
		return nil, err
	}
	return ordered(indexes, got)
}

// consecutive reports whether indexes are i, i+1, i+2, ….
func consecutive(indexes []int64) bool {
	for k := 1; k < len(indexes); k++ {
		if indexes[k] != indexes[k-1]+1 {
			return false
		}
	}
	return true
}

// readRange reads the n stored hashes from storage index lo, in order.
func (s *Store) readRange(ctx context.Context, lo int64, n int) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, n)
	found := make([]bool, n)
	rows, err := s.st.Query(ctx, s.q.hashRange, lo, lo+int64(n))
	if err != nil {
		return nil, storeErr("read hashes", err)
	}
	defer rows.Close()
	var h []byte
	for rows.Next() {
		var idx int64
		if err := rows.Scan(&idx, &h); err != nil {
			return nil, storeErr("read hashes", err)
		}
		if len(h) != tlog.HashSize {
			return nil, condErr("read hashes", audit.ErrTampered, "stored hash %d has %d bytes", idx, len(h))
		}
		if k := idx - lo; k >= 0 && k < int64(n) {
			out[k], found[k] = tlog.Hash(h), true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("read hashes", err)
	}
	for k, ok := range found {
		if !ok {
			return nil, condErr("read hashes", audit.ErrNotFound, "no stored hash at index %d", lo+int64(k))
		}
	}
	return out, nil
}

// minRun is the shortest run of consecutive indexes that readHashes reads
// as a range rather than in a list.
const minRun = 16

// readHashes reads the stored hashes at indexes into a map: runs of minRun
// consecutive indexes or more as ranges (unless locked), the others in
// lists, pgHashChunk indexes per query on PostgreSQL, 256 on the others.
// With locked, the reads are locking reads on MySQL (see hashesInLocked).
func (s *Store) readHashes(ctx context.Context, query rowsFunc, indexes []int64, locked bool) (map[int64]tlog.Hash, error) {
	got := make(map[int64]tlog.Hash, len(indexes))
	uniq := make([]int64, 0, len(indexes))
	for _, i := range indexes {
		if i >= 0 {
			uniq = append(uniq, i)
		}
	}
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	var scattered []int64
	for len(uniq) > 0 {
		n := 1
		for n < len(uniq) && uniq[n] == uniq[n-1]+1 {
			n++
		}
		if n >= minRun && !locked {
			if err := scanHashes(ctx, query, s.q.hashRange, []any{uniq[0], uniq[0] + int64(n)}, got); err != nil {
				return nil, err
			}
		} else {
			scattered = append(scattered, uniq[:n]...)
		}
		uniq = uniq[n:]
	}
	for len(scattered) > 0 {
		var q string
		var args []any
		if s.d == dialect.Postgres {
			n := min(len(scattered), pgHashChunk)
			q, args = s.q.pgHashes, []any{s.b.Arrays.Int64s(scattered[:n])}
			scattered = scattered[n:]
		} else {
			k := 0
			for inSizes[k] < len(scattered) && k < len(inSizes)-1 {
				k++
			}
			n := min(len(scattered), inSizes[k])
			q = s.q.hashesIn[k]
			if locked {
				q = s.q.hashesInLocked[k]
			}
			args = make([]any, inSizes[k])
			for j := range args {
				args[j] = scattered[min(j, n-1)]
			}
			scattered = scattered[n:]
		}
		if err := scanHashes(ctx, query, q, args, got); err != nil {
			return nil, err
		}
	}
	return got, nil
}

func scanHashes(ctx context.Context, query rowsFunc, q string, args []any, into map[int64]tlog.Hash) error {
	rows, err := query(ctx, q, args...)
	if err != nil {
		return storeErr("read hashes", err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			return storeErr("read hashes", err)
		}
		if len(h) != tlog.HashSize {
			return condErr("read hashes", audit.ErrTampered, "stored hash %d has %d bytes", idx, len(h))
		}
		into[idx] = tlog.Hash(h)
	}
	return storeErr("read hashes", rows.Err())
}

// ordered returns the hashes at indexes, in that order.
func ordered(indexes []int64, got map[int64]tlog.Hash) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for k, i := range indexes {
		h, ok := got[i]
		if !ok {
			return nil, condErr("read hashes", audit.ErrNotFound, "no stored hash at index %d", i)
		}
		out[k] = h
	}
	return out, nil
}

// Entries implements audit.Store: a primary-key range scan. A limit below
// 1 returns no entries.
func (s *Store) Entries(ctx context.Context, from int64, limit int) ([]audit.StoredEntry, error) {
	if limit < 1 {
		if err := ctx.Err(); err != nil {
			return nil, storeErr("entries", err)
		}
		return []audit.StoredEntry{}, nil
	}
	return s.scanEntries(ctx, "entries", limit, s.q.entries, max(from, 0), limit)
}

// Query implements audit.Store: one statement, chosen among sixteen by the
// filter's non-zero fields, that reads an index on (subject, idx),
// (actor, idx) or (time_us, idx), or the primary key. A Limit below 1 is an
// error wrapping audit.ErrInvalid.
func (s *Store) Query(ctx context.Context, f audit.StoreFilter) ([]audit.StoredEntry, error) {
	if f.Limit < 1 {
		return nil, condErr("query", audit.ErrInvalid, "limit %d, want at least 1", f.Limit)
	}
	m := 0
	args := []any{max(f.From, 0)}
	if len(f.Subject) > 0 {
		m |= fSubject
		args = append(args, f.Subject)
	}
	if len(f.Actor) > 0 {
		m |= fActor
		args = append(args, f.Actor)
	}
	if !f.Since.IsZero() {
		m |= fSince
		args = append(args, sqlbase.Micros(f.Since))
	}
	if !f.Until.IsZero() {
		m |= fUntil
		args = append(args, sqlbase.Micros(f.Until))
	}
	args = append(args, f.Limit)
	return s.scanEntries(ctx, "query", f.Limit, s.q.query[m], args...)
}

func (s *Store) scanEntries(ctx context.Context, op string, limit int, q string, args ...any) ([]audit.StoredEntry, error) {
	rows, err := s.st.Query(ctx, q, args...)
	if err != nil {
		return nil, storeErr(op, err)
	}
	defer rows.Close()
	out := make([]audit.StoredEntry, 0, min(limit, 1024))
	for rows.Next() {
		var e audit.StoredEntry
		var t sql.NullInt64
		dest := []any{&e.Index, &t, &e.Subject, &e.Actor, &e.Body}
		var nulls int
		if s.d == dialect.SQLite {
			dest = append(dest, &nulls)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, storeErr(op, err)
		}
		if s.d == dialect.SQLite {
			e.Subject = notNull(e.Subject, nulls&1 == 0)
			e.Actor = notNull(e.Actor, nulls&2 == 0)
			e.Body = notNull(e.Body, nulls&4 == 0)
		}
		if t.Valid {
			e.Time = sqlbase.FromMicros(t.Int64)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr(op, err)
	}
	return out, nil
}

// notNull returns b, or an empty non-nil slice for a nil b that the
// database says is not NULL.
func notNull(b []byte, notNull bool) []byte {
	if b == nil && notNull {
		return []byte{}
	}
	return b
}

// Redact implements audit.Store: one UPDATE that sets every column but idx
// to NULL. When it changes no row (MySQL counts an already redacted row as
// unchanged), a read tells a redacted entry from a missing one.
func (s *Store) Redact(ctx context.Context, index int64) error {
	res, err := s.st.Exec(ctx, s.q.redact, index)
	if err != nil {
		return storeErr("redact", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return storeErr("redact", err)
	} else if n == 1 {
		return nil
	}
	var one int
	switch err := s.st.QueryRow(ctx, s.q.exists, index).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return condErr("redact", audit.ErrNotFound, "no entry at index %d", index)
	case err != nil:
		return storeErr("redact", err)
	}
	return nil
}

// Salt implements audit.Store. A salt that is there costs one read; a new
// one, an insert that does nothing on a duplicate (ON CONFLICT DO NOTHING;
// ON DUPLICATE KEY UPDATE on MySQL), whose loser reads the winner's salt.
// The primary key makes every process agree on one salt per ref.
func (s *Store) Salt(ctx context.Context, ref []byte, fresh []byte) ([]byte, error) {
	return s.salt(ctx, s.st, s.q.saltGet, ref, fresh)
}

// runner runs the Store's prepared statements: on the pool (*sqlstmt.Cache)
// or in a transaction (txRunner).
type runner interface {
	QueryRow(ctx context.Context, query string, args ...any) sqlstmt.Row
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// salt is Salt through r; reread is the read after a lost insert race.
func (s *Store) salt(ctx context.Context, r runner, reread string, ref, fresh []byte) ([]byte, error) {
	if err := checkRef("salt", ref); err != nil {
		return nil, err
	}
	if len(fresh) == 0 || len(fresh) > MaxSaltLen {
		return nil, condErr("salt", audit.ErrInvalid, "a salt must be 1 to %d bytes", MaxSaltLen)
	}
	// A concurrent DeleteSalt can remove the winner's salt between the
	// insert and the read; the next round inserts again.
	get := s.q.saltGet
	for range 3 {
		salt, err := lookupSalt(ctx, r, get, "salt", ref)
		if !errors.Is(err, audit.ErrNotFound) {
			return salt, err
		}
		res, err := r.Exec(ctx, s.q.saltPut, ref, fresh)
		if err != nil {
			return nil, storeErr("salt", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, storeErr("salt", err)
		} else if n == 1 {
			return bytes.Clone(fresh), nil
		}
		get = reread
	}
	return nil, condErr("salt", audit.ErrConflict, "the salt is being deleted and created concurrently")
}

// txSalts implements audit.SaltReader in tx, under the append lock, for
// checked refs and fresh salts.
func (s *Store) txSalts(ctx context.Context, tx *sql.Tx, refs, fresh [][]byte) ([][]byte, error) {
	got := make(map[string][]byte, len(refs))
	// The distinct refs, each with its first fresh salt.
	var want, salts [][]byte
	for i, ref := range refs {
		if _, ok := got[string(ref)]; !ok {
			got[string(ref)] = nil
			want, salts = append(want, ref), append(salts, fresh[i])
		}
	}
	clear(got)
	// A concurrent DeleteSalt can remove a salt between the insert and
	// the read; the next round inserts again.
	for range 3 {
		if err := s.putSalts(ctx, tx, want, salts, got); err != nil {
			return nil, err
		}
		var left, leftSalts [][]byte
		for k, ref := range want {
			if _, ok := got[string(ref)]; !ok {
				left, leftSalts = append(left, ref), append(leftSalts, salts[k])
			}
		}
		if len(left) > 0 && s.d == dialect.Postgres {
			// Inserted by another transaction after this statement began.
			if err := s.scanSalts(ctx, tx, s.q.pgSaltsGet, []any{s.b.Arrays.Byteas(left)}, got); err != nil {
				return nil, err
			}
			left, leftSalts = left[:0], leftSalts[:0]
			for k, ref := range want {
				if _, ok := got[string(ref)]; !ok {
					left, leftSalts = append(left, ref), append(leftSalts, salts[k])
				}
			}
		}
		if len(left) == 0 {
			out := make([][]byte, len(refs))
			for i, ref := range refs {
				out[i] = got[string(ref)]
			}
			return out, nil
		}
		want, salts = left, leftSalts
	}
	return nil, condErr("salt", audit.ErrConflict, "a salt is being deleted and created concurrently")
}

// putSalts inserts the salts of refs that have none and reads the salts
// of refs into got.
func (s *Store) putSalts(ctx context.Context, tx *sql.Tx, refs, fresh [][]byte, got map[string][]byte) error {
	if s.d == dialect.Postgres {
		return s.scanSalts(ctx, tx, s.q.pgSalts, []any{s.b.Arrays.Byteas(refs), s.b.Arrays.Byteas(fresh)}, got)
	}
	for len(refs) > 0 {
		k := 0
		for inSizes[k] < len(refs) && k < len(inSizes)-1 {
			k++
		}
		n := min(len(refs), inSizes[k])
		// Padded with repeats of the last row, which do nothing.
		args := make([]any, 0, 2*inSizes[k])
		for j := range inSizes[k] {
			args = append(args, refs[min(j, n-1)], fresh[min(j, n-1)])
		}
		if _, err := s.txExec(ctx, tx, s.q.saltsPut[k], args...); err != nil {
			return storeErr("salt", err)
		}
		in := make([]any, inSizes[k])
		for j := range in {
			in[j] = refs[min(j, n-1)]
		}
		if err := s.scanSalts(ctx, tx, s.q.saltsIn[k], in, got); err != nil {
			return err
		}
		refs, fresh = refs[n:], fresh[n:]
	}
	return nil
}

func (s *Store) scanSalts(ctx context.Context, tx *sql.Tx, q string, args []any, into map[string][]byte) error {
	return readSalts(ctx, func(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
		return s.st.TxQuery(ctx, tx, q, args...)
	}, "salt", q, args, into)
}

// readSalts runs q, a read of (ref, salt) rows, through query and adds
// its rows to into; op names the operation in its errors.
func readSalts(ctx context.Context, query rowsFunc, op, q string, args []any, into map[string][]byte) error {
	rows, err := query(ctx, q, args...)
	if err != nil {
		return storeErr(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref, salt []byte
		if err := rows.Scan(&ref, &salt); err != nil {
			return storeErr(op, err)
		}
		into[string(ref)] = salt
	}
	return storeErr(op, rows.Err())
}

// LookupSalt implements audit.Store: one primary-key read.
func (s *Store) LookupSalt(ctx context.Context, ref []byte) ([]byte, error) {
	if err := checkRef("lookup salt", ref); err != nil {
		return nil, err
	}
	return lookupSalt(ctx, s.st, s.q.saltGet, "lookup salt", ref)
}

func lookupSalt(ctx context.Context, r runner, q, op string, ref []byte) ([]byte, error) {
	var salt []byte
	switch err := r.QueryRow(ctx, q, ref).Scan(&salt); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, condErr(op, audit.ErrNotFound, "no salt under this ref")
	case err != nil:
		return nil, storeErr(op, err)
	}
	return salt, nil
}

// LookupSalts implements audit.SaltLookuper: plain reads on the pool, no
// lock taken. On PostgreSQL one statement (ref = ANY(array)) per 4096
// distinct refs; on MySQL and SQLite IN lists of 1, 2, 4, … 256
// placeholders, as ReadHashes reads scattered hashes, padded with a
// repeated ref. A ref that is empty or longer than MaxRefLen is refused
// with an error wrapping audit.ErrInvalid, before anything is read.
func (s *Store) LookupSalts(ctx context.Context, refs [][]byte) ([][]byte, error) {
	const op = "lookup salts"
	for _, ref := range refs {
		if err := checkRef(op, ref); err != nil {
			return nil, err
		}
	}
	if len(refs) == 0 {
		if err := ctx.Err(); err != nil {
			return nil, storeErr(op, err)
		}
		return [][]byte{}, nil
	}
	got := make(map[string][]byte, len(refs))
	uniq := make([][]byte, 0, len(refs))
	for _, ref := range refs {
		if _, ok := got[string(ref)]; !ok {
			got[string(ref)] = nil
			uniq = append(uniq, ref)
		}
	}
	clear(got)
	repeats := len(uniq) < len(refs)
	for len(uniq) > 0 {
		var q string
		var args []any
		var n int
		if s.d == dialect.Postgres {
			n = min(len(uniq), pgSaltChunk)
			q, args = s.q.pgSaltsGet, []any{s.b.Arrays.Byteas(uniq[:n])}
		} else {
			k := 0
			for inSizes[k] < len(uniq) && k < len(inSizes)-1 {
				k++
			}
			n = min(len(uniq), inSizes[k])
			q, args = s.q.saltsGetIn[k], make([]any, inSizes[k])
			for j := range args {
				args[j] = uniq[min(j, n-1)]
			}
		}
		if err := readSalts(ctx, s.st.Query, op, q, args, got); err != nil {
			return nil, err
		}
		uniq = uniq[n:]
	}
	out := make([][]byte, len(refs))
	for i, ref := range refs {
		out[i] = got[string(ref)]
		if repeats {
			// No two salts of the result share their bytes.
			out[i] = bytes.Clone(out[i])
		}
	}
	return out, nil
}

// DeleteSalt implements audit.Store: one DELETE.
func (s *Store) DeleteSalt(ctx context.Context, ref []byte) (bool, error) {
	if err := checkRef("delete salt", ref); err != nil {
		return false, err
	}
	res, err := s.st.Exec(ctx, s.q.saltDel, ref)
	if err != nil {
		return false, storeErr("delete salt", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, storeErr("delete salt", err)
	}
	return n > 0, nil
}

func checkRef(op string, ref []byte) error {
	if len(ref) == 0 || len(ref) > MaxRefLen {
		return condErr(op, audit.ErrInvalid, "a ref must be 1 to %d bytes", MaxRefLen)
	}
	return nil
}

// PutCheckpoint implements audit.Store: an insert that does nothing when a
// checkpoint of that size is stored.
func (s *Store) PutCheckpoint(ctx context.Context, size int64, note []byte) error {
	if size < 0 {
		return condErr("put checkpoint", audit.ErrInvalid, "negative size %d", size)
	}
	if len(note) == 0 || len(note) > MaxNoteLen {
		return condErr("put checkpoint", audit.ErrInvalid, "a checkpoint must be 1 to %d bytes", MaxNoteLen)
	}
	_, err := s.st.Exec(ctx, s.q.cpPut, size, note, sqlbase.Micros(time.Now()))
	return storeErr("put checkpoint", err)
}

// LatestCheckpoint implements audit.Store: the last row of the primary key.
func (s *Store) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	var note []byte
	switch err := s.st.QueryRow(ctx, s.q.cpLatest).Scan(&note); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, condErr("latest checkpoint", audit.ErrNotFound, "no checkpoint stored")
	case err != nil:
		return nil, storeErr("latest checkpoint", err)
	}
	return note, nil
}
