// Package sqlconsent is a consent.Store in a SQL database: PostgreSQL,
// MySQL or MariaDB, or SQLite (the embedded default, through the pure-Go
// modernc.org/sqlite).
//
// # Storage
//
// Two tables, named with a prefix (WithTablePrefix, default "gdpr_"):
// <prefix>consent_events, append-only but for erasure, and
// <prefix>consent_notices, one row per published notice version. Times are
// BIGINT microseconds since the Unix epoch (UTC), so every database orders
// and compares them alike. Keys compare byte for byte: "C" collation on
// PostgreSQL, VARBINARY on MySQL/MariaDB (whose default collations would make
// "Alice" equal "alice "), BINARY on SQLite.
//
// The schema is versioned and embedded. Store.Migrate applies it, once,
// under a database lock, so many instances may call it at start-up;
// Migrations gives the same files, rendered with a prefix, to hosts that run
// goose, golang-migrate or atlas. Applied versions are recorded in
// gdpr_schema_version.
//
// Every statement is parameterised; table names come from the validated
// prefix only. A decision (Store.Latest) is one query on the index
// (subject, purpose, at_us, id), with the notice registry's latest material
// version in a sub-select on the notices' primary key. Uniqueness (event ID,
// one confirmation per pending event, notice version) is enforced by the
// database with an insert that does nothing on a duplicate key, so a lost
// race is reported as consent.ErrConflict whatever the driver, and nothing
// is written twice.
//
// The package imports no driver. Open the *sql.DB with the driver of your
// choice and pass the matching Dialect (or DialectFor the driver's name):
//
//	db, _ := sql.Open("pgx", dsn)   // github.com/jackc/pgx/v5/stdlib
//	db, _ := sql.Open("mysql", dsn) // github.com/go-sql-driver/mysql; do not set clientFoundRows
//	db, _ := sql.Open("sqlite", "file:app.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
//
// # Errors
//
// Methods return *consent.Error wrapping consent.ErrNotFound or
// consent.ErrConflict (and so gdpr.ErrNotFound and gdpr.ErrConflict) for the
// conditions of the consent.Store contract, or the driver's error otherwise.
// No bound value is placed in an error; a driver's own message names the
// statement or constraint, and the inserts here never raise a duplicate-key
// error that could quote a value.
//
// # Testing
//
// The package's tests run consenttest.RunStoreTests on SQLite always, and on
// PostgreSQL and MySQL/MariaDB when GDPR_TEST_POSTGRES_DSN and
// GDPR_TEST_MYSQL_DSN are set. In a host's own unit tests, prefer
// memconsent; run this store against a real database in integration tests.
package sqlconsent
