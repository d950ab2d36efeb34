package consenttest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/internal/suite"
)

// RunStoreTests runs the conformance suite of consent.Store against the
// stores newStore makes, one subtest per behaviour.
//
// newStore is called once per subtest with that subtest's t. It returns two
// handles, s and other, on one fresh, empty storage that no other subtest
// uses, and registers any cleanup with t.Cleanup; it fails t itself if it
// cannot. For a store over a database, s and other are two Stores on two
// connection pools to the same database, as two processes of the host
// would open them:
//
//	consenttest.RunStoreTests(t, func(t *testing.T) (s, other consent.Store) {
//		db := openTestDB(t)  // a fresh, empty database
//		db2 := reopen(t, db) // a second *sql.DB on the same database
//		first := mystore.New(db)
//		if err := first.Migrate(t.Context()); err != nil { // once: the tables are shared
//			t.Fatal(err)
//		}
//		return first, mystore.New(db2)
//	})
//
// For a store that lives in one process's memory, there is only one handle
// on the storage: return the same value twice.
//
//	consenttest.RunStoreTests(t, func(*testing.T) (s, other consent.Store) {
//		st := memstore.New()
//		return st, st
//	})
//
// Most subtests use s alone. Those that check what two instances of a host
// see of each other write through one handle and read back through the
// other (SharedStorage checks that they do share one storage), and the race
// subtests (Race*) run the same operation through both handles at once, from
// many goroutines, and check what the consent.Store contract promises then.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) (s, other consent.Store)) {
	tests := []suite.Test[consent.Store]{
		{"SharedStorage", testSharedStorage},
		{"AppendRoundTrip", testAppendRoundTrip},
		{"TimesTruncatedToMicrosecondUTC", suite.One(testTimesNormalised)},
		{"AppendDoesNotAliasInput", suite.One(testAppendDoesNotAlias)},
		{"ReturnedEventsAreCopies", suite.One(testReturnedCopies)},
		{"EventNotFound", suite.One(testEventNotFound)},
		{"DuplicateID", testDuplicateID},
		{"DoubleConfirmation", testDoubleConfirmation},
		{"SeqIncreasesWithEachAppend", suite.One(testSeq)},
		{"SeqNotReusedAfterErasure", suite.One(testSeqAfterErasure)},
		{"LatestOrderBySeqNotTime", suite.One(testLatestOrder)},
		{"LatestClockSkew", suite.One(testLatestClockSkew)},
		{"LatestCurrentCountsEveryEvent", suite.One(testLatestCurrent)},
		{"LatestEqualTimesAppendOrder", suite.One(testLatestEqualTimes)},
		{"LatestIgnoresPending", suite.One(testLatestIgnoresPending)},
		{"LatestAtOrBefore", suite.One(testLatestAtOrBefore)},
		{"LatestAtSubMicrosecondAndZone", suite.One(testLatestAtPrecision)},
		{"LatestContactScope", suite.One(testLatestContact)},
		{"LatestChannelDenialsDecidePurpose", suite.One(testLatestChannelDenials)},
		{"LatestMatchesEventApplies", suite.One(testLatestReference)},
		{"LatestNotFound", suite.One(testLatestNotFound)},
		{"LatestMaterial", suite.One(testLatestMaterial)},
		{"EventsOrderAndFilter", suite.One(testEvents)},
		{"KeysCompareByteForByte", suite.One(testByteExactKeys)},
		{"DeleteSubject", testDeleteSubject},
		{"Notices", testNotices},
		{"StaleSubjects", suite.One(testStaleSubjects)},
		{"StaleSubjectsPaging", suite.One(testStaleSubjectsPaging)},
		{"StaleEvents", suite.One(testStaleEvents)},
		{"StaleEventsMatchReference", suite.One(testStaleEventsReference)},
		{"StaleEventsPaging", suite.One(testStaleEventsPaging)},
		{"StaleEventsEdges", suite.One(testStaleEventsEdges)},
		{"ConcurrentAppends", testConcurrentAppends},
		{"ConcurrentConfirmations", testConcurrentConfirmations},
		{"RaceAppendOneSeries", testRaceAppendOneSeries},
		{"RaceDuplicateID", testRaceDuplicateID},
		{"RacePutNotice", testRacePutNotice},
		{"RaceDeleteSubjectAppend", testRaceDeleteSubjectAppend},
		{"RaceLatestSeesReturnedAppends", testRaceLatestSeesReturnedAppends},
		{"AuditOutboxMarksAppends", testOutboxMarksAppends},
		{"AuditOutboxOrderAndLimit", testOutboxOrderAndLimit},
		{"AuditOutboxDeleteSubject", testOutboxDeleteSubject},
		{"RaceClaimAudit", testRaceClaimAudit},
		{"RaceClaimClear", testRaceClaimClear},
		{"SuppressRoundTrip", testSuppressRoundTrip},
		{"SuppressKeepsLaterTime", suite.One(testSuppressKeepsLater)},
		{"SuppressOutlivesDeleteSubject", testSuppressOutlivesDelete},
		{"RaceSuppress", testRaceSuppress},
	}
	suite.Run(t, "consent.Store", newStore, tests)
}

// base is the suite's clock: a UTC instant on a whole second.
var base = time.Date(2025, time.March, 3, 9, 30, 0, 0, time.UTC)

// at returns base plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// far is after every event the suite appends.
var far = base.AddDate(10, 0, 0)

const (
	alice gdpr.SubjectID = "subject-alice"
	bob   gdpr.SubjectID = "subject-bob"
	carol gdpr.SubjectID = "subject-carol"

	news gdpr.Purpose = "newsletter"
	ads  gdpr.Purpose = "ads_personalisation"
)

func mustAppend(t *testing.T, s consent.Store, evs ...consent.Event) {
	t.Helper()
	for _, e := range evs {
		if err := s.Append(t.Context(), e); err != nil {
			t.Fatalf("Append(%s event %s): %v; want nil for a new, valid event", e.Kind, e.ID, err)
		}
	}
}

func mustPutNotice(t *testing.T, s consent.Store, ns ...consent.Notice) {
	t.Helper()
	for _, n := range ns {
		if err := s.PutNotice(t.Context(), n); err != nil {
			t.Fatalf("PutNotice(%s v%d): %v; want nil for a new version", n.ID, n.Version, err)
		}
	}
}

func mustEvents(t *testing.T, s consent.Store, subject gdpr.SubjectID, purpose gdpr.Purpose) []consent.Event {
	t.Helper()
	evs, err := s.Events(t.Context(), subject, purpose)
	if err != nil {
		t.Fatalf("Events(%s, %q): %v; want nil", subject, purpose, err)
	}
	return evs
}

// wantEvent fails t unless got, as returned by call, equals want as stored.
func wantEvent(t *testing.T, call string, got, want consent.Event) {
	t.Helper()
	if d := eventDiff(got, stored(want)); len(d) > 0 {
		t.Errorf("%s returned an event that differs from the one appended:\n\t%s", call, joinLines(d))
	}
}

// wantLatest fails t unless Latest(q) returns the event want, and returns
// what it returned.
func wantLatest(t *testing.T, s consent.Store, q consent.Query, want consent.Event, why string) consent.Current {
	t.Helper()
	cur, err := s.Latest(t.Context(), q)
	if err != nil {
		t.Errorf("Latest(%s): %v; want the %s event %s: %s", fmtQuery(q), err, want.Kind, want.ID, why)
		return cur
	}
	if cur.Event.ID != want.ID {
		t.Errorf("Latest(%s) = %s event %s at %s; want the %s event %s at %s: %s", fmtQuery(q),
			cur.Event.Kind, cur.Event.ID, cur.Event.Time.Format(time.RFC3339Nano),
			want.Kind, want.ID, want.Time.Format(time.RFC3339Nano), why)
		return cur
	}
	wantEvent(t, fmt.Sprintf("Latest(%s)", fmtQuery(q)), cur.Event, want)
	return cur
}

