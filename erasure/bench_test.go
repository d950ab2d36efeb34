package erasure_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
)

// The Engine's own cost, on the memory store, against its raw baseline in
// the same run; see BENCHMARKS.md.
//
//	go test -run '^$' -bench 'EngineStep|PlainLoop' -benchmem -count 5 ./erasure/

// benchNoop is a target that does nothing and reports one record erased.
type benchNoop struct{ calls int64 }

func (n *benchNoop) EraseSubject(context.Context, gdpr.SubjectID) (gdpr.ErasureReport, error) {
	n.calls++
	return gdpr.ErasureReport{Erased: 1}, nil
}

// benchTargets is the number of targets of an erasure in these benchmarks.
const benchTargets = 3

// benchBatch is how many requests the store holds at most: every
// benchBatch requests, with the timer stopped, they are deleted, so that
// the memory store's scans (it lists by scanning every request) stay
// small and the figure does not grow with b.N.
const benchBatch = 16

func benchSubjects() []gdpr.SubjectID {
	s := make([]gdpr.SubjectID, benchBatch)
	for i := range s {
		s[i] = gdpr.SubjectID(fmt.Sprintf("bench-subject-%02d@example.org", i))
	}
	return s
}

func benchNoops() []*benchNoop {
	ns := make([]*benchNoop, benchTargets)
	for i := range ns {
		ns[i] = new(benchNoop)
	}
	return ns
}

// BenchmarkEngineStep is one erasure through the Engine per op: Submit (the
// duplicate check, the UUIDv7, the deadline, the audit record to
// gdpr.Discard, the Create) and Process (the lease, the start, one
// persisted step per target, the close, the release), with three no-op
// targets, on memerasure. ns/step is ns/op over the three steps.
func BenchmarkEngineStep(b *testing.B) {
	ctx := context.Background()
	store := memerasure.New()
	noops := benchNoops()
	var targets []erasure.Target
	for i, n := range noops {
		targets = append(targets, erasure.Target{Name: fmt.Sprintf("t%d", i+1), Eraser: n})
	}
	e, err := erasure.New(store, testKey, erasure.WithTargets(targets...))
	if err != nil {
		b.Fatal(err)
	}
	subjects := benchSubjects()
	ids := make([]string, 0, benchBatch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r, created, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: subjects[i%benchBatch]})
		if err != nil || !created {
			b.Fatalf("Submit: created %v, %v", created, err)
		}
		got, err := e.Process(ctx, r.ID)
		if err != nil || got.State != erasure.StateCompleted {
			b.Fatalf("Process: %s, %v", got.State, err)
		}
		ids = append(ids, r.ID)
		if len(ids) == benchBatch {
			b.StopTimer()
			if n, err := store.Delete(ctx, ids...); err != nil || n != benchBatch {
				b.Fatalf("Delete: %d, %v", n, err)
			}
			ids = ids[:0]
			b.StartTimer()
		}
	}
	b.StopTimer()
	for _, n := range noops {
		if n.calls != int64(b.N) {
			b.Fatalf("a target was called %d times for %d erasures", n.calls, b.N)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchTargets, "ns/step")
}

// BenchmarkPlainLoop is the baseline of BenchmarkEngineStep: a loop that
// calls the same three no-op targets for one subject per op.
func BenchmarkPlainLoop(b *testing.B) {
	ctx := context.Background()
	noops := benchNoops()
	var erasers []gdpr.Eraser
	for _, n := range noops {
		erasers = append(erasers, n)
	}
	subjects := benchSubjects()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for _, er := range erasers {
			if _, err := er.EraseSubject(ctx, subjects[i%benchBatch]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchTargets, "ns/step")
}

// The restriction check against a plain map lookup, the raw baseline of a
// host that kept the restricted subjects in a map of its own:
//
//	go test -run '^$' -bench 'Check|PlainMapLookup' -benchmem -count 5 ./erasure/
//
// 10,000 subjects are checked in turn, 100 of them restricted; every
// subject has been seen once before the timer starts (the steady state of
// a hot path), so a check is the cache's lookup by subject ID.
const (
	benchCheckSubjects   = 10000
	benchCheckRestricted = 100
)

func benchCheckSetup(b *testing.B) (*erasure.Engine, []gdpr.SubjectID) {
	ctx := context.Background()
	e, err := erasure.New(memerasure.New(), []byte("0123456789abcdef0123456789abcdef"), erasure.WithRestrictionCache(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	subjects := make([]gdpr.SubjectID, benchCheckSubjects)
	for i := range subjects {
		subjects[i] = gdpr.SubjectID(fmt.Sprintf("user-%05d@example.org", i))
	}
	for i := 0; i < benchCheckRestricted; i++ {
		r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindRestriction, Subject: subjects[i*(benchCheckSubjects/benchCheckRestricted)],
			Ground: erasure.GroundAccuracy, Purposes: []gdpr.Purpose{"marketing"}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Process(ctx, r.ID); err != nil {
			b.Fatal(err)
		}
	}
	for _, s := range subjects {
		_ = e.Check(ctx, s, "support", gdpr.AllowNone)
	}
	return e, subjects
}

// BenchmarkCheck is one Engine.Check from the warm cache, for a purpose
// the restrictions do not name (the common answer, nil).
func BenchmarkCheck(b *testing.B) {
	e, subjects := benchCheckSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.Check(ctx, subjects[i%len(subjects)], "support", gdpr.AllowNone); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckParallel is BenchmarkCheck from every core at once.
func BenchmarkCheckParallel(b *testing.B) {
	e, subjects := benchCheckSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := e.Check(ctx, subjects[i%len(subjects)], "support", gdpr.AllowNone); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkPlainMapLookup is the raw baseline: a lookup of the subject in
// a map of restricted subjects to their purposes, and the purpose in the
// slice found.
func BenchmarkPlainMapLookup(b *testing.B) {
	subjects := make([]gdpr.SubjectID, benchCheckSubjects)
	restricted := map[gdpr.SubjectID][]gdpr.Purpose{}
	for i := range subjects {
		subjects[i] = gdpr.SubjectID(fmt.Sprintf("user-%05d@example.org", i))
		if i%(benchCheckSubjects/benchCheckRestricted) == 0 {
			restricted[subjects[i]] = []gdpr.Purpose{"marketing"}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		if slices.Contains(restricted[subjects[i%len(subjects)]], "support") {
			n++
		}
	}
	if n != 0 {
		b.Fatal(n)
	}
}
