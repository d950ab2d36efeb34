package erasuretest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/suite"
)

// RunJournalTests runs the conformance suite of erasure.Journal against
// the journals newJournal makes, one subtest per behaviour, as
// RunStoreTests does: newJournal returns two handles on one fresh, empty
// journal (an in-memory journal returns itself twice; a file journal two
// values over one file, if it supports that).
//
// The subtests: SharedStorage, AppendMatch (every field, times to the
// microsecond in UTC), AppendIdempotent (an entry whose RequestID is
// stored already changes nothing), MatchOrder (by Completed, then
// RequestID, over several refs), MatchNone, TargetsNotAliased, and
// RaceAppend (racing Appends of one RequestID keep one entry, of distinct
// ones every entry).
func RunJournalTests(t *testing.T, newJournal func(t *testing.T) (j, other erasure.Journal)) {
	tests := []suite.Test[erasure.Journal]{
		{"SharedStorage", testJournalShared},
		{"AppendMatch", suite.One(testJournalRoundTrip)},
		{"AppendIdempotent", suite.One(testJournalIdempotent)},
		{"MatchOrder", suite.One(testJournalOrder)},
		{"MatchNone", suite.One(testJournalNone)},
		{"TargetsNotAliased", suite.One(testJournalNotAliased)},
		{"RaceAppend", testJournalRace},
	}
	suite.Run(t, "erasure.Journal", newJournal, tests)
}

func newEntry(subject gdpr.SubjectID, n int) erasure.JournalEntry {
	return erasure.JournalEntry{RequestID: NewID(), SubjectRef: Ref(subject), Completed: at(n), Targets: []string{"consent", "keys", "crm"}}
}

func mustAppend(t *testing.T, j erasure.Journal, es ...erasure.JournalEntry) {
	t.Helper()
	for _, e := range es {
		e.Targets = slices.Clone(e.Targets)
		if err := j.Append(t.Context(), e); err != nil {
			t.Fatalf("Append(request %s): %v; want nil", e.RequestID, err)
		}
	}
}

func mustMatch(t *testing.T, j erasure.Journal, refs ...string) []erasure.JournalEntry {
	t.Helper()
	es, err := j.Match(t.Context(), refs)
	if err != nil {
		t.Fatalf("Match(%d refs): %v; want nil (no match is not an error)", len(refs), err)
	}
	return es
}

func entryIDs(es []erasure.JournalEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.RequestID
	}
	return out
}

func entryDiff(got, want erasure.JournalEntry) []string {
	var d []string
	if got.RequestID != want.RequestID || got.SubjectRef != want.SubjectRef || !slices.Equal(got.Targets, want.Targets) {
		g, w := got, want
		g.Completed, w.Completed = time.Time{}, time.Time{}
		d = append(d, fmt.Sprintf("got %+v, want %+v (Completed aside)", g, w))
	}
	if s := timeDiff(got.Completed, want.Completed); s != "" {
		d = append(d, "Completed: "+s)
	}
	return d
}

func wantEntry(t *testing.T, call string, got, want erasure.JournalEntry) {
	t.Helper()
	if d := entryDiff(got, want); len(d) > 0 {
		t.Errorf("%s returned an entry that differs from the one appended:\n\t%s", call, strings.Join(d, "\n\t"))
	}
}

func testJournalShared(t *testing.T, j, other erasure.Journal) {
	e := newEntry(alice, 0)
	mustAppend(t, j, e)
	got := mustMatch(t, other, e.SubjectRef)
	if len(got) != 1 {
		t.Fatalf("Match through the other handle of an entry appended through the first = %d entries; want 1: %s", len(got), sharedHint)
	}
	wantEntry(t, "Match through the other handle", got[0], e)
	dup := newEntry(bob, 1)
	dup.RequestID = e.RequestID
	mustAppend(t, other, dup)
	if got := mustMatch(t, j, dup.SubjectRef); len(got) != 0 {
		t.Errorf("after an Append through the other handle of a RequestID appended through the first, Match finds it %d times under the new ref; want none: "+
			"an entry whose RequestID is stored already changes nothing, whichever instance appends it", len(got))
	}
}

func testJournalRoundTrip(t *testing.T, j erasure.Journal) {
	zone := time.FixedZone("UTC+09:00", 9*3600)
	e := newEntry(alice, 0)
	e.Completed = at(0).Add(123456789 * time.Nanosecond).In(zone)
	mustAppend(t, j, e)
	got := mustMatch(t, j, e.SubjectRef)
	if len(got) != 1 {
		t.Fatalf("Match of an appended entry's ref = %d entries; want 1", len(got))
	}
	wantEntry(t, "Match", got[0], e)
	one := newEntry(bob, 1)
	one.Targets = []string{"keys"}
	mustAppend(t, j, one)
	if got := mustMatch(t, j, one.SubjectRef); len(got) != 1 {
		t.Errorf("Match of an entry with one target = %d entries; want 1", len(got))
	} else {
		wantEntry(t, "Match of an entry with one target", got[0], one)
	}
}