// wantLatestNotFound fails t unless Latest(q) returns an error wrapping
// consent.ErrNotFound.
func wantLatestNotFound(t *testing.T, s consent.Store, q consent.Query, why string) {
	t.Helper()
	cur, err := s.Latest(t.Context(), q)
	if err == nil {
		t.Errorf("Latest(%s) = %s event %s; want an error wrapping consent.ErrNotFound: %s", fmtQuery(q), cur.Event.Kind, cur.Event.ID, why)
		return
	}
	wantErr(t, err, consent.ErrNotFound, fmt.Sprintf("Latest(%s) (%s)", fmtQuery(q), why))
}

// wantErr fails t unless err wraps target, consent.ErrNotFound or
// consent.ErrConflict, and with it the root package's sentinel.
func wantErr(t *testing.T, err, target error, call string) {
	t.Helper()
	root := gdpr.ErrNotFound
	name := "ErrNotFound"
	if target == consent.ErrConflict {
		root, name = gdpr.ErrConflict, "ErrConflict"
	}
	switch {
	case err == nil:
		t.Errorf("%s: got nil error, want an error wrapping consent.%s", call, name)
	case !errors.Is(err, target):
		t.Errorf("%s: got %v, want an error wrapping consent.%s", call, err, name)
	case !errors.Is(err, root):
		t.Errorf("%s: got %v, which wraps consent.%s but not gdpr.%s; wrap the consent sentinel itself", call, err, name, name)
	}
}

func fmtQuery(q consent.Query) string {
	return fmt.Sprintf("{%s %s contact=%q at=%s}", string(q.Subject), q.Purpose, q.Contact, q.At.Format(time.RFC3339Nano))
}

func ids(evs []consent.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func joinLines(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += "\n\t"
		}
		out += s
	}
	return out
}

// orderedIDs returns two fresh IDs with a < b.
func orderedIDs() (a, b string) {
	a, b = NewID(), NewID()
	if b < a {
		a, b = b, a
	}
	return a, b
}

// wantSeqOrder fails t unless evs, as returned by call, have strictly
// increasing Seq.
func wantSeqOrder(t *testing.T, call string, evs []consent.Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Errorf("%s: event %d has Seq %d after Seq %d; want strictly increasing Seq (Events are returned in Seq order)",
				call, i, evs[i].Seq, evs[i-1].Seq)
			return
		}
	}
}

func testAppendRoundTrip(t *testing.T, s, other consent.Store) {
	ctx := t.Context()
	kinds := []consent.Kind{consent.Pending, consent.Given, consent.Refused, consent.Withdrawn, consent.Expired, consent.Objected}
	var appended []consent.Event
	var pending consent.Event
	for i, k := range kinds {
		e := fullEvent(alice, gdpr.Purpose("roundtrip_"+string(k)), k, at(i))
		if k == consent.Given {
			e.Confirms = pending.ID // a double opt-in confirmation
		}
		if k == consent.Pending {
			pending = e
		}
		mustAppend(t, s, cloneEvent(e))
		appended = append(appended, e)
	}
	for _, e := range appended {
		got, err := s.Event(ctx, e.ID)
		if err != nil {
			t.Errorf("Event(%s) of an appended %s event: %v; want the event", e.ID, e.Kind, err)
			continue
		}
		wantEvent(t, fmt.Sprintf("Event(%s) of a %s event", e.ID, e.Kind), got, e)
		if got, err := other.Event(ctx, e.ID); err != nil {
			t.Errorf("Event(%s) through the other handle, of a %s event appended through the first: %v; want the event: "+
				"every instance of a host sees what another appended", e.ID, e.Kind, err)
		} else {
			wantEvent(t, fmt.Sprintf("Event(%s) through the other handle, of a %s event", e.ID, e.Kind), got, e)
		}

		evs := mustEvents(t, s, alice, e.Purpose)
		if len(evs) != 1 {
			t.Errorf("Events(%s, %s) returned %d events; want the 1 appended for that purpose", alice, e.Purpose, len(evs))
		} else {
			wantEvent(t, fmt.Sprintf("Events(%s, %s)", alice, e.Purpose), evs[0], e)
		}

		if e.Kind != consent.Pending {
			wantLatest(t, s, consent.Query{Subject: alice, Purpose: e.Purpose, Contact: e.Contact, At: far}, e,
				"the only event for the purpose")
		}
	}
	all := mustEvents(t, s, alice, "")
	if len(all) != len(appended) {
		t.Errorf(`Events(%s, "") returned %d events; want all %d appended`, alice, len(all), len(appended))
	}
}

func testTimesNormalised(t *testing.T, s consent.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	// 15:00:00.123456789 at +05:30 is 09:30:00.123456 UTC, truncated.
	in := time.Date(2025, time.March, 3, 15, 0, 0, 123456789, zone)
	wantTime := time.Date(2025, time.March, 3, 9, 30, 0, 123456000, time.UTC)
	e := NewEvent(alice, news, consent.Given, in)
	e.ExpiresAt = in.Add(48 * time.Hour)
	mustAppend(t, s, e)

	got, err := s.Event(ctx, e.ID)
	if err != nil {
		t.Fatalf("Event(%s): %v; want the appended event", e.ID, err)
	}
	if d := timeDiff(got.Time, wantTime); d != "" {
		t.Errorf("Event(%s).Time for an appended time %s: %s", e.ID, in.Format(time.RFC3339Nano), d)
	}
	if d := timeDiff(got.ExpiresAt, wantTime.Add(48*time.Hour)); d != "" {
		t.Errorf("Event(%s).ExpiresAt: %s", e.ID, d)
	}
	if evs := mustEvents(t, s, alice, news); len(evs) == 1 {
		if d := timeDiff(evs[0].Time, wantTime); d != "" {
			t.Errorf("Events(%s, %s)[0].Time: %s", alice, news, d)
		}
	}
	// The stored time is exactly wantTime, so a query at that instant sees it.
	cur := wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, At: wantTime}, e,
		"a query at the event's truncated time is at or after it")
	if d := timeDiff(cur.Event.Time, wantTime); d != "" {
		t.Errorf("Latest(...).Event.Time: %s", d)
	}

	n := consent.Notice{ID: "times", Version: 1, TextHash: textHash("times"), Material: true, Published: in}
	mustPutNotice(t, s, n)
	ns, err := s.Notices(ctx, "times")
	if err != nil || len(ns) != 1 {
		t.Fatalf("Notices(times) = %d notices, %v; want the 1 put", len(ns), err)
	}
	if d := timeDiff(ns[0].Published, wantTime); d != "" {
		t.Errorf("Notices(times)[0].Published for a put time %s: %s", in.Format(time.RFC3339Nano), d)
	}
}

func testAppendDoesNotAlias(t *testing.T, s consent.Store) {
	ctx := t.Context()
	p := NewEvent(alice, news, consent.Pending, at(0))
	p.Evidence.Attrs = map[string]string{"gpc": "1"}
	want := cloneEvent(p)
	mustAppend(t, s, p)
	// The caller reuses its buffers after Append.
	p.TokenHash[0] ^= 0xff
	p.Evidence.Attrs["gpc"] = "0"
	p.Evidence.Attrs["added"] = "after append"

	got, err := s.Event(ctx, p.ID)
	if err != nil {
		t.Fatalf("Event(%s): %v; want the appended event", p.ID, err)
	}
	if d := eventDiff(got, stored(want)); len(d) > 0 {
		t.Errorf("after the caller changed the TokenHash and Evidence.Attrs it had appended, Event returned a changed event; "+
			"a Store must not keep references to its caller's slices and maps:\n\t%s", joinLines(d))
	}
}

