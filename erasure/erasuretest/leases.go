package erasuretest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
)

// ttl is the lease time of the suite's acquisitions.
const ttl = time.Minute

func mustAcquire(t *testing.T, s erasure.Store, owner string, now time.Time, n int) []erasure.Leased {
	t.Helper()
	ls, err := s.Acquire(t.Context(), owner, now, ttl, n)
	if err != nil {
		t.Fatalf("Acquire(%s, n %d) at %s: %v; want nil (no due request is not an error)", owner, n, now.Format(time.RFC3339), err)
	}
	for _, l := range ls {
		checkLease(t, "Acquire", l, owner, now)
	}
	return ls
}

func mustAcquireID(t *testing.T, s erasure.Store, id, owner string, now time.Time) erasure.Leased {
	t.Helper()
	l, err := s.AcquireID(t.Context(), id, owner, now, ttl)
	if err != nil {
		t.Fatalf("AcquireID(%s, %s) at %s: %v; want the lease", id, owner, now.Format(time.RFC3339), err)
	}
	if l.Request.ID != id {
		t.Fatalf("AcquireID(%s) returned request %s; want the request asked for", id, l.Request.ID)
	}
	checkLease(t, "AcquireID", l, owner, now)
	return l
}

// checkLease fails t unless l is a lease as call must give it at now.
func checkLease(t *testing.T, call string, l erasure.Leased, owner string, now time.Time) {
	t.Helper()
	switch {
	case l.Lease.Subject != l.Request.SubjectRef:
		t.Errorf("%s: Lease.Subject %q is not the request's SubjectRef %q; want the lease on the request's subject", call, l.Lease.Subject, l.Request.SubjectRef)
	case l.Lease.Request != l.Request.ID:
		t.Errorf("%s: Lease.Request %q is not the ID of the request leased, %s", call, l.Lease.Request, l.Request.ID)
	case l.Lease.Owner != owner:
		t.Errorf("%s: Lease.Owner %q; want %q, the owner asked for", call, l.Lease.Owner, owner)
	case l.Lease.Token == "":
		t.Errorf("%s: empty Lease.Token; want a fresh random token per acquisition", call)
	}
	if d := timeDiff(l.Lease.Until, now.Add(ttl)); d != "" {
		t.Errorf("%s at %s with ttl %s: Lease.Until: %s; want now+ttl", call, now.Format(time.RFC3339), ttl, d)
	}
}

func testAcquireStates(t *testing.T, s erasure.Store) {
	want := map[string]erasure.State{}
	var dueIDs []string
	for i, st := range erasure.States() {
		r := NewRequest(gdpr.KindErasure, gdpr.SubjectID(fmt.Sprint("subject-state-", i)), at(-10))
		r = mustCreate(t, s, r)[0]
		if st.Open() {
			r.State = st
			r.NextAt = at(-1)
		} else {
			r = closeAs(r, st, at(-2))
			r.NextAt = at(-1) // never set on a closed request by the Engine; still not due
		}
		mustUpdate(t, s, r, nil, at(-2))
		want[r.ID] = st
		if st == erasure.StateVerified || st == erasure.StateInProgress {
			dueIDs = append(dueIDs, r.ID)
		}
	}
	got := mustAcquire(t, s, "worker-1", at(0), 100)
	gotIDs := leasedIDs(got)
	slices.Sort(gotIDs)
	slices.Sort(dueIDs)
	if !slices.Equal(gotIDs, dueIDs) {
		var states []erasure.State
		for _, id := range leasedIDs(got) {
			states = append(states, want[id])
		}
		t.Errorf("Acquire of one due request per State leased requests in states %v; want exactly the verified and in_progress ones: %s", states, dueContract)
	}
	for _, l := range got {
		wantRequest(t, "Acquire's Request", l.Request, mustGet(t, s, l.Request.ID))
	}
}

