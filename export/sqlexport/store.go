package sqlexport

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The embedded schema: migrations/<dialect>, component "export".
//
//go:embed migrations
var migrationFS embed.FS

func newError(op, field string, err error) error {
	return &export.Error{Op: op, Field: field, Err: err}
}

var schema = sqlbase.Schema{Package: "sqlexport", Component: "export", FS: migrationFS,
	ErrInvalid: export.ErrInvalid, Error: newError}

// Option configures a Store. The SQL stores of the module share it: an
// option means the same in sqlexport, sqlerasure, sqlconsent, sqlkeys
// and sqlaudit.
type Option = sqlbase.Option

// WithTablePrefix sets the prefix of the table names:
// <prefix>export_deliveries and <prefix>export_parts, and the version
// table <prefix>schema_version that Migrate shares with the module's
// other stores of the same prefix. It must match
// ^[a-z_][a-z0-9_]{0,39}$. Default: "gdpr_".
func WithTablePrefix(p string) Option { return sqlbase.WithTablePrefix(p) }

// Limits of the columns, the same on every database so that the tables
// move between databases unchanged. Longer values are refused by Create
// with an error wrapping export.ErrInvalid.
const (
	// MaxIDLen is the longest delivery ID (the Deliverer's are 36-byte
	// UUIDs), Request, Subject and Blob name, in bytes.
	MaxIDLen = 255
	// MaxKindLen is the longest Kind, in bytes.
	MaxKindLen = 32
)

// Store is an export.Store in a SQL database. It is safe for concurrent
// use by many goroutines and by many processes sharing the database.
type Store struct {
	b  *sqlbase.Base
	st *sqlstmt.Cache
	q  queries
}

var _ export.Store = (*Store)(nil)

// New returns a Store over db, a database of dialect d. It does not touch
// the database; call Migrate once at start-up (or apply Migrations with
// your own tool) before use. The *sql.DB stays the caller's to close. A
// nil db, an unknown dialect or a bad option is an error wrapping
// export.ErrInvalid.
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
// "export"). It is idempotent and safe to run from several processes at
// once, and behind PgBouncer.
func (s *Store) Migrate(ctx context.Context) error { return s.b.Migrate(ctx) }

// Close releases the Store's prepared statements. The *sql.DB stays open:
// it is the caller's to close. A Store may be used after Close; it
// prepares its statements again. Call it when no call on the Store is in
// flight.
func (s *Store) Close() error { return s.b.Close() }

// Migrations returns the Store's schema for dialect d with the given
// table prefix, as versioned files (0001_export_deliveries.sql,
// 0002_export_parts.sql), for hosts that apply migrations with their own
// tool (goose, golang-migrate, atlas). Each file holds plain statements
// separated by ";" at line ends.
func Migrations(d sqldialect.Dialect, prefix string) (fs.FS, error) {
	return schema.Migrations(d, prefix)
}

// dlvCols are a delivery's columns, partCols a part's, in scan's order.
const (
	dlvCols  = "id, request, kind, subject, created_us, expires_us"
	partCols = "p.token_hash, p.idx, p.blob_name, p.size_bytes, p.downloaded_us"
)

type queries struct {
	deliveries, parts string
	insDelivery       string
	insPart           string
	get               string
	claim             string // the UPDATE
	claimed           string // the delivery of a claimed part, and its index
	// delete is one statement on PostgreSQL and MySQL/MariaDB; on SQLite,
	// delParts and delDelivery in one transaction.
	delete, delParts, delDelivery string
}

