package sqlretention_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// purgeRows and purgeEvery shape BenchmarkPurge's table: 2,000,000
// rows, every second one expired, so the 1,000,000 expired rows are
// spread through the table (by key and on its pages), not a prefix.
const purgeRows, purgeEvery = 2_000_000, 2

// BenchmarkPurge deletes the expired half of a table of 2,000,000 rows
// on each database, two ways, each on a table generated afresh (by SQL,
// outside the timer) with the index on (created_at, id):
//
//   - batched: the Deleter's Expire, Limit 1000, until Done;
//   - single: the baseline, one DELETE FROM t WHERE created_at < ?.
//
// Besides ns/op it reports purge-s, the seconds of one purge, and
// batch-max-ms, the longest statement a purge held its locks for: the
// longest Expire for batched, the DELETE itself for single. Run it with
// -benchtime 1x: one op is a whole purge.
func BenchmarkPurge(b *testing.B) {
	for _, d := range testdb.All() {
		b.Run(d.String(), func(b *testing.B) {
			x := dtDB{d, testdb.Open(b, d)}
			b.Run("batched", func(b *testing.B) {
				var total, longest time.Duration
				batches := 0
				for range b.N {
					b.StopTimer()
					purgeTable(b, x)
					del := eventsDeleter(b, x, "purge_rows")
					batch := retention.Batch{Target: "purge_rows", Policy: dtPolicy(retention.Delete, ""), Before: dtCut, Limit: 1000}
					b.StartTimer()
					start := time.Now()
					s := sweep(b, del, batch)
					total += time.Since(start)
					b.StopTimer()
					longest, batches = max(longest, s.longest), batches+s.batches
					if s.acted != purgeRows/purgeEvery-purgeRows/100000 {
						b.Fatalf("deleted %d rows, want %d", s.acted, purgeRows/purgeEvery-purgeRows/100000)
					}
					b.StartTimer()
				}
				b.ReportMetric(total.Seconds()/float64(b.N), "purge-s")
				b.ReportMetric(float64(longest.Microseconds())/1000, "batch-max-ms")
				b.ReportMetric(float64(batches)/float64(b.N), "batches")
			})
			b.Run("single", func(b *testing.B) {
				var total time.Duration
				for range b.N {
					b.StopTimer()
					purgeTable(b, x)
					b.StartTimer()
					start := time.Now()
					r, err := x.db.ExecContext(context.Background(), x.rebind("DELETE FROM purge_rows WHERE created_at < ?"), dtCut)
					total += time.Since(start)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					if n, _ := r.RowsAffected(); n != purgeRows/purgeEvery {
						b.Fatalf("deleted %d rows, want %d", n, purgeRows/purgeEvery)
					}
					b.StartTimer()
				}
				b.ReportMetric(total.Seconds()/float64(b.N), "purge-s")
				b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "batch-max-ms")
				b.ReportMetric(1, "batches")
			})
		})
	}
}

// purgeTable makes BenchmarkPurge's table afresh, vacuumed and
// analysed, with the database's dirty pages written out, so that both
// ways start from the same state.
func purgeTable(b *testing.B, x dtDB) {
	b.Helper()
	x.exec(b, "DROP TABLE IF EXISTS purge_rows")
	x.eventsTable(b, "purge_rows", purgeRows, purgeEvery)
	switch x.d {
	case sqldialect.Postgres:
		x.exec(b, "VACUUM (ANALYZE) purge_rows")
		x.exec(b, "CHECKPOINT")
	case sqldialect.SQLite:
		x.exec(b, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
	if n := x.count(b, "purge_rows", "created_at < ?", dtCut); n != purgeRows/purgeEvery {
		b.Fatalf("%d expired rows generated, want %d", n, purgeRows/purgeEvery)
	}
	b.Logf("purge_rows: %s rows, %d expired", strconv.Itoa(purgeRows), purgeRows/purgeEvery)
}
