package consenttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/internal/suite"
)

// The subtests in this file check what two instances of a host, each with
// its own handle on one storage, see of each other: first one after the
// other (SharedStorage), then at once, from many goroutines on both handles
// (Race*). For an in-memory store both handles are one value, and the races
// are between goroutines.

// sharedHint is what a failure of SharedStorage most likely means.
const sharedHint = "newStore must return two handles on one storage " +
	"(two Stores on two connection pools to the same database; an in-memory store twice)"

// testSharedStorage checks that what one handle writes, the other reads,
// and that the order of appends is one order across both.
func testSharedStorage(t *testing.T, s, other consent.Store) {
	ctx := t.Context()
	handles := [2]consent.Store{s, other}

	given := fullEvent(alice, news, consent.Given, at(0))
	mustAppend(t, s, cloneEvent(given))
	got, err := other.Event(ctx, given.ID)
	if err != nil {
		t.Fatalf("Event(%s) through the other handle, of an event appended through the first: %v; want the event: %s", given.ID, err, sharedHint)
	}
	wantEvent(t, "Event through the other handle", got, given)
	if evs := mustEvents(t, other, alice, ""); len(evs) != 1 || evs[0].ID != given.ID {
		t.Errorf("Events(%s) through the other handle = %v; want [%s], appended through the first: %s", alice, ids(evs), given.ID, sharedHint)
	}
	wantLatest(t, other, consent.Query{Subject: alice, Purpose: news, Contact: consent.Email, At: far}, given,
		"appended through the first handle, read through the other")

	mustPutNotice(t, other, consent.Notice{ID: given.Notice.ID, Version: given.Notice.Version, TextHash: given.Notice.TextHash,
		Material: true, Published: at(-10)})
	if ns, err := s.Notices(ctx, given.Notice.ID); err != nil || len(ns) != 1 {
		t.Errorf("Notices(%s) through the first handle = %d notices, %v; want the 1 put through the other: %s", given.Notice.ID, len(ns), err, sharedHint)
	}
	cur := wantLatest(t, s, consent.Query{Subject: alice, Purpose: news, Contact: consent.Email, At: far}, given, "the only event")
	if cur.LatestMaterial != given.Notice.Version {
		t.Errorf("Latest through the first handle: LatestMaterial = %d; want %d, the material version put through the other: %s",
			cur.LatestMaterial, given.Notice.Version, sharedHint)
	}

	// Appends that alternate between the handles, each begun after the one
	// before returned: one order, whichever instance appended.
	var appended []consent.Event
	var prev int64
	for i := range 10 {
		e := NewEvent(bob, news, []consent.Kind{consent.Given, consent.Withdrawn}[i%2], at(0))
		mustAppend(t, handles[i%2], e)
		appended = append(appended, e)
		g, err := handles[(i+1)%2].Event(ctx, e.ID)
		if err != nil {
			t.Fatalf("Event(%s) through handle %d, of an event appended through handle %d: %v; want the event: %s", e.ID, (i+1)%2, i%2, err, sharedHint)
		}
		if i > 0 && g.Seq <= prev {
			t.Errorf("append #%d (through handle %d) got Seq %d after append #%d (through the other handle) got %d; "+
				"want a Seq greater than that of every event appended before it, whichever instance appended it", i, i%2, g.Seq, i-1, prev)
		}
		prev = g.Seq
	}
	for i, h := range handles {
		if got, want := ids(mustEvents(t, h, bob, news)), ids(appended); !slices.Equal(got, want) {
			t.Errorf("Events(%s, %s) through handle %d = %v; want %v, in the order of the appends through both handles", bob, news, i, got, want)
		}
		wantLatest(t, h, consent.Query{Subject: bob, Purpose: news, At: far}, appended[len(appended)-1],
			"the event appended last, through whichever handle, decides")
	}

	if n, err := other.DeleteSubject(ctx, alice); err != nil || n != 1 {
		t.Errorf("DeleteSubject(%s) through the other handle = %d, %v; want 1, nil: the event appended through the first: %s", alice, n, err, sharedHint)
	}
	_, err = s.Event(ctx, given.ID)
	wantErr(t, err, consent.ErrNotFound, "Event through the first handle of an event erased through the other")
	if evs := mustEvents(t, s, alice, ""); len(evs) != 0 {
		t.Errorf("Events(%s) through the first handle after DeleteSubject through the other = %d events; want none", alice, len(evs))
	}
}