func buildQueries(d dialect.Dialect, p string) queries {
	dl, pt := p+"export_deliveries", p+"export_parts"
	q := queries{
		deliveries: dl, parts: pt,
		insDelivery: d.Rebind("INSERT INTO " + dl + " (" + dlvCols + ") VALUES (?, ?, ?, ?, ?, ?)"),
		insPart: d.Rebind("INSERT INTO " + pt + " (token_hash, delivery_id, idx, blob_name, size_bytes, expires_us, downloaded_us)" +
			" VALUES (?, ?, ?, ?, ?, ?, ?)"),
		get: d.Rebind("SELECT " + prefixCols("d.", dlvCols) + ", " + partCols + " FROM " + dl + " d JOIN " + pt + " p ON p.delivery_id = d.id" +
			" WHERE d.id = ? ORDER BY p.idx"),
		// One row, by its primary key, only while it is not downloaded
		// and its delivery not expired: of concurrent claims exactly one
		// matches the row (the others wait for its lock and then find
		// downloaded_us set).
		claim: d.Rebind("UPDATE " + pt + " SET downloaded_us = ? WHERE token_hash = ? AND downloaded_us IS NULL AND expires_us > ?"),
		claimed: d.Rebind("SELECT c.idx, " + prefixCols("d.", dlvCols) + ", " + partCols + " FROM " + pt + " c" +
			" JOIN " + dl + " d ON d.id = c.delivery_id JOIN " + pt + " p ON p.delivery_id = d.id WHERE c.token_hash = ? ORDER BY p.idx"),
	}
	switch d {
	case dialect.Postgres:
		// Both tables in one statement, on one snapshot.
		q.delete = d.Rebind("WITH x AS (DELETE FROM " + dl + " WHERE id = ?) DELETE FROM " + pt + " WHERE delivery_id = ?")
	case dialect.MySQL:
		// One statement: the delivery's row is read (and locked) first,
		// then its parts.
		q.delete = "DELETE d, p FROM " + dl + " d LEFT JOIN " + pt + " p ON p.delivery_id = d.id WHERE d.id = ?"
	default:
		q.delParts = d.Rebind("DELETE FROM " + pt + " WHERE delivery_id = ?")
		q.delDelivery = d.Rebind("DELETE FROM " + dl + " WHERE id = ?")
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

// validate refuses a delivery no Deliverer makes, or one the columns
// cannot hold.
func validate(op string, d export.Delivery) error {
	switch {
	case d.ID == "":
		return fieldErr(op, "id", "empty delivery ID")
	case len(d.Parts) == 0:
		return fieldErr(op, "parts", "a delivery has at least one part")
	case !d.Expires.After(d.Created):
		return fieldErr(op, "expires", "Expires is not after Created")
	}
	for _, c := range []struct {
		field, v string
		max      int
	}{
		{"id", d.ID, MaxIDLen}, {"request", d.Request, MaxIDLen}, {"subject", string(d.Subject), MaxIDLen},
		{"kind", string(d.Kind), MaxKindLen},
	} {
		if len(c.v) > c.max {
			return fieldErr(op, c.field, fmt.Sprintf("longer than %d bytes", c.max))
		}
	}
	for i, p := range d.Parts {
		switch {
		case len(p.TokenHash) != 32:
			return fieldErr(op, "token_hash", fmt.Sprintf("part %d: a token hash is 32 bytes (SHA-256)", i))
		case p.Blob == "":
			return fieldErr(op, "blob", fmt.Sprintf("part %d: empty blob name", i))
		case len(p.Blob) > MaxIDLen:
			return fieldErr(op, "blob", fmt.Sprintf("part %d: longer than %d bytes", i, MaxIDLen))
		case p.Size < 0:
			return fieldErr(op, "size", fmt.Sprintf("part %d: negative size", i))
		}
	}
	return nil
}

// micros returns t as a nullable column: NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return sqlbase.Micros(t)
}

// errDupID and errDupHash tell which key refused a Create, inside its
// transaction.
var (
	errDupID   = errors.New("duplicate delivery ID")
	errDupHash = errors.New("duplicate token hash")
)

// Create implements export.Store: one transaction that inserts the
// delivery's row, then its parts' in the order of their token hashes
// (so that two Creates sharing hashes never wait for each other in a
// cycle). A unique key that refuses a row — the delivery's ID, a part's
// token hash — rolls the whole back and is export.ErrConflict.
func (s *Store) Create(ctx context.Context, d export.Delivery) error {
	const op = "Create"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := validate(op, d); err != nil {
		return err
	}
	order := make([]int, len(d.Parts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(d.Parts[a].TokenHash, d.Parts[b].TokenHash) })
	expires := sqlbase.Micros(d.Expires)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.st.TxExec(ctx, tx, s.q.insDelivery, d.ID, d.Request, string(d.Kind), string(d.Subject),
			sqlbase.Micros(d.Created), expires)
		if dialect.IsUniqueViolation(err) {
			return errDupID
		}
		if err != nil {
			return err
		}
		for _, i := range order {
			p := d.Parts[i]
			_, err := s.st.TxExec(ctx, tx, s.q.insPart, p.TokenHash, d.ID, i, p.Blob, p.Size, expires, micros(p.Downloaded))
			if dialect.IsUniqueViolation(err) {
				return errDupHash
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errDupID):
		return condErr(op, export.ErrConflict, "a delivery of that ID exists")
	case errors.Is(err, errDupHash):
		return condErr(op, export.ErrConflict, "a part's token hash is another part's")
	}
	return storeErr(op, err)
}

// Get implements export.Store: one query joining the delivery and its
// parts.
func (s *Store) Get(ctx context.Context, id string) (export.Delivery, error) {
	const op = "Get"
	if err := checkCtx(op, ctx); err != nil {
		return export.Delivery{}, err
	}
	rows, err := s.st.Query(ctx, s.q.get, id)
	if err != nil {
		return export.Delivery{}, storeErr(op, err)
	}
	ds, err := scanDeliveries(rows, false)
	if err != nil {
		return export.Delivery{}, storeErr(op, err)
	}
	if len(ds) == 0 {
		return export.Delivery{}, condErr(op, export.ErrNotFound, "no delivery of that ID")
	}
	return ds[0].d, nil
}

// errNoPart ends a Claim's transaction that matched no row.
var errNoPart = errors.New("no part to claim")

// Claim implements export.Store: one transaction of one UPDATE of the
// part's row, by primary key, WHERE downloaded_us IS NULL AND
// expires_us > now — of concurrent claims exactly one matches, as the
// row's lock orders them and the others then find it downloaded — and,
// if it matched, one query of the delivery and its parts as the
// transaction sees them. The token hash is looked up by the primary
// key's index, not compared in constant time: what is looked up is the
// SHA-256 of a random token, so the time a lookup takes tells nothing
// about any token (see the package doc). A tokenHash that is not 32
// bytes matches nothing and is not sent to the database.
func (s *Store) Claim(ctx context.Context, tokenHash []byte, now time.Time) (export.Delivery, int, error) {
	const op = "Claim"
	if err := checkCtx(op, ctx); err != nil {
		return export.Delivery{}, 0, err
	}
	notFound := func() (export.Delivery, int, error) {
		return export.Delivery{}, 0, condErr(op, export.ErrNotFound, "no part to download for this token")
	}
	if len(tokenHash) != 32 {
		return notFound()
	}
	nowUS := sqlbase.Micros(now)
	var out scanned
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.st.TxExec(ctx, tx, s.q.claim, nowUS, tokenHash, nowUS)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errNoPart
		}
		rows, err := s.st.TxQuery(ctx, tx, s.q.claimed, tokenHash)
		if err != nil {
			return err
		}
		ds, err := scanDeliveries(rows, true)
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			// A part without its delivery: none is made so.
			return errNoPart
		}
		out = ds[0]
		return nil
	})
	if errors.Is(err, errNoPart) {
		return notFound()
	}
	if err != nil {
		return export.Delivery{}, 0, storeErr(op, err)
	}
	return out.d, out.claimed, nil
}

