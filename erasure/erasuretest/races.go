package erasuretest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/suite"
)

// The subtests in this file check what two instances of a host, each with
// its own handle on one storage, see of each other: first one after the
// other (SharedStorage), then at once, from many goroutines on both
// handles (Race*). For an in-memory store both handles are one value, and
// the races are between goroutines.

// sharedHint is what a failure of SharedStorage most likely means.
const sharedHint = "newStore must return two handles on one storage " +
	"(two Stores on two connection pools to the same database; an in-memory store twice)"

// race runs fn(ctx, g, h) in n goroutines released at once, goroutine g on
// handle h = s for even g and other for odd g, and returns their errors,
// indexed by g (suite.Race: bounded by suite.RaceTimeout).
func race(t *testing.T, n int, s, other erasure.Store, fn func(ctx context.Context, g int, h erasure.Store) error) []error {
	t.Helper()
	return suite.Race(t, n, s, other, fn)
}

func testSharedStorage(t *testing.T, s, other erasure.Store) {
	ctx := t.Context()
	if rs, err := other.List(ctx, erasure.Filter{}); err != nil || len(rs) != 0 {
		t.Fatalf("List through the other handle of a fresh storage = %v, %v; want no requests: %s", ids(rs), err, sharedHint)
	}
	r := mustCreate(t, s, NewRequest(gdpr.KindErasure, alice, at(0)))[0]
	got, err := other.Get(ctx, r.ID)
	if err != nil {
		t.Fatalf("Get through the other handle of a request created through the first: %v; want the request: %s", err, sharedHint)
	}
	wantRequest(t, "Get through the other handle", got, r)
	if dup, created, err := other.Create(ctx, NewRequest(gdpr.KindErasure, alice, at(1))); err != nil || created || dup.ID != r.ID {
		t.Errorf("Create through the other handle of a second open erasure request of the subject = %s, created %v, %v; want %s, created false: %s, whichever instance asks",
			dup.ID, created, err, r.ID, openContract)
	}

	// Versions hold across handles.
	v := r.Clone()
	v.State = erasure.StateVerified
	v.NextAt = at(1)
	if err := other.Update(ctx, v.Clone(), nil, at(1)); err != nil {
		t.Fatalf("Update through the other handle from Version 1: %v; want nil", err)
	}
	v.Version = 2
	wantRequest(t, "Get through the first handle after an Update through the other", mustGet(t, s, r.ID), v)
	stale := r.Clone()
	stale.State = erasure.StateRejected
	wantErr(t, s.Update(ctx, stale, nil, at(1)), erasure.ErrConflict, "Update through the first handle from Version 1, after the other moved it to 2",
		"optimistic versions hold across instances")

	// Leases hold across handles.
	ls, err := other.Acquire(ctx, "instance-2", at(2), ttl, 5)
	if err != nil || len(ls) != 1 || ls[0].Request.ID != r.ID {
		t.Fatalf("Acquire through the other handle = %v, %v; want the due request created through the first: %s", leasedIDs(ls), err, sharedHint)
	}
	if more, err := s.Acquire(ctx, "instance-1", at(2), ttl, 5); err != nil || len(more) != 0 {
		t.Errorf("Acquire through the first handle while the other holds the subject's lease = %v, %v; want none: %s, across instances", leasedIDs(more), err, subjectContract)
	}
	_, err = s.AcquireID(ctx, r.ID, "instance-1", at(2), ttl)
	wantErr(t, err, erasure.ErrLeased, "AcquireID through the first handle of a request the other leased", subjectContract)
	l := ls[0].Lease
	if err := s.Renew(ctx, l, at(2).Add(time.Second), at(10)); err != nil {
		t.Errorf("Renew through the first handle of a lease taken through the other: %v; want nil: %s", err, sharedHint)
	}
	l.Until = at(10)
	v.State = erasure.StateInProgress
	if err := s.Update(ctx, v.Clone(), &l, at(3)); err != nil {
		t.Errorf("Update through the first handle with a lease taken through the other: %v; want nil: %s", err, sharedHint)
	}
	if err := s.Release(ctx, l); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, err := other.AcquireID(ctx, r.ID, "instance-2", at(3), ttl); err != nil {
		t.Errorf("AcquireID through the other handle after a Release through the first: %v; want the lease", err)
	}

	// Queries and deletes.
	mustCreate(t, other, NewRequest(gdpr.KindAccess, bob, at(4)))
	if rs := mustList(t, s, erasure.Filter{}); len(rs) != 2 {
		t.Errorf("List through the first handle = %d requests; want 2, one created through each handle: %s", len(rs), sharedHint)
	}
	if cs, err := s.Count(ctx, erasure.Filter{Kinds: []gdpr.RequestKind{gdpr.KindAccess}}); err != nil || len(cs) != 1 || cs[0].N != 1 {
		t.Errorf("Count through the first handle of the access requests = %v, %v; want one Count of 1: %s", cs, err, sharedHint)
	}
	if n, err := other.Delete(ctx, r.ID); err != nil || n != 1 {
		t.Errorf("Delete through the other handle = %d, %v; want 1", n, err)
	}
	_, err = s.Get(ctx, r.ID)
	wantErr(t, err, erasure.ErrNotFound, "Get through the first handle of a request deleted through the other", sharedHint)
}

