package dialect

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/gdprkit/gdpr/sqldialect"
)

type kind uint8

const (
	kindInvalid kind = iota
	kindPostgres
	kindMySQL
	kindSQLite
)

// Dialect names one SQL database family. It is a small comparable value: two
// Dialects are equal exactly when they name the same family, so a Dialect may
// be compared with == and used as a map key. The zero Dialect is invalid:
// [Dialect.Valid] reports false, [Dialect.Name] returns "" and the methods
// that build SQL panic on it, as calling them is a programming error.
type Dialect struct {
	k kind
}

var (
	// Postgres is PostgreSQL (10 or later), as reached through
	// github.com/jackc/pgx/v5/stdlib or any other driver that takes $n
	// placeholders.
	Postgres = Dialect{kindPostgres}
	// MySQL is MySQL 8.0.16 or later and MariaDB 10.6 or later, as reached
	// through github.com/go-sql-driver/mysql.
	MySQL = Dialect{kindMySQL}
	// SQLite is SQLite 3.24 or later, as reached through modernc.org/sqlite
	// or any other driver that takes '?' placeholders.
	SQLite = Dialect{kindSQLite}
)

// Of returns the SQL flavour of a public dialect name; the zero Dialect for
// a value that names none.
func Of(d sqldialect.Dialect) Dialect {
	switch d {
	case sqldialect.Postgres:
		return Postgres
	case sqldialect.MySQL:
		return MySQL
	case sqldialect.SQLite:
		return SQLite
	}
	return Dialect{}
}

// Public returns the public name of d.
func (d Dialect) Public() sqldialect.Dialect {
	switch d.k {
	case kindPostgres:
		return sqldialect.Postgres
	case kindMySQL:
		return sqldialect.MySQL
	case kindSQLite:
		return sqldialect.SQLite
	}
	return 0
}

// ErrUnknownDialect is returned (wrapped) by [ByName] for a name it does not
// know.
var ErrUnknownDialect = errors.New("dialect: unknown dialect")

// ByName returns the Dialect for a database or driver name, matched without
// regard to case: "postgres", "postgresql" and "pgx" give [Postgres];
// "mysql" and "mariadb" give [MySQL]; "sqlite" and "sqlite3" give [SQLite].
// Any other name returns the zero Dialect and an error wrapping
// [ErrUnknownDialect].
func ByName(name string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "postgres", "postgresql", "pgx":
		return Postgres, nil
	case "mysql", "mariadb":
		return MySQL, nil
	case "sqlite", "sqlite3":
		return SQLite, nil
	}
	return Dialect{}, fmt.Errorf("%w %q (want postgres, mysql or sqlite)", ErrUnknownDialect, name)
}

// Valid reports whether d is one of [Postgres], [MySQL] and [SQLite] (and not
// the zero Dialect).
func (d Dialect) Valid() bool { return d.k != kindInvalid }

// Name returns the canonical name of d: "postgres", "mysql" or "sqlite"; ""
// for the zero Dialect. [ByName] accepts every canonical name.
func (d Dialect) Name() string {
	switch d.k {
	case kindPostgres:
		return "postgres"
	case kindMySQL:
		return "mysql"
	case kindSQLite:
		return "sqlite"
	}
	return ""
}

// String returns [Dialect.Name], or "invalid" for the zero Dialect.
func (d Dialect) String() string {
	if n := d.Name(); n != "" {
		return n
	}
	return "invalid"
}

func (d Dialect) mustValid() {
	if !d.Valid() {
		panic("dialect: use of the zero Dialect")
	}
}

// TransactionalDDL reports whether schema changes (CREATE, ALTER, DROP) take
// part in transactions on d: true for PostgreSQL and SQLite, false for MySQL
// and MariaDB, where every DDL statement commits implicitly.
func (d Dialect) TransactionalDDL() bool {
	d.mustValid()
	return d.k != kindMySQL
}

