package consenttest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
)

// The subtests in this file check the audit outbox (consent.AuditOutbox):
// every Append leaves a marker, due consent.AuditGrace after the event's
// Time, that ClaimAudit hands out once per claim and ClearAudit removes;
// DeleteSubject removes the markers of what it deletes. Markers written
// through one handle are claimed and cleared through the other, as two
// instances of a host drain one outbox.

// claim calls ClaimAudit and fails t on an error.
func claim(t *testing.T, s consent.Store, now, until time.Time, limit int) []consent.Event {
	t.Helper()
	evs, err := s.ClaimAudit(t.Context(), consent.AuditClaim{Now: now, Until: until, Limit: limit})
	if err != nil {
		t.Fatalf("ClaimAudit(now %s, until %s, limit %d): %v; want nil", now.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano), limit, err)
	}
	return evs
}

func clearAudit(t *testing.T, s consent.Store, id string) {
	t.Helper()
	if err := s.ClearAudit(t.Context(), id); err != nil {
		t.Fatalf("ClearAudit(%s): %v; want nil", id, err)
	}
}

// testOutboxMarksAppends: an appended event's marker is due AuditGrace
// after its Time, not before; a claim hands it out whole, through the
// other handle too, and makes it due again at Until; ClearAudit removes
// it; a refused Append leaves no marker.
func testOutboxMarksAppends(t *testing.T, s, other consent.Store) {
	e := fullEvent(alice, news, consent.Given, at(0))
	mustAppend(t, s, cloneEvent(e))
	due := stored(e).Time.Add(consent.AuditGrace)

	if got := claim(t, other, due.Add(-time.Microsecond), far, 10); len(got) != 0 {
		t.Errorf("ClaimAudit a microsecond before the marker is due (the event's Time plus AuditGrace) returned %v; want none: "+
			"the appending Ledger has AuditGrace to record the event itself", ids(got))
	}
	until := due.Add(time.Hour)
	got := claim(t, other, due, until, 10)
	if len(got) != 1 {
		t.Fatalf("ClaimAudit through the other handle, at the marker's due time, returned %v; want [%s], appended through the first: "+
			"Append writes an audit marker with the event, due at its Time plus AuditGrace", ids(got), e.ID)
	}
	wantEvent(t, "ClaimAudit", got[0], e)
	if got[0].Seq == 0 {
		t.Errorf("ClaimAudit returned an event with Seq 0; want the Seq the Store gave it")
	}
	for _, h := range []consent.Store{s, other} {
		if again := claim(t, h, due, far, 10); len(again) != 0 {
			t.Errorf("a second ClaimAudit before the first claim's Until returned %v; want none: a claimed marker is due again at Until, not before", ids(again))
		}
	}
	if again := claim(t, s, until, until.Add(time.Hour), 10); len(again) != 1 || again[0].ID != e.ID {
		t.Errorf("ClaimAudit at the first claim's Until returned %v; want [%s]: a claim that was not cleared lapses then", ids(again), e.ID)
	}
	clearAudit(t, s, e.ID)
	if left := claim(t, other, far, far.Add(time.Hour), 10); len(left) != 0 {
		t.Errorf("ClaimAudit after ClearAudit returned %v; want none", ids(left))
	}
	clearAudit(t, other, e.ID) // again: nothing to clear is no error
	clearAudit(t, other, NewID())

	// A refused append (a duplicate ID) writes no second marker.
	if err := s.Append(t.Context(), cloneEvent(e)); err == nil {
		t.Fatalf("Append of a duplicate ID: nil error")
	}
	if left := claim(t, other, far, far.Add(time.Hour), 10); len(left) != 0 {
		t.Errorf("ClaimAudit after a refused duplicate Append returned %v; want none: an Append that fails writes no marker", ids(left))
	}
	// Every kind of event gets a marker.
	p := NewEvent(bob, news, consent.Pending, at(1))
	mustAppend(t, s, p, confirmation(p), NewEvent(bob, news, consent.Objected, at(3)))
	if got := claim(t, other, far, far.Add(time.Hour), 10); len(got) != 3 {
		t.Errorf("ClaimAudit after appending a pending event, its confirmation and an objection returned %d events; want 3", len(got))
	}
}

