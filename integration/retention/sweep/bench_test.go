package sweep_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// benchRows is the size of the benchmarks' table; half of it expired.
const benchRows = 200_000

// generate makes a table of benchRows rows by SQL and returns its
// Deleter: row i is of subject s<i mod 1000>, the even rows two years
// old and the odd ones a day old, so that the expired half is spread
// through the key order, not a prefix of it.
func generate(b *testing.B, db *sql.DB, d sqldialect.Dialect, table string) *sqlretention.Deleter {
	b.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (id BIGINT PRIMARY KEY, subject VARCHAR(64) NULL, at_us BIGINT NULL, ip VARCHAR(64) NULL)"); err != nil {
		b.Fatal(err)
	}
	nowUS, old := now.UnixMicro(), now.AddDate(-2, 0, 0).UnixMicro()
	// One connection, for the session's limit on recursion.
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	switch d {
	case sqldialect.Postgres:
		_, err = conn.ExecContext(ctx, "INSERT INTO "+table+` SELECT i, 's' || (i % 1000),
			CASE WHEN i % 2 = 0 THEN $1::bigint - i * 1000 ELSE $2::bigint - i * 1000 END, '192.0.2.1'
			FROM generate_series(0, $3::bigint - 1) AS i`, old, nowUS-86_400_000_000, benchRows)
	default:
		subject := "CONCAT('s', i % 1000)"
		if d == sqldialect.SQLite {
			subject = "'s' || (i % 1000)"
		} else {
			conn.ExecContext(ctx, "SET SESSION cte_max_recursion_depth = 1000000")  // MySQL 8
			conn.ExecContext(ctx, "SET SESSION max_recursive_iterations = 1000000") // MariaDB
		}
		_, err = conn.ExecContext(ctx, "INSERT INTO "+table+` WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
			SELECT i, `+subject+`, CASE WHEN i % 2 = 0 THEN ? - i * 1000 ELSE ? - i * 1000 END, '192.0.2.1' FROM seq`,
			benchRows, old, nowUS-86_400_000_000)
	}
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE INDEX "+table+"_at ON "+table+" (at_us, id)"); err != nil {
		b.Fatal(err)
	}
	if d != sqldialect.MySQL {
		db.ExecContext(ctx, "ANALYZE "+table)
	}
	del, err := sqlretention.NewDeleter(db, d, sqlretention.Table{Name: table, Key: "id", Subject: "subject", Time: "at_us",
		TimeUnit: sqlretention.UnixMicros})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { del.Close() })
	return del
}

// BenchmarkSweep measures what the Sweeper adds to its Deleter: the
// Deleter called in batches of 1,000 until done (deleter), against a
// Sweep of the same table through the SQL Store, which reads the holds
// before and saves a checkpoint after every batch (sweeper). Each
// iteration purges the 100,000 expired rows of a fresh 200,000-row
// table, made with the timer stopped.
func BenchmarkSweep(b *testing.B) {
	for _, d := range testdb.All() {
		if !testdb.Available(d) {
			continue
		}
		b.Run(d.String(), func(b *testing.B) {
			db := testdb.Open(b, d)
			ctx := context.Background()
			store, err := sqlretention.New(db, d)
			if err != nil {
				b.Fatal(err)
			}
			if err := store.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			pol := policy
			pol.Action, pol.From = retention.Delete, retention.FromCollection
			tables := 0
			b.Run("deleter", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					tables++
					del := generate(b, db, d, fmt.Sprintf("logins_%d", tables))
					b.StartTimer()
					batch := retention.Batch{Target: "logins", Policy: pol, Before: pol.Cutoff(now), Limit: 1000}
					var n int64
					for {
						res, err := del.Expire(ctx, batch)
						if err != nil {
							b.Fatal(err)
						}
						n += res.Acted
						if res.Done {
							break
						}
						batch.Cursor = res.Cursor
					}
					if n != benchRows/2 {
						b.Fatalf("%d deleted, want %d", n, benchRows/2)
					}
				}
			})
			b.Run("sweeper", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					tables++
					del := generate(b, db, d, fmt.Sprintf("logins_%d", tables))
					s, err := retention.NewSweeper(store, retention.WithPolicies(pol),
						retention.WithTargets(retention.Target{Name: fmt.Sprintf("logins_%d", tables), Category: "logins", Deleter: del}),
						retention.WithClock(func() time.Time { return now }), retention.WithBatchSize(1000),
						retention.WithName("bench"))
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					sw, err := s.Sweep(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if sw.Targets[0].Acted != benchRows/2 {
						b.Fatalf("%d deleted, want %d", sw.Targets[0].Acted, benchRows/2)
					}
				}
			})
		})
	}
}