// testRaceCreateOpen races Creates of one kind and subject, with
// different IDs, from both handles: exactly one creates, and every other
// returns that one's request, created false.
func testRaceCreateOpen(t *testing.T, s, other erasure.Store) {
	const rounds, goroutines = 5, 8
	for round := range rounds {
		subject := gdpr.SubjectID(fmt.Sprint("subject-race-", round))
		rs := make([]erasure.Request, goroutines)
		for g := range rs {
			rs[g] = NewRequest(gdpr.KindErasure, subject, at(g))
			rs[g].Channel = fmt.Sprint("instance-", g)
		}
		got := make([]erasure.Request, goroutines)
		created := make([]bool, goroutines)
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.Store) error {
			var err error
			got[g], created[g], err = h.Create(ctx, rs[g].Clone())
			return err
		})
		winner := -1
		for g, err := range errs {
			switch {
			case err != nil:
				t.Errorf("round %d: racing Create #%d of an open request of one kind and subject: %v; want nil (the open request, created false, when another won): %s", round, g, err, openContract)
			case created[g] && winner >= 0:
				t.Errorf("round %d: racing Creates #%d and #%d of one kind and subject both created: %s, also when two Creates race", round, winner, g, openContract)
			case created[g]:
				winner = g
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: of %d racing Creates of one kind and subject none created; want exactly one", round, goroutines)
		}
		for g := range got {
			if errs[g] == nil && got[g].ID != rs[winner].ID {
				t.Errorf("round %d: racing Create #%d returned request %s; want the winner's %s: %s", round, g, got[g].ID, rs[winner].ID, openContract)
			}
		}
		stored := mustList(t, other, erasure.Filter{SubjectRef: Ref(subject)})
		if len(stored) != 1 || stored[0].ID != rs[winner].ID || stored[0].Channel != rs[winner].Channel {
			t.Errorf("round %d: after racing Creates, the subject has requests %v; want only the winner's %s, whole", round, ids(stored), rs[winner].ID)
		}
	}
}

// testRaceCreateDuplicateID races Creates of one ID for different
// subjects: exactly one creates, the others get ErrConflict.
func testRaceCreateDuplicateID(t *testing.T, s, other erasure.Store) {
	const rounds, goroutines = 5, 8
	for round := range rounds {
		id := NewID()
		rs := make([]erasure.Request, goroutines)
		for g := range rs {
			rs[g] = NewRequest(gdpr.KindErasure, gdpr.SubjectID(fmt.Sprintf("subject-dup-%d-%d", round, g)), at(g))
			rs[g].ID = id
		}
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.Store) error {
			_, _, err := h.Create(ctx, rs[g].Clone())
			return err
		})
		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: racing Creates #%d and #%d of one ID both succeeded; want exactly one: an existing ID is an error wrapping ErrConflict", round, winner, g)
			case err == nil:
				winner = g
			default:
				wantErr(t, err, erasure.ErrConflict, fmt.Sprintf("round %d: racing Create #%d of one ID", round, g), "an existing ID is an error wrapping ErrConflict")
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: of %d racing Creates of one new ID none succeeded; want exactly one", round, goroutines)
		}
		if got := mustGet(t, s, id); got.SubjectRef != rs[winner].SubjectRef {
			t.Errorf("round %d: the stored request is not the winner's (subject of Create #%d expected)", round, winner)
		}
	}
}