func testAcquireNextAt(t *testing.T, s erasure.Store) {
	now := at(0)
	mk := func(subject gdpr.SubjectID, next time.Time) erasure.Request {
		return mustCreate(t, s, dueRequest(gdpr.KindErasure, subject, next))[0]
	}
	zero := mk(alice, time.Time{})
	future := mk(bob, now.Add(time.Microsecond))
	exact := mk(carol, now)
	past := mk(dave, now.Add(-time.Hour))
	got := leasedIDs(mustAcquire(t, s, "worker-1", now, 10))
	slices.Sort(got)
	if want := sortedIDs(exact, past); !slices.Equal(got, want) {
		name := map[string]string{zero.ID: "NextAt zero", future.ID: "NextAt a microsecond after now", exact.ID: "NextAt now", past.ID: "NextAt an hour ago"}
		var gotNames, wantNames []string
		for _, id := range got {
			gotNames = append(gotNames, name[id])
		}
		for _, id := range want {
			wantNames = append(wantNames, name[id])
		}
		t.Errorf("Acquire at now leased the requests with %q; want those with %q: %s", gotNames, wantNames, dueContract)
	}
	// Once NextAt has come, the future one is due.
	if got := leasedIDs(mustAcquire(t, s, "worker-1", now.Add(time.Microsecond), 10)); !slices.Equal(got, []string{future.ID}) {
		t.Errorf("Acquire a microsecond later leased %v; want [%s], whose NextAt is then now (the others are leased)", got, future.ID)
	}
}

