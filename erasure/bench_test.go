package erasure_test

import (
	"context"
	"fmt"
	"testing"

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