// testRaceUpdate races Updates of one request from one Version: exactly
// one wins, the others get ErrConflict, and the stored request is the
// winner's, at Version+1.
func testRaceUpdate(t *testing.T, s, other erasure.Store) {
	const rounds, goroutines = 5, 8
	r := mustCreate(t, s, NewRequest(gdpr.KindErasure, alice, at(0)))[0]
	for round := range rounds {
		from := mustGet(t, s, r.ID)
		ups := make([]erasure.Request, goroutines)
		for g := range ups {
			ups[g] = from.Clone()
			ups[g].Params = map[string]string{"instance": fmt.Sprint(g)}
		}
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.Store) error {
			return h.Update(ctx, ups[g].Clone(), nil, at(round))
		})
		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: racing Updates #%d and #%d from Version %d both succeeded; want exactly one: %s", round, winner, g, from.Version, versionContract)
			case err == nil:
				winner = g
			default:
				wantErr(t, err, erasure.ErrConflict, fmt.Sprintf("round %d: racing Update #%d from one Version", round, g), versionContract)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: of %d racing Updates from the stored Version none succeeded; want exactly one", round, goroutines)
		}
		want := ups[winner].Clone()
		want.Version = from.Version + 1
		wantRequest(t, fmt.Sprintf("round %d: Get through the other handle after racing Updates", round), mustGet(t, other, r.ID), want)
	}
}

// testRaceUpdateWithLease races a worker whose lease expired, writing with
// it, against workers taking the subject over and writing with their new
// lease: exactly one takes over, the expired lease writes nothing, and the
// stored request is the new holder's.
func testRaceUpdateWithLease(t *testing.T, s, other erasure.Store) {
	const rounds, goroutines = 5, 8
	for round := range rounds {
		subject := gdpr.SubjectID(fmt.Sprint("subject-takeover-", round))
		r := mustCreate(t, s, dueRequest(gdpr.KindErasure, subject, at(0)))[0]
		old := mustAcquireID(t, s, r.ID, "worker-old", at(0)).Lease // until at(1)
		now := at(2)
		var mu sync.Mutex
		var takers []int
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.Store) error {
			up := r.Clone()
			up.Params = map[string]string{"instance": fmt.Sprint(g)}
			if g%2 == 1 {
				lease := old
				lease.Until = at(30)
				return h.Update(ctx, up, &lease, now)
			}
			l, err := h.AcquireID(ctx, r.ID, fmt.Sprint("worker-", g), now, ttl)
			if err != nil {
				if errors.Is(err, erasure.ErrLeased) {
					return nil
				}
				return err
			}
			mu.Lock()
			takers = append(takers, g)
			mu.Unlock()
			return h.Update(ctx, up, &l.Lease, now)
		})
		for g, err := range errs {
			if g%2 == 1 {
				// ErrLeaseLost, or ErrConflict if the new holder's write
				// came first and the store compares the Version first.
				wantErr(t, err, erasure.ErrConflict, fmt.Sprintf("round %d: Update #%d with an expired lease, racing a takeover", round, g), leaseContract)
			} else if err != nil {
				t.Errorf("round %d: AcquireID and Update #%d with the lease taken over: %v; want nil, or ErrLeased from AcquireID when another took it", round, g, err)
			}
		}
		if len(takers) != 1 {
			t.Fatalf("round %d: %d racing AcquireIDs of an expired lease took it over (%v); want exactly one", round, len(takers), takers)
		}
		got := mustGet(t, other, r.ID)
		if got.Version != 2 || got.Params["instance"] != fmt.Sprint(takers[0]) {
			t.Errorf("round %d: after the race the request has Version %d, written by %v; want Version 2, written by the new holder #%d",
				round, got.Version, got.Params, takers[0])
		}
	}
}

