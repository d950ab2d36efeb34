package erasuretest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/suite"
)

// RunStoreTests runs the conformance suite of erasure.Store against the
// storages newStore makes, one subtest per behaviour.
//
// newStore is called once per subtest with that subtest's t. It returns
// two handles, s and other, on one fresh, empty storage that no other
// subtest uses, as two processes of one host would open it, registers any
// cleanup with t.Cleanup, and fails t itself if it cannot. For a store
// over a database, s and other are two Stores on two connection pools
// (two *sql.DB) to the same database, schema or file:
//
//	erasuretest.RunStoreTests(t, func(t *testing.T) (s, other erasure.Store) {
//		db := openTestDB(t)  // a fresh, empty database, dropped by t.Cleanup
//		db2 := reopen(t, db) // a second *sql.DB on the same database
//		a := mystore.New(db)
//		if err := a.Migrate(t.Context()); err != nil {
//			t.Fatal(err)
//		}
//		return a, mystore.New(db2)
//	})
//
// A store that lives in one process's memory has one handle on its
// storage: return the same value twice.
//
//	erasuretest.RunStoreTests(t, func(*testing.T) (s, other erasure.Store) {
//		s = memstore.New()
//		return s, s
//	})
//
// Most subtests use s alone. SharedStorage writes through one handle and
// reads back through the other; the Race subtests run one operation
// through both handles at once (goroutine g on s for even g, other for
// odd) and check only what the erasure.Store contract promises then. See
// the package documentation for the list.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) (s, other erasure.Store)) {
	tests := []suite.Test[erasure.Store]{
		{"SharedStorage", testSharedStorage},
		{"RoundTrip", testRoundTrip},
		{"TimesTruncatedToMicrosecondUTC", suite.One(testTimes)},
		{"DeadlineLocationKeptByName", suite.One(testDeadlineLocation)},
		{"CreateDoesNotAliasInput", suite.One(testCreateNotAliased)},
		{"UpdateDoesNotAliasInput", suite.One(testUpdateNotAliased)},
		{"ReturnedRequestsAreCopies", suite.One(testReturnedCopies)},
		{"CreateStoresVersion1", suite.One(testCreateVersion1)},
		{"GetUnknown", suite.One(testGetUnknown)},
		{"CreateReturnsOpenDuplicate", suite.One(testCreateDuplicateOpen)},
		{"ClosedRequestFreesSlot", suite.One(testClosedFreesSlot)},
		{"CreateDuplicateID", suite.One(testCreateDuplicateID)},
		{"Update", suite.One(testUpdate)},
		{"UpdateVersionConflict", suite.One(testUpdateConflict)},
		{"UpdateUnknown", suite.One(testUpdateUnknown)},
		{"UpdateWithHeldLease", suite.One(testUpdateHeldLease)},
		{"ClosingUpdateEndsLease", suite.One(testClosingUpdateEndsLease)},
		{"UpdateWithLostLease", suite.One(testUpdateLostLease)},
		{"AcquireDueStates", suite.One(testAcquireStates)},
		{"AcquireNextAt", suite.One(testAcquireNextAt)},
		{"AcquireOrderAndLimit", suite.One(testAcquireOrder)},
		{"AcquireNothingDue", suite.One(testAcquireNothingDue)},
		{"AcquireOneSubjectAtATime", suite.One(testAcquireOneSubject)},
		{"AcquireTakesOverExpiredLease", suite.One(testAcquireTakeover)},
		{"AcquireFreshTokens", suite.One(testAcquireTokens)},
		{"AcquireID", suite.One(testAcquireID)},
		{"AcquireIDLeased", suite.One(testAcquireIDLeased)},
		{"AcquireIDUnknown", suite.One(testAcquireIDUnknown)},
		{"Renew", suite.One(testRenew)},
		{"RenewLostLease", suite.One(testRenewLost)},
		{"Release", suite.One(testRelease)},
		{"ReleaseLostLease", suite.One(testReleaseLost)},
		{"ListFilters", suite.One(testListFilters)},
		{"ListPaging", suite.One(testListPaging)},
		{"ListDefaultLimit", suite.One(testListDefaultLimit)},
		{"ListMaxLimit", suite.One(testListMaxLimit)},
		{"Count", suite.One(testCount)},
		{"Delete", suite.One(testDelete)},
		{"RequestAskRoundTrip", testAskRoundTrip},
		{"RestrictionRoundTrip", testRestrictionRoundTrip},
		{"CreateRestrictionStoresVersion1", suite.One(testRestrictionVersion1)},
		{"CreateRestrictionDuplicateID", suite.One(testRestrictionDuplicateID)},
		{"GetRestrictionUnknown", suite.One(testGetRestrictionUnknown)},
		{"UpdateRestriction", suite.One(testUpdateRestriction)},
		{"UpdateRestrictionVersionConflict", suite.One(testUpdateRestrictionConflict)},
		{"UpdateRestrictionUnknown", suite.One(testUpdateRestrictionUnknown)},
		{"ListRestrictionsFilters", suite.One(testListRestrictionsFilters)},
		{"ListRestrictionsPaging", suite.One(testListRestrictionsPaging)},
		{"ListRestrictionsDefaultLimit", suite.One(testListRestrictionsDefaultLimit)},
		{"ListRestrictionsMaxLimit", suite.One(testListRestrictionsMaxLimit)},
		{"ReturnedRestrictionsAreCopies", suite.One(testRestrictionsAreCopies)},
		{"PutStatementIdempotent", testPutStatementIdempotent},
		{"ListStatements", suite.One(testListStatements)},
		{"ReturnedStatementsAreCopies", suite.One(testStatementsAreCopies)},
		{"Forget", testForget},
		{"RaceCreateOpen", testRaceCreateOpen},
		{"RaceCreateDuplicateID", testRaceCreateDuplicateID},
		{"RaceUpdate", testRaceUpdate},
		{"RaceUpdateWithLease", testRaceUpdateWithLease},
		{"RaceAcquire", testRaceAcquire},
		{"RaceAcquireID", testRaceAcquireID},
		{"RaceAcquireMixed", testRaceAcquireMixed},
		{"RaceCreateRestrictionDuplicateID", testRaceCreateRestrictionDuplicateID},
		{"RaceUpdateRestriction", testRaceUpdateRestriction},
		{"RacePutStatement", testRacePutStatement},
	}
	suite.Run(t, "erasure.Store", newStore, tests)
}