// race runs fn(g, handle) in n goroutines released at once, goroutine g on
// handle g%2 (s for even g, other for odd), and waits for them all
// (suite.Race: bounded by suite.RaceTimeout).
func race(t *testing.T, n int, s, other consent.Store, fn func(g int, h consent.Store)) {
	t.Helper()
	suite.Race(t, n, s, other, func(_ context.Context, g int, h consent.Store) error { fn(g, h); return nil })
}

// testRaceAppendOneSeries appends events for one subject and purpose from
// many goroutines on both handles at once, all with the same Time: every
// append succeeds, and both handles then agree on one total order, in which
// every event appears once with a Seq of its own, each goroutine's events
// in the order it appended them, and the last decides.
func testRaceAppendOneSeries(t *testing.T, s, other consent.Store) {
	const goroutines, perGoroutine = 16, 20
	ctx := t.Context()
	kinds := []consent.Kind{consent.Given, consent.Withdrawn, consent.Refused, consent.Objected}
	appended := make([][]string, goroutines)
	race(t, goroutines, s, other, func(g int, h consent.Store) {
		for j := range perGoroutine {
			e := NewEvent(alice, news, kinds[(g+j)%len(kinds)], at(0))
			if err := h.Append(ctx, e); err != nil {
				t.Errorf("Append of a new event for one subject and purpose, racing from both handles (goroutine %d, #%d): %v; want nil", g, j, err)
				return
			}
			appended[g] = append(appended[g], e.ID)
		}
	})
	if t.Failed() {
		return
	}

	evsS := mustEvents(t, s, alice, news)
	evsO := mustEvents(t, other, alice, news)
	if !slices.Equal(ids(evsS), ids(evsO)) {
		t.Fatalf("after racing appends, Events(%s, %s) through the two handles differ (%d and %d events); want one order both instances see", alice, news, len(evsS), len(evsO))
	}
	for i := range evsS {
		if evsS[i].Seq != evsO[i].Seq {
			t.Errorf("event %s has Seq %d through one handle and %d through the other; want one Seq per event", evsS[i].ID, evsS[i].Seq, evsO[i].Seq)
			break
		}
	}
	wantSeqOrder(t, fmt.Sprintf("Events(%s, %s) after racing appends from both handles", alice, news), evsS)

	pos := map[string]int{}
	for i, e := range evsS {
		if _, dup := pos[e.ID]; dup {
			t.Errorf("Events returned event %s twice after racing appends", e.ID)
		}
		pos[e.ID] = i
	}
	missing := 0
	for _, g := range appended {
		for _, id := range g {
			if _, ok := pos[id]; !ok {
				missing++
			}
		}
	}
	if missing > 0 || len(evsS) != goroutines*perGoroutine {
		t.Errorf("after %d racing appends from both handles, Events returned %d events, %d of the appended missing; want each exactly once",
			goroutines*perGoroutine, len(evsS), missing)
	}
	for g, evIDs := range appended {
		for j := 1; j < len(evIDs); j++ {
			if pos[evIDs[j]] < pos[evIDs[j-1]] {
				t.Errorf("goroutine %d's append #%d comes before its append #%d in Seq order; want each append after every append that returned before it began", g, j, j-1)
				break
			}
		}
	}
	if len(evsS) > 0 {
		last := evsS[len(evsS)-1]
		for i, h := range []consent.Store{s, other} {
			cur, err := h.Latest(ctx, consent.Query{Subject: alice, Purpose: news, At: far})
			if err != nil || cur.Event.ID != last.ID {
				t.Errorf("Latest through handle %d after racing appends = event %s, %v; want %s, the event with the highest Seq", i, cur.Event.ID, err, last.ID)
			}
		}
	}
}

