package retentiontest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gdprkit/gdpr/internal/suite"
	"github.com/gdprkit/gdpr/retention"
)

// racers is how many goroutines each race runs.
const racers = 8

// The race subtests run one operation from racers goroutines at once,
// goroutine g on s for even g and other for odd g (suite.Race, bounded
// by suite.RaceTimeout), and check only what the contract promises then.

// raceAcquire races AcquireSweep of name at now and returns the winner's
// lease, failing t unless exactly one won and the others were ErrLeased.
func raceAcquire(t *testing.T, s, other retention.Store, name string, now int) retention.Lease {
	t.Helper()
	leases := make([]retention.Lease, racers)
	errs := suite.Race(t, racers, s, other, func(ctx context.Context, g int, h retention.Store) error {
		l, err := h.AcquireSweep(ctx, name, fmt.Sprintf("host-%d", g), at(now), ttl)
		leases[g] = l
		return err
	})
	won := -1
	for g, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("%d racing AcquireSweeps: goroutines %d and %d both won; want exactly one: two racing calls never both succeed", racers, won, g)
		case err == nil:
			won = g
		case !errors.Is(err, retention.ErrLeased):
			t.Errorf("%d racing AcquireSweeps: goroutine %d lost with %v; want ErrLeased", racers, g, err)
		}
	}
	if won < 0 {
		t.Fatalf("%d racing AcquireSweeps of a sweep with no live lease: none won; want exactly one", racers)
	}
	l := leases[won]
	wantLease(t, "the winning AcquireSweep", l, name, fmt.Sprintf("host-%d", won), at(now).Add(ttl))
	return l
}

func testRaceAcquire(t *testing.T, s, other retention.Store) {
	l := raceAcquire(t, s, other, "nightly", 0)
	sw := fullSweep("nightly")
	mustSave(t, s, l, sw, at(1), at(20))
	wantCheckpoint(t, other, "nightly", "LastSweep through the other handle after the winner's SaveSweep", sw)
}

func testRaceTakeover(t *testing.T, s, other retention.Store) {
	old := mustAcquire(t, s, "nightly", "host-old", at(0))
	l := raceAcquire(t, s, other, "nightly", 10)
	if l.Token == old.Token {
		t.Errorf("the AcquireSweep taking the lease over returned the old Token; want a fresh one: %s", acquireContract)
	}
	wantLost(t, other, "SaveSweep of the lease taken over", old, fullSweep("nightly"), at(11), retention.Sweep{})
	mustSave(t, s, l, fullSweep("nightly"), at(11), at(30))
}

func testRacePlaceExists(t *testing.T, s, other retention.Store) {
	holds := make([]retention.Hold, racers)
	for g := range holds {
		holds[g] = newHold("race", alice, "invoices")
		holds[g].Reason = fmt.Sprintf("claim number %d", g)
	}
	errs := suite.Race(t, racers, s, other, func(ctx context.Context, g int, h retention.Store) error {
		return h.PlaceHold(ctx, cloneHold(holds[g]))
	})
	won := -1
	for g, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("%d racing PlaceHolds of one ID with other contents: goroutines %d and %d both stored; want exactly one: %s", racers, won, g, existsContract)
		case err == nil:
			won = g
		default:
			wantErr(t, err, retention.ErrExists, fmt.Sprintf("racing PlaceHold, goroutine %d", g), existsContract)
		}
	}
	if won < 0 {
		t.Fatalf("%d racing PlaceHolds of one ID: none stored; want exactly one", racers)
	}
	wantHold(t, "GetHold after the race", mustGet(t, other, "race"), holds[won])
}

func testRacePlaceRetry(t *testing.T, s, other retention.Store) {
	h := newHold("race", alice, "invoices")
	errs := suite.Race(t, racers, s, other, func(ctx context.Context, g int, st retention.Store) error {
		return st.PlaceHold(ctx, cloneHold(h))
	})
	for g, err := range errs {
		if err != nil {
			t.Errorf("%d racing PlaceHolds of one hold: goroutine %d: %v; want nil for every one: %s", racers, g, err, retryContract)
		}
	}
	if got := mustList(t, other, retention.HoldFilter{}); len(got) != 1 {
		t.Errorf("ListHolds after %d racing PlaceHolds of one hold returned %d holds; want 1", racers, len(got))
	} else {
		wantHold(t, "ListHolds after the race", got[0], h)
	}
}