const (
	alice gdpr.SubjectID = "subject-alice"
	bob   gdpr.SubjectID = "subject-bob"
	carol gdpr.SubjectID = "subject-carol"
	dave  gdpr.SubjectID = "subject-dave"
)

// The contract, quoted in failure messages.
const (
	openContract    = "at most one open request per Kind and SubjectRef: Create returns the open one, created false, and stores nothing"
	versionContract = "Update writes only from the stored Version, and stores Version+1"
	leaseContract   = "an Update with a lease requires the lease held at now (same Subject, Request, Token, Until after now)"
	dueContract     = "Acquire leases requests in StateVerified or StateInProgress whose NextAt is not zero and not after now"
	subjectContract = "at most one live lease per subject: no other request of a leased subject is taken up until the lease is released or expires"
	copyContract    = "a Store keeps no reference to the caller's slices and maps, and returns none to its own"
)

func testRoundTrip(t *testing.T, s, other erasure.Store) {
	ctx := t.Context()
	full := fullRequest(alice)
	got, created, err := s.Create(ctx, full.Clone())
	if err != nil || !created {
		t.Fatalf("Create(a request with every field set) = created %v, %v; want created", created, err)
	}
	wantRequest(t, "Create", got, full)
	wantRequest(t, "Get", mustGet(t, s, full.ID), full)
	if g, err := other.Get(ctx, full.ID); err != nil {
		t.Errorf("Get through the other handle: %v; want the request created through the first", err)
	} else {
		wantRequest(t, "Get through the other handle", g, full)
	}
	if rs := mustList(t, s, erasure.Filter{}); len(rs) != 1 {
		t.Errorf("List of a storage with one request returned %d; want 1", len(rs))
	} else {
		wantRequest(t, "List", rs[0], full)
	}

	// Every field written by Update too: the request closed with
	// exemptions, its Subject gone.
	done := closeAs(full, erasure.StateCompletedWithExemptions, full.Received.Add(7*time.Hour))
	done.Steps[2].Outcome, done.Steps[2].Error, done.Steps[2].Attempts = erasure.OutcomeErased, "", 4
	done.Steps[3].Outcome, done.Steps[4].Outcome = erasure.OutcomeErased, erasure.OutcomeNothingFound
	done.Params = map[string]string{"scope": "all"}
	done.Channel = "post"
	got = mustUpdate(t, s, done, nil, done.Closed)
	done.Version = 2
	wantRequest(t, "Get after an Update of every field", got, done)
	if g, err := other.Get(ctx, full.ID); err != nil {
		t.Errorf("Get through the other handle after an Update: %v", err)
	} else {
		wantRequest(t, "Get through the other handle after an Update", g, done)
	}

	// A rejection keeps its reason.
	r := mustCreate(t, s, NewRequest(gdpr.KindAccess, bob, at(0)))[0]
	rej := closeAs(r, erasure.StateRejected, at(5))
	got = mustUpdate(t, s, rej, nil, at(5))
	rej.Version = 2
	wantRequest(t, "Get of a rejected request", got, rej)
}

func testTimes(t *testing.T, s erasure.Store) {
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	// 15:00:00.123456789 at +05:30 is 09:30:00.123456 UTC, truncated.
	in := time.Date(2025, time.March, 3, 15, 0, 0, 123456789, zone)
	r := NewRequest(gdpr.KindErasure, alice, in)
	r.Deadline = gdpr.NewDeadline(in, berlin, nil)
	r.State = erasure.StateInProgress
	r.Steps = []erasure.Step{{Target: "t", Outcome: erasure.OutcomeRetained, At: in.Add(time.Hour),
		Exemptions: []gdpr.Exemption{{Category: "billing", Records: 1, Ground: gdpr.GroundLegalObligation, Until: in.AddDate(10, 0, 0)}}}}
	r.History[0].At = in.In(berlin)
	r.NextAt = in.Add(2 * time.Hour)
	r.SettleUntil = in.Add(3 * time.Hour)
	got := mustCreate(t, s, r)[0]
	wantRequest(t, "Create of a request whose times have nanoseconds and a zone", got, r)
	wantRequest(t, "Get of a request whose times had nanoseconds and a zone", mustGet(t, s, r.ID), r)
	if !got.Received.Equal(time.Date(2025, time.March, 3, 9, 30, 0, 123456000, time.UTC)) {
		t.Errorf("Received = %s; want 2025-03-03T09:30:00.123456Z: truncated to the microsecond, not rounded", got.Received.Format(time.RFC3339Nano))
	}

	closed := closeAs(got, erasure.StateCompleted, in.Add(5*time.Hour+999*time.Nanosecond).In(zone))
	closed.Steps[0].At = in.Add(4 * time.Hour).In(berlin)
	wantClosed := closed.Clone()
	wantClosed.Version = 2
	wantRequest(t, "Get after an Update with nanoseconds and zones", mustUpdate(t, s, closed, nil, in), wantClosed)

	// A lease's Until, too.
	d := dueRequest(gdpr.KindErasure, bob, at(0))
	mustCreate(t, s, d)
	now := at(1).Add(123456789 * time.Nanosecond).In(zone)
	l, err := s.AcquireID(t.Context(), d.ID, "w", now, time.Minute)
	if err != nil {
		t.Fatalf("AcquireID: %v", err)
	}
	if diff := timeDiff(l.Lease.Until, now.Add(time.Minute)); diff != "" {
		t.Errorf("Lease.Until for now %s and a ttl of a minute: %s", now.Format(time.RFC3339Nano), diff)
	}
}