// testOutboxOrderAndLimit: a claim takes at most Limit markers, the
// earliest due first, and returns them in Seq order.
func testOutboxOrderAndLimit(t *testing.T, s, other consent.Store) {
	var appended []consent.Event
	for i, subj := range []gdpr.SubjectID{alice, bob, carol, alice, bob} {
		e := NewEvent(subj, news, consent.Given, at(i))
		mustAppend(t, []consent.Store{s, other}[i%2], e)
		appended = append(appended, e)
	}
	// A late-stamped event is due last, whatever its Seq.
	late := NewEvent(carol, ads, consent.Withdrawn, at(60))
	mustAppend(t, s, late)

	until := far.Add(time.Hour)
	var seen []consent.Event
	for page := 0; page < 3; page++ {
		got := claim(t, []consent.Store{other, s}[page%2], at(5).Add(consent.AuditGrace), until, 2)
		if want := min(2, 5-2*page); len(got) != want {
			t.Fatalf("ClaimAudit page %d with Limit 2 returned %d events; want %d", page, len(got), want)
		}
		wantSeqOrder(t, fmt.Sprintf("ClaimAudit page %d", page), got)
		seen = append(seen, got...)
	}
	if want := ids(appended); !slices.Equal(ids(seen), want) {
		t.Errorf("ClaimAudit pages returned %v; want %v: the markers due earliest first (all but the late-stamped event's)", ids(seen), want)
	}
	if got := claim(t, other, at(60).Add(consent.AuditGrace), until, 10); len(got) != 1 || got[0].ID != late.ID {
		t.Errorf("ClaimAudit once the late-stamped event's marker is due returned %v; want [%s]", ids(got), late.ID)
	}
}

// testOutboxDeleteSubject: DeleteSubject removes the markers of the
// events it deletes, and counts events only.
func testOutboxDeleteSubject(t *testing.T, s, other consent.Store) {
	a1, a2 := NewEvent(alice, news, consent.Given, at(0)), NewEvent(alice, ads, consent.Withdrawn, at(1))
	b := NewEvent(bob, news, consent.Given, at(2))
	mustAppend(t, s, a1, a2, b)
	n, err := other.DeleteSubject(t.Context(), alice)
	if err != nil || n != 2 {
		t.Fatalf("DeleteSubject(%s) through the other handle = %d, %v; want 2, nil: its two events (markers are not counted)", alice, n, err)
	}
	got := claim(t, s, far, far.Add(time.Hour), 10)
	if len(got) != 1 || got[0].ID != b.ID {
		t.Errorf("ClaimAudit after DeleteSubject(%s) returned %v; want only the bystander's [%s]: "+
			"an erased event's audit record must never be made afterwards, it would link the subject again", alice, ids(got), b.ID)
	}
}

// testRaceClaimAudit: claims racing from many goroutines on both handles
// hand out every due marker exactly once.
func testRaceClaimAudit(t *testing.T, s, other consent.Store) {
	const events, goroutines = 60, 8
	var want []string
	for i := range events {
		e := NewEvent(gdpr.SubjectID(fmt.Sprintf("subject-%02d", i%7)), news, consent.Given, at(i%5))
		mustAppend(t, []consent.Store{s, other}[i%2], e)
		want = append(want, e.ID)
	}
	var mu sync.Mutex
	got := map[string]int{}
	until := far.Add(24 * time.Hour)
	race(t, goroutines, s, other, func(g int, h consent.Store) {
		for {
			evs, err := h.ClaimAudit(t.Context(), consent.AuditClaim{Now: far, Until: until, Limit: 3})
			if err != nil {
				t.Errorf("ClaimAudit racing from both handles (goroutine %d): %v; want nil", g, err)
				return
			}
			if len(evs) == 0 {
				return
			}
			mu.Lock()
			for _, e := range evs {
				got[e.ID]++
			}
			mu.Unlock()
		}
	})
	for _, id := range want {
		switch got[id] {
		case 1:
		case 0:
			t.Errorf("racing claims never handed out the marker of event %s; want every due marker claimed once", id)
		default:
			t.Errorf("racing claims handed out the marker of event %s %d times before its Until; want once: "+
				"two instances draining at once must get disjoint events", id, got[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("racing claims handed out %d distinct events; want the %d appended", len(got), len(want))
	}
}

// testRaceClaimClear: markers cleared while others are claimed are never
// handed out after the clear returned.
func testRaceClaimClear(t *testing.T, s, other consent.Store) {
	const events = 40
	var evs []consent.Event
	for range events {
		e := NewEvent(alice, news, consent.Given, at(0))
		mustAppend(t, s, e)
		evs = append(evs, e)
	}
	var mu sync.Mutex
	cleared := map[string]bool{}
	race(t, 4, s, other, func(g int, h consent.Store) {
		if g%2 == 0 {
			for i := g / 2; i < events; i += 2 {
				if err := h.ClearAudit(context.WithoutCancel(t.Context()), evs[i].ID); err != nil {
					t.Errorf("ClearAudit racing claims: %v", err)
					return
				}
				mu.Lock()
				cleared[evs[i].ID] = true
				mu.Unlock()
			}
			return
		}
		for range 10 {
			if _, err := h.ClaimAudit(t.Context(), consent.AuditClaim{Now: far, Until: far, Limit: 5}); err != nil {
				t.Errorf("ClaimAudit racing clears: %v", err)
				return
			}
		}
	})
	if left := claim(t, other, far.Add(time.Hour), far.Add(2*time.Hour), events); len(left) != 0 {
		t.Errorf("after every marker was cleared, ClaimAudit returned %v; want none", ids(left))
	}
	if len(cleared) != events {
		t.Errorf("%d markers cleared; want %d", len(cleared), events)
	}
}
