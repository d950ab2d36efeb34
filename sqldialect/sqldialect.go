// Package sqldialect names the SQL databases the module's SQL stores run
// on, and nothing else: a store takes a *sql.DB that the host opened with
// its own driver and one of these names.
//
//	store, err := sqlconsent.New(db, sqldialect.Postgres)
//
// A name read from configuration goes through [ForDriver]:
//
//	d, err := sqldialect.ForDriver("pgx") // sqldialect.Postgres
//
// # Versions
//
// PostgreSQL 10 or later, MySQL 8.0.16 or later, MariaDB 10.6 or later,
// SQLite 3.24 or later.
package sqldialect

import (
	"errors"
	"strconv"
	"strings"
)

// Dialect names one SQL database family. The zero Dialect names none and
// every store refuses it.
type Dialect uint8

// The dialects. They are constants: no program can change what they name.
const (
	// Postgres is PostgreSQL, as reached through github.com/jackc/pgx/v5/stdlib
	// (or any driver that takes $n placeholders). Behind PgBouncer in
	// transaction mode, open pgx with default_query_exec_mode=exec (or
	// simple_protocol): the stores keep no session state.
	Postgres Dialect = 1 + iota
	// MySQL is MySQL or MariaDB, as reached through github.com/go-sql-driver/mysql.
	MySQL
	// SQLite is SQLite, as reached through modernc.org/sqlite (or any driver
	// that takes '?' placeholders).
	SQLite
)

// ErrUnknown is returned by [ForDriver] for a name it does not know.
var ErrUnknown = errors.New("sqldialect: unknown database or driver name")

// ForDriver returns the Dialect for a database/sql driver name or a
// database name, matched without regard to case: "pgx", "postgres",
// "postgresql"; "mysql", "mariadb"; "sqlite", "sqlite3". Any other name
// gives the zero Dialect and ErrUnknown (the name is not repeated).
func ForDriver(name string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "pgx", "postgres", "postgresql":
		return Postgres, nil
	case "mysql", "mariadb":
		return MySQL, nil
	case "sqlite", "sqlite3":
		return SQLite, nil
	}
	return 0, ErrUnknown
}

// String returns "postgres", "mysql" or "sqlite", which ForDriver accepts,
// or "Dialect(n)" for any other value.
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	case SQLite:
		return "sqlite"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}