func testDeadlineLocation(t *testing.T, s erasure.Store) {
	// 23:30 UTC on 31 March is 1 April in Berlin, so the period's last day
	// is 1 May (a Thursday; without a Calendar no holiday), not 30 April.
	received := time.Date(2025, time.March, 31, 23, 30, 0, 0, time.UTC)
	r := NewRequest(gdpr.KindErasure, alice, received)
	r.Deadline = gdpr.NewDeadline(received, berlin, nil)
	got := mustCreate(t, s, r)[0]
	wantRequest(t, "Create of a request with a Berlin deadline", got, r)
	g := mustGet(t, s, r.ID)
	if g.Deadline.Location == nil || g.Deadline.Location.String() != "Europe/Berlin" {
		t.Fatalf("Deadline.Location = %v; want Europe/Berlin, kept by name", g.Deadline.Location)
	}
	last := g.Deadline.LastDay.In(g.Deadline.Location)
	if y, m, d := last.Date(); y != 2025 || m != time.May || d != 1 || last.Hour() != 0 || last.Minute() != 0 {
		t.Errorf("Deadline.LastDay in its Location = %s; want 2025-05-01T00:00:00+02:00 (days counted in Berlin)", last.Format(time.RFC3339))
	}
	if !g.Deadline.Due.Equal(r.Deadline.Due) || !g.Deadline.Due.Equal(time.Date(2025, time.May, 2, 0, 0, 0, 0, berlin)) {
		t.Errorf("Deadline.Due = %s; want %s", g.Deadline.Due.Format(time.RFC3339), r.Deadline.Due.Format(time.RFC3339))
	}
	// Extended, with a reason; and the extension still counts in Berlin.
	ext, err := g.Deadline.Extend("complex request")
	if err != nil {
		t.Fatalf("Extend of a stored deadline: %v", err)
	}
	g.Deadline = ext
	up := mustUpdate(t, s, g, nil, at(0))
	if !up.Deadline.Extended || up.Deadline.ExtensionReason != "complex request" || !up.Deadline.Due.Equal(ext.Due) {
		t.Errorf("after an Update with the deadline extended: Extended %v, ExtensionReason %q, Due %s; want true, %q, %s",
			up.Deadline.Extended, up.Deadline.ExtensionReason, up.Deadline.Due.Format(time.RFC3339), "complex request", ext.Due.Format(time.RFC3339))
	}
}

func testCreateNotAliased(t *testing.T, s erasure.Store) {
	r := fullRequest(alice)
	want := r.Clone()
	if _, _, err := s.Create(t.Context(), r); err != nil {
		t.Fatalf("Create: %v", err)
	}
	scribble(&r)
	if d := requestDiff(mustGet(t, s, want.ID), want); len(d) > 0 {
		t.Errorf("after the caller changed the Params, Ask, Steps, Recipients, Exemptions and History it had created, Get returned a changed request; %s:\n\t%s",
			copyContract, strings.Join(d, "\n\t"))
	}
}

func testUpdateNotAliased(t *testing.T, s erasure.Store) {
	r := mustCreate(t, s, fullRequest(alice))[0]
	up := r.Clone()
	up.Params["scope"] = "partial"
	want := up.Clone()
	want.Version = 2
	if err := s.Update(t.Context(), up, nil, at(0)); err != nil {
		t.Fatalf("Update: %v", err)
	}
	scribble(&up)
	if d := requestDiff(mustGet(t, s, r.ID), want); len(d) > 0 {
		t.Errorf("after the caller changed the request it had updated, Get returned a changed request; %s:\n\t%s", copyContract, strings.Join(d, "\n\t"))
	}
}

// scribble changes every reference field of r in place.
func scribble(r *erasure.Request) {
	if r.Params != nil {
		for k := range r.Params {
			r.Params[k] = "scribbled"
		}
		r.Params["added"] = "by caller"
	}
	for i := range r.Steps {
		r.Steps[i].Target = "scribbled"
		r.Steps[i].Field = "scribbled"
		for j := range r.Steps[i].Exemptions {
			r.Steps[i].Exemptions[j].Category = "scribbled"
		}
		if rc := r.Steps[i].Recipient; rc != nil {
			rc.Recipient, rc.Reference = "scribbled", "scribbled"
			for j := range rc.Categories {
				rc.Categories[j] = "scribbled"
			}
		}
	}
	for i := range r.History {
		r.History[i].Note = "scribbled"
	}
	for i := range r.Ask.Purposes {
		r.Ask.Purposes[i] = "scribbled"
	}
	for i := range r.Ask.Corrections {
		r.Ask.Corrections[i].Field = "scribbled"
		for j := range r.Ask.Corrections[i].Sealed {
			r.Ask.Corrections[i].Sealed[j] ^= 0xff
		}
	}
}