// testRaceDuplicateID appends events with one ID and different contents
// from many goroutines on both handles at once, several rounds: in each,
// exactly one succeeds, the others get ErrConflict, and the stored event is
// the winner's, whole; no loser's event is anywhere.
func testRaceDuplicateID(t *testing.T, s, other consent.Store) {
	const rounds, goroutines = 5, 8
	ctx := t.Context()
	kinds := []consent.Kind{consent.Given, consent.Withdrawn, consent.Refused, consent.Expired}
	for r := range rounds {
		id := NewID()
		evs := make([]consent.Event, goroutines)
		for g := range evs {
			e := fullEvent(gdpr.SubjectID(fmt.Sprintf("subject-dup-%d-%d", r, g)), news, kinds[g%len(kinds)], at(g))
			e.ID = id
			e.Channel = fmt.Sprintf("instance-%d", g)
			evs[g] = e
		}
		errs := make([]error, goroutines)
		race(t, goroutines, s, other, func(g int, h consent.Store) { errs[g] = h.Append(ctx, cloneEvent(evs[g])) })

		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: Appends of one event ID by goroutines %d and %d both succeeded; want exactly one, the rest ErrConflict (event IDs are unique)", r, winner, g)
			case err == nil:
				winner = g
			case !errors.Is(err, consent.ErrConflict):
				t.Errorf("round %d: a losing Append of a duplicate ID (handle %d) returned %v; want an error wrapping consent.ErrConflict", r, g%2, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: %d Appends of one new event ID racing from both handles: none succeeded; want exactly one", r, goroutines)
		}
		for i, h := range []consent.Store{s, other} {
			got, err := h.Event(ctx, id)
			if err != nil {
				t.Errorf("round %d: Event(%s) through handle %d: %v; want the winner's event", r, id, i, err)
				continue
			}
			if d := eventDiff(got, stored(evs[winner])); len(d) > 0 {
				t.Errorf("round %d: Event(%s) through handle %d is not the winning Append's event, whole; a losing Append writes nothing:\n\t%s", r, id, i, joinLines(d))
			}
		}
		for g, e := range evs {
			if g == winner {
				continue
			}
			if got := mustEvents(t, other, e.Subject, ""); len(got) != 0 {
				t.Errorf("round %d: Events of the subject of a losing Append = %d events; want none: a losing Append writes nothing", r, len(got))
			}
		}
	}
}

// testRacePutNotice puts one notice version with different contents from
// many goroutines on both handles at once, for several versions: for each,
// exactly one PutNotice succeeds, the others get ErrConflict, and Notices
// returns the winner's version, every field of it, through both handles.
func testRacePutNotice(t *testing.T, s, other consent.Store) {
	const versions, goroutines = 5, 8
	ctx := t.Context()
	var want []consent.Notice
	for v := 1; v <= versions; v++ {
		ns := make([]consent.Notice, goroutines)
		for g := range ns {
			ns[g] = consent.Notice{
				ID: "race-notice", Version: v, TextHash: textHash(fmt.Sprintf("text %d of instance %d", v, g)),
				Language: []string{"en", "de-AT", "fr", "pt-BR"}[g%4], URL: fmt.Sprintf("https://example.com/%d/v%d", g, v),
				Material: g%2 == 0, Published: at(v*10 + g),
			}
		}
		errs := make([]error, goroutines)
		race(t, goroutines, s, other, func(g int, h consent.Store) { errs[g] = h.PutNotice(ctx, ns[g]) })

		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("version %d: PutNotice by goroutines %d and %d both succeeded; want exactly one, the rest ErrConflict ((ID, Version) is unique)", v, winner, g)
			case err == nil:
				winner = g
			case !errors.Is(err, consent.ErrConflict):
				t.Errorf("version %d: a losing PutNotice (handle %d) returned %v; want an error wrapping consent.ErrConflict", v, g%2, err)
			}
		}
		if winner < 0 {
			t.Fatalf("version %d: %d PutNotice of one new version racing from both handles: none succeeded; want exactly one", v, goroutines)
		}
		want = append(want, ns[winner])
	}
	for i, h := range []consent.Store{s, other} {
		got, err := h.Notices(ctx, "race-notice")
		if err != nil || len(got) != len(want) {
			t.Errorf("Notices through handle %d after racing PutNotice = %d notices, %v; want %d, one per version", i, len(got), err, len(want))
			continue
		}
		for j := range want {
			if d := noticeDiff(got[j], want[j]); len(d) > 0 {
				t.Errorf("Notices through handle %d: version %d is not the winning PutNotice's, whole; a losing PutNotice writes nothing:\n\t%s", i, want[j].Version, joinLines(d))
			}
		}
	}
}

