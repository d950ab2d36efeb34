package sqlstmt_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

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

// TestTxOnOneConnection runs the statements of a transaction on a pool
// of one connection, as SQLite hosts often configure it: a query not
// prepared yet is prepared on the transaction's own connection, not on
// the database, which would wait for a second connection for ever.
// Regression: every SQL store hung on its first transaction with
// db.SetMaxOpenConns(1) on SQLite and MySQL.
func TestTxOnOneConnection(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		db.SetMaxOpenConns(1)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c := sqlstmt.New(db, true)
		if _, err := c.Exec(ctx, "CREATE TABLE t (x INTEGER)"); err != nil {
			t.Fatal(err)
		}
		ins, sel := "INSERT INTO t (x) VALUES (?)", "SELECT COUNT(*) FROM t WHERE x = ?"
		if d == sqldialect.Postgres {
			ins, sel = "INSERT INTO t (x) VALUES ($1)", "SELECT COUNT(*) FROM t WHERE x = $1"
		}
		for i := 0; i < 20; i++ { // the first before the query is cached, the later after
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.TxExec(ctx, tx, ins, i); err != nil {
				t.Fatalf("TxExec %d: %v", i, err)
			}
			var n int
			if err := c.TxQueryRow(ctx, tx, sel, i).Scan(&n); err != nil || n != 1 {
				t.Fatalf("TxQueryRow %d: %d, %v", i, n, err)
			}
			rows, err := c.TxQuery(ctx, tx, sel, i)
			if err != nil {
				t.Fatalf("TxQuery %d: %v", i, err)
			}
			rows.Close()
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond) // room for the background preparation
		}
		// By now the queries are cached on the database.
		deadline := time.Now().Add(5 * time.Second)
		for {
			a, err := c.Stmt(ctx, ins)
			b, _ := c.Stmt(ctx, ins)
			if err == nil && a == b {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the statement was never cached")
			}
		}
	})
}
