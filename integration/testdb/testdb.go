// Package testdb gives each test a fresh, empty database to run against, on
// every database the module's SQL stores support. It is for tests only: it
// imports the three drivers (modernc.org/sqlite, github.com/jackc/pgx/v5 and
// github.com/go-sql-driver/mysql), which no non-test package of the module
// may import.
//
// SQLite always runs, on a file in t.TempDir(). PostgreSQL and MySQL run when
// their DSN is in the environment:
//
//	GDPR_TEST_POSTGRES_DSN  e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable
//	GDPR_TEST_MYSQL_DSN     e.g. root@tcp(127.0.0.1:3306)/test
//
// The PostgreSQL role must be allowed to create schemas in its database, the
// MySQL user to create and drop databases. Without a DSN the test is skipped
// with a message naming the variable, unless the environment variable CI is
// non-empty: then a missing DSN fails the test, so CI never passes by
// skipping.
//
// A conformance suite runs on every database with [ForEach]:
//
//	func TestStore(t *testing.T) {
//		testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
//			s, err := sqlconsent.New(db, d)
//			...
//		})
//	}
//
// # PgBouncer
//
// [OpenPgBouncer] gives a test a new PostgreSQL database (created on the
// server of GDPR_TEST_POSTGRES_DSN; that role must be allowed to create
// databases) reached through a PgBouncer in transaction pooling mode that
// [StartPgBouncer] runs on 127.0.0.1 for that test alone, with fewer
// server connections than clients: the way to check that a store keeps no
// session state. It needs Debian's pgbouncer package (/usr/sbin/pgbouncer)
// and skips without it or the DSN, failing instead when CI is set.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/gdprkit/gdpr/sqldialect"
)

// Environment variables read by this package.
const (
	// EnvPostgres names the variable holding the PostgreSQL DSN, in URL
	// or keyword/value form as github.com/jackc/pgx/v5 parses it.
	EnvPostgres = "GDPR_TEST_POSTGRES_DSN"
	// EnvMySQL names the variable holding the MySQL/MariaDB DSN, in the
	// form github.com/go-sql-driver/mysql parses.
	EnvMySQL = "GDPR_TEST_MYSQL_DSN"
	// EnvCI names the variable that, when non-empty, turns a missing DSN
	// from a skip into a failure.
	EnvCI = "CI"
)

// SQLiteDSNParams are the query parameters of every SQLite database Open
// creates: a 10 s busy timeout, WAL journal, enforced foreign keys, and
// BEGIN IMMEDIATE for every transaction so that concurrent writers wait for
// each other instead of failing with SQLITE_BUSY when they upgrade a read
// lock.
const SQLiteDSNParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"

// setupTimeout bounds creating and dropping a test schema or database.
const setupTimeout = 30 * time.Second

// All returns every dialect the module supports, in the order [ForEach]
// runs them: SQLite, PostgreSQL, MySQL.
func All() []sqldialect.Dialect {
	return []sqldialect.Dialect{sqldialect.SQLite, sqldialect.Postgres, sqldialect.MySQL}
}

// Available reports whether tests can run on d in this environment: always
// for SQLite, for PostgreSQL and MySQL when their DSN variable is non-empty.
// It does not contact the server.
func Available(d sqldialect.Dialect) bool {
	switch d {
	case sqldialect.SQLite:
		return true
	case sqldialect.Postgres:
		return os.Getenv(EnvPostgres) != ""
	case sqldialect.MySQL:
		return os.Getenv(EnvMySQL) != ""
	}
	return false
}

// Open returns a handle on a new, empty database for t alone: a file in
// t.TempDir() for SQLite, a new schema named t_<random hex> (made the
// connections' search_path) for PostgreSQL, a new database named
// t_<random hex> for MySQL. t.Cleanup closes the handle and drops the schema
// or database. Open fails t if the database cannot be created or reached,
// and skips t (or fails it when CI is set) if d's DSN is not set. Open may be
// called from parallel tests.
func Open(t testing.TB, d sqldialect.Dialect) *sql.DB {
	t.Helper()
	switch d {
	case sqldialect.SQLite:
		return openSQLite(t)
	case sqldialect.Postgres:
		return openPostgres(t, requireDSN(t, EnvPostgres, "PostgreSQL"))
	case sqldialect.MySQL:
		return openMySQL(t, requireDSN(t, EnvMySQL, "MySQL"))
	}
	t.Fatalf("testdb: unsupported dialect %v", d)
	return nil
}

// ForEachDialect runs fn as a subtest of t named after each dialect
// ("sqlite", "postgres", "mysql"). It opens no database, so fn can call
// [Open] once per store it needs; a subtest on a dialect that is not
// [Available] is skipped (or failed when CI is set) before fn runs.
func ForEachDialect(t *testing.T, fn func(t *testing.T, d sqldialect.Dialect)) {
	t.Helper()
	for _, d := range All() {
		t.Run(d.String(), func(t *testing.T) {
			if !Available(d) {
				requireDSN(t, envFor(d), label(d))
			}
			fn(t, d)
		})
	}
}