func testReturnedCopies(t *testing.T, s consent.Store) {
	ctx := t.Context()
	p := NewEvent(alice, news, consent.Pending, at(0))
	p.Evidence.Attrs = map[string]string{"gpc": "1"}
	g := NewEvent(alice, ads, consent.Given, at(1))
	g.Evidence.Attrs = map[string]string{"ab_variant": "b"}
	mustAppend(t, s, cloneEvent(p), cloneEvent(g))

	scribble := func(e *consent.Event) {
		if len(e.TokenHash) > 0 {
			e.TokenHash[0] ^= 0xff
		}
		if e.Evidence.Attrs != nil {
			for k := range e.Evidence.Attrs {
				e.Evidence.Attrs[k] = "scribbled"
			}
			e.Evidence.Attrs["added"] = "by caller"
		}
	}
	check := func(after string) {
		t.Helper()
		for _, want := range []consent.Event{p, g} {
			got, err := s.Event(ctx, want.ID)
			if err != nil {
				t.Fatalf("Event(%s): %v; want the appended event", want.ID, err)
			}
			if d := eventDiff(got, stored(want)); len(d) > 0 {
				t.Errorf("after a caller changed the TokenHash and Evidence.Attrs returned by %s, the stored event changed; "+
					"a Store must return copies:\n\t%s", after, joinLines(d))
			}
		}
	}

	e, err := s.Event(ctx, p.ID)
	if err != nil {
		t.Fatalf("Event(%s): %v", p.ID, err)
	}
	scribble(&e)
	check("Event")

	evs := mustEvents(t, s, alice, "")
	for i := range evs {
		scribble(&evs[i])
	}
	check("Events")

	cur, err := s.Latest(ctx, consent.Query{Subject: alice, Purpose: ads, At: far})
	if err != nil {
		t.Fatalf("Latest(%s, %s): %v; want the Given event", alice, ads, err)
	}
	scribble(&cur.Event)
	check("Latest")
}

func testEventNotFound(t *testing.T, s consent.Store) {
	ctx := t.Context()
	id := NewID()
	_, err := s.Event(ctx, id)
	wantErr(t, err, consent.ErrNotFound, "Event of an unknown ID in an empty store")

	mustAppend(t, s, NewEvent(alice, news, consent.Given, at(0)))
	_, err = s.Event(ctx, id)
	wantErr(t, err, consent.ErrNotFound, "Event of an unknown ID")
}

func testDuplicateID(t *testing.T, s, other consent.Store) {
	ctx := t.Context()
	first := fullEvent(alice, news, consent.Given, at(0))
	mustAppend(t, s, cloneEvent(first))

	dup := NewEvent(bob, ads, consent.Withdrawn, at(5))
	dup.ID = first.ID
	err := s.Append(ctx, dup)
	wantErr(t, err, consent.ErrConflict, "Append of a duplicate ID")
	// Another instance of the host is held to the same rule.
	dup2 := NewEvent(carol, ads, consent.Refused, at(6))
	dup2.ID = first.ID
	err = other.Append(ctx, dup2)
	wantErr(t, err, consent.ErrConflict, "Append through the other handle of an ID appended through the first")
	if evs := mustEvents(t, other, carol, ""); len(evs) != 0 {
		t.Errorf("Events(%s) through the other handle after its rejected duplicate = %d events; want 0: a conflicting Append writes nothing", carol, len(evs))
	}

	got, err := other.Event(ctx, first.ID)
	if err != nil {
		t.Fatalf("Event(%s) after a rejected duplicate: %v; want the first event", first.ID, err)
	}
	if d := eventDiff(got, stored(first)); len(d) > 0 {
		t.Errorf("after an Append of a duplicate ID, the first event changed; a conflicting Append writes nothing:\n\t%s", joinLines(d))
	}
	if evs := mustEvents(t, s, bob, ""); len(evs) != 0 {
		t.Errorf("Events(%s) after a rejected duplicate = %d events; want 0: a conflicting Append writes nothing", bob, len(evs))
	}
	if evs := mustEvents(t, s, alice, ""); len(evs) != 1 {
		t.Errorf("Events(%s) after a rejected duplicate = %d events; want the 1 first appended", alice, len(evs))
	}
}

func testDoubleConfirmation(t *testing.T, s, other consent.Store) {
	ctx := t.Context()
	p := NewEvent(alice, news, consent.Pending, at(0))
	c1 := confirmation(p)
	c2 := confirmation(p)
	c2.Time = c1.Time.Add(time.Minute)
	c3 := confirmation(p)
	c3.Time = c2.Time.Add(time.Minute)
	mustAppend(t, s, p, c1)

	err := s.Append(ctx, c2)
	wantErr(t, err, consent.ErrConflict, "Append of a second event confirming the same pending event")
	_, err = s.Event(ctx, c2.ID)
	wantErr(t, err, consent.ErrNotFound, "Event of a rejected second confirmation (nothing is written on conflict)")
	// The same link clicked again, handled by another instance of the host.
	err = other.Append(ctx, c3)
	wantErr(t, err, consent.ErrConflict, "Append through the other handle of a second confirmation of a pending event the first handle confirmed")
	_, err = other.Event(ctx, c3.ID)
	wantErr(t, err, consent.ErrNotFound, "Event of a second confirmation rejected through the other handle (nothing is written on conflict)")

	var confirming []string
	for _, e := range mustEvents(t, other, alice, "") {
		if e.Confirms == p.ID {
			confirming = append(confirming, e.ID)
		}
	}
	if len(confirming) != 1 || confirming[0] != c1.ID {
		t.Errorf("events confirming pending %s = %v; want exactly the first confirmation [%s]", p.ID, confirming, c1.ID)
	}

	// The rule is per pending event: another pending event can be confirmed.
	p2 := NewEvent(alice, news, consent.Pending, at(10))
	mustAppend(t, s, p2)
	if err := s.Append(ctx, confirmation(p2)); err != nil {
		t.Errorf("Append of the first confirmation of another pending event: %v; want nil", err)
	}
}

func testSeq(t *testing.T, s consent.Store) {
	ctx := t.Context()
	// Appends across subjects and purposes, with times out of order and
	// Seq values set by the caller, which a Store ignores: the first is as
	// high as an int64 goes, so a Store that kept it could not give a later
	// event a higher one.
	evs := []consent.Event{
		NewEvent(alice, news, consent.Given, at(30)),
		NewEvent(bob, ads, consent.Refused, at(10)),
		NewEvent(alice, ads, consent.Withdrawn, at(20)),
		NewEvent(alice, news, consent.Withdrawn, at(0)),
		NewEvent(carol, news, consent.Objected, at(40)),
	}
	for i := range evs {
		evs[i].Seq = []int64{math.MaxInt64, -7, 0, 1, 42}[i]
	}
	mustAppend(t, s, evs...)

	seqs := make([]int64, len(evs))
	for i, e := range evs {
		got, err := s.Event(ctx, e.ID)
		if err != nil {
			t.Fatalf("Event(%s): %v; want the appended event", e.ID, err)
		}
		seqs[i] = got.Seq
		if i > 0 && seqs[i] <= seqs[i-1] {
			t.Errorf("Event(%s).Seq = %d for the event appended after one with Seq %d; want a Seq greater than every earlier append's, "+
				"assigned by the Store (the caller's Seq, here %d, is ignored)", e.ID, seqs[i], seqs[i-1], e.Seq)
		}
	}
	bySeq := map[string]int64{}
	for i, e := range evs {
		bySeq[e.ID] = seqs[i]
	}
	for _, subj := range []gdpr.SubjectID{alice, bob, carol} {
		for _, e := range mustEvents(t, s, subj, "") {
			if e.Seq != bySeq[e.ID] {
				t.Errorf("Events(%s)[event %s].Seq = %d; want %d, the Seq Event returns: an event keeps the Seq it was given on Append",
					subj, e.ID, e.Seq, bySeq[e.ID])
			}
		}
	}
	q := consent.Query{Subject: alice, Purpose: news, At: far}
	if cur, err := s.Latest(ctx, q); err != nil {
		t.Errorf("Latest(%s): %v; want the withdrawal appended last", fmtQuery(q), err)
	} else if cur.Event.Seq != seqs[3] {
		t.Errorf("Latest(%s).Event.Seq = %d; want %d, the Seq Event returns for the deciding event %s", fmtQuery(q), cur.Event.Seq, seqs[3], evs[3].ID)
	}

	// After a rejected Append, the next event's Seq is still greater than
	// every earlier one's.
	dup := NewEvent(alice, news, consent.Given, at(50))
	dup.ID = evs[0].ID
	wantErr(t, s.Append(ctx, dup), consent.ErrConflict, "Append of a duplicate ID")
	next := NewEvent(bob, news, consent.Given, at(-100))
	mustAppend(t, s, next)
	if got, err := s.Event(ctx, next.ID); err != nil || got.Seq <= seqs[len(seqs)-1] {
		t.Errorf("Event(%s) = Seq %d, %v for an event appended after a rejected duplicate; want a Seq greater than %d, every earlier append's",
			next.ID, got.Seq, err, seqs[len(seqs)-1])
	}
}

