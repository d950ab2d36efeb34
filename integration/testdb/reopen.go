package testdb

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gdprkit/gdpr/sqldialect"
)

// Reopen opens another connection pool on the database db reaches (the
// same SQLite file, PostgreSQL schema or MySQL database), as a second
// process of the same program would, and closes it when t ends. On SQLite
// its transactions begin deferred (no _txlock=immediate), so a store
// under test must take its write lock itself.
func Reopen(t testing.TB, d sqldialect.Dialect, db *sql.DB) *sql.DB {
	t.Helper()
	ctx := context.Background()
	var other *sql.DB
	switch d {
	case sqldialect.SQLite:
		var seq int
		var name, file string
		if err := db.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
			t.Fatal(err)
		}
		var err error
		if other, err = sql.Open("sqlite", SQLiteURI(file)+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"); err != nil {
			t.Fatal(err)
		}
	case sqldialect.Postgres:
		var schema string
		if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
		cfg, err := pgx.ParseConfig(os.Getenv(EnvPostgres))
		if err != nil {
			t.Fatal(err)
		}
		cfg.RuntimeParams["search_path"] = schema
		other = stdlib.OpenDB(*cfg)
	case sqldialect.MySQL:
		var name string
		if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		cfg, err := mysql.ParseDSN(os.Getenv(EnvMySQL))
		if err != nil {
			t.Fatal(err)
		}
		cfg.DBName = name
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		other = sql.OpenDB(c)
	default:
		t.Fatalf("testdb.Reopen: unknown dialect %v", d)
	}
	t.Cleanup(func() { other.Close() })
	return other
}
