package sqlbase

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"time"

	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/migrate"
	"github.com/gdprkit/gdpr/internal/pgarray"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

// DefaultPrefix is the table prefix of every store unless WithTablePrefix
// says otherwise.
const DefaultPrefix = "gdpr_"

// MaxPrefixLen is the longest table prefix: the store's longest table or
// index name must still fit PostgreSQL's 63 bytes.
const MaxPrefixLen = 40

// Schema is a store's embedded migrations: one directory per dialect
// ("postgres", "mysql", "sqlite") under "migrations" in FS, with files as
// package migrate describes, and {{prefix}} where a table name starts.
type Schema struct {
	// Package is the store's package, e.g. "sqlconsent", for the Op of
	// its errors ("sqlconsent.New").
	Package string
	// Component names the store's tables in the version table, e.g.
	// "consent"; the prefix is appended, so two prefixes are two
	// components.
	Component string
	FS        fs.FS
	// ErrInvalid is the sentinel of the store's domain package for bad
	// input (consent.ErrInvalid), and Error builds that package's typed
	// error: Open and Migrations return Error(op, field, cause), cause
	// wrapping ErrInvalid.
	ErrInvalid error
	Error      func(op, field string, cause error) error
}

// Open is New with the errors of the store's domain package.
func (s Schema) Open(db *sql.DB, d sqldialect.Dialect, opts ...Option) (*Base, error) {
	b, err := New(db, d, s, opts...)
	if err != nil {
		return nil, s.err(s.Package+".New", err)
	}
	return b, nil
}

// Migrations is the package function Migrations with the errors of the
// store's domain package.
func (s Schema) Migrations(d sqldialect.Dialect, prefix string) (fs.FS, error) {
	f, err := Migrations(s, d, prefix)
	if err != nil {
		return nil, s.err(s.Package+".Migrations", err)
	}
	return f, nil
}

func (s Schema) err(op string, err error) error {
	field, cause := Invalid(err, s.ErrInvalid)
	return s.Error(op, field, cause)
}

// Option configures a Base. The public store packages re-export it as
// their Option, so the same option has one type and one meaning in all of
// them.
type Option interface{ apply(*config) error }

