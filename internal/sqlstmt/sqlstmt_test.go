package sqlstmt

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync/atomic"
	"testing"
	"time"
)

// TestCloseWaitsForBackgroundPrepare: a query first run in a
// transaction is prepared on the database in the background, which opens
// a second connection; Close must stop that and wait for it, or it opens
// the connection after the host has closed the database and removed its
// SQLite file's directory. Regression: TestStoreConformanceSecondPool
// failed in CI with "TempDir RemoveAll cleanup: directory not empty", a
// connection opened (and its -wal file made) after every Close had
// returned.
func TestCloseWaitsForBackgroundPrepare(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := &connector{blocked: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(conn.release)
	db := sql.OpenDB(conn)
	defer db.Close()
	c := New(db, true)

	tx, err := db.BeginTx(ctx, nil) // the first connection, opened at once
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := c.TxExec(ctx, tx, "UPDATE t SET x = 1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-conn.blocked: // the background preparation waits for a second one
	case <-ctx.Done():
		t.Fatal("no background preparation asked for a connection")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := conn.connecting.Load(); n != 0 {
		t.Fatalf("Close returned with %d connections still being opened", n)
	}
}

// connector opens its first connection at once and blocks every later
// one until its context ends or release is closed.
type connector struct {
	opened     atomic.Int32
	connecting atomic.Int32
	blocked    chan struct{}
	release    chan struct{}
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.opened.Add(1) == 1 {
		return fakeConn{}, nil
	}
	c.connecting.Add(1)
	defer c.connecting.Add(-1)
	select {
	case c.blocked <- struct{}{}:
	default:
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.release:
		return fakeConn{}, nil
	}
}

func (c *connector) Driver() driver.Driver { return nil }

type fakeConn struct{}

func (fakeConn) Prepare(string) (driver.Stmt, error) { return fakeStmt{}, nil }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return fakeTx{}, nil }

type fakeTx struct{}

func (fakeTx) Commit() error   { return nil }
func (fakeTx) Rollback() error { return nil }

type fakeStmt struct{}

func (fakeStmt) Close() error                               { return nil }
func (fakeStmt) NumInput() int                              { return -1 }
func (fakeStmt) Exec([]driver.Value) (driver.Result, error) { return driver.RowsAffected(0), nil }
func (fakeStmt) Query([]driver.Value) (driver.Rows, error)  { return nil, driver.ErrSkip }