func testSeqAfterErasure(t *testing.T, s consent.Store) {
	ctx := t.Context()
	first := NewEvent(alice, news, consent.Given, at(0))
	last := NewEvent(bob, news, consent.Given, at(0))
	mustAppend(t, s, first, last)
	got, err := s.Event(ctx, last.ID)
	if err != nil {
		t.Fatalf("Event(%s): %v; want the appended event", last.ID, err)
	}
	if _, err := s.DeleteSubject(ctx, bob); err != nil {
		t.Fatalf("DeleteSubject(%s): %v", bob, err)
	}
	again := NewEvent(carol, news, consent.Given, at(0))
	mustAppend(t, s, again)
	if g, err := s.Event(ctx, again.ID); err != nil || g.Seq <= got.Seq {
		t.Errorf("Event(%s) = Seq %d, %v for an event appended after the last one (Seq %d) was erased; "+
			"want a greater Seq: a Seq is greater than that of every earlier append, erased or not", again.ID, g.Seq, err, got.Seq)
	}
}

func testLatestOrder(t *testing.T, s consent.Store) {
	given := NewEvent(alice, news, consent.Given, at(30))
	withdrawn := NewEvent(alice, news, consent.Withdrawn, at(10))
	refused := NewEvent(alice, news, consent.Refused, at(20))
	// Appended out of time order: the store orders by Seq (append), not by Time.
	mustAppend(t, s, given, withdrawn, refused)
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, At: far}, refused,
		"the event appended last (highest Seq) decides, whatever the Times")

	again := NewEvent(alice, news, consent.Given, at(25))
	mustAppend(t, s, again)
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, At: far}, again,
		"an event appended later with an earlier Time than another still decides")
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, At: at(22)}, refused,
		"events with a Time after q.At are ignored; of the rest, the one appended last decides")
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, At: at(15)}, withdrawn,
		"events with a Time after q.At are ignored; of the rest, the one appended last decides")
}

func testLatestClockSkew(t *testing.T, s consent.Store) {
	// One instance's clock runs fast: it stamps a consent t+5s and appends
	// it; then another instance, with a good clock, records the subject's
	// withdrawal at t+1s. The withdrawal came later and must win.
	t0 := at(0)
	give := NewEvent(alice, news, consent.Given, t0.Add(5*time.Second))
	withdraw := NewEvent(alice, news, consent.Withdrawn, t0.Add(time.Second))
	mustAppend(t, s, give, withdraw)
	q := consent.Query{Subject: alice, Purpose: news}

	q.At = t0.Add(10 * time.Second)
	wantLatest(t, s, q, withdraw,
		"the withdrawal was appended after the consent, so it decides although its Time is earlier (order is Seq, not Time)")
	q.At = t0.Add(2 * time.Second)
	wantLatest(t, s, q, withdraw,
		"the consent's Time is after q.At, so only the withdrawal qualifies")
	q.At = t0.Add(500 * time.Millisecond)
	wantLatestNotFound(t, s, q, "both events have a Time after q.At")
}

func testLatestCurrent(t *testing.T, s consent.Store) {
	// The reader's clock lags: a withdrawal stamped t+60s by an instance
	// whose clock runs ahead must count at once for a decision about now.
	t0 := at(0)
	give := NewEvent(alice, news, consent.Given, t0)
	withdraw := NewEvent(alice, news, consent.Withdrawn, t0.Add(time.Minute))
	mustAppend(t, s, give, withdraw)
	q := consent.Query{Subject: alice, Purpose: news, At: t0.Add(time.Second), Current: true}
	wantLatest(t, s, q, withdraw,
		"with q.Current every event counts, whatever its Time: the last appended decides")
	q.Current = false
	wantLatest(t, s, q, give, "without q.Current, events after q.At are left out")
	// Current bounds notices by q.At still.
	n1 := consent.Notice{ID: NoticeID, Version: 2, TextHash: "00", Material: true, Published: t0.Add(time.Hour)}
	if err := s.PutNotice(t.Context(), n1); err != nil {
		t.Fatal(err)
	}
	late := NewEvent(bob, news, consent.Given, t0)
	mustAppend(t, s, late)
	cur := wantLatest(t, s, consent.Query{Subject: bob, Purpose: news, At: t0.Add(time.Second), Current: true}, late,
		"with q.Current the latest event decides")
	if cur.LatestMaterial != 0 {
		t.Errorf("Latest with Current: LatestMaterial = %d, want 0: a notice published after q.At does not count, Current or not", cur.LatestMaterial)
	}
}

func testLatestEqualTimes(t *testing.T, s consent.Store) {
	for i, subject := range []gdpr.SubjectID{alice, bob} {
		a := NewEvent(subject, news, consent.Withdrawn, at(5))
		b := NewEvent(subject, news, consent.Given, at(5))
		lo, hi := orderedIDs()
		first, second := a, b
		if i == 0 {
			first.ID, second.ID = hi, lo // appended in descending ID order
		} else {
			first.ID, second.ID = lo, hi // ascending
		}
		mustAppend(t, s, first, second)
		wantLatest(t, s, consent.Query{Subject: subject, Purpose: news, At: far}, second,
			"of events with equal Time the one appended later (higher Seq) decides, whatever their IDs")
		wantLatest(t, s, consent.Query{Subject: subject, Purpose: news, At: at(5)}, second,
			"of events with equal Time, exactly q.At, the one appended later decides")
		if got := ids(mustEvents(t, s, subject, news)); !slices.Equal(got, []string{first.ID, second.ID}) {
			t.Errorf("Events(%s, %s) with equal times = %v; want %v, in append (Seq) order, whatever the IDs",
				subject, news, got, []string{first.ID, second.ID})
		}
	}
}

func testLatestIgnoresPending(t *testing.T, s consent.Store) {
	given := NewEvent(alice, news, consent.Given, at(0))
	mustAppend(t, s, given, NewEvent(alice, news, consent.Pending, at(5)))
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, At: far}, given,
		"a Pending event never decides, even when it is the latest")

	mustAppend(t, s, NewEvent(bob, news, consent.Pending, at(5)))
	wantLatestNotFound(t, s, consent.Query{Subject: bob, Purpose: news, At: far},
		"the subject's only event is Pending")
}

func testLatestAtOrBefore(t *testing.T, s consent.Store) {
	given := NewEvent(alice, news, consent.Given, at(10))
	withdrawn := NewEvent(alice, news, consent.Withdrawn, at(20))
	mustAppend(t, s, given, withdrawn)
	q := consent.Query{Subject: alice, Purpose: news}

	q.At = at(15)
	wantLatest(t, s, q, given, "events after q.At are ignored")
	q.At = at(20)
	wantLatest(t, s, q, withdrawn, "an event at exactly q.At counts (at or before)")
	q.At = at(20).Add(-time.Microsecond)
	wantLatest(t, s, q, given, "an event a microsecond after q.At is ignored")
	q.At = at(9)
	wantLatestNotFound(t, s, q, "every event is after q.At")
}