func testReturnedCopies(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	full := fullRequest(alice)
	full.State = erasure.StateVerified
	full.NextAt = at(0)
	check := func(after string) {
		t.Helper()
		want := full.Clone()
		if d := requestDiff(mustGet(t, s, full.ID), want); len(d) > 0 {
			t.Fatalf("after a caller changed the request %s returned, the stored request changed; %s:\n\t%s", after, copyContract, strings.Join(d, "\n\t"))
		}
	}
	got, _, err := s.Create(ctx, full.Clone())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	scribble(&got)
	check("Create")
	again, created, err := s.Create(ctx, NewRequest(full.Kind, alice, at(1)))
	if err != nil || created {
		t.Fatalf("Create of a duplicate = created %v, %v; want the open request, created false", created, err)
	}
	scribble(&again)
	check("Create of a duplicate")
	g := mustGet(t, s, full.ID)
	scribble(&g)
	check("Get")
	ls := mustList(t, s, erasure.Filter{})
	for i := range ls {
		scribble(&ls[i])
	}
	check("List")
	acq, err := s.Acquire(ctx, "w", at(1), time.Minute, 1)
	if err != nil || len(acq) != 1 {
		t.Fatalf("Acquire of a due request = %d, %v; want it", len(acq), err)
	}
	scribble(&acq[0].Request)
	check("Acquire")
	if err := s.Release(ctx, acq[0].Lease); err != nil {
		t.Fatalf("Release: %v", err)
	}
	one, err := s.AcquireID(ctx, full.ID, "w", at(1), time.Minute)
	if err != nil {
		t.Fatalf("AcquireID: %v", err)
	}
	scribble(&one.Request)
	check("AcquireID")
}

func testCreateVersion1(t *testing.T, s erasure.Store) {
	for _, v := range []int64{0, 7} {
		r := NewRequest(gdpr.KindAccess, gdpr.SubjectID(fmt.Sprint("subject-v", v)), at(0))
		r.Version = v
		got, created, err := s.Create(t.Context(), r.Clone())
		if err != nil || !created || got.Version != 1 {
			t.Errorf("Create(Version %d) = Version %d, created %v, %v; want Version 1, created: Create stores a new request with Version 1", v, got.Version, created, err)
		}
		if g := mustGet(t, s, r.ID); g.Version != 1 {
			t.Errorf("Get after Create(Version %d) = Version %d; want 1", v, g.Version)
		}
	}
}

func testGetUnknown(t *testing.T, s erasure.Store) {
	_, err := s.Get(t.Context(), NewID())
	wantErr(t, err, erasure.ErrNotFound, "Get of an unknown ID", "Get returns an error wrapping ErrNotFound for an unknown ID")
	mustCreate(t, s, NewRequest(gdpr.KindAccess, alice, at(0)))
	_, err = s.Get(t.Context(), NewID())
	wantErr(t, err, erasure.ErrNotFound, "Get of an unknown ID beside a stored request", "Get returns an error wrapping ErrNotFound for an unknown ID")
}

func testCreateDuplicateOpen(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	first := mustCreate(t, s, NewRequest(gdpr.KindErasure, alice, at(0)))[0]
	for _, st := range []erasure.State{erasure.StateReceived, erasure.StateVerified, erasure.StateFailed} {
		dup := NewRequest(gdpr.KindErasure, alice, at(1))
		dup.State = st
		dup.Channel = "email"
		got, created, err := s.Create(ctx, dup)
		if err != nil || created || got.ID != first.ID {
			t.Errorf("Create of a second %s erasure request of one subject = %s, created %v, %v; want the open request %s, created false: %s",
				st, got.ID, created, err, first.ID, openContract)
			continue
		}
		wantRequest(t, "Create of a duplicate", got, first)
		_, err = s.Get(ctx, dup.ID)
		wantErr(t, err, erasure.ErrNotFound, "Get of the duplicate's ID", openContract)
	}
	// An Update that leaves the request open keeps its slot.
	moved := first.Clone()
	moved.State = erasure.StateFailed
	moved = mustUpdate(t, s, moved, nil, at(2))
	if got, created, err := s.Create(ctx, NewRequest(gdpr.KindErasure, alice, at(3))); err != nil || created || got.ID != first.ID || got.Version != 2 {
		t.Errorf("Create after the open request moved to failed = %s Version %d, created %v, %v; want %s Version 2, created false: a failed request is open",
			got.ID, got.Version, created, err, first.ID)
	}
	// Another kind, another subject: new requests.
	mustCreate(t, s, NewRequest(gdpr.KindAccess, alice, at(4)), NewRequest(gdpr.KindErasure, bob, at(4)))
	if rs := mustList(t, s, erasure.Filter{}); len(rs) != 3 {
		t.Errorf("List after three distinct and four duplicate Creates = %d requests; want 3", len(rs))
	}
}