type config struct {
	prefix string
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// InvalidError is a rejected argument of New: the field at fault and why.
// It carries no value.
type InvalidError struct {
	Field string
	Msg   string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Msg }

// WithTablePrefix sets the prefix of the store's table names. It must
// match ^[a-z_][a-z0-9_]{0,39}$. Default: "gdpr_".
func WithTablePrefix(p string) Option {
	return optionFunc(func(c *config) error {
		if len(p) > MaxPrefixLen || dialect.ValidIdent(p) != nil {
			return &InvalidError{Field: "WithTablePrefix", Msg: "table prefix must match ^[a-z_][a-z0-9_]{0,39}$"}
		}
		c.prefix = p
		return nil
	})
}

// Base is one store's connection to its tables: the database, its
// dialect, the table prefix and the statement cache. It is safe for
// concurrent use.
type Base struct {
	DB     *sql.DB
	D      dialect.Dialect
	Prefix string
	// Stmt runs the store's queries: prepared and kept on MySQL and
	// SQLite, run directly on PostgreSQL (see the package doc).
	Stmt *sqlstmt.Cache
	// Arrays binds the slices of PostgreSQL's array placeholders: natively
	// on pgx, as literals on other drivers (package pgarray).
	Arrays pgarray.Binder
	schema Schema
}

// New checks its arguments and returns a Base; it does not touch the
// database. Every error is an *InvalidError.
func New(db *sql.DB, d sqldialect.Dialect, schema Schema, opts ...Option) (*Base, error) {
	if db == nil {
		return nil, &InvalidError{Field: "db", Msg: "nil *sql.DB"}
	}
	sd, c, err := check(d, opts)
	if err != nil {
		return nil, err
	}
	b := &Base{DB: db, D: sd, Prefix: c.prefix, Stmt: sqlstmt.New(db, sd != dialect.Postgres), schema: schema}
	if sd == dialect.Postgres {
		b.Arrays = pgarray.For(db.Driver())
	}
	return b, nil
}

// check checks a dialect and options, and returns their configuration.
func check(d sqldialect.Dialect, opts []Option) (dialect.Dialect, config, error) {
	sd := dialect.Of(d)
	if !sd.Valid() {
		return sd, config{}, &InvalidError{Field: "dialect", Msg: "not one of sqldialect.Postgres, MySQL, SQLite"}
	}
	c := config{prefix: DefaultPrefix}
	for _, o := range opts {
		if o == nil {
			return sd, c, &InvalidError{Field: "opts", Msg: "nil Option"}
		}
		if err := o.apply(&c); err != nil {
			return sd, c, err
		}
	}
	return sd, c, nil
}

// Table returns the name of the store's table called name: the prefix
// and name.
func (b *Base) Table(name string) string { return b.Prefix + name }

// VersionTable is the table where Migrate records the applied versions:
// <prefix>schema_version, shared by every store with the same prefix.
func (b *Base) VersionTable() string { return b.Prefix + "schema_version" }

// Migrate applies the store's migrations not yet applied (package migrate
// says how, and what a failure leaves behind). It is idempotent and safe
// to run from many processes at once.
func (b *Base) Migrate(ctx context.Context) error {
	migs, err := load(b.schema, b.D, b.Prefix)
	if err != nil {
		return err
	}
	return migrate.Run(ctx, b.DB, b.D, b.VersionTable(), b.schema.Component+":"+b.Prefix, migs)
}

// Close releases the prepared statements; the *sql.DB stays the caller's.
func (b *Base) Close() error { return b.Stmt.Close() }

// Migrations returns schema for dialect d and the given prefix as
// versioned files NNNN_name.sql, for hosts that apply migrations with
// their own tool. A bad prefix or dialect is an *InvalidError.
func Migrations(schema Schema, d sqldialect.Dialect, prefix string) (fs.FS, error) {
	sd, c, err := check(d, []Option{WithTablePrefix(prefix)})
	if err != nil {
		return nil, err
	}
	migs, err := load(schema, sd, c.prefix)
	if err != nil {
		return nil, err
	}
	return migrate.FS(migs), nil
}

func load(schema Schema, d dialect.Dialect, prefix string) ([]migrate.Migration, error) {
	migs, err := migrate.Load(schema.FS, "migrations/"+d.Name())
	if err != nil {
		return nil, err
	}
	return migrate.RenderAll(migs, map[string]string{"prefix": prefix})
}

// Micros encodes t as the stores keep times: microseconds since the Unix
// epoch, in a BIGINT.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros decodes a time Micros encoded, in UTC.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Retryable reports whether err is a database's abort of a transaction
// that running it again may resolve: a serialization failure or deadlock
// (PostgreSQL 40001, 40P01), a deadlock or lock wait timeout (MySQL 1213,
// 1205), a stale read snapshot (SQLite 517, SQLITE_BUSY_SNAPSHOT). It
// looks through Redact's *ServerError as well as the drivers' errors.
func Retryable(err error) bool {
	var se *dialect.ServerError
	if !errors.As(err, &se) {
		r := dialect.Redact(err)
		if !errors.As(r, &se) {
			return false
		}
	}
	switch se.Code {
	case "SQLSTATE 40001", "SQLSTATE 40P01",
		"MySQL 1213", "MySQL 1205",
		"SQLite 517":
		return true
	}
	return false
}

// MaxAttempts is how many times Retry runs a transaction in all.
const MaxAttempts = 5

// Retry runs fn until it succeeds, returns an error that is not
// Retryable, or has run MaxAttempts times, backing off a few milliseconds
// with jitter between attempts so contenders spread out. It returns fn's
// last error, or that error when ctx is done while waiting.
func Retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == MaxAttempts || !Retryable(err) {
			return err
		}
		t := time.NewTimer(time.Duration(attempt)*time.Millisecond + rand.N(2*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// Invalid splits an error of New or Migrations into the field at fault
// and a cause that wraps sentinel (the store package's ErrInvalid), for
// the package's typed error. Any other error comes back as the cause.
func Invalid(err error, sentinel error) (field string, cause error) {
	var ie *InvalidError
	if errors.As(err, &ie) {
		return ie.Field, fmt.Errorf("%w: %s", sentinel, ie.Msg)
	}
	return "", err
}