func testLatestAtPrecision(t *testing.T, s consent.Store) {
	t0 := at(0)
	given := NewEvent(alice, news, consent.Given, t0)
	withdrawn := NewEvent(alice, news, consent.Withdrawn, t0.Add(time.Microsecond))
	mustAppend(t, s, given, withdrawn)
	q := consent.Query{Subject: alice, Purpose: news}

	q.At = t0.Add(999 * time.Nanosecond)
	wantLatest(t, s, q, given, "an event 1µs after t0 is after a q.At of t0+999ns (do not round q.At up)")
	zone := time.FixedZone("UTC-08:00", -8*3600)
	q.At = t0.Add(time.Microsecond).In(zone)
	wantLatest(t, s, q, withdrawn, "q.At in another zone is the same instant (compare instants, not wall clocks)")
	q.At = t0.Add(-time.Nanosecond).In(zone)
	wantLatestNotFound(t, s, q, "q.At 1ns before the first event, in another zone")
}

func testLatestContact(t *testing.T, s consent.Store) {
	all := NewEvent(alice, news, consent.Given, at(0))
	sms := NewEvent(alice, news, consent.Withdrawn, at(10))
	sms.Contact = consent.SMS
	mustAppend(t, s, all, sms)

	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, Contact: consent.Email, At: far}, all,
		"an all-channel event applies to q.Contact=email; an sms event does not")
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, Contact: consent.SMS, At: far}, sms,
		"an sms event applies to q.Contact=sms")
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, At: far}, sms,
		"an empty q.Contact asks about the purpose as a whole: a withdrawal for one channel applies to it (Event.Applies)")

	email := NewEvent(alice, news, consent.Objected, at(20))
	email.Contact = consent.Email
	mustAppend(t, s, email)
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, Contact: consent.Email, At: far}, email,
		"an email event applies to q.Contact=email")
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, Contact: consent.SMS, At: far}, sms,
		"an email event does not apply to q.Contact=sms")
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, Contact: consent.Push, At: far}, all,
		"events for other channels do not apply to q.Contact=push; the all-channel event does")
	wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, At: far}, email,
		"an objection for one channel applies to an empty q.Contact, and it was appended last")

	only := NewEvent(bob, news, consent.Given, at(0))
	only.Contact = consent.SMS
	mustAppend(t, s, only)
	wantLatest(t, s, consent.Query{Subject: bob, Purpose: news, Contact: consent.SMS, At: far}, only,
		"an sms consent applies to q.Contact=sms")
	wantLatestNotFound(t, s, consent.Query{Subject: bob, Purpose: news, Contact: consent.Email, At: far},
		"the only event is for sms and q.Contact is email")
	wantLatestNotFound(t, s, consent.Query{Subject: bob, Purpose: news, At: far},
		"the only event is a consent for sms, and a consent for one channel does not apply to an empty q.Contact (Event.Applies)")
}

func testLatestChannelDenials(t *testing.T, s consent.Store) {
	// Each kind that denies, recorded for one channel, decides a question
	// about the purpose as a whole; a consent or a pending double opt-in for
	// one channel does not.
	for i, k := range []consent.Kind{consent.Refused, consent.Withdrawn, consent.Expired, consent.Objected} {
		subject := gdpr.SubjectID(fmt.Sprintf("subject-deny-%d", i))
		all := NewEvent(subject, news, consent.Given, at(0))
		deny := NewEvent(subject, news, k, at(1))
		deny.Contact = consent.Push
		mustAppend(t, s, all, deny)
		wantLatest(t, s, consent.Query{Subject: subject, Purpose: news, At: far}, deny,
			fmt.Sprintf("a %s event for one channel applies to an empty q.Contact (Event.Applies)", k))
		wantLatest(t, s, consent.Query{Subject: subject, Purpose: news, Contact: consent.Post, At: far}, all,
			fmt.Sprintf("a %s event for push does not apply to q.Contact=post", k))

		// Consent for one channel after the denial: it allows that
		// channel only, so the purpose as a whole stays denied.
		give := NewEvent(subject, news, consent.Given, at(2))
		give.Contact = consent.Email
		pending := NewEvent(subject, news, consent.Pending, at(3))
		pending.Contact = consent.SMS
		mustAppend(t, s, give, pending)
		wantLatest(t, s, consent.Query{Subject: subject, Purpose: news, At: far}, deny,
			"a Given or Pending event for one channel does not apply to an empty q.Contact")
		wantLatest(t, s, consent.Query{Subject: subject, Purpose: news, Contact: consent.Email, At: far}, give,
			"an email consent applies to q.Contact=email")

		// Consent for every channel after the denial decides everything.
		again := NewEvent(subject, news, consent.Given, at(4))
		mustAppend(t, s, again)
		for _, c := range []consent.Contact{consent.AllContacts, consent.Push, consent.Email} {
			wantLatest(t, s, consent.Query{Subject: subject, Purpose: news, Contact: c, At: far}, again,
				"an all-channel event appended last applies to every q.Contact")
		}
	}
}

// testLatestReference checks Latest against the rule itself on a shuffled
// history: for every query, the event appended last of those that apply to
// q.Contact by consent.Event.Applies, are not Pending and have a Time at or
// before q.At.
func testLatestReference(t *testing.T, s consent.Store) {
	rng := rand.New(rand.NewPCG(7, 11))
	kinds := []consent.Kind{consent.Given, consent.Refused, consent.Withdrawn, consent.Expired, consent.Pending, consent.Objected}
	contacts := []consent.Contact{consent.AllContacts, consent.Email, consent.SMS}
	purposes := []gdpr.Purpose{news, ads}
	var appended []consent.Event
	for range 60 {
		e := NewEvent(alice, purposes[rng.IntN(len(purposes))], kinds[rng.IntN(len(kinds))], at(rng.IntN(20)))
		e.Contact = contacts[rng.IntN(len(contacts))]
		mustAppend(t, s, e)
		appended = append(appended, e)
	}
	for _, p := range purposes {
		for _, c := range append(contacts, consent.Push) {
			for n := -1; n <= 20; n++ {
				q := consent.Query{Subject: alice, Purpose: p, Contact: c, At: at(n)}
				var want *consent.Event
				for i := len(appended) - 1; i >= 0; i-- {
					if e := &appended[i]; e.Purpose == p && e.Kind != consent.Pending && e.Applies(c) && !e.Time.After(q.At) {
						want = e
						break
					}
				}
				if want == nil {
					wantLatestNotFound(t, s, q, "no event for the purpose applies to q.Contact (Event.Applies), is not Pending and has a Time at or before q.At")
				} else {
					wantLatest(t, s, q, *want, "of the events that apply to q.Contact (Event.Applies), are not Pending and have a Time at or before q.At, it was appended last")
				}
			}
		}
	}
}

func testLatestNotFound(t *testing.T, s consent.Store) {
	wantLatestNotFound(t, s, consent.Query{Subject: alice, Purpose: news, At: far}, "the store is empty")

	mustAppend(t, s,
		NewEvent(alice, news, consent.Given, at(10)),
		NewEvent(bob, ads, consent.Given, at(0)),
	)
	wantLatestNotFound(t, s, consent.Query{Subject: carol, Purpose: news, At: far}, "the subject has no events")
	wantLatestNotFound(t, s, consent.Query{Subject: alice, Purpose: ads, At: far}, "the subject has no events for the purpose")
	wantLatestNotFound(t, s, consent.Query{Subject: bob, Purpose: news, At: far}, "another subject's events do not count")
	wantLatestNotFound(t, s, consent.Query{Subject: alice, Purpose: news, At: at(5)}, "the only event is after q.At")
}