func testClosedFreesSlot(t *testing.T, s erasure.Store) {
	for i, st := range []erasure.State{erasure.StateCompleted, erasure.StateCompletedWithExemptions, erasure.StateRejected, erasure.StateCancelled} {
		subject := gdpr.SubjectID(fmt.Sprint("subject-closed-", i))
		r := mustCreate(t, s, NewRequest(gdpr.KindErasure, subject, at(0)))[0]
		mustUpdate(t, s, closeAs(r, st, at(1)), nil, at(1))
		next := NewRequest(gdpr.KindErasure, subject, at(2))
		got, created, err := s.Create(t.Context(), next.Clone())
		if err != nil || !created || got.ID != next.ID {
			t.Errorf("Create after the subject's erasure request was %s = %s, created %v, %v; want the new request %s created: "+
				"a closed request shares its Kind and SubjectRef with a new open one", st, got.ID, created, err, next.ID)
			continue
		}
		if dup, created, err := s.Create(t.Context(), NewRequest(gdpr.KindErasure, subject, at(3))); err != nil || created || dup.ID != next.ID {
			t.Errorf("Create of a third request, the second open = %s, created %v, %v; want %s, created false: %s", dup.ID, created, err, next.ID, openContract)
		}
	}
}

func testCreateDuplicateID(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	r := mustCreate(t, s, NewRequest(gdpr.KindErasure, alice, at(0)))[0]
	dup := NewRequest(gdpr.KindAccess, bob, at(1))
	dup.ID = r.ID
	_, created, err := s.Create(ctx, dup)
	wantErr(t, err, erasure.ErrConflict, "Create of an existing ID for another kind and subject", "an existing ID is an error wrapping ErrConflict")
	if created {
		t.Errorf("Create of an existing ID reported created")
	}
	wantRequest(t, "Get after a refused Create", mustGet(t, s, r.ID), r)
	if rs := mustList(t, s, erasure.Filter{SubjectRef: Ref(bob)}); len(rs) != 0 {
		t.Errorf("List of the refused request's subject = %d requests; want none: nothing is written then", len(rs))
	}
	// A closed request's ID, too.
	mustUpdate(t, s, closeAs(r, erasure.StateCancelled, at(2)), nil, at(2))
	again := NewRequest(gdpr.KindErasure, alice, at(3))
	again.ID = r.ID
	_, _, err = s.Create(ctx, again)
	wantErr(t, err, erasure.ErrConflict, "Create of the ID of a closed request", "an existing ID is an error wrapping ErrConflict")
}

func testUpdate(t *testing.T, s erasure.Store) {
	r := mustCreate(t, s, NewRequest(gdpr.KindErasure, alice, at(0)))[0]
	for v := int64(1); v <= 3; v++ {
		next := r.Clone()
		next.Channel = fmt.Sprint("channel-", v)
		next.History = append(next.History, erasure.Transition{From: next.State, To: next.State, At: at(int(v)), Actor: gdpr.System("erasure"), Event: "noted"})
		if err := s.Update(t.Context(), next.Clone(), nil, at(int(v))); err != nil {
			t.Fatalf("Update from the stored Version %d: %v; want nil", v, err)
		}
		r = mustGet(t, s, r.ID)
		next.Version = v + 1
		wantRequest(t, fmt.Sprintf("Get after Update from Version %d (%s)", v, versionContract), r, next)
	}
}

func testUpdateConflict(t *testing.T, s erasure.Store) {
	r := mustCreate(t, s, NewRequest(gdpr.KindErasure, alice, at(0)))[0]
	r2 := mustUpdate(t, s, r, nil, at(1)) // Version 2
	for _, v := range []int64{1, 3, 0} {
		stale := r2.Clone()
		stale.Version = v
		stale.State = erasure.StateVerified
		err := s.Update(t.Context(), stale, nil, at(2))
		wantErr(t, err, erasure.ErrConflict, fmt.Sprintf("Update from Version %d of a request stored at Version 2", v), versionContract)
		wantRequest(t, fmt.Sprintf("Get after a refused Update from Version %d", v), mustGet(t, s, r.ID), r2)
	}
}

func testUpdateUnknown(t *testing.T, s erasure.Store) {
	r := NewRequest(gdpr.KindErasure, alice, at(0))
	err := s.Update(t.Context(), r, nil, at(0))
	wantErr(t, err, erasure.ErrNotFound, "Update of an unknown ID", "an unknown ID is an error wrapping ErrNotFound")
	if _, err := s.Get(t.Context(), r.ID); err == nil {
		t.Errorf("Get after an Update of an unknown ID found it; want nothing written")
	}
	if got, created, err := s.Create(t.Context(), NewRequest(gdpr.KindErasure, alice, at(1))); err != nil || !created {
		t.Errorf("Create after a refused Update of the subject = %s, created %v, %v; want created: the refused Update took no slot", got.ID, created, err)
	}
}