// Rebind rewrites the '?' placeholders of query into the form d's drivers
// expect. For PostgreSQL each '?' becomes $1, $2, … in order of appearance,
// except inside single-quoted string literals, double-quoted identifiers and
// "--" line comments, where it is left alone. For MySQL and SQLite query is
// returned unchanged. Rebind is meant for the module's own constant queries,
// not for SQL that contains PostgreSQL's jsonb '?' operators or dollar-quoted
// strings.
func (d Dialect) Rebind(query string) string {
	d.mustValid()
	if d.k != kindPostgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch c {
		case '\'', '"':
			// Copy the quoted run; a doubled quote ('' or "") closes and
			// reopens it, which this loop handles by itself.
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case '-':
			if i+1 < len(query) && query[i+1] == '-' {
				j := strings.IndexByte(query[i:], '\n')
				if j < 0 {
					b.WriteString(query[i:])
					return b.String()
				}
				b.WriteString(query[i : i+j+1])
				i += j
				continue
			}
			b.WriteByte(c)
		case '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Quote returns ident quoted as an identifier for d: "ident" for
// PostgreSQL, `ident` for MySQL and SQLite, with any quote character inside
// ident doubled, so the result is always a single identifier token. SQLite
// takes a double-quoted name that is no column as a string literal (its
// "double-quoted string" misfeature), so a misspelt column would compare
// as a constant and match nothing; a backquoted one is always an
// identifier, and a misspelt one an error. Quote does not validate ident;
// names that come from options must also pass [ValidIdent].
func (d Dialect) Quote(ident string) string {
	d.mustValid()
	q := `"`
	if d.k == kindMySQL || d.k == kindSQLite {
		q = "`"
	}
	return q + strings.ReplaceAll(ident, q, q+q) + q
}

// InsertIgnore returns an INSERT of one row into table with the given
// columns, '?' placeholders already rebound for d, that silently inserts
// nothing when the row would violate any primary key or unique constraint.
// The caller tells the two outcomes apart by sql.Result.RowsAffected: 1 when
// the row was inserted, 0 when a duplicate was there, never by an error code.
//
// PostgreSQL and SQLite use INSERT … ON CONFLICT DO NOTHING; MySQL uses
// INSERT … ON DUPLICATE KEY UPDATE c=c on the first column, which changes
// nothing and reports 0 rows affected as long as the connection does not set
// the clientFoundRows DSN parameter (it is off by default). INSERT IGNORE is
// not used because it also turns other errors into warnings.
//
// table and every column must pass [ValidIdent], and cols must not be empty;
// InsertIgnore panics otherwise, since these names are fixed by the program
// or validated when a store is built, never taken from request data.
func (d Dialect) InsertIgnore(table string, cols ...string) string {
	d.mustValid()
	if len(cols) == 0 {
		panic("dialect: InsertIgnore needs at least one column")
	}
	mustIdent(table)
	qcols := make([]string, len(cols))
	for i, c := range cols {
		mustIdent(c)
		qcols[i] = d.Quote(c)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(d.Quote(table))
	b.WriteString(" (")
	b.WriteString(strings.Join(qcols, ", "))
	b.WriteString(") VALUES (")
	b.WriteString(strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))
	b.WriteString(")")
	if d.k == kindMySQL {
		b.WriteString(" ON DUPLICATE KEY UPDATE ")
		b.WriteString(qcols[0])
		b.WriteString(" = ")
		b.WriteString(qcols[0])
	} else {
		b.WriteString(" ON CONFLICT DO NOTHING")
	}
	return d.Rebind(b.String())
}

// ForUpdateSkipLocked returns the clause to append to a SELECT so that it
// locks the rows it returns and skips rows another transaction holds:
// " FOR UPDATE SKIP LOCKED" (with its leading space) on PostgreSQL and
// MySQL/MariaDB, "" on SQLite, where a write transaction (BEGIN IMMEDIATE)
// already excludes every other writer of the database.
//
// On MySQL/InnoDB a locking read locks every row it examines, not only those
// it returns, so the WHERE clause must be served by an index for SKIP LOCKED
// to leave other rows to other workers.
func (d Dialect) ForUpdateSkipLocked() string {
	d.mustValid()
	if d.k == kindSQLite {
		return ""
	}
	return " FOR UPDATE SKIP LOCKED"
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ErrInvalidIdent is returned (wrapped) by [ValidIdent].
var ErrInvalidIdent = errors.New("dialect: invalid identifier")

// ValidIdent returns nil if name is usable as a table name, column name or
// table-name prefix on every supported database: it must match
// ^[a-z_][a-z0-9_]{0,62}$ (lower-case ASCII letters, digits and underscores,
// not starting with a digit, at most 63 bytes, the PostgreSQL limit).
// Otherwise it returns an error wrapping [ErrInvalidIdent]. A prefix is
// checked on its own; the caller also checks the full name it builds from it.
func ValidIdent(name string) error {
	if !identRE.MatchString(name) {
		return fmt.Errorf("%w %q: want ^[a-z_][a-z0-9_]{0,62}$", ErrInvalidIdent, name)
	}
	return nil
}

func mustIdent(name string) {
	if err := ValidIdent(name); err != nil {
		panic(err)
	}
}

// IsUniqueViolation reports whether err, or any error it wraps, is a
// database's report that a write would have violated a primary key or
// unique constraint. It imports no driver and recognises:
//
//   - PostgreSQL: an error with a method SQLState() string returning
//     "23505" (github.com/jackc/pgx/v5/pgconn.*PgError, lib/pq's *Error);
//   - SQLite: an error with a method Code() int returning the extended
//     result code 2067 (SQLITE_CONSTRAINT_UNIQUE) or 1555
//     (SQLITE_CONSTRAINT_PRIMARYKEY) (modernc.org/sqlite.*Error; the cgo
//     driver github.com/mattn/go-sqlite3 exposes its code differently and
//     is not recognised: use modernc.org/sqlite);
//   - MySQL/MariaDB: github.com/go-sql-driver/mysql.*MySQLError with Number
//     1062 (ER_DUP_ENTRY) or 1586 (ER_DUP_ENTRY_WITH_KEY_NAME).
//
// The MySQL driver's error has no method exposing the number, only an
// exported field, so that case is recognised by reflection on a struct named
// MySQLError from package github.com/go-sql-driver/mysql with a uint16 field
// Number; importing the driver here would force it on every host.
//
// Prefer [Dialect.InsertIgnore] with RowsAffected where a duplicate is an
// expected outcome; IsUniqueViolation is for turning an unexpected duplicate
// into a store's ErrConflict.
func IsUniqueViolation(err error) bool {
	found := false
	walk(err, func(e error) bool {
		if s, ok := e.(interface{ SQLState() string }); ok && s.SQLState() == "23505" {
			found = true
		} else if c, ok := e.(interface{ Code() int }); ok && (c.Code() == 2067 || c.Code() == 1555) {
			found = true
		} else if n, ok := mysqlNumber(e); ok && (n == 1062 || n == 1586) {
			found = true
		}
		return found
	})
	return found
}

// walk calls fn on err and every error it wraps, depth first, until fn
// returns true.
func walk(err error, fn func(error) bool) bool {
	for err != nil {
		if fn(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if walk(e, fn) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// mysqlNumber returns the Number field of a *mysql.MySQLError.
func mysqlNumber(err error) (uint16, bool) {
	v := reflect.ValueOf(err)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return 0, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0, false
	}
	t := v.Type()
	if t.Name() != "MySQLError" || t.PkgPath() != "github.com/go-sql-driver/mysql" {
		return 0, false
	}
	f := v.FieldByName("Number")
	if !f.IsValid() || f.Kind() != reflect.Uint16 {
		return 0, false
	}
	return uint16(f.Uint()), true
}

// ServerError is a database server's error with its text withheld: only the
// code. Servers put values into their messages and details (PostgreSQL's
// "Failing row contains (…)", "invalid byte sequence … 0xff"; MySQL's
// "Duplicate entry '…'"), and the values a store binds are personal data or
// key material, so a store's errors carry the code alone.
type ServerError struct {
	// Code is "SQLSTATE 23502" (PostgreSQL), "MySQL 1406" or "SQLite 19".
	Code string
}

func (e *ServerError) Error() string {
	return "database error " + e.Code + " (message withheld: it may quote stored values)"
}

// Redact returns err with any database server error in it replaced by a
// *ServerError that keeps only the code. Errors that carry no server
// message (a context's, a lost connection's, sql.ErrNoRows) are returned
// as they are, so errors.Is still finds them.
func Redact(err error) error {
	if err == nil {
		return nil
	}
	var code string
	walk(err, func(e error) bool {
		if s, ok := e.(interface{ SQLState() string }); ok {
			code = "SQLSTATE " + s.SQLState()
		} else if n, ok := mysqlNumber(e); ok {
			code = "MySQL " + strconv.Itoa(int(n))
		} else if c, ok := e.(interface{ Code() int }); ok {
			code = "SQLite " + strconv.Itoa(c.Code())
		}
		return code != ""
	})
	if code == "" {
		return withhold(err)
	}
	return &ServerError{Code: code}
}

// bare are the errors without a server's code that Redact returns as
// they are: their texts are fixed.
var bare = []error{context.Canceled, context.DeadlineExceeded, sql.ErrNoRows, sql.ErrTxDone, sql.ErrConnDone, driver.ErrBadConn}

// withhold returns err if it is one of the bare errors, and otherwise
// err behind a fixed text: a driver's own errors quote the values it
// could not bind (pgx: unable to encode "…" into binary format), and a
// wrapped context error may carry a driver's text before it.
func withhold(err error) error {
	for _, b := range bare {
		if err == b {
			return err
		}
	}
	return &DriverError{err: err}
}

// DriverError is an error with no server code (a driver's refusal of an
// argument, a broken connection) with its text withheld. errors.Is and
// errors.As see the error beneath.
type DriverError struct{ err error }

func (e *DriverError) Error() string {
	for _, b := range bare {
		if errors.Is(e.err, b) {
			return "database error: " + b.Error() + " (the driver's message withheld)"
		}
	}
	return "database driver error (message withheld: it may quote bound values)"
}

// Unwrap returns the error beneath.
func (e *DriverError) Unwrap() error { return e.err }