func testLatestMaterial(t *testing.T, s consent.Store) {
	notice := func(id string, v int, material bool, published time.Time) consent.Notice {
		return consent.Notice{ID: id, Version: v, TextHash: textHash(fmt.Sprint(id, v)), Language: "en", Material: material, Published: published}
	}
	mustPutNotice(t, s,
		notice("terms", 1, true, at(0)),
		notice("terms", 2, false, at(1)),
		notice("terms", 3, true, at(10)),
		notice("terms", 4, false, at(11)),
		notice("other", 7, true, at(0)),
		notice("editorial", 1, false, at(0)),
	)
	given := NewEvent(alice, news, consent.Given, at(2))
	given.Notice = consent.NoticeRef{ID: "terms", Version: 2, TextHash: textHash("terms2")}
	underOther := NewEvent(alice, ads, consent.Given, at(2))
	underOther.Notice = consent.NoticeRef{ID: "other", Version: 7}
	mustAppend(t, s, given, underOther)

	check := func(q consent.Query, want consent.Event, wantMaterial int, why string) {
		t.Helper()
		cur := wantLatest(t, s, q, want, "the only event for the subject and purpose")
		if cur.Event.ID == want.ID && cur.LatestMaterial != wantMaterial {
			t.Errorf("Latest(%s).LatestMaterial = %d; want %d: %s", fmtQuery(q), cur.LatestMaterial, wantMaterial, why)
		}
	}
	q := consent.Query{Subject: alice, Purpose: news}
	q.At = at(5)
	check(q, given, 1, "version 1 is the highest Material version of the event's notice published by q.At; 2 is not material, 3 not yet published")
	q.At = at(10)
	check(q, given, 3, "version 3, published at exactly q.At, counts, though it came after the event")
	q.At = at(12)
	check(q, given, 3, "version 4 is not material; another notice's version 7 does not count")
	check(consent.Query{Subject: alice, Purpose: ads, At: at(12)}, underOther, 7,
		"the deciding event's own notice decides which versions count")

	unpublished := NewEvent(bob, news, consent.Given, at(2))
	unpublished.Notice = consent.NoticeRef{ID: "never-published", Version: 1}
	editorial := NewEvent(bob, ads, consent.Given, at(2))
	editorial.Notice = consent.NoticeRef{ID: "editorial", Version: 1}
	none := NewEvent(carol, news, consent.Withdrawn, at(2))
	mustAppend(t, s, unpublished, editorial, none)
	check(consent.Query{Subject: bob, Purpose: news, At: far}, unpublished, 0, "the event's notice has no versions")
	check(consent.Query{Subject: bob, Purpose: ads, At: far}, editorial, 0, "the event's notice has no Material version")
	check(consent.Query{Subject: carol, Purpose: news, At: far}, none, 0, "the event references no notice")
}

func testEvents(t *testing.T, s consent.Store) {
	e1 := NewEvent(alice, news, consent.Pending, at(0))
	e2 := NewEvent(alice, ads, consent.Given, at(1))
	e3 := NewEvent(alice, news, consent.Given, at(2))
	e4 := NewEvent(alice, ads, consent.Withdrawn, at(2))
	e5 := NewEvent(alice, news, consent.Withdrawn, at(3))
	other := NewEvent(bob, news, consent.Given, at(1))
	// Appended out of time order: Events follows the appends (Seq).
	mustAppend(t, s, e5, e4, other, e1, e3, e2)

	all := mustEvents(t, s, alice, "")
	if got, want := ids(all), ids([]consent.Event{e5, e4, e1, e3, e2}); !slices.Equal(got, want) {
		t.Errorf(`Events(%s, "") = %v; want %v: every purpose, in Seq (append) order, not Time order`, alice, got, want)
	}
	wantSeqOrder(t, fmt.Sprintf(`Events(%s, "")`, alice), all)
	newsEvs := mustEvents(t, s, alice, news)
	if got, want := ids(newsEvs), ids([]consent.Event{e5, e1, e3}); !slices.Equal(got, want) {
		t.Errorf("Events(%s, %s) = %v; want %v: only that purpose, in Seq (append) order", alice, news, got, want)
	}
	wantSeqOrder(t, fmt.Sprintf("Events(%s, %s)", alice, news), newsEvs)
	if got, want := ids(mustEvents(t, s, alice, ads)), ids([]consent.Event{e4, e2}); !slices.Equal(got, want) {
		t.Errorf("Events(%s, %s) = %v; want %v: only that purpose, in Seq (append) order", alice, ads, got, want)
	}
	if got := mustEvents(t, s, carol, ""); len(got) != 0 {
		t.Errorf(`Events of an unknown subject = %d events; want none and no error`, len(got))
	}
	if got := mustEvents(t, s, alice, "unknown_purpose"); len(got) != 0 {
		t.Errorf(`Events for a purpose without events = %d events; want none and no error`, len(got))
	}
}

func testByteExactKeys(t *testing.T, s consent.Store) {
	ctx := t.Context()
	// Three subjects that a case-insensitive or PAD SPACE collation would
	// take for one; in byte order "Alice" < "alice" < "alice ".
	subjects := []gdpr.SubjectID{"alice ", "Alice", "alice"}
	want := []gdpr.SubjectID{"Alice", "alice", "alice "}
	byID := map[string]gdpr.SubjectID{}
	for i, subj := range subjects {
		e := NewEvent(subj, news, []consent.Kind{consent.Withdrawn, consent.Given, consent.Refused}[i], at(i))
		mustAppend(t, s, e)
		byID[e.ID] = subj
	}
	for _, subj := range subjects {
		evs := mustEvents(t, s, subj, "")
		if len(evs) != 1 || byID[evs[0].ID] != subj || evs[0].Subject != subj {
			t.Errorf("Events(%q) = %d events %v; want the 1 event of exactly that subject: subjects compare byte for byte", subj, len(evs), ids(evs))
		}
		cur, err := s.Latest(ctx, consent.Query{Subject: subj, Purpose: news, At: far})
		if err != nil || byID[cur.Event.ID] != subj {
			t.Errorf("Latest(%q) = event %s of subject %q, %v; want the subject's own event: subjects compare byte for byte",
				subj, cur.Event.ID, byID[cur.Event.ID], err)
		}
	}
	if got, err := s.StaleSubjects(ctx, consent.StaleQuery{Notice: NoticeID, Version: 2, Limit: 10}); err != nil || !slices.Equal(got, want[:1]) {
		t.Errorf("StaleSubjects = %q, %v; want %q, the only subject with a Given event: subjects compare byte for byte", got, err, want[:1])
	}
	// Give the other two a consent too, and page through them.
	for _, subj := range subjects {
		if subj != "Alice" {
			mustAppend(t, s, NewEvent(subj, ads, consent.Given, at(10)))
		}
	}
	got, err := s.StaleSubjects(ctx, consent.StaleQuery{Notice: NoticeID, Version: 2, Limit: 10})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("StaleSubjects = %q, %v; want %q: distinct subjects in byte order, not a collation's", got, err, want)
	}
	got, err = s.StaleSubjects(ctx, consent.StaleQuery{Notice: NoticeID, Version: 2, After: "alice", Limit: 10})
	if err != nil || !slices.Equal(got, want[2:]) {
		t.Errorf(`StaleSubjects(After "alice") = %q, %v; want %q: only subjects greater byte for byte`, got, err, want[2:])
	}
	if n, err := s.DeleteSubject(ctx, "alice"); err != nil || n != 2 {
		t.Errorf(`DeleteSubject("alice") = %d, %v; want 2, nil: that subject's events only, byte for byte`, n, err)
	}
	for _, subj := range []gdpr.SubjectID{"Alice", "alice "} {
		if evs := mustEvents(t, s, subj, ""); len(evs) == 0 {
			t.Errorf(`Events(%q) after DeleteSubject("alice") = none; want its events kept: subjects compare byte for byte`, subj)
		}
	}
}