func testAcquireOrder(t *testing.T, s erasure.Store) {
	// Created in an order that is neither NextAt's nor ID's.
	nexts := []int{-3, -7, -1, -5, -7, -2, -6}
	var rs []erasure.Request
	for i, n := range nexts {
		rs = append(rs, dueRequest(gdpr.KindErasure, gdpr.SubjectID(fmt.Sprint("subject-order-", i)), at(n)))
	}
	slices.Reverse(rs)
	rs = mustCreate(t, s, rs...)
	want := slices.Clone(rs)
	slices.SortFunc(want, func(a, b erasure.Request) int {
		if c := a.NextAt.Compare(b.NextAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	first := mustAcquire(t, s, "worker-1", at(0), 3)
	if got := leasedIDs(first); !slices.Equal(got, ids(want[:3])) {
		t.Errorf("Acquire(n 3) of 7 due requests leased %v; want %v: at most n, oldest NextAt first, ties in ID order", got, ids(want[:3]))
	}
	rest := mustAcquire(t, s, "worker-2", at(0), 10)
	if got := leasedIDs(rest); !slices.Equal(got, ids(want[3:])) {
		t.Errorf("a second Acquire(n 10) leased %v; want the other 4, %v, oldest NextAt first: the first 3 are leased", got, ids(want[3:]))
	}
	if more := mustAcquire(t, s, "worker-3", at(0), 10); len(more) != 0 {
		t.Errorf("a third Acquire leased %v; want none: every due request's subject is leased", leasedIDs(more))
	}
	for _, l := range append(first, rest...) {
		wantRequest(t, "Acquire's Request", l.Request, mustGet(t, s, l.Request.ID))
	}
}

func testAcquireNothingDue(t *testing.T, s erasure.Store) {
	if got := mustAcquire(t, s, "worker-1", at(0), 5); len(got) != 0 {
		t.Errorf("Acquire of an empty storage leased %v; want none", leasedIDs(got))
	}
	mustCreate(t, s, NewRequest(gdpr.KindErasure, alice, at(0)), dueRequest(gdpr.KindErasure, bob, at(10)))
	if got := mustAcquire(t, s, "worker-1", at(0), 5); len(got) != 0 {
		t.Errorf("Acquire with no due request leased %v; want none", leasedIDs(got))
	}
}

func testAcquireOneSubject(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	rs := mustCreate(t, s,
		dueRequest(gdpr.KindErasure, alice, at(-2)),
		dueRequest(gdpr.KindAccess, alice, at(-1)),
		dueRequest(gdpr.KindErasure, bob, at(-1)))
	a1, a2, b := rs[0], rs[1], rs[2]
	got := mustAcquire(t, s, "worker-1", at(0), 10)
	if ids := leasedIDs(got); !slices.Equal(ids, []string{a1.ID, b.ID}) {
		t.Fatalf("Acquire(n 10) of two due requests of one subject and one of another leased %v; want [%s %s]: "+
			"at most one request per subject per Acquire, the oldest NextAt first", ids, a1.ID, b.ID)
	}
	if more := mustAcquire(t, s, "worker-2", at(0).Add(30*time.Second), 10); len(more) != 0 {
		t.Errorf("Acquire while both subjects are leased leased %v; want none: %s", leasedIDs(more), subjectContract)
	}
	_, err := s.AcquireID(ctx, a2.ID, "worker-2", at(0).Add(30*time.Second), ttl)
	wantErr(t, err, erasure.ErrLeased, "AcquireID of a subject's other request while the subject is leased", subjectContract)

	// The worker finishes a1 and releases: a2 goes next.
	lease := got[0].Lease
	mustUpdate(t, s, closeAs(a1, erasure.StateCompleted, at(0).Add(40*time.Second)), &lease, at(0).Add(40*time.Second))
	if err := s.Release(ctx, lease); err != nil {
		t.Fatalf("Release: %v", err)
	}
	next := mustAcquire(t, s, "worker-2", at(0).Add(50*time.Second), 10)
	if ids := leasedIDs(next); !slices.Equal(ids, []string{a2.ID}) {
		t.Errorf("Acquire after the subject's lease was released leased %v; want [%s], the subject's other due request", ids, a2.ID)
	}
}

func testAcquireTakeover(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	r := mustCreate(t, s, dueRequest(gdpr.KindErasure, alice, at(-1)))[0]
	first := mustAcquire(t, s, "worker-1", at(0), 1)
	if len(first) != 1 {
		t.Fatalf("Acquire of one due request leased %d; want 1", len(first))
	}
	// Live until at(1) (exclusive): nothing to take before.
	if got := mustAcquire(t, s, "worker-2", at(1).Add(-time.Microsecond), 1); len(got) != 0 {
		t.Errorf("Acquire a microsecond before the lease's Until leased %v; want none: the lease is live", leasedIDs(got))
	}
	second := mustAcquire(t, s, "worker-2", at(1), 1)
	if len(second) != 1 || second[0].Request.ID != r.ID {
		t.Fatalf("Acquire at the lease's Until leased %v; want [%s]: a lease whose Until has passed (is not after now) may be taken over", leasedIDs(second), r.ID)
	}
	if second[0].Lease.Token == first[0].Lease.Token {
		t.Errorf("the lease taken over has the old holder's Token %q; want a fresh random Token per acquisition", first[0].Lease.Token)
	}
	err := s.Renew(ctx, first[0].Lease, at(1), at(5))
	wantErr(t, err, erasure.ErrLeaseLost, "Renew by the old holder of a lease taken over", "a lease not held at now is lost")
	if err := s.Renew(ctx, second[0].Lease, at(1).Add(time.Second), at(5)); err != nil {
		t.Errorf("Renew by the new holder: %v; want nil", err)
	}
	// And through AcquireID, once the new lease expires in turn.
	third := mustAcquireID(t, s, r.ID, "worker-3", at(5))
	if third.Lease.Token == second[0].Lease.Token {
		t.Errorf("AcquireID took over the expired lease with its old Token; want a fresh one")
	}
}

func testAcquireTokens(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	r := mustCreate(t, s, dueRequest(gdpr.KindErasure, alice, at(-1)))[0]
	seen := map[string]bool{}
	for i := range 5 {
		var l erasure.Leased
		if i%2 == 0 {
			ls := mustAcquire(t, s, "worker-1", at(i), 1)
			if len(ls) != 1 {
				t.Fatalf("Acquire #%d after the lease was released leased %d; want 1", i, len(ls))
			}
			l = ls[0]
		} else {
			l = mustAcquireID(t, s, r.ID, "worker-1", at(i))
		}
		if seen[l.Lease.Token] {
			t.Errorf("acquisition #%d of one request by one owner got a Token given before; want a fresh random Token per acquisition", i)
		}
		seen[l.Lease.Token] = true
		if err := s.Release(ctx, l.Lease); err != nil {
			t.Fatalf("Release: %v", err)
		}
	}
}

func testAcquireID(t *testing.T, s erasure.Store) {
	received := mustCreate(t, s, NewRequest(gdpr.KindErasure, alice, at(0)))[0] // NextAt zero
	later := mustCreate(t, s, dueRequest(gdpr.KindErasure, bob, at(60)))[0]     // not due yet
	failed := NewRequest(gdpr.KindErasure, carol, at(0))
	failed.State = erasure.StateFailed
	failed = mustCreate(t, s, failed)[0]
	done := mustCreate(t, s, NewRequest(gdpr.KindAccess, dave, at(0)))[0]
	done = mustUpdate(t, s, closeAs(done, erasure.StateCompleted, at(1)), nil, at(1))
	aliceDue := mustCreate(t, s, dueRequest(gdpr.KindAccess, alice, at(-5)))[0]
	for _, c := range []struct {
		r    erasure.Request
		what string
	}{{received, "a received request (NextAt zero)"}, {later, "a verified request due in an hour"},
		{failed, "a failed request"}, {done, "a completed request"}} {
		l := mustAcquireID(t, s, c.r.ID, "process", at(2))
		wantRequest(t, "AcquireID of "+c.what+" (AcquireID leases whatever its NextAt or State)", l.Request, c.r)
	}
	// The lease holds its subject against Acquire: alice's due request
	// waits.
	if got := mustAcquire(t, s, "worker-1", at(2).Add(30*time.Second), 10); len(got) != 0 {
		t.Errorf("Acquire while AcquireID's lease on the subject is live leased %v; want none (request %s waits): %s", leasedIDs(got), aliceDue.ID, subjectContract)
	}
}

func testAcquireIDLeased(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	rs := mustCreate(t, s, dueRequest(gdpr.KindErasure, alice, at(-1)), NewRequest(gdpr.KindAccess, alice, at(0)))
	a1, a2 := rs[0], rs[1]
	l := mustAcquire(t, s, "worker-1", at(0), 1)
	if len(l) != 1 {
		t.Fatalf("Acquire of one due request leased %d", len(l))
	}
	_, err := s.AcquireID(ctx, a1.ID, "process", at(0).Add(time.Second), ttl)
	wantErr(t, err, erasure.ErrLeased, "AcquireID of a request another worker holds the lease on", "a live lease on its SubjectRef is an error wrapping ErrLeased")
	_, err = s.AcquireID(ctx, a2.ID, "process", at(0).Add(time.Second), ttl)
	wantErr(t, err, erasure.ErrLeased, "AcquireID of the other request of a leased subject", "a live lease on its SubjectRef, of this or another request, is an error wrapping ErrLeased")
	_, err = s.AcquireID(ctx, a1.ID, "worker-1", at(0).Add(time.Second), ttl)
	wantErr(t, err, erasure.ErrLeased, "AcquireID by the lease's own owner", "a live lease on its SubjectRef is an error wrapping ErrLeased, whoever asks")
	if err := s.Renew(ctx, l[0].Lease, at(0).Add(2*time.Second), at(3)); err != nil {
		t.Errorf("Renew by the holder after refused AcquireIDs: %v; want nil: a refused AcquireID changes no lease", err)
	}
	// Once expired, the other request's AcquireID takes the subject over.
	got := mustAcquireID(t, s, a2.ID, "process", at(3))
	if got.Lease.Token == l[0].Lease.Token {
		t.Errorf("AcquireID that took the subject over kept the old Token")
	}
}

func testAcquireIDUnknown(t *testing.T, s erasure.Store) {
	_, err := s.AcquireID(t.Context(), NewID(), "process", at(0), ttl)
	wantErr(t, err, erasure.ErrNotFound, "AcquireID of an unknown ID", "an unknown ID is an error wrapping ErrNotFound")
}

func testRenew(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	r := mustCreate(t, s, dueRequest(gdpr.KindErasure, alice, at(-1)))[0]
	l := mustAcquireID(t, s, r.ID, "worker-1", at(0)).Lease // until at(1)
	if err := s.Renew(ctx, l, at(0).Add(50*time.Second), at(5)); err != nil {
		t.Fatalf("Renew of a held lease: %v; want nil", err)
	}
	if got := mustAcquire(t, s, "worker-2", at(3), 10); len(got) != 0 {
		t.Errorf("Acquire after the lease's first Until, before its renewed one, leased %v; want none: Renew extends a held lease", leasedIDs(got))
	}
	_, err := s.AcquireID(ctx, r.ID, "worker-2", at(3), ttl)
	wantErr(t, err, erasure.ErrLeased, "AcquireID before the renewed Until", "Renew extends a held lease")
	// The lease the holder kept, whose Until it knows is stale, still renews.
	if err := s.Renew(ctx, l, at(4), at(8)); err != nil {
		t.Errorf("second Renew of a held lease (its Until field from before the first): %v; want nil: the lease is held by Subject, Request and Token", err)
	}
	if got := mustAcquire(t, s, "worker-2", at(8), 10); len(got) != 1 {
		t.Errorf("Acquire at the renewed Until leased %d; want the request: the lease expired", len(got))
	}
}

func testRenewLost(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	r := mustCreate(t, s, dueRequest(gdpr.KindErasure, alice, at(-1)))[0]
	l := mustAcquireID(t, s, r.ID, "worker-1", at(0)).Lease // until at(1)
	wrong := l
	wrong.Token = "not-the-token"
	wantErr(t, s.Renew(ctx, wrong, at(0), at(5)), erasure.ErrLeaseLost, "Renew with another Token", "a lease not held at now is lost")
	wantErr(t, s.Renew(ctx, l, at(1), at(5)), erasure.ErrLeaseLost, "Renew at the lease's Until", "a lease whose Until is not after now has expired")
	wantErr(t, s.Renew(ctx, l, at(2), at(5)), erasure.ErrLeaseLost, "Renew of an expired lease", "a lease not held at now (expired) is lost")
	// A refused Renew changed nothing: the lease is still expired.
	l2 := mustAcquireID(t, s, r.ID, "worker-2", at(2))
	if err := s.Release(ctx, l2.Lease); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.Renew(ctx, l2.Lease, at(2), at(5)), erasure.ErrLeaseLost, "Renew of a released lease", "a lease not held (released) is lost")
	if got := mustAcquire(t, s, "worker-3", at(2), 1); len(got) != 1 {
		t.Errorf("Acquire after a Renew of a released lease leased %d; want 1: a refused Renew takes no lease", len(got))
	}
	wantErr(t, s.Renew(ctx, foreignLease(NewID(), Ref("subject-nobody")), at(0), at(5)), erasure.ErrLeaseLost, "Renew of a lease never given", "a lease not held is lost")
}

// foreignLease returns a lease no Store gave: for a request and subject, with a
// token of its own.
func foreignLease(request, subjectRef string) erasure.Lease {
	return erasure.Lease{Subject: subjectRef, Request: request, Owner: "nobody", Token: "never-given", Until: far}
}

func testRelease(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	r := mustCreate(t, s, dueRequest(gdpr.KindErasure, alice, at(-1)))[0]
	l := mustAcquireID(t, s, r.ID, "worker-1", at(0))
	if err := s.Release(ctx, l.Lease); err != nil {
		t.Fatalf("Release of a held lease: %v; want nil", err)
	}
	if got := mustAcquire(t, s, "worker-2", at(0), 1); len(got) != 1 {
		t.Fatalf("Acquire right after Release, before the lease's Until, leased %d; want the request: Release ends a lease", len(got))
	} else if err := s.Release(ctx, got[0].Lease); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, l.Lease); err != nil {
		t.Errorf("second Release of a lease: %v; want nil: releasing a lease no longer held succeeds", err)
	}
	if err := s.Release(ctx, foreignLease(NewID(), Ref("subject-nobody"))); err != nil {
		t.Errorf("Release of a lease never given: %v; want nil", err)
	}
	// Release after expiry, no one else holding it: succeeds.
	l3 := mustAcquireID(t, s, r.ID, "worker-3", at(10))
	if err := s.Release(ctx, l3.Lease); err != nil {
		t.Errorf("Release of an expired lease: %v; want nil", err)
	}
}

func testReleaseLost(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	r := mustCreate(t, s, dueRequest(gdpr.KindErasure, alice, at(-1)))[0]
	old := mustAcquireID(t, s, r.ID, "worker-1", at(0)).Lease // until at(1)
	cur := mustAcquireID(t, s, r.ID, "worker-2", at(2)).Lease // taken over, until at(3)
	if err := s.Release(ctx, old); err != nil {
		t.Errorf("Release of a lease taken over: %v; want nil: releasing a lease no longer held succeeds and changes nothing", err)
	}
	_, err := s.AcquireID(ctx, r.ID, "worker-3", at(2).Add(time.Second), ttl)
	wantErr(t, err, erasure.ErrLeased, "AcquireID after the old holder released a lease taken over",
		"releasing a lease no longer held changes nothing: the new holder keeps it")
	if err := s.Renew(ctx, cur, at(2).Add(2*time.Second), at(4)); err != nil {
		t.Errorf("Renew by the new holder after the old holder's Release: %v; want nil: the old holder's Release did not end the new lease", err)
	}
	up := r.Clone()
	up.State = erasure.StateInProgress
	if err := s.Update(ctx, up, &cur, at(2).Add(3*time.Second)); err != nil {
		t.Errorf("Update by the new holder after the old holder's Release: %v; want nil", err)
	}
}
