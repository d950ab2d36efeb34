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
// The expired rows are spread through the table, every second row, as
// the benchmark's brief asks: the worst case for batches in time order,
// whose rows lie on pages all over the table. ordered-batched and
// ordered-single do the same on a table whose times grow with the key,
// as an append-only table's do, where the expired rows are the first
// half of the table's pages.
//
// Besides ns/op it reports purge-s, the seconds of one purge, and
// batch-max-ms, the longest statement a purge held its locks for: the
// longest Expire for batched, the DELETE itself for single. Run it with
// -benchtime 1x: one op is a whole purge.
func BenchmarkPurge(b *testing.B) {
	for _, d := range testdb.All() {
		b.Run(d.String(), func(b *testing.B) {
			x := dtDB{d, testdb.Open(b, d)}
			for _, ordered := range []bool{false, true} {
				prefix := ""
				if ordered {
					prefix = "ordered-"
				}
				b.Run(prefix+"batched", func(b *testing.B) { purgeBatched(b, x, ordered) })
				b.Run(prefix+"single", func(b *testing.B) { purgeSingle(b, x, ordered) })
			}
		})
	}
}

// purgeExpired is the number of expired rows with a subject, which the
// Deleter deletes (20 of the spread table's expired rows have none).
func purgeExpired(ordered bool) int64 {
	if ordered {
		return purgeRows / 2
	}
	return purgeRows/purgeEvery - purgeRows/100000
}

func purgeBatched(b *testing.B, x dtDB, ordered bool) {
	var total, longest time.Duration
	batches := 0
	for range b.N {
		b.StopTimer()
		purgeTable(b, x, ordered)
		del := eventsDeleter(b, x, "purge_rows")
		batch := retention.Batch{Target: "purge_rows", Policy: dtPolicy(retention.Delete, ""), Before: dtCut, Limit: 1000}
		b.StartTimer()
		start := time.Now()
		s := sweep(b, del, batch)
		total += time.Since(start)
		b.StopTimer()
		longest, batches = max(longest, s.longest), batches+s.batches
		if s.acted != purgeExpired(ordered) {
			b.Fatalf("deleted %d rows, want %d", s.acted, purgeExpired(ordered))
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "purge-s")
	b.ReportMetric(float64(longest.Microseconds())/1000, "batch-max-ms")
	b.ReportMetric(float64(batches)/float64(b.N), "batches")
}

func purgeSingle(b *testing.B, x dtDB, ordered bool) {
	var total time.Duration
	for range b.N {
		b.StopTimer()
		purgeTable(b, x, ordered)
		b.StartTimer()
		start := time.Now()
		r, err := x.db.ExecContext(context.Background(), x.rebind("DELETE FROM purge_rows WHERE created_at < ?"), dtCut)
		total += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := r.RowsAffected(); n != purgeRows/2 {
			b.Fatalf("deleted %d rows, want %d", n, purgeRows/2)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "purge-s")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "batch-max-ms")
	b.ReportMetric(1, "batches")
}

// purgeTable makes BenchmarkPurge's table afresh, vacuumed and
// analysed, with the database's dirty pages written out, so that both
// ways start from the same state. Spread: eventsTable's rows, every
// second one expired. Ordered: row g's time is g - 1,000,001 seconds
// after dtCut, so rows 1 to 1,000,000 have expired.
func purgeTable(b *testing.B, x dtDB, ordered bool) {
	b.Helper()
	x.exec(b, "DROP TABLE IF EXISTS purge_rows")
	if ordered {
		x.exec(b, "CREATE TABLE purge_rows (id "+x.pkType()+", subject VARCHAR(64) NULL, created_at "+x.tsType()+" NULL, note VARCHAR(16) NULL)")
		x.generate(b, "purge_rows", "id, subject, created_at, note",
			"g, "+x.concat("'s'", "g % 997")+", "+x.tsAt("g - "+strconv.Itoa(purgeRows/2+1))+", 'n'", purgeRows)
		x.exec(b, "CREATE INDEX purge_rows_time_key ON purge_rows (created_at, id)")
	} else {
		x.eventsTable(b, "purge_rows", purgeRows, purgeEvery)
	}
	switch x.d {
	case sqldialect.Postgres:
		x.exec(b, "VACUUM (ANALYZE) purge_rows")
		x.exec(b, "CHECKPOINT")
	case sqldialect.MySQL:
		x.exec(b, "ANALYZE TABLE purge_rows")
	case sqldialect.SQLite:
		x.exec(b, "ANALYZE")
		x.exec(b, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
	if n := x.count(b, "purge_rows", "created_at < ?", dtCut); n != purgeRows/2 {
		b.Fatalf("%d expired rows generated, want %d", n, purgeRows/2)
	}
}