func testUpdateHeldLease(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	r := mustCreate(t, s, dueRequest(gdpr.KindErasure, alice, at(0)))[0]
	l, err := s.AcquireID(ctx, r.ID, "worker-1", at(0), time.Minute) // until at(1)
	if err != nil {
		t.Fatalf("AcquireID: %v", err)
	}
	next := r.Clone()
	next.State = erasure.StateInProgress
	lease := l.Lease
	lease.Until = at(10)
	got := mustUpdate(t, s, next, &lease, at(0).Add(30*time.Second))
	next.Version = 2
	wantRequest(t, "Get after an Update with a held lease", got, next)
	// The lease now lasts until at(10): at(5) it is live.
	_, err = s.AcquireID(ctx, r.ID, "worker-2", at(5), time.Minute)
	wantErr(t, err, erasure.ErrLeased, "AcquireID at a time after the lease's first Until, before the Until an Update extended it to",
		"an Update with a lease extends it to lease.Until")
	if err := s.Renew(ctx, lease, at(9), at(11)); err != nil {
		t.Errorf("Renew of the lease an Update extended, before its new Until: %v; want nil", err)
	}
	lease.Until = at(11)
	// The same lease, again: the extension is the holder's.
	got = mustUpdate(t, s, got, &lease, at(10))
	if got.Version != 3 {
		t.Errorf("after a second Update with the lease: Version %d; want 3", got.Version)
	}
}

// testClosingUpdateEndsLease: a write under a lease that closes the
// request ends the lease, so the subject's next request is not held up
// until it would have expired.
func testClosingUpdateEndsLease(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	rs := mustCreate(t, s, dueRequest(gdpr.KindErasure, alice, at(0)), dueRequest(gdpr.KindAccess, alice, at(0)))
	l, err := s.AcquireID(ctx, rs[0].ID, "worker-1", at(0), time.Hour)
	if err != nil {
		t.Fatalf("AcquireID: %v", err)
	}
	done := rs[0].Clone()
	done.State, done.Subject, done.Closed, done.NextAt = erasure.StateCompleted, "", at(1), time.Time{}
	lease := l.Lease
	lease.Until = at(2).Add(time.Hour)
	mustUpdate(t, s, done, &lease, at(1))
	if err := s.Renew(ctx, lease, at(1), at(3)); !errors.Is(err, erasure.ErrLeaseLost) {
		t.Errorf("Renew after an Update that closed the request: %v; want ErrLeaseLost (the closing write ends the lease)", err)
	}
	got, err := s.Acquire(ctx, "worker-2", at(1), time.Minute, 5)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if len(got) != 1 || got[0].Request.ID != rs[1].ID {
		t.Errorf("Acquire after the subject's other request closed under its lease: %d leased; want the open request "+
			"(a write under a lease that closes the request ends the lease)", len(got))
	}
}

func testUpdateLostLease(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	r := mustCreate(t, s, dueRequest(gdpr.KindErasure, alice, at(0)))[0]
	l, err := s.AcquireID(ctx, r.ID, "worker-1", at(0), time.Minute) // until at(1)
	if err != nil {
		t.Fatalf("AcquireID: %v", err)
	}
	try := func(lease erasure.Lease, now time.Time, what string) {
		t.Helper()
		next := r.Clone()
		next.State = erasure.StateInProgress
		err := s.Update(ctx, next, &lease, now)
		wantErr(t, err, erasure.ErrLeaseLost, "Update with "+what, leaseContract)
		wantVersion(t, s, r.ID, r.Version, "an Update with "+what)
	}
	wrong := l.Lease
	wrong.Token = "not-the-token"
	try(wrong, at(0), "another Token")
	other := l.Lease
	other.Request = NewID()
	try(other, at(0), "another Request")
	try(l.Lease, at(1), "a lease whose Until is now")
	try(l.Lease, at(2), "an expired lease")

	// Taken over: the old holder writes nothing, the new one writes.
	l2, err := s.AcquireID(ctx, r.ID, "worker-2", at(2), time.Minute)
	if err != nil {
		t.Fatalf("AcquireID after the first lease expired: %v; want the lease taken over", err)
	}
	try(l.Lease, at(2), "a lease taken over by another worker")
	extended := l.Lease
	extended.Until = at(30)
	try(extended, at(2), "a lease taken over, given a later Until")
	got := mustUpdate(t, s, r, &l2.Lease, at(2))
	// The old holder, again, now that the new one moved the Version on:
	// still an error wrapping ErrConflict, and nothing written.
	stale := r.Clone()
	err = s.Update(ctx, stale, &l.Lease, at(2))
	wantErr(t, err, erasure.ErrConflict, "Update with a lost lease from a stale Version", leaseContract)
	wantVersion(t, s, r.ID, got.Version, "an Update with a lost lease from a stale Version")

	// Released: lost too.
	if err := s.Release(ctx, l2.Lease); err != nil {
		t.Fatalf("Release: %v", err)
	}
	err = s.Update(ctx, got, &l2.Lease, at(2))
	wantErr(t, err, erasure.ErrLeaseLost, "Update with a released lease", leaseContract)
	wantVersion(t, s, r.ID, got.Version, "an Update with a released lease")
}

