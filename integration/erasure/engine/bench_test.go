package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// BenchmarkThroughput measures erasure requests completed per second by
// four Engines, each on its own connection pool (as four processes), each
// Running with W workers, over b.N requests submitted beforehand (not
// timed), with three no-op targets; and, in the same run and on the same
// pools with as many goroutines, the plain SQL baseline: one UPDATE of
// one row, autocommitted, per op. The Store under each Engine counts its
// writing calls (one commit each): writes/request includes the request's
// Create at submission. On PostgreSQL the pools also count the statements
// pgx sends, BEGIN and COMMIT included: statements/request, of the timed
// part (Submit's two statements are not in it).
//
//	GDPR_TEST_POSTGRES_DSN=... go test -run '^$' -bench 'Throughput/postgres' -benchtime 5000x -count 3 ./integration/erasure/engine/
func BenchmarkThroughput(b *testing.B) {
	const engines = 4
	for _, d := range []sqldialect.Dialect{sqldialect.Postgres, sqldialect.MySQL, sqldialect.SQLite} {
		b.Run(d.String(), func(b *testing.B) {
			if !testdb.Available(d) {
				b.Skipf("%s: no DSN set (see integration/testdb)", d)
			}
			for _, workers := range []int{4, 8} {
				b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
					ctx := context.Background()
					db := open(b, d, 4)
					if err := newStore(b, d, db).Migrate(ctx); err != nil {
						b.Fatal(err)
					}
					pools := make([]*sql.DB, engines)
					var stmts *stmtCounter
					if d == sqldialect.Postgres {
						stmts = new(stmtCounter)
					}
					for k := range pools {
						if stmts != nil {
							pools[k] = pool(tracedReopen(b, db, stmts), workers+3)
						} else {
							pools[k] = pool(testdb.Reopen(b, d, db), workers+3)
						}
					}
					b.Run("engine", func(b *testing.B) { benchEngines(b, d, db, pools, workers, stmts) })
					b.Run("plain-update", func(b *testing.B) { benchPlainUpdate(b, d, db, pools, workers, stmts) })
				})
			}
		})
	}
}

// benchSeq numbers the benchmark's subjects across its runs.
var benchSeq atomic.Int64

func benchEngines(b *testing.B, d sqldialect.Dialect, db *sql.DB, pools []*sql.DB, workers int, stmts *stmtCounter) {
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "DELETE FROM gdpr_erasure_requests"); err != nil {
		b.Fatal(err)
	}
	noops := []*counter{newCounter("t1", nil), newCounter("t2", nil), newCounter("t3", nil)}
	stores := make([]*countingStore, len(pools))
	es := make([]*erasure.Engine, len(pools))
	for k, p := range pools {
		stores[k] = &countingStore{Store: newStore(b, d, p)}
		es[k] = newEngine(b, stores[k], erasure.WithTargets(targetsOf(noops...)...),
			erasure.WithWorkers(workers), erasure.WithPoll(10*time.Millisecond), erasure.WithLease(30*time.Second),
			erasure.WithWorkerID(fmt.Sprintf("bench-%d", k)))
	}
	// Submit b.N requests beforehand, from every Engine at once.
	b.StopTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 * len(es) {
		e := es[g%len(es)]
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				s := gdpr.SubjectID(fmt.Sprintf("bench-subject-%d", benchSeq.Add(1)))
				if _, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: s}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	var creates int64
	for _, s := range stores {
		creates += s.creates.Load()
		s.reset()
	}
	closed := func() (n int64) {
		for _, s := range stores {
			n += s.closed.Load()
		}
		return n
	}

	stmts.reset()
	b.StartTimer()
	start := time.Now()
	stop := runEngines(es...)
	for closed() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	ran := stmts.count()
	stop()

	var writes, polls, updates, acquires, releases, renews int64
	for _, s := range stores {
		writes += s.writes()
		polls += s.emptyAcquires.Load()
		updates += s.updates.Load()
		acquires += s.acquires.Load()
		releases += s.releases.Load()
		renews += s.renews.Load()
		for _, e := range s.errors() {
			b.Logf("store errors: %s", e)
		}
	}
	for _, c := range noops {
		if c.calls.Load() != int64(b.N) {
			b.Errorf("%s called %d times for %d requests", c.name, c.calls.Load(), b.N)
		}
	}
	n := float64(b.N)
	if b.N >= 1000 {
		b.Logf("per request: 1 Create (at submission), %.2f Updates, %.2f Acquires that leased, %.2f Releases, %.3f Renews",
			float64(updates)/n, float64(acquires)/n, float64(releases)/n, float64(renews)/n)
	}
	b.ReportMetric(n/elapsed.Seconds(), "requests/s")
	b.ReportMetric(float64(writes+creates)/n, "writes/request")
	b.ReportMetric(float64(polls)/n, "idle-polls/request")
	if stmts != nil {
		// Each request's Submit is List and Create: 2 statements more,
		// outside the timed part.
		b.ReportMetric(float64(ran)/n, "statements/request")
	}
}

// benchPlainUpdate is the baseline: as many goroutines per pool as the
// Engines have workers, each autocommitting one UPDATE of one row (of a
// thousand, so they rarely wait on each other's row locks) per op.
func benchPlainUpdate(b *testing.B, d sqldialect.Dialect, db *sql.DB, pools []*sql.DB, workers int, stmts *stmtCounter) {
	ctx := context.Background()
	const rows = 1000
	b.StopTimer()
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS bench_rows (id INTEGER NOT NULL PRIMARY KEY, n INTEGER NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM bench_rows"); err != nil {
		b.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range rows {
		if _, err := tx.ExecContext(ctx, rebind(d, "INSERT INTO bench_rows (id, n) VALUES (?, 0)"), i); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	q := rebind(d, "UPDATE bench_rows SET n = n + 1 WHERE id = ?")
	var next atomic.Int64
	var wg sync.WaitGroup
	stmts.reset()
	b.StartTimer()
	start := time.Now()
	for _, p := range pools {
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > int64(b.N) {
						return
					}
					if _, err := p.ExecContext(ctx, q, i%rows); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "statements/s")
	if stmts != nil && stmts.count() != int64(b.N) {
		b.Errorf("the tracer counted %d statements for %d UPDATEs", stmts.count(), b.N)
	}
}

// stmtCounter counts the statements pgx sends (BEGIN and COMMIT
// included: database/sql's transactions run them through Exec).
type stmtCounter struct{ n atomic.Int64 }

func (c *stmtCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *stmtCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *stmtCounter) reset() {
	if c != nil {
		c.n.Store(0)
	}
}

func (c *stmtCounter) count() int64 {
	if c == nil {
		return 0
	}
	return c.n.Load()
}

// tracedReopen is testdb.Reopen for PostgreSQL with c tracing the pool's
// statements.
func tracedReopen(b *testing.B, db *sql.DB, c *stmtCounter) *sql.DB {
	var schema string
	if err := db.QueryRowContext(context.Background(), "SELECT current_schema()").Scan(&schema); err != nil {
		b.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(os.Getenv(testdb.EnvPostgres))
	if err != nil {
		b.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	cfg.Tracer = c
	p := stdlib.OpenDB(*cfg)
	b.Cleanup(func() { p.Close() })
	return p
}