// List implements export.Store: one query of the page of deliveries f
// selects, in (created_us, id) order, joined with their parts. Finished
// is expires_us <= f.Finished OR NOT EXISTS a part not downloaded at or
// before it.
func (s *Store) List(ctx context.Context, f export.DeliveryFilter) ([]export.Delivery, error) {
	const op = "List"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	var conds []string
	var args []any
	if f.Request != "" {
		conds, args = append(conds, "x.request = ?"), append(args, f.Request)
	}
	if f.Subject != "" {
		conds, args = append(conds, "x.subject = ?"), append(args, string(f.Subject))
	}
	if !f.Finished.IsZero() {
		fin := sqlbase.Micros(f.Finished)
		conds = append(conds, "(x.expires_us <= ? OR NOT EXISTS (SELECT 1 FROM "+s.q.parts+" q"+
			" WHERE q.delivery_id = x.id AND (q.downloaded_us IS NULL OR q.downloaded_us > ?)))")
		args = append(args, fin, fin)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	// Built per call from the filter's shape: run directly, not kept in
	// the statement cache.
	q := s.b.D.Rebind("SELECT " + prefixCols("d.", dlvCols) + ", " + partCols +
		" FROM (SELECT " + prefixCols("x.", dlvCols) + " FROM " + s.q.deliveries + " x" + where +
		" ORDER BY x.created_us, x.id LIMIT ?) d JOIN " + s.q.parts + " p ON p.delivery_id = d.id" +
		" ORDER BY d.created_us, d.id, p.idx")
	rows, err := s.b.DB.QueryContext(ctx, q, append(args, export.PageSize(f.Limit))...)
	if err != nil {
		return nil, storeErr(op, err)
	}
	ds, err := scanDeliveries(rows, false)
	if err != nil {
		return nil, storeErr(op, err)
	}
	out := make([]export.Delivery, len(ds))
	for i, d := range ds {
		out[i] = d.d
	}
	return out, nil
}

// Delete implements export.Store: the delivery's row and its parts' in
// one statement on PostgreSQL (a data-modifying WITH) and MySQL/MariaDB
// (a multiple-table DELETE), in one transaction on SQLite.
func (s *Store) Delete(ctx context.Context, id string) error {
	const op = "Delete"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	var err error
	switch {
	case s.b.D == dialect.Postgres:
		err = sqlbase.Retry(ctx, func() error { _, err := s.st.Exec(ctx, s.q.delete, id, id); return err })
	case s.q.delete != "":
		err = sqlbase.Retry(ctx, func() error { _, err := s.st.Exec(ctx, s.q.delete, id); return err })
	default:
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := s.st.TxExec(ctx, tx, s.q.delParts, id); err != nil {
				return err
			}
			_, err := s.st.TxExec(ctx, tx, s.q.delDelivery, id)
			return err
		})
	}
	return storeErr(op, err)
}