func testListFilters(t *testing.T, s erasure.Store) {
	mk := func(kind gdpr.RequestKind, subject gdpr.SubjectID, day int, st erasure.State, closed time.Time) erasure.Request {
		r := mustCreate(t, s, NewRequest(kind, subject, base.AddDate(0, 0, day)))[0]
		if st == erasure.StateReceived {
			return r
		}
		if st.Open() {
			r.State = st
			return mustUpdate(t, s, r, nil, at(0))
		}
		return mustUpdate(t, s, closeAs(r, st, closed), nil, closed)
	}
	r1 := mk(gdpr.KindErasure, alice, 0, erasure.StateReceived, time.Time{})
	r2 := mk(gdpr.KindAccess, alice, 3, erasure.StateVerified, time.Time{})
	r3 := mk(gdpr.KindErasure, bob, 7, erasure.StateInProgress, time.Time{})
	r4 := mk(gdpr.KindErasure, carol, 14, erasure.StateCompleted, at(10))
	r5 := mk(gdpr.KindAccess, dave, 21, erasure.StateRejected, at(20))
	r6 := mk(gdpr.KindPortability, bob, 28, erasure.StateFailed, time.Time{})
	all := []erasure.Request{r1, r2, r3, r4, r5, r6}
	dueBefore := r3.Deadline.Due
	var earlier []erasure.Request
	for _, r := range all {
		if r.Deadline.Due.Before(dueBefore) {
			earlier = append(earlier, r)
		}
	}
	for _, c := range []struct {
		f    erasure.Filter
		want []erasure.Request
		why  string
	}{
		{erasure.Filter{}, all, "a zero Filter matches every request"},
		{erasure.Filter{States: []erasure.State{erasure.StateReceived, erasure.StateFailed}}, []erasure.Request{r1, r6}, "States keeps the requests in one of them"},
		{erasure.Filter{States: erasure.OpenStates()}, []erasure.Request{r1, r2, r3, r6}, "States keeps the requests in one of them"},
		{erasure.Filter{Kinds: []gdpr.RequestKind{gdpr.KindAccess}}, []erasure.Request{r2, r5}, "Kinds keeps the requests of one of them"},
		{erasure.Filter{Kinds: []gdpr.RequestKind{gdpr.KindErasure, gdpr.KindPortability}}, []erasure.Request{r1, r3, r4, r6}, "Kinds keeps the requests of one of them"},
		{erasure.Filter{SubjectRef: Ref(alice)}, []erasure.Request{r1, r2}, "SubjectRef keeps one subject's requests"},
		{erasure.Filter{SubjectRef: Ref("subject-nobody")}, nil, "SubjectRef keeps one subject's requests"},
		{erasure.Filter{DueBefore: dueBefore}, earlier, "DueBefore keeps the requests whose Deadline.Due is before it"},
		{erasure.Filter{ClosedBefore: at(15)}, []erasure.Request{r4}, "ClosedBefore keeps the closed requests closed before it"},
		{erasure.Filter{ClosedBefore: far}, []erasure.Request{r4, r5}, "ClosedBefore keeps the closed requests closed before it, and no open one"},
		{erasure.Filter{ClosedBefore: at(10)}, nil, "ClosedBefore keeps the requests closed before it, not at it"},
		{erasure.Filter{SubjectRef: Ref(bob), States: []erasure.State{erasure.StateFailed, erasure.StateCompleted}}, []erasure.Request{r6}, "the fields of a Filter combine"},
		{erasure.Filter{Kinds: []gdpr.RequestKind{gdpr.KindErasure}, States: erasure.OpenStates(), DueBefore: far}, []erasure.Request{r1, r3}, "the fields of a Filter combine"},
	} {
		got := mustList(t, s, c.f)
		if want := sortedIDs(c.want...); !slices.Equal(ids(got), want) {
			t.Errorf("List(%s) = %v; want %v, in ID order: %s", fmtFilter(c.f), ids(got), want, c.why)
		}
	}
}

