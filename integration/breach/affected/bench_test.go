package affected_test

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/membreach"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// benchN is the trail's size and the candidates' count:
// GDPR_BENCH_BREACH_N, 1,000,000 by default.
func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("GDPR_BENCH_BREACH_N")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// peakHeap samples the heap in use while fn runs and returns its peak
// above what was in use before.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// BenchmarkAffected: the subjects of a breach among N candidate IDs
// against a trail of N entries on PostgreSQL (N = 1,000,000): the breach
// package's path (Search of the compromised account's window, the
// candidates turned into tokens by the trail in batches, matched) against
// a plain hash join in the same run: the window's subject column read by
// one SQL statement into a Go map, probed with the candidates'
// pseudonyms computed beforehand.
//
//	go test -run '^$' -bench Affected -benchtime 1x -timeout 60m ./integration/breach/affected/
func BenchmarkAffected(b *testing.B) {
	if !testdb.Available(sqldialect.Postgres) {
		b.Skip("no PostgreSQL (GDPR_TEST_POSTGRES_DSN)")
	}
	n := benchN()
	ctx := context.Background()
	db := testdb.Open(b, sqldialect.Postgres)
	db.SetMaxOpenConns(16)
	as := testdb.Migrated(b, sqldialect.Postgres, db, sqlaudit.New)
	pkey := make([]byte, 32)
	rand.Read(pkey)
	skey, _, _ := audit.GenerateKey("breach.bench/trail")
	signer, verifier, _ := audit.NewSigner(skey)
	trail, err := audit.New(ctx, as, pkey, signer, verifier, audit.WithAnchor(&audit.FileAnchor{Dir: b.TempDir()}))
	if err != nil {
		b.Fatal(err)
	}
	defer trail.Close(ctx)
	// The trail: N reads of random subjects among N by ten agents, one
	// millisecond apart, appended by 8 writers.
	base := time.Now().UTC().Add(-time.Duration(n) * time.Millisecond)
	start := time.Now()
	var wg sync.WaitGroup
	per := (n + 7) / 8
	for w := range 8 {
		wg.Go(func() {
			r := mrand.New(mrand.NewPCG(uint64(w), 7))
			batch := make([]gdpr.Event, 0, audit.MaxAppend)
			for i := w * per; i < min(n, (w+1)*per); i++ {
				s := r.IntN(n)
				batch = append(batch, gdpr.Event{Time: base.Add(time.Duration(i) * time.Millisecond),
					Actor: gdpr.Staff(fmt.Sprintf("agent-%d", i%10)), Action: "crm.read", Subject: subject(s),
					Categories: []string{"contact"}, Resource: fmt.Sprintf("customer/%d", s), Outcome: gdpr.Success})
				if len(batch) == cap(batch) {
					if _, err := trail.Append(ctx, batch...); err != nil {
						b.Error(err)
						return
					}
					batch = batch[:0]
				}
			}
			if len(batch) > 0 {
				if _, err := trail.Append(ctx, batch...); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	b.Logf("trail of %d entries made in %v", n, time.Since(start).Round(time.Second))
	if _, err := db.ExecContext(ctx, "ANALYZE gdpr_audit_entries"); err != nil {
		b.Fatal(err)
	}
	cands := func(yield func(gdpr.SubjectID, error) bool) {
		for i := range n {
			if !yield(subject(i), nil) {
				return
			}
		}
	}
	q := gdpr.TrailQuery{Since: base, Until: base.Add(time.Duration(n) * time.Millisecond), Actor: gdpr.Staff("agent-3")}

	// Its two parts alone, to say where the time goes.
	b.Run("part=trail.Search", func(b *testing.B) {
		for b.Loop() {
			var n int
			for _, err := range trail.Search(ctx, q) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n), "entries")
		}
	})
	b.Run("part=trail.SubjectTokens", func(b *testing.B) {
		for b.Loop() {
			batch := make([]gdpr.SubjectID, 0, 1000)
			for s := range cands {
				batch = append(batch, s)
				if len(batch) == cap(batch) {
					if _, err := trail.SubjectTokens(ctx, batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
		}
	})
	var found int64
	b.Run("breach.Affected", func(b *testing.B) {
		for b.Loop() {
			log, err := breach.New(membreach.New(), pkey, breach.WithTrail(trail))
			if err != nil {
				b.Fatal(err)
			}
			br, err := log.Record(ctx, breach.Report{Aware: time.Now().Add(-time.Minute)})
			if err != nil {
				b.Fatal(err)
			}
			var a breach.Affected
			peak := peakHeap(func() {
				a, err = log.Affected(ctx, br.ID, breach.Scope{TrailQuery: q}, cands, nil)
			})
			if err != nil {
				b.Fatal(err)
			}
			found = a.Subjects
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(a.Subjects), "subjects")
			b.ReportMetric(float64(a.Entries), "entries")
		}
	})
	// The baseline's pseudonyms are computed before it is timed, as a
	// host that kept them would have them.
	pseudonyms := make([][]byte, 0, n)
	batch := make([]gdpr.SubjectID, 0, 1000)
	for s := range cands {
		batch = append(batch, s)
		if len(batch) == cap(batch) || len(pseudonyms)+len(batch) == n {
			toks, err := trail.SubjectTokens(ctx, batch)
			if err != nil {
				b.Fatal(err)
			}
			pseudonyms = append(pseudonyms, toks...)
			batch = batch[:0]
		}
	}
	var actor []byte
	if err := db.QueryRowContext(ctx, "SELECT actor FROM gdpr_audit_entries WHERE idx = 3").Scan(&actor); err != nil {
		b.Fatal(err)
	}
	b.Run("baseline_hash_join", func(b *testing.B) {
		for b.Loop() {
			var hits int64
			var err error
			peak := peakHeap(func() {
				rows, qerr := db.QueryContext(ctx, "SELECT subject FROM gdpr_audit_entries WHERE actor = $1 AND time_us >= $2 AND time_us < $3 AND subject IS NOT NULL",
					actor, q.Since.UnixMicro(), q.Until.UnixMicro())
				if qerr != nil {
					err = qerr
					return
				}
				set := map[string]bool{}
				for rows.Next() {
					var s []byte
					if err = rows.Scan(&s); err != nil {
						rows.Close()
						return
					}
					set[string(s)] = true
				}
				rows.Close()
				for _, p := range pseudonyms {
					if p != nil && set[string(p)] {
						hits++
						delete(set, string(p))
					}
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			if hits != found {
				b.Fatalf("the baseline found %d subjects, the breach package %d", hits, found)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(hits), "subjects")
		}
	})
}