// ForEach runs fn as a subtest of t named after each dialect ("sqlite",
// "postgres", "mysql"), with a fresh database from [Open] for that subtest.
// Subtests on dialects that are not [Available] are skipped, or failed when
// CI is set.
func ForEach(t *testing.T, fn func(t *testing.T, d sqldialect.Dialect, db *sql.DB)) {
	t.Helper()
	ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		fn(t, d, Open(t, d))
	})
}

func envFor(d sqldialect.Dialect) string {
	if d == sqldialect.Postgres {
		return EnvPostgres
	}
	return EnvMySQL
}

func label(d sqldialect.Dialect) string {
	if d == sqldialect.Postgres {
		return "PostgreSQL"
	}
	return "MySQL"
}

// requireDSN returns the variable's value, or skips t (fails it under CI).
func requireDSN(t testing.TB, env, what string) string {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn != "" {
		return dsn
	}
	if os.Getenv(EnvCI) != "" {
		t.Fatalf("%s not set but CI=%q: the %s tests must run in CI (.ci/run sets it up)", env, os.Getenv(EnvCI), what)
	}
	t.Skipf("%s not set: skipping the %s tests (set it to run them, see integration/testdb)", env, what)
	return ""
}

func randomName(t testing.TB) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testdb: random name: %v", err)
	}
	return "t_" + hex.EncodeToString(b[:])
}

func setupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), setupTimeout)
}

func openSQLite(t testing.TB) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sql.Open("sqlite", SQLiteURI(path)+"?"+SQLiteDSNParams)
	if err != nil {
		t.Fatalf("testdb: open sqlite: %v", err)
	}
	ctx, cancel := setupCtx()
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		t.Fatalf("testdb: ping sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresConfig returns the connection config of a new, empty PostgreSQL
// schema for t alone, made as [Open] makes it (the connections'
// search_path), for a test that sets its connections up itself (runtime
// parameters, a notice handler) and opens them with stdlib.OpenDB.
// t.Cleanup drops the schema: close what you open first, e.g. with a
// t.Cleanup registered after PostgresConfig returns. PostgresConfig skips
// t, or fails it when CI is set, if the DSN is not set.
func PostgresConfig(t testing.TB) *pgx.ConnConfig {
	t.Helper()
	return postgresConfig(t, requireDSN(t, EnvPostgres, "PostgreSQL"))
}

func postgresConfig(t testing.TB, dsn string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The DSN may hold a password: name the variable, not the value.
		t.Fatalf("testdb: %s does not parse: %v", EnvPostgres, err)
	}
	ctx, cancel := setupCtx()
	defer cancel()

	admin := stdlib.OpenDB(*cfg.Copy())
	defer admin.Close()
	schema := randomName(t)
	// schema is t_ and hex digits: safe to splice into DDL.
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("testdb: create postgres schema (%s): %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		ctx, cancel := setupCtx()
		defer cancel()
		admin := stdlib.OpenDB(*cfg.Copy())
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("testdb: drop postgres schema %s: %v", schema, err)
		}
	})

	tcfg := cfg.Copy()
	if tcfg.RuntimeParams == nil {
		tcfg.RuntimeParams = map[string]string{}
	}
	tcfg.RuntimeParams["search_path"] = schema
	return tcfg
}

func openPostgres(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db := stdlib.OpenDB(*postgresConfig(t, dsn))
	t.Cleanup(func() { db.Close() }) // runs before the schema's drop
	ctx, cancel := setupCtx()
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("testdb: ping postgres: %v", err)
	}
	return db
}

func openMySQL(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("testdb: %s does not parse: %v", EnvMySQL, err)
	}
	ctx, cancel := setupCtx()
	defer cancel()

	adminCfg := cfg.Clone()
	adminCfg.DBName = ""
	admin, err := connectMySQL(adminCfg)
	if err != nil {
		t.Fatalf("testdb: %s: %v", EnvMySQL, err)
	}
	defer admin.Close()
	name := randomName(t)
	// name is t_ and hex digits: safe to splice into DDL.
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("testdb: create mysql database (%s): %v", EnvMySQL, err)
	}

	tcfg := cfg.Clone()
	tcfg.DBName = name
	db, err := connectMySQL(tcfg)
	if err != nil {
		t.Fatalf("testdb: %s: %v", EnvMySQL, err)
	}
	t.Cleanup(func() {
		db.Close()
		ctx, cancel := setupCtx()
		defer cancel()
		admin, err := connectMySQL(adminCfg)
		if err != nil {
			t.Errorf("testdb: drop mysql database %s: %v", name, err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("testdb: drop mysql database %s: %v", name, err)
		}
	})
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("testdb: ping mysql: %v", err)
	}
	return db
}

func connectMySQL(cfg *mysql.Config) (*sql.DB, error) {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql connector: %w", err)
	}
	return sql.OpenDB(c), nil
}

// SQLiteURI returns the file: URI of the database file at path, with the
// characters a URI gives a meaning escaped: t.TempDir() keeps a '#' from a
// repeated subtest's name ("Case#01"), which SQLite would otherwise read as
// the start of a fragment, opening a shared file named by the rest.
func SQLiteURI(path string) string {
	r := strings.NewReplacer("%", "%25", "#", "%23", "?", "%3f")
	return "file:" + r.Replace(path)
}