// testRaceDeleteSubjectAppend erases a subject again and again through
// alternating handles while goroutines on both handles append events for
// that subject and a bystander.
//
// The Store contract does not order a DeleteSubject against an Append that
// runs at the same time: such an event may be deleted or may survive (a SQL
// DELETE under READ COMMITTED keeps a row committed after its statement
// began). The subtest assumes only what follows from DeleteSubject deleting
// "every event of subject" and returning "how many it deleted": every event
// whose Append returned before DeleteSubject was called is gone when it
// returns; each event is counted by at most one DeleteSubject, so the counts
// and the events left add up to the events appended; and no other
// subject's event is touched.
func testRaceDeleteSubjectAppend(t *testing.T, s, other consent.Store) {
	const appenders, perAppender, deletes = 4, 30, 8
	ctx := t.Context()
	handles := [2]consent.Store{s, other}

	var mu sync.Mutex
	var done []string // IDs of alice's events whose Append returned, in that order
	var bystanders []string
	finished := make(chan struct{})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range perAppender {
				e := NewEvent(alice, []gdpr.Purpose{news, ads}[j%2], []consent.Kind{consent.Given, consent.Withdrawn}[(g+j)%2], at(j))
				if err := handles[g%2].Append(ctx, e); err != nil {
					t.Errorf("Append of a new event (goroutine %d, #%d) racing DeleteSubject of its subject: %v; want nil", g, j, err)
					return
				}
				mu.Lock()
				done = append(done, e.ID)
				mu.Unlock()
				if j%3 == 0 {
					b := NewEvent(bob, news, consent.Given, at(j))
					if err := handles[(g+1)%2].Append(ctx, b); err != nil {
						t.Errorf("Append of a bystander's event racing DeleteSubject: %v; want nil", err)
						return
					}
					mu.Lock()
					bystanders = append(bystanders, b.ID)
					mu.Unlock()
				}
			}
		}()
	}
	go func() { wg.Wait(); close(finished) }()
	close(start)

	var deleted int64
	total := appenders * perAppender
	for d := range deletes {
		// Spread the deletes over the appends: wait for the next share of
		// them to return, or for the appenders to finish.
		for waiting := true; waiting; {
			mu.Lock()
			waiting = len(done) < (d+1)*total/(deletes+1)
			mu.Unlock()
			if waiting {
				select {
				case <-finished:
					waiting = false
				case <-time.After(200 * time.Microsecond):
				}
			}
		}
		mu.Lock()
		before := slices.Clone(done)
		mu.Unlock()
		h, reader := handles[d%2], handles[(d+1)%2]
		n, err := h.DeleteSubject(ctx, alice)
		if err != nil {
			t.Errorf("DeleteSubject(%s) #%d (handle %d) racing Appends: %v; want nil", alice, d, d%2, err)
			continue
		}
		deleted += n
		left := map[string]bool{}
		for _, e := range mustEvents(t, reader, alice, "") {
			left[e.ID] = true
		}
		for _, id := range before {
			if left[id] {
				t.Errorf("event %s, whose Append returned before DeleteSubject #%d was called, survived it (read through the other handle); "+
					"want every event of the subject stored when DeleteSubject begins deleted", id, d)
				break
			}
		}
	}
	<-finished
	if t.Failed() {
		return
	}

	mu.Lock()
	appended := slices.Clone(done)
	mu.Unlock()
	left := mustEvents(t, s, alice, "")
	if deleted+int64(len(left)) != int64(len(appended)) {
		t.Errorf("after %d Appends racing %d DeleteSubject calls, the calls counted %d deleted and %d events are left; want the two to add up to %d: "+
			"DeleteSubject returns how many events it deleted, and each event is either deleted once or left", len(appended), deletes, deleted, len(left), len(appended))
	}
	known := map[string]bool{}
	for _, id := range appended {
		known[id] = true
	}
	for _, e := range left {
		if !known[e.ID] {
			t.Errorf("event %s left after the race was never appended", e.ID)
		}
	}
	if n, err := other.DeleteSubject(ctx, alice); err != nil || n != int64(len(left)) {
		t.Errorf("a last DeleteSubject(%s) after the race = %d, %v; want %d, nil: the events left", alice, n, err, len(left))
	}
	if evs := mustEvents(t, s, alice, ""); len(evs) != 0 {
		t.Errorf("Events(%s) after the last DeleteSubject = %d events; want none", alice, len(evs))
	}
	got := ids(mustEvents(t, other, bob, ""))
	slices.Sort(got)
	slices.Sort(bystanders)
	if !slices.Equal(got, bystanders) {
		t.Errorf("Events(%s) of a bystander after the race = %d events; want exactly the %d appended: DeleteSubject touches only its subject", bob, len(got), len(bystanders))
	}
}