func testJournalIdempotent(t *testing.T, j erasure.Journal) {
	e := newEntry(alice, 0)
	mustAppend(t, j, e)
	again := e
	again.Completed = at(5)
	again.Targets = []string{"other"}
	mustAppend(t, j, again)
	moved := e
	moved.SubjectRef = Ref(bob)
	mustAppend(t, j, moved)
	got := mustMatch(t, j, Ref(alice), Ref(bob))
	if len(got) != 1 {
		t.Fatalf("Match after three Appends of one RequestID = %d entries; want 1: appending an entry whose RequestID is stored already changes nothing", len(got))
	}
	wantEntry(t, "Match after repeated Appends of one RequestID (the first is kept)", got[0], e)
}

func testJournalOrder(t *testing.T, j erasure.Journal) {
	a1, a2 := newEntry(alice, 10), newEntry(alice, 30)
	b1 := newEntry(bob, 20)
	c1 := newEntry(carol, 5) // not asked for
	// Two at one instant: RequestID decides.
	d1, d2 := newEntry(dave, 20), newEntry(dave, 20)
	mustAppend(t, j, a2, c1, d2, b1, a1, d1)
	want := []erasure.JournalEntry{a1, b1, d1, d2, a2}
	slices.SortStableFunc(want, func(x, y erasure.JournalEntry) int {
		if c := x.Completed.Compare(y.Completed); c != 0 {
			return c
		}
		return strings.Compare(x.RequestID, y.RequestID)
	})
	got := mustMatch(t, j, Ref(bob), Ref(alice), Ref(dave), Ref("subject-nobody"))
	if !slices.Equal(entryIDs(got), entryIDs(want)) {
		t.Errorf("Match(bob, alice, dave, nobody) = %v; want %v: the entries whose SubjectRef is one of refs, ordered by Completed, then RequestID", entryIDs(got), entryIDs(want))
	}
	if got := mustMatch(t, j, Ref(alice)); !slices.Equal(entryIDs(got), []string{a1.RequestID, a2.RequestID}) {
		t.Errorf("Match(alice) = %v; want [%s %s]", entryIDs(got), a1.RequestID, a2.RequestID)
	}
}

func testJournalNone(t *testing.T, j erasure.Journal) {
	if got := mustMatch(t, j, Ref(alice)); len(got) != 0 {
		t.Errorf("Match of an empty journal = %v; want none", entryIDs(got))
	}
	mustAppend(t, j, newEntry(alice, 0))
	if got := mustMatch(t, j, Ref(bob)); len(got) != 0 {
		t.Errorf("Match of a ref with no entry = %v; want none", entryIDs(got))
	}
	if got := mustMatch(t, j); len(got) != 0 {
		t.Errorf("Match of no refs = %v; want none", entryIDs(got))
	}
}

func testJournalNotAliased(t *testing.T, j erasure.Journal) {
	e := newEntry(alice, 0)
	want := e
	want.Targets = slices.Clone(e.Targets)
	if err := j.Append(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	e.Targets[0] = "scribbled"
	got := mustMatch(t, j, e.SubjectRef)
	if len(got) != 1 {
		t.Fatalf("Match = %d entries; want 1", len(got))
	}
	wantEntry(t, "Match after the caller changed the Targets it had appended ("+copyContract+")", got[0], want)
	got[0].Targets[1] = "scribbled"
	wantEntry(t, "Match after the caller changed the Targets Match returned ("+copyContract+")", mustMatch(t, j, e.SubjectRef)[0], want)
}

func testJournalRace(t *testing.T, j, other erasure.Journal) {
	const goroutines = 8
	one := newEntry(alice, 0)
	distinct := make([]erasure.JournalEntry, goroutines)
	for g := range distinct {
		distinct[g] = newEntry(bob, g)
	}
	suite.Race(t, goroutines, j, other, func(ctx context.Context, g int, h erasure.Journal) error {
		e := one
		e.Targets = []string{fmt.Sprint("instance-", g)}
		if err := h.Append(ctx, e); err != nil {
			t.Errorf("racing Append #%d of one RequestID: %v; want nil", g, err)
		}
		d := distinct[g]
		d.Targets = slices.Clone(d.Targets)
		if err := h.Append(ctx, d); err != nil {
			t.Errorf("racing Append #%d of a new RequestID: %v; want nil", g, err)
		}
		return nil
	})
	if got := mustMatch(t, j, Ref(alice)); len(got) != 1 {
		t.Errorf("after %d racing Appends of one RequestID, Match finds %d entries; want 1", goroutines, len(got))
	}
	if got := mustMatch(t, other, Ref(bob)); len(got) != goroutines {
		t.Errorf("after %d racing Appends of distinct RequestIDs, Match through the other handle finds %d entries; want every one", goroutines, len(got))
	}
}
