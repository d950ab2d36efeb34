package erasure_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
)

// TestReviewRaceStress checks, placements and lifts from 17 goroutines
// with a 2 ms cache, under the race detector: the cache's snapshots,
// refreshes and invalidations share no unsynchronised state.
func TestReviewRaceStress(t *testing.T) {
	store := memerasure.New()
	e, _ := erasure.New(store, testKey, erasure.WithRestrictionCache(2*time.Millisecond),
		erasure.WithNotifier(erasure.NotifierFunc(func(context.Context, erasure.Notice) error { return nil })))
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = e.Check(ctx, gdpr.SubjectID(fmt.Sprintf("s%d@x", g%4)), "p", gdpr.AllowNone)
				_ = e.Check(ctx, gdpr.SubjectID(fmt.Sprintf("s%d@x", g%4)), "p", gdpr.AllowLegalClaims)
			}
		}()
	}
	for i := range 20 {
		s := gdpr.SubjectID(fmt.Sprintf("s%d@x", i%4))
		r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundAccuracy})
		if err == nil {
			e.Process(ctx, r.ID)
			time.Sleep(5 * time.Millisecond)
			e.Process(ctx, r.ID)
		}
		l, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: s})
		if err == nil {
			e.Process(ctx, l.ID)
		}
	}
	close(stop)
	wg.Wait()
}