// testRaceLatestSeesReturnedAppends appends alternating consents and
// withdrawals for one subject and purpose through one handle, one after
// the other, while goroutines on both handles ask Latest at the same time.
// Every answer is at least the event whose Append last returned before
// Latest was called (a withdrawal counts for every instance as soon as it
// is recorded), and an instance's successive answers never go back in the
// ledger's order.
func testRaceLatestSeesReturnedAppends(t *testing.T, s, other consent.Store) {
	const appends, readers, maxReads = 100, 6, 400
	ctx := t.Context()
	evs := make([]consent.Event, appends)
	index := map[string]int{}
	for i := range evs {
		evs[i] = NewEvent(alice, news, []consent.Kind{consent.Given, consent.Withdrawn}[i%2], at(0))
		index[evs[i].ID] = i
	}
	var returned atomic.Int64 // index of the last event whose Append returned; -1 for none
	returned.Store(-1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for i, e := range evs {
			if err := s.Append(ctx, e); err != nil {
				t.Errorf("Append #%d racing Latest: %v; want nil", i, err)
				return
			}
			returned.Store(int64(i))
		}
	}()
	q := consent.Query{Subject: alice, Purpose: news, At: far}
	race(t, readers, s, other, func(g int, h consent.Store) {
		last := -1
		for range maxReads {
			select {
			case <-finished:
				return
			default:
			}
			floor := int(returned.Load())
			cur, err := h.Latest(ctx, q)
			if errors.Is(err, consent.ErrNotFound) && floor < 0 {
				continue
			}
			if err != nil {
				t.Errorf("Latest (handle %d) racing Appends, after append #%d returned: %v; want that event or a later one", g%2, floor, err)
				return
			}
			i, ok := index[cur.Event.ID]
			switch {
			case !ok:
				t.Errorf("Latest (handle %d) racing Appends returned event %s, which was never appended", g%2, cur.Event.ID)
				return
			case i < floor:
				t.Errorf("Latest (handle %d) returned append #%d after append #%d had returned; want #%d or later: an event counts for every instance once its Append returns",
					g%2, i, floor, floor)
				return
			case i < last:
				t.Errorf("Latest (handle %d) returned append #%d after it had returned append #%d; want answers that never go back in the ledger's order", g%2, i, last)
				return
			}
			last = i
		}
	})
	<-finished
	if t.Failed() {
		return
	}
	wantLatest(t, other, q, evs[len(evs)-1], "the last of the appends, read through the other handle")
}
