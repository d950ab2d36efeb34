package sqlbase_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/sqldialect"
)

var schema = sqlbase.Schema{Component: "thing", FS: fstest.MapFS{
	"migrations/postgres/0001_things.sql": {Data: []byte("CREATE TABLE {{prefix}}things (id BIGINT);\n")},
	"migrations/mysql/0001_things.sql":    {Data: []byte("CREATE TABLE {{prefix}}things (id BIGINT);\n")},
	"migrations/sqlite/0001_things.sql":   {Data: []byte("CREATE TABLE {{prefix}}things (id INTEGER);\n")},
}}

func TestNewRefusesBadArguments(t *testing.T) {
	db := &sql.DB{}
	for _, c := range []struct {
		name  string
		db    *sql.DB
		d     sqldialect.Dialect
		opts  []sqlbase.Option
		field string
	}{
		{"nil db", nil, sqldialect.SQLite, nil, "db"},
		{"zero dialect", db, 0, nil, "dialect"},
		{"unknown dialect", db, 9, nil, "dialect"},
		{"nil option", db, sqldialect.SQLite, []sqlbase.Option{nil}, "opts"},
		{"upper-case prefix", db, sqldialect.SQLite, []sqlbase.Option{sqlbase.WithTablePrefix("App_")}, "WithTablePrefix"},
		{"quote in prefix", db, sqldialect.SQLite, []sqlbase.Option{sqlbase.WithTablePrefix(`x"; DROP TABLE t; --`)}, "WithTablePrefix"},
		{"long prefix", db, sqldialect.SQLite, []sqlbase.Option{sqlbase.WithTablePrefix(strings.Repeat("a", 41))}, "WithTablePrefix"},
	} {
		_, err := sqlbase.New(c.db, c.d, schema, c.opts...)
		var ie *sqlbase.InvalidError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("%s: New = %v; want an *InvalidError for %s", c.name, err, c.field)
		}
	}
}

// openDB returns a handle that opens no connection unless used: enough
// for New, which does not touch the database.
func openDB() *sql.DB { return sql.OpenDB(nopConnector{}) }

type nopConnector struct{}

func (nopConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("no database")
}
func (nopConnector) Driver() driver.Driver { return nil }

func TestPrefixNamesEveryTable(t *testing.T) {
	b, err := sqlbase.New(openDB(), sqldialect.Postgres, schema, sqlbase.WithTablePrefix("app_"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Prefix != "app_" || b.Table("things") != "app_things" || b.VersionTable() != "app_schema_version" {
		t.Fatalf("prefix %q, table %q, version table %q", b.Prefix, b.Table("things"), b.VersionTable())
	}
	d, err := sqlbase.New(openDB(), sqldialect.Postgres, schema)
	if err != nil || d.Prefix != sqlbase.DefaultPrefix || d.VersionTable() != "gdpr_schema_version" {
		t.Fatalf("default: %v, %v", d, err)
	}
	if d.D != dialect.Postgres {
		t.Fatalf("dialect %v", d.D)
	}
	if _, err := sqlbase.New(openDB(), sqldialect.Postgres, schema, sqlbase.WithTablePrefix(strings.Repeat("a", 40))); err != nil {
		t.Fatalf("a 40-byte prefix is refused: %v", err)
	}
}

func TestMigrationsRenderThePrefix(t *testing.T) {
	for _, d := range []sqldialect.Dialect{sqldialect.Postgres, sqldialect.MySQL, sqldialect.SQLite} {
		f, err := sqlbase.Migrations(schema, d, "app_")
		if err != nil {
			t.Fatal(err)
		}
		b, err := fs.ReadFile(f, "0001_things.sql")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "CREATE TABLE app_things") || strings.Contains(string(b), "{{") {
			t.Errorf("%v: %q", d, b)
		}
	}
	if _, err := sqlbase.Migrations(schema, sqldialect.SQLite, "Bad"); err == nil {
		t.Error("Migrations accepted a bad prefix")
	}
}

func TestInvalid(t *testing.T) {
	sentinel := errors.New("invalid input")
	_, err := sqlbase.New(nil, sqldialect.SQLite, schema)
	field, cause := sqlbase.Invalid(err, sentinel)
	if field != "db" || !errors.Is(cause, sentinel) {
		t.Fatalf("Invalid = %q, %v", field, cause)
	}
	other := errors.New("other")
	if f, c := sqlbase.Invalid(other, sentinel); f != "" || c != other {
		t.Fatalf("Invalid(other) = %q, %v", f, c)
	}
}

func TestMicros(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	got := sqlbase.FromMicros(sqlbase.Micros(at))
	if !got.Equal(at.Truncate(time.Microsecond)) || got.Location() != time.UTC {
		t.Fatalf("round trip = %v", got)
	}
}

func TestRetryable(t *testing.T) {
	for code, want := range map[string]bool{
		"SQLSTATE 40001": true, "SQLSTATE 40P01": true, "MySQL 1213": true, "MySQL 1205": true, "SQLite 517": true,
		"SQLSTATE 23505": false, "MySQL 1062": false, "SQLite 5": false,
	} {
		err := fmt.Errorf("op: %w", &dialect.ServerError{Code: code})
		if got := sqlbase.Retryable(err); got != want {
			t.Errorf("Retryable(%s) = %v; want %v", code, got, want)
		}
	}
	if sqlbase.Retryable(errors.New("x")) || sqlbase.Retryable(nil) {
		t.Error("Retryable of a non-server error")
	}
}

func TestRetry(t *testing.T) {
	abort := &dialect.ServerError{Code: "SQLSTATE 40001"}
	n := 0
	err := sqlbase.Retry(context.Background(), func() error {
		n++
		if n < 3 {
			return abort
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("Retry = %v after %d runs; want success on the third", err, n)
	}
	n = 0
	if err := sqlbase.Retry(context.Background(), func() error { n++; return abort }); !errors.Is(err, abort) || n != sqlbase.MaxAttempts {
		t.Fatalf("Retry = %v after %d runs; want the abort after %d", err, n, sqlbase.MaxAttempts)
	}
	n = 0
	other := errors.New("constraint")
	if err := sqlbase.Retry(context.Background(), func() error { n++; return other }); err != other || n != 1 {
		t.Fatalf("Retry ran a non-retryable error %d times", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n = 0
	if err := sqlbase.Retry(ctx, func() error { n++; return abort }); !errors.Is(err, abort) || n != 1 {
		t.Fatalf("Retry with a done context ran %d times, %v", n, err)
	}
}