func testListPaging(t *testing.T, s erasure.Store) {
	var rs []erasure.Request
	for i := range 25 {
		rs = append(rs, NewRequest(gdpr.KindAccess, gdpr.SubjectID(fmt.Sprintf("subject-%02d", i)), at(i)))
	}
	mustCreate(t, s, rs...)
	want := sortedIDs(rs...)
	var got []string
	after := ""
	for page := 0; ; page++ {
		p := mustList(t, s, erasure.Filter{After: after, Limit: 10})
		if len(p) > 10 {
			t.Fatalf("List(Limit 10) returned %d requests; want at most 10", len(p))
		}
		if len(p) == 0 {
			break
		}
		if page > 3 {
			t.Fatalf("List pages past the 25 requests stored: After is not honoured")
		}
		got = append(got, ids(p)...)
		after = p[len(p)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages of List(Limit 10) followed by After = %v; want every request once, in ID order %v", got, want)
	}
	if p := mustList(t, s, erasure.Filter{After: want[9], Limit: 3}); !slices.Equal(ids(p), want[10:13]) {
		t.Errorf("List(After the 10th ID, Limit 3) = %v; want %v: the requests whose ID sorts after After", ids(p), want[10:13])
	}
	if p := mustList(t, s, erasure.Filter{After: want[24]}); len(p) != 0 {
		t.Errorf("List(After the last ID) = %v; want none", ids(p))
	}
}

func testListDefaultLimit(t *testing.T, s erasure.Store) {
	n := erasure.DefaultLimit + 5
	for i := range n {
		mustCreate(t, s, NewRequest(gdpr.KindAccess, gdpr.SubjectID(fmt.Sprintf("subject-%03d", i)), at(0)))
	}
	for _, limit := range []int{0, -1} {
		if p := mustList(t, s, erasure.Filter{Limit: limit}); len(p) != erasure.DefaultLimit {
			t.Errorf("List(Limit %d) of %d requests returned %d; want DefaultLimit, %d", limit, n, len(p), erasure.DefaultLimit)
		}
	}
}

func testListMaxLimit(t *testing.T, s erasure.Store) {
	if testing.Short() {
		t.Skip("creates more than erasure.MaxLimit requests; skipped in -short mode")
	}
	n := erasure.MaxLimit + 3
	for i := range n {
		mustCreate(t, s, NewRequest(gdpr.KindAccess, gdpr.SubjectID(fmt.Sprintf("subject-%04d", i)), at(0)))
	}
	if p := mustList(t, s, erasure.Filter{Limit: erasure.MaxLimit * 5}); len(p) != erasure.MaxLimit {
		t.Errorf("List(Limit %d) of %d requests returned %d; want MaxLimit, %d", erasure.MaxLimit*5, n, len(p), erasure.MaxLimit)
	}
}

func testCount(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	if cs, err := s.Count(ctx, erasure.Filter{}); err != nil || len(cs) != 0 {
		t.Errorf("Count of an empty storage = %v, %v; want no counts", cs, err)
	}
	var last string
	for i := range 3 {
		last = mustCreate(t, s, NewRequest(gdpr.KindErasure, gdpr.SubjectID(fmt.Sprint("subject-e", i)), at(0)))[0].ID
	}
	mustCreate(t, s, NewRequest(gdpr.KindAccess, alice, at(0)))
	r := mustCreate(t, s, NewRequest(gdpr.KindAccess, bob, at(0)))[0]
	mustUpdate(t, s, closeAs(r, erasure.StateRejected, at(1)), nil, at(1))
	v := mustCreate(t, s, NewRequest(gdpr.KindErasure, carol, at(0)))[0]
	v.State = erasure.StateVerified
	mustUpdate(t, s, v, nil, at(1))

	type key struct {
		st   erasure.State
		kind gdpr.RequestKind
	}
	count := func(f erasure.Filter) map[key]int64 {
		t.Helper()
		cs, err := s.Count(ctx, f)
		if err != nil {
			t.Fatalf("Count(%s): %v", fmtFilter(f), err)
		}
		m := make(map[key]int64)
		for _, c := range cs {
			k := key{c.State, c.Kind}
			if _, dup := m[k]; dup {
				t.Errorf("Count(%s) returned (%s, %s) twice; want one Count per State and Kind", fmtFilter(f), c.State, c.Kind)
			}
			if c.N <= 0 {
				t.Errorf("Count(%s) returned (%s, %s) with N %d; want only the groups that occur", fmtFilter(f), c.State, c.Kind, c.N)
			}
			m[k] = c.N
		}
		return m
	}
	all := map[key]int64{
		{erasure.StateReceived, gdpr.KindErasure}: 3,
		{erasure.StateVerified, gdpr.KindErasure}: 1,
		{erasure.StateReceived, gdpr.KindAccess}:  1,
		{erasure.StateRejected, gdpr.KindAccess}:  1,
	}
	for _, c := range []struct {
		f    erasure.Filter
		want map[key]int64
		why  string
	}{
		{erasure.Filter{}, all, "one Count per State and Kind that occurs"},
		{erasure.Filter{After: last, Limit: 1}, all, "Count ignores After and Limit"},
		{erasure.Filter{Kinds: []gdpr.RequestKind{gdpr.KindAccess}}, map[key]int64{
			{erasure.StateReceived, gdpr.KindAccess}: 1, {erasure.StateRejected, gdpr.KindAccess}: 1}, "Count counts the requests that match the Filter"},
		{erasure.Filter{States: erasure.OpenStates(), SubjectRef: Ref(carol)}, map[key]int64{
			{erasure.StateVerified, gdpr.KindErasure}: 1}, "Count counts the requests that match the Filter"},
	} {
		if got := count(c.f); !maps.Equal(got, c.want) {
			t.Errorf("Count(%s) = %v; want %v: %s", fmtFilter(c.f), got, c.want, c.why)
		}
	}
}

func testDelete(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	rs := mustCreate(t, s,
		NewRequest(gdpr.KindErasure, alice, at(0)),
		NewRequest(gdpr.KindAccess, alice, at(0)),
		NewRequest(gdpr.KindErasure, bob, at(0)))
	if n, err := s.Delete(ctx); err != nil || n != 0 {
		t.Errorf("Delete() of no IDs = %d, %v; want 0, nil", n, err)
	}
	n, err := s.Delete(ctx, rs[0].ID, NewID(), rs[1].ID, rs[0].ID)
	if err != nil || n != 2 {
		t.Errorf("Delete of two stored IDs (one given twice) and an unknown one = %d, %v; want 2, nil: unknown IDs are skipped", n, err)
	}
	for _, r := range rs[:2] {
		_, err := s.Get(ctx, r.ID)
		wantErr(t, err, erasure.ErrNotFound, "Get of a deleted request", "Delete deletes the requests")
	}
	wantRequest(t, "Get of a request not deleted", mustGet(t, s, rs[2].ID), rs[2])
	if got := mustList(t, s, erasure.Filter{}); !slices.Equal(ids(got), []string{rs[2].ID}) {
		t.Errorf("List after Delete = %v; want [%s]", ids(got), rs[2].ID)
	}
	// The deleted open request's slot is free.
	if got, created, err := s.Create(ctx, NewRequest(gdpr.KindErasure, alice, at(1))); err != nil || !created {
		t.Errorf("Create after the subject's open request was deleted = %s, created %v, %v; want created", got.ID, created, err)
	}
	if n, err := s.Delete(ctx, rs[0].ID); err != nil || n != 0 {
		t.Errorf("Delete of a deleted ID = %d, %v; want 0, nil", n, err)
	}
}
