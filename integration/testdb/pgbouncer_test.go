package testdb_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gdprkit/gdpr/integration/testdb"
)

// TestPgBouncer checks that OpenPgBouncer's database is new and empty and
// that PgBouncer pools by transaction: many client connections share
// PgBouncerPoolSize server connections.
func TestPgBouncer(t *testing.T) {
	b := testdb.StartPgBouncer(t)
	name := b.CreateDatabase(t)
	db := b.Open(t, name, pgx.QueryExecModeExec)
	ctx := t.Context()

	var got string
	if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&got); err != nil || got != name {
		t.Fatalf("current_database() = %q, %v; want %q", got, err, name)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").Scan(&n); err != nil || n != 0 {
		t.Fatalf("new database has %d tables (%v); want none", n, err)
	}

	const clients = 3 * testdb.PgBouncerPoolSize
	pids := map[int]bool{}
	for i := range clients {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range 3 {
			var pid int
			if err := c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			pids[pid] = true
		}
	}
	if len(pids) > testdb.PgBouncerPoolSize {
		t.Fatalf("%d client connections reached %d server connections; want at most %d: PgBouncer is not pooling by transaction", clients, len(pids), testdb.PgBouncerPoolSize)
	}

	other := testdb.OpenPgBouncer(t)
	if _, err := db.ExecContext(ctx, "CREATE TABLE only_here (id INT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ExecContext(ctx, "SELECT COUNT(*) FROM only_here"); err == nil {
		t.Fatal("a table created in one PgBouncer test database is visible in another")
	}
}

// TestPgBouncerExecModes records which of pgx's query exec modes work
// through PgBouncer in transaction mode (the package doc of testdb and the
// stores' docs tell hosts which to use): exec and simple_protocol must;
// cache_statement, pgx's default, must fail, or the PgBouncer here would
// not catch a store that relies on session state. describe_exec uses the
// unnamed statement across two round trips and fails when they reach two
// servers; cache_describe may work but trusts result descriptions cached
// across schema changes: neither is asserted, only logged.
func TestPgBouncerExecModes(t *testing.T) {
	b := testdb.StartPgBouncer(t)
	name := b.CreateDatabase(t)
	for _, tc := range []struct {
		mode pgx.QueryExecMode
		ok   bool // must work; otherwise must fail
		must bool // the outcome is asserted
	}{
		{pgx.QueryExecModeExec, true, true},
		{pgx.QueryExecModeSimpleProtocol, true, true},
		{pgx.QueryExecModeCacheStatement, false, true},
		{pgx.QueryExecModeCacheDescribe, false, false},
		{pgx.QueryExecModeDescribeExec, false, false},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			err := workload(t.Context(), b.Open(t, name, tc.mode))
			switch {
			case !tc.must:
				t.Logf("%v through PgBouncer: %v", tc.mode, err)
			case tc.ok && err != nil:
				t.Fatalf("%v through PgBouncer: %v", tc.mode, err)
			case !tc.ok && err == nil:
				t.Fatalf("%v through PgBouncer worked; want it to fail, as it keeps session state", tc.mode)
			case !tc.ok:
				t.Logf("%v through PgBouncer fails as expected: %v", tc.mode, err)
			}
		})
	}
}

// workload runs parameterised queries from many client connections at once,
// in and out of transactions, and returns the first error.
func workload(ctx context.Context, db *sql.DB) error {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				q := fmt.Sprintf("SELECT $1::int + %d", i%5)
				var got int
				var err error
				if i%2 == 0 {
					err = db.QueryRowContext(ctx, q, w).Scan(&got)
				} else {
					var tx *sql.Tx
					if tx, err = db.BeginTx(ctx, nil); err == nil {
						if err = tx.QueryRowContext(ctx, q, w).Scan(&got); err == nil {
							err = tx.Commit()
						} else {
							_ = tx.Rollback()
						}
					}
				}
				if err == nil && got != w+i%5 {
					err = fmt.Errorf("%s with %d = %d", q, w, got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
