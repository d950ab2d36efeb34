package sqlstmt_test

import (
	"context"
	"testing"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

func TestCache(t *testing.T) {
	ctx := context.Background()
	db := testdb.Open(t, sqldialect.SQLite)
	c := sqlstmt.New(db, true)
	if err := c.QueryRow(ctx, "SELECT x FROM missing").Scan(new(int)); err == nil {
		t.Fatal("a query on a missing table succeeded")
	}
	if _, err := c.Exec(ctx, "CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "INSERT INTO t (x) VALUES (?)", 7); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := c.QueryRow(ctx, "SELECT x FROM t").Scan(&x); err != nil || x != 7 {
		t.Fatalf("QueryRow = %d, %v", x, err)
	}
	a, _ := c.Stmt(ctx, "SELECT x FROM t")
	b, _ := c.Stmt(ctx, "SELECT x FROM t")
	if a != b {
		t.Fatal("a query was prepared twice")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := c.Query(ctx, "SELECT x FROM t")
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	rows.Close()
}