func testDeleteSubject(t *testing.T, s, other consent.Store) {
	ctx := t.Context()
	mustPutNotice(t, s, consent.Notice{ID: NoticeID, Version: 1, TextHash: textHash("n1"), Material: true, Published: at(-10)})
	p := NewEvent(alice, news, consent.Pending, at(0))
	aliceEvents := []consent.Event{p, confirmation(p), NewEvent(alice, ads, consent.Refused, at(2)), NewEvent(alice, news, consent.Withdrawn, at(3))}
	bobEvents := []consent.Event{NewEvent(bob, news, consent.Given, at(0)), fullEvent(bob, ads, consent.Given, at(1))}
	mustAppend(t, s, aliceEvents...)
	mustAppend(t, s, bobEvents...)

	n, err := s.DeleteSubject(ctx, alice)
	if err != nil || n != int64(len(aliceEvents)) {
		t.Fatalf("DeleteSubject(%s) = %d, %v; want %d, nil: it deletes and counts every event of the subject", alice, n, err, len(aliceEvents))
	}
	// The erasure holds for every instance of the host: read back through
	// the other handle.
	if evs := mustEvents(t, other, alice, ""); len(evs) != 0 {
		t.Errorf("Events(%s) through the other handle after DeleteSubject = %d events; want none", alice, len(evs))
	}
	for _, e := range aliceEvents {
		_, err := other.Event(ctx, e.ID)
		wantErr(t, err, consent.ErrNotFound, fmt.Sprintf("Event(%s) through the other handle of an erased %s event", e.ID, e.Kind))
	}
	wantLatestNotFound(t, other, consent.Query{Subject: alice, Purpose: news, At: far}, "the subject was erased")
	if subj, err := other.StaleSubjects(ctx, consent.StaleQuery{Notice: NoticeID, Version: 2, Limit: 10}); err != nil || slices.Contains(subj, alice) {
		t.Errorf("StaleSubjects through the other handle after DeleteSubject = %v, %v; want the erased subject gone", subj, err)
	}
	if se, ok := other.(consent.StaleEventer); ok {
		if evs, err := se.StaleEvents(ctx, consent.StaleQuery{Notice: NoticeID, Version: 2, Limit: 10}); err != nil || slices.Contains(distinctSubjects(evs), alice) {
			t.Errorf("StaleEvents through the other handle after DeleteSubject = %d events, %v; want the erased subject gone", len(evs), err)
		}
	}

	got := mustEvents(t, other, bob, "")
	if len(got) != len(bobEvents) {
		t.Fatalf("Events(%s) after erasing another subject = %d events; want all %d untouched", bob, len(got), len(bobEvents))
	}
	for i := range got {
		wantEvent(t, fmt.Sprintf("Events(%s)[%d] after erasing another subject", bob, i), got[i], bobEvents[i])
	}
	wantLatest(t, s, consent.Query{Subject: bob, Purpose: news, At: far}, bobEvents[0], "erasing another subject leaves this one")
	if ns, err := s.Notices(ctx, NoticeID); err != nil || len(ns) != 1 {
		t.Errorf("Notices after DeleteSubject = %d notices, %v; want the notice kept: notices are not subject data", len(ns), err)
	}

	if n, err := s.DeleteSubject(ctx, alice); err != nil || n != 0 {
		t.Errorf("DeleteSubject(%s) a second time = %d, %v; want 0, nil: erasure is idempotent", alice, n, err)
	}
	if n, err := s.DeleteSubject(ctx, carol); err != nil || n != 0 {
		t.Errorf("DeleteSubject of an unknown subject = %d, %v; want 0, nil", n, err)
	}
}

func testNotices(t *testing.T, s, other consent.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+01:00", 3600)
	mk := func(v int, material bool, published time.Time) consent.Notice {
		return consent.Notice{
			ID: "privacy", Version: v, TextHash: textHash(fmt.Sprint("privacy", v)), Language: "de-AT",
			URL: fmt.Sprintf("https://example.com/privacy/v%d", v), Material: material, Published: published,
		}
	}
	v1 := mk(1, true, at(0))
	v2 := mk(2, false, time.Date(2025, time.April, 1, 12, 0, 0, 987654321, zone))
	v3 := mk(3, true, at(60*24*90))
	mustPutNotice(t, s, v2, v3, v1)
	cookies := mk(2, true, at(5))
	cookies.ID = "cookies"
	mustPutNotice(t, s, cookies)

	got, err := other.Notices(ctx, "privacy")
	if err != nil {
		t.Fatalf("Notices(privacy) through the other handle: %v; want the 3 versions put through the first", err)
	}
	want := []consent.Notice{v1, v2, v3}
	if len(got) != len(want) {
		t.Fatalf("Notices(privacy) = %d notices; want the %d versions put, and only that ID's", len(got), len(want))
	}
	for i := range want {
		if d := noticeDiff(got[i], want[i]); len(d) > 0 {
			t.Errorf("Notices(privacy)[%d] (want version %d, in ascending Version order):\n\t%s", i, want[i].Version, joinLines(d))
		}
	}

	dup := mk(2, true, at(99))
	dup.TextHash = textHash("other text")
	err = s.PutNotice(ctx, dup)
	wantErr(t, err, consent.ErrConflict, "PutNotice of an existing (ID, Version)")
	dup.URL = "https://example.com/other-instance"
	err = other.PutNotice(ctx, dup)
	wantErr(t, err, consent.ErrConflict, "PutNotice through the other handle of an (ID, Version) put through the first")
	if got, err := s.Notices(ctx, "privacy"); err == nil && len(got) == 3 {
		if d := noticeDiff(got[1], v2); len(d) > 0 {
			t.Errorf("after a rejected duplicate PutNotice, version 2 changed; a conflict writes nothing:\n\t%s", joinLines(d))
		}
	} else {
		t.Errorf("Notices(privacy) after a rejected duplicate = %d notices, %v; want the 3 versions", len(got), err)
	}

	if got, err := s.Notices(ctx, "unknown"); err != nil || len(got) != 0 {
		t.Errorf("Notices of an unknown ID = %d notices, %v; want none and no error", len(got), err)
	}
}

// staleFixture appends the events of the StaleSubjects tests and returns the
// subjects stale below version 3 of notice "terms", for every purpose and
// per purpose.
func staleFixture(t *testing.T, s consent.Store) (all, newsOnly, adsOnly []gdpr.SubjectID) {
	given := func(subject gdpr.SubjectID, purpose gdpr.Purpose, notice string, version int, n int) consent.Event {
		e := NewEvent(subject, purpose, consent.Given, at(n))
		e.Notice = consent.NoticeRef{ID: notice, Version: version}
		return e
	}
	refused := NewEvent("stale-04", news, consent.Refused, at(0))
	refused.Notice = consent.NoticeRef{ID: "terms", Version: 1}
	pending := NewEvent("stale-07", news, consent.Pending, at(0))
	pending.Notice = consent.NoticeRef{ID: "terms", Version: 1}
	mustAppend(t, s,
		given("stale-06", news, "terms", 1, 0), // stale twice over: listed once
		given("stale-06", ads, "terms", 2, 1),
		given("stale-02", news, "terms", 3, 0), // current version
		refused,                                // not a Given event
		given("stale-08", news, "terms", 1, 0), // withdrawn since: still a candidate
		NewEvent("stale-08", news, consent.Withdrawn, at(5)),
		given("stale-05", news, "other", 1, 0), // another notice
		given("stale-01", news, "terms", 1, 0),
		pending, // not a Given event
		given("stale-03", ads, "terms", 2, 0),
	)
	return []gdpr.SubjectID{"stale-01", "stale-03", "stale-06", "stale-08"},
		[]gdpr.SubjectID{"stale-01", "stale-06", "stale-08"},
		[]gdpr.SubjectID{"stale-03", "stale-06"}
}