// testRaceAcquire races Acquires from both handles over many subjects,
// each with two due requests, round after round (each round's leases
// expire before the next): no subject and no request is leased twice in a
// round.
func testRaceAcquire(t *testing.T, s, other erasure.Store) {
	const subjects, rounds, goroutines, n = 16, 3, 8, 3
	for i := range subjects {
		subject := gdpr.SubjectID(fmt.Sprint("subject-acquire-", i))
		mustCreate(t, s, dueRequest(gdpr.KindErasure, subject, at(-2-i%3)), dueRequest(gdpr.KindAccess, subject, at(-1-i%2)))
	}
	for round := range rounds {
		now := at(10 * round)
		got := make([][]erasure.Leased, goroutines)
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.Store) error {
			var err error
			got[g], err = h.Acquire(ctx, fmt.Sprint("worker-", g), now, ttl, n)
			return err
		})
		bySubject := map[string]int{}
		byRequest := map[string]int{}
		tokens := map[string]bool{}
		total := 0
		for g, ls := range got {
			if errs[g] != nil {
				t.Errorf("round %d: racing Acquire #%d: %v; want nil", round, g, errs[g])
			}
			if len(ls) > n {
				t.Errorf("round %d: Acquire #%d (n %d) leased %d requests; want at most n", round, g, n, len(ls))
			}
			for _, l := range ls {
				total++
				bySubject[l.Lease.Subject]++
				byRequest[l.Request.ID]++
				if tokens[l.Lease.Token] {
					t.Errorf("round %d: two leases share a Token; want a fresh random Token per acquisition", round)
				}
				tokens[l.Lease.Token] = true
				if l.Lease.Subject != l.Request.SubjectRef || l.Lease.Request != l.Request.ID {
					t.Errorf("round %d: a lease's Subject or Request is not its request's", round)
				}
			}
		}
		for ref, c := range bySubject {
			if c > 1 {
				t.Errorf("round %d: racing Acquires from both handles leased subject %.12s… %d times; want at most once: concurrent Acquires never lease one subject twice", round, ref, c)
			}
		}
		for id, c := range byRequest {
			if c > 1 {
				t.Errorf("round %d: racing Acquires leased request %s %d times; want at most once", round, id, c)
			}
		}
		if total == 0 {
			t.Errorf("round %d: racing Acquires over %d due subjects leased nothing; want at least one lease", round, subjects)
		}
		// The leases are live: nothing more of those subjects is taken.
		more, err := other.Acquire(t.Context(), "worker-late", now.Add(time.Second), ttl, subjects*2)
		if err != nil {
			t.Fatalf("round %d: Acquire after the race: %v", round, err)
		}
		for _, l := range more {
			if bySubject[l.Lease.Subject] > 0 {
				t.Errorf("round %d: Acquire after the race leased request %s of a subject leased in the race: %s", round, l.Request.ID, subjectContract)
			}
			bySubject[l.Lease.Subject]++
		}
		if len(bySubject) != subjects {
			t.Errorf("round %d: after the race and one more Acquire, %d of %d due subjects are leased; want all: the leases of an earlier round have expired", round, len(bySubject), subjects)
		}
	}
}

// testRaceAcquireID races AcquireIDs of one request from both handles:
// exactly one leases it, the others get ErrLeased.
func testRaceAcquireID(t *testing.T, s, other erasure.Store) {
	const rounds, goroutines = 5, 8
	for round := range rounds {
		r := mustCreate(t, s, NewRequest(gdpr.KindErasure, gdpr.SubjectID(fmt.Sprint("subject-acquire-id-", round)), at(0)))[0]
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.Store) error {
			_, err := h.AcquireID(ctx, r.ID, fmt.Sprint("process-", g), at(round), ttl)
			return err
		})
		won := 0
		for g, err := range errs {
			if err == nil {
				won++
				continue
			}
			wantErr(t, err, erasure.ErrLeased, fmt.Sprintf("round %d: racing AcquireID #%d of one request", round, g), "a live lease on its SubjectRef is an error wrapping ErrLeased")
		}
		if won != 1 {
			t.Errorf("round %d: %d of %d racing AcquireIDs of one request succeeded; want exactly one: at most one live lease per subject", round, won, goroutines)
		}
	}
}

// testRaceAcquireMixed races Acquire and AcquireID of a subject's two due
// requests: exactly one lease on the subject results.
func testRaceAcquireMixed(t *testing.T, s, other erasure.Store) {
	const rounds, goroutines = 5, 9
	for round := range rounds {
		subject := gdpr.SubjectID(fmt.Sprint("subject-mixed-", round))
		rs := mustCreate(t, s, dueRequest(gdpr.KindErasure, subject, at(-1)), dueRequest(gdpr.KindAccess, subject, at(-2)))
		var mu sync.Mutex
		leases := map[string]string{} // token → request
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.Store) error {
			var got []erasure.Leased
			switch g % 3 {
			case 0:
				ls, err := h.Acquire(ctx, fmt.Sprint("worker-", g), at(round), ttl, 5)
				if err != nil {
					return err
				}
				got = ls
			default:
				l, err := h.AcquireID(ctx, rs[g%3-1].ID, fmt.Sprint("process-", g), at(round), ttl)
				if errors.Is(err, erasure.ErrLeased) {
					return nil
				} else if err != nil {
					return err
				}
				got = []erasure.Leased{l}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, l := range got {
				if l.Lease.Subject == Ref(subject) {
					leases[l.Lease.Token] = l.Request.ID
				}
			}
			return nil
		})
		for g, err := range errs {
			if err != nil {
				t.Errorf("round %d: racing call #%d: %v; want nil, or ErrLeased from AcquireID", round, g, err)
			}
		}
		if len(leases) != 1 {
			t.Errorf("round %d: racing Acquires and AcquireIDs of one subject's two requests gave %d leases on the subject (requests %v); want exactly one: %s",
				round, len(leases), slices.Collect(maps.Values(leases)), subjectContract)
		}
	}
}