// tx runs fn in a transaction, again on a deadlock or serialization
// failure (sqlbase.Retry). On MySQL/MariaDB it is READ COMMITTED: record
// locks only, no gap locks. On SQLite every transaction's first
// statement is a write, so it takes the write lock before it reads
// anything, whatever the DSN's _txlock.
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

// scanned is one delivery read back, with the index of the claimed part
// when the query names one.
type scanned struct {
	d       export.Delivery
	claimed int
}

// scanDeliveries reads rows of a delivery's columns and a part's, the
// rows of one delivery consecutive and its parts in order; with claimed,
// each row starts with the claimed part's idx. It closes rows.
func scanDeliveries(rows *sql.Rows, claimed bool) ([]scanned, error) {
	defer rows.Close()
	var out []scanned
	for rows.Next() {
		var (
			c                       int
			id, request, kind, subj string
			created, expires        int64
			hash                    []byte
			idx                     int
			blob                    string
			size                    int64
			downloaded              sql.NullInt64
			dest                    = []any{&id, &request, &kind, &subj, &created, &expires, &hash, &idx, &blob, &size, &downloaded}
		)
		if claimed {
			dest = append([]any{&c}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].d.ID != id {
			out = append(out, scanned{claimed: c, d: export.Delivery{
				ID: id, Request: request, Kind: gdpr.RequestKind(kind), Subject: gdpr.SubjectID(subj),
				Created: sqlbase.FromMicros(created), Expires: sqlbase.FromMicros(expires),
			}})
		}
		last := &out[len(out)-1].d
		if idx != len(last.Parts) {
			return nil, errors.New("the stored parts of a delivery are not numbered 0 to n-1")
		}
		p := export.DeliveryPart{TokenHash: hash, Blob: blob, Size: size}
		if downloaded.Valid {
			p.Downloaded = sqlbase.FromMicros(downloaded.Int64)
		}
		last.Parts = append(last.Parts, p)
	}
	return out, rows.Err()
}