func testStaleSubjects(t *testing.T, s consent.Store) {
	ctx := t.Context()
	all, newsOnly, adsOnly := staleFixture(t, s)
	for _, c := range []struct {
		q    consent.StaleQuery
		want []gdpr.SubjectID
		why  string
	}{
		{consent.StaleQuery{Notice: "terms", Version: 3, Limit: 100}, all,
			"distinct subjects with a Given event under a version below 3, ascending"},
		{consent.StaleQuery{Notice: "terms", Version: 3, Purpose: news, Limit: 100}, newsOnly,
			"only Given events for the purpose count"},
		{consent.StaleQuery{Notice: "terms", Version: 3, Purpose: ads, Limit: 100}, adsOnly,
			"only Given events for the purpose count"},
		{consent.StaleQuery{Notice: "terms", Version: 2, Limit: 100}, []gdpr.SubjectID{"stale-01", "stale-06", "stale-08"},
			"only versions strictly below q.Version count"},
		{consent.StaleQuery{Notice: "terms", Version: 1, Limit: 100}, nil,
			"no version is below 1"},
		{consent.StaleQuery{Notice: "terms", Version: 3, After: "stale-03", Limit: 100}, all[2:],
			"only subjects strictly greater than q.After"},
		{consent.StaleQuery{Notice: "terms", Version: 3, Limit: 2}, all[:2],
			"at most q.Limit subjects, the first in ascending order"},
		{consent.StaleQuery{Notice: "unknown", Version: 3, Limit: 100}, nil,
			"no event references the notice"},
	} {
		got, err := s.StaleSubjects(ctx, c.q)
		if err != nil {
			t.Errorf("StaleSubjects(%+v): %v; want %v", c.q, err, c.want)
			continue
		}
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("StaleSubjects(%+v) = %v; want %v: %s", c.q, got, c.want, c.why)
		}
	}
}

func testStaleSubjectsPaging(t *testing.T, s consent.Store) {
	ctx := t.Context()
	all, _, _ := staleFixture(t, s)
	for _, limit := range []int{1, 2, 3, len(all), len(all) + 1} {
		var seen []gdpr.SubjectID
		var after gdpr.SubjectID
		for page := 0; ; page++ {
			if page > len(all)+1 {
				t.Fatalf("StaleSubjects paging with Limit %d did not end after %d pages; want an empty or short page at the end", limit, page)
			}
			got, err := s.StaleSubjects(ctx, consent.StaleQuery{Notice: "terms", Version: 3, After: after, Limit: limit})
			if err != nil {
				t.Fatalf("StaleSubjects(After %q, Limit %d): %v", after, limit, err)
			}
			if len(got) > limit {
				t.Errorf("StaleSubjects(Limit %d) returned %d subjects; want at most Limit", limit, len(got))
			}
			if len(got) == 0 {
				break
			}
			seen = append(seen, got...)
			after = got[len(got)-1]
			if len(got) < limit {
				break
			}
		}
		if !slices.Equal(seen, all) {
			t.Errorf("paging StaleSubjects with Limit %d, passing the last subject as After, visited %v; want every stale subject once, ascending: %v", limit, seen, all)
		}
	}
}

// testConcurrentAppends appends from many goroutines, half of them through
// each handle, across subjects and purposes.
func testConcurrentAppends(t *testing.T, s, other consent.Store) {
	const goroutines, perGoroutine = 16, 50
	handles := [2]consent.Store{s, other}
	subjects := []gdpr.SubjectID{alice, bob, carol, "subject-dave"}
	purposes := []gdpr.Purpose{news, ads}
	ctx := t.Context()

	var wg sync.WaitGroup
	start := make(chan struct{})
	appended := make([][]string, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range perGoroutine {
				kind := []consent.Kind{consent.Given, consent.Withdrawn, consent.Refused}[j%3]
				// Equal times across goroutines: the order is the Seq the
				// Store gives each append.
				e := NewEvent(subjects[(g+j)%len(subjects)], purposes[j%len(purposes)], kind, at(j))
				if err := handles[g%2].Append(ctx, e); err != nil {
					t.Errorf("concurrent Append of a new event (goroutine %d, handle %d, #%d): %v; want nil", g, g%2, j, err)
					return
				}
				appended[g] = append(appended[g], e.ID)
			}
		}()
	}
	close(start)
	wg.Wait()

	want := map[string]bool{}
	for _, g := range appended {
		for _, id := range g {
			want[id] = true
		}
	}
	got := map[string]bool{}
	seqs := map[int64]string{}
	for i, subj := range subjects {
		// Read back through both handles in turn: each sees every append.
		evs := mustEvents(t, handles[i%2], subj, "")
		wantSeqOrder(t, fmt.Sprintf("Events(%s) after concurrent appends", subj), evs)
		for _, e := range evs {
			if got[e.ID] {
				t.Errorf("Events(%s) returned event %s twice", subj, e.ID)
			}
			got[e.ID] = true
			if other, dup := seqs[e.Seq]; dup {
				t.Errorf("events %s and %s have the same Seq %d after concurrent appends; want a distinct Seq per append", other, e.ID, e.Seq)
			}
			seqs[e.Seq] = e.ID
		}
	}
	// Each goroutine's appends happened one after another, so their Seqs
	// increase in that order.
	for g, evIDs := range appended {
		var prev int64
		for j, id := range evIDs {
			e, err := handles[(g+1)%2].Event(ctx, id)
			if err != nil {
				t.Fatalf("Event(%s): %v; want the appended event", id, err)
			}
			if j > 0 && e.Seq <= prev {
				t.Errorf("goroutine %d's append #%d got Seq %d after its append #%d got %d; want each append's Seq greater than every earlier append's",
					g, j, e.Seq, j-1, prev)
				break
			}
			prev = e.Seq
		}
	}
	if len(want) != goroutines*perGoroutine {
		t.Fatalf("%d of %d concurrent appends succeeded; want all", len(want), goroutines*perGoroutine)
	}
	missing := 0
	for id := range want {
		if !got[id] {
			missing++
		}
	}
	if missing > 0 || len(got) != len(want) {
		t.Errorf("after %d concurrent appends, Events returned %d events with %d missing; want every appended event exactly once",
			len(want), len(got), missing)
	}
}

// testConcurrentConfirmations races confirmations of one pending event,
// half of them through each handle: the same link clicked twice and
// handled by two instances of the host.
func testConcurrentConfirmations(t *testing.T, s, other consent.Store) {
	const goroutines = 16
	handles := [2]consent.Store{s, other}
	ctx := t.Context()
	p := NewEvent(alice, news, consent.Pending, at(0))
	mustAppend(t, s, p)

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, goroutines)
	evs := make([]consent.Event, goroutines)
	for g := range goroutines {
		evs[g] = confirmation(p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[g] = handles[g%2].Append(ctx, evs[g])
		}()
	}
	close(start)
	wg.Wait()

	var winner string
	wins := 0
	for g, err := range errs {
		switch {
		case err == nil:
			wins++
			winner = evs[g].ID
		case !errors.Is(err, consent.ErrConflict):
			t.Errorf("a losing concurrent confirmation (handle %d) returned %v; want an error wrapping consent.ErrConflict", g%2, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d goroutines racing through two handles to confirm one pending event: %d succeeded; want exactly 1, the rest ErrConflict (at most one confirmation per pending event)", goroutines, wins)
	}
	for i, h := range handles {
		var confirming []string
		for _, e := range mustEvents(t, h, alice, news) {
			if e.Confirms == p.ID {
				confirming = append(confirming, e.ID)
			}
		}
		if len(confirming) != 1 || confirming[0] != winner {
			t.Errorf("events confirming the pending event after the race, read through handle %d = %v; want only the winner [%s]: a losing Append writes nothing", i, confirming, winner)
		}
	}
	for g, e := range evs {
		if errs[g] != nil {
			if _, err := other.Event(ctx, e.ID); !errors.Is(err, consent.ErrNotFound) {
				t.Errorf("Event(%s) of a confirmation that lost the race: %v; want ErrNotFound: nothing is written on conflict", e.ID, err)
			}
		}
	}
}
