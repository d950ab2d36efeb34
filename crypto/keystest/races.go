package keystest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/internal/suite"
)

// The subtests in this file check what two instances of a host, each with
// its own handle on one storage, see of each other: first one after the
// other (SharedStorage), then at once, with goroutines on both handles
// (Race*). For an in-memory store both handles are one value, and the races
// are between goroutines.

// sharedHint is what a failure of SharedStorage most likely means.
const sharedHint = "newStore must return two handles on one storage " +
	"(two Stores on two connection pools to the same database; an in-memory store twice)"

// race runs fn(ctx, g, h) in n goroutines released at once, goroutine g on
// handle h = s for even g and other for odd g, and returns their errors,
// indexed by g (suite.Race: bounded by suite.RaceTimeout).
func race(t *testing.T, n int, s, other crypto.Store, fn func(ctx context.Context, g int, h crypto.Store) error) []error {
	t.Helper()
	return suite.Race(t, n, s, other, fn)
}

// testSharedStorage checks that what one handle writes, the other reads.
func testSharedStorage(t *testing.T, s, other crypto.Store) {
	ctx := t.Context()
	if _, err := other.Get(ctx, Ref("alice")); !errors.Is(err, crypto.ErrNotFound) {
		t.Fatalf("Get through the other handle of a fresh storage: %v; want ErrNotFound: %s", err, sharedHint)
	}
	if recs, err := other.List(ctx, "", 10); err != nil || len(recs) != 0 {
		t.Fatalf("List through the other handle of a fresh storage = %q, %v; want no records: %s", refsOf(recs), err, sharedHint)
	}

	r := NewRecord(Ref("alice"), 1, 0)
	mustCreate(t, s, r)
	got, err := other.Get(ctx, r.Ref)
	if err != nil {
		t.Fatalf("Get through the other handle of a record created through the first: %v; want the record: %s", err, sharedHint)
	}
	wantRecord(t, "Get through the other handle", got, r)
	wantErr(t, other.Create(ctx, NewRecord(r.Ref, 2, 1)), crypto.ErrConflict,
		"Create through the other handle of a Ref created through the first", "at most one live record per Ref, whichever instance asks")

	u := NewRecord(r.Ref, 3, 2)
	u.Created = r.Created
	if err := other.Update(ctx, u); err != nil {
		t.Fatalf("Update through the other handle from Version 1: %v; want nil", err)
	}
	wantU := u
	wantU.Version = 2
	wantRecord(t, "Get through the first handle after an Update through the other", mustGet(t, s, r.Ref), wantU)
	stale := NewRecord(r.Ref, 4, 3)
	wantErr(t, s.Update(ctx, stale), crypto.ErrConflict, "Update through the first handle from Version 1, after the other moved it to 2",
		"optimistic versions hold across instances")

	mustShred(t, s, r.Ref, at(10))
	_, err = other.Get(ctx, r.Ref)
	wantErr(t, err, crypto.ErrShredded, "Get through the other handle of a Ref shredded through the first", "a tombstone is seen by every instance")
	wantErr(t, other.Create(ctx, NewRecord(r.Ref, 5, 11)), crypto.ErrShredded,
		"Create through the other handle of a Ref shredded through the first", "no instance's Create passes a tombstone")
	next := wantU
	wantErr(t, other.Update(ctx, next), crypto.ErrShredded,
		"Update through the other handle (from the last live Version) of a Ref shredded through the first", "no instance rewrites a shredded key")
	if tr, ok := other.(crypto.TombstoneReader); ok {
		if when, err := tr.Tombstone(ctx, r.Ref); err != nil || !when.Equal(at(10)) {
			t.Errorf("Tombstone through the other handle = %s, %v; want %s, the time of the Shred through the first", when, err, at(10))
		}
	}

	back := NewRecord(r.Ref, 6, 20)
	if err := other.Revive(ctx, back); err != nil {
		t.Fatalf("Revive through the other handle of a Ref shredded through the first: %v; want nil", err)
	}
	wantRecord(t, "Get through the first handle after a Revive through the other", mustGet(t, s, r.Ref), back)

	b := NewRecord(Ref("bob"), 7, 21)
	mustCreate(t, other, b)
	want := []string{r.Ref, b.Ref}
	slices.Sort(want)
	for i, h := range [2]crypto.Store{s, other} {
		recs, err := h.List(ctx, "", 10)
		if err != nil {
			t.Fatalf("List through handle %d: %v", i, err)
		}
		if got := refsOf(recs); !slices.Equal(got, want) {
			t.Errorf("List through handle %d = %q; want %q, created through both handles", i, got, want)
		}
	}
}

// testRaceCreates runs Creates of one new Ref through both handles at once:
// exactly one wins, the others get ErrConflict, and both handles then read
// the winner's record.
func testRaceCreates(t *testing.T, s, other crypto.Store) {
	const rounds, goroutines = 20, 4
	for i := range rounds {
		ref := Ref(fmt.Sprint("first-use-", i))
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h crypto.Store) error {
			return h.Create(ctx, NewRecord(ref, g, i))
		})
		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: Creates #%d (handle %d) and #%d (handle %d) of one Ref both succeeded; want exactly one: at most one live record per Ref across instances",
					i, winner, winner%2, g, g%2)
			case err == nil:
				winner = g
			default:
				wantErr(t, err, crypto.ErrConflict, fmt.Sprintf("round %d: Create #%d (handle %d) racing Creates through both handles", i, g, g%2),
					"the losers of a first-use race get ErrConflict, whichever instance they run on")
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: none of %d Creates of a new Ref through both handles succeeded; want exactly one", i, goroutines)
		}
		for hi, h := range [2]crypto.Store{s, other} {
			wantRecord(t, fmt.Sprintf("round %d: Get through handle %d after racing Creates (#%d won)", i, hi, winner),
				mustGet(t, h, ref), NewRecord(ref, winner, i))
		}
	}
}

// testRaceUpdates runs Updates from one Version through both handles at
// once: exactly one wins, the others get ErrConflict.
func testRaceUpdates(t *testing.T, s, other crypto.Store) {
	const rounds, goroutines = 5, 4
	ref := Ref("rotating")
	mustCreate(t, s, NewRecord(ref, 0, 0))
	for round := int64(1); round <= rounds; round++ {
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h crypto.Store) error {
			r := NewRecord(ref, int(round)*100+g, g)
			r.Version, r.Created = round, at(0)
			return h.Update(ctx, r)
		})
		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: Updates #%d (handle %d) and #%d (handle %d) from Version %d both succeeded; want exactly one: optimistic versions hold across instances",
					round, winner, winner%2, g, g%2, round)
			case err == nil:
				winner = g
			default:
				wantErr(t, err, crypto.ErrConflict, fmt.Sprintf("round %d: Update #%d (handle %d) from Version %d, racing through both handles", round, g, g%2, round),
					"the losers of an Update race get ErrConflict")
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: none of %d Updates from the stored Version through both handles succeeded; want exactly one", round, goroutines)
		}
		want := NewRecord(ref, int(round)*100+winner, winner)
		want.Version, want.Created = round+1, at(0)
		for hi, h := range [2]crypto.Store{s, other} {
			wantRecord(t, fmt.Sprintf("round %d: Get through handle %d after racing Updates (#%d won)", round, hi, winner), mustGet(t, h, ref), want)
		}
	}
}

// testRaceCreateShred runs a Create and a Shred of one new Ref through the
// two handles at once (which handle does which alternates): the shred
// wins, whichever ran first.
func testRaceCreateShred(t *testing.T, s, other crypto.Store) {
	const rounds = 30
	for i := range rounds {
		ref := Ref(fmt.Sprint("race-", i))
		creator := i % 2 // the goroutine that creates; the other shreds
		errs := race(t, 2, s, other, func(ctx context.Context, g int, h crypto.Store) error {
			if g == creator {
				return h.Create(ctx, NewRecord(ref, i, i))
			}
			return h.Shred(ctx, ref, at(i))
		})
		createErr, shredErr := errs[creator], errs[1-creator]
		if shredErr != nil {
			t.Fatalf("round %d: Shred (handle %d) racing a Create (handle %d): %v; want nil", i, 1-creator, creator, shredErr)
		}
		if createErr != nil {
			wantErr(t, createErr, crypto.ErrShredded, fmt.Sprintf("round %d: Create (handle %d) racing a Shred (handle %d)", i, creator, 1-creator),
				"a Create that loses to a Shred sees the tombstone")
		}
		for hi, h := range [2]crypto.Store{s, other} {
			_, err := h.Get(t.Context(), ref)
			wantErr(t, err, crypto.ErrShredded, fmt.Sprintf("round %d: Get through handle %d after a Create (handle %d, returned %v) raced a Shred (handle %d)",
				i, hi, creator, createErr, 1-creator),
				"once Shred has returned, no live record exists for the Ref on any instance: the tombstone wins whichever ran first")
			wantErr(t, h.Create(t.Context(), NewRecord(ref, i, i)), crypto.ErrShredded, fmt.Sprintf("round %d: Create through handle %d after the race", i, hi),
				"no Create passes a tombstone")
		}
	}
}

// testRaceReviveShred runs a Revive and a Shred of one Ref through the two
// handles at once, from a live record (even rounds) and from a tombstone
// (odd rounds). Revive and Shred are each atomic, so the outcome is one of
// the two orders: Revive then Shred leaves the Shred's tombstone (Revive
// returned nil, or ErrConflict if it met the live record); Shred then
// Revive leaves the revived record (Revive returned nil). The record that
// was live before never is afterwards.
func testRaceReviveShred(t *testing.T, s, other crypto.Store) {
	const rounds = 20
	tr, _ := s.(crypto.TombstoneReader)
	for i := range rounds {
		ref := Ref(fmt.Sprint("revive-race-", i))
		fromLive := i%2 == 0
		start := "a tombstone"
		if fromLive {
			start = "a live record"
			mustCreate(t, s, NewRecord(ref, 0, 0))
		} else {
			mustShred(t, s, ref, at(0))
		}
		back := NewRecord(ref, 1, 1)
		shredAt := at(5)
		reviver := (i / 2) % 2 // the goroutine that revives; the other shreds
		errs := race(t, 2, s, other, func(ctx context.Context, g int, h crypto.Store) error {
			if g == reviver {
				return h.Revive(ctx, back)
			}
			return h.Shred(ctx, ref, shredAt)
		})
		reviveErr, shredErr := errs[reviver], errs[1-reviver]
		what := fmt.Sprintf("round %d: from %s, Revive (handle %d) raced Shred (handle %d)", i, start, reviver, 1-reviver)
		if shredErr != nil {
			t.Fatalf("%s: Shred returned %v; want nil", what, shredErr)
		}
		switch {
		case reviveErr == nil:
		case fromLive:
			wantErr(t, reviveErr, crypto.ErrConflict, what+": Revive",
				"a Revive that meets the live record (before the Shred) gets ErrConflict; one that meets the tombstone succeeds")
		default:
			t.Errorf("%s: Revive returned %v; want nil: the Ref has a tombstone whichever runs first (Shred keeps one)", what, reviveErr)
		}
		for hi, h := range [2]crypto.Store{s, other} {
			got, err := h.Get(t.Context(), ref)
			switch {
			case err == nil:
				if reviveErr != nil {
					t.Errorf("%s: Get through handle %d found a live record after Revive returned %v; want the Shred's tombstone: "+
						"a Revive refused because of the live record ran before the Shred, which then destroyed that record", what, hi, reviveErr)
				}
				wantRecord(t, fmt.Sprintf("%s: Get through handle %d (Shred ran first, then Revive)", what, hi), got, back)
			case errors.Is(err, crypto.ErrShredded):
				if tr != nil && hi == 0 {
					when, err := tr.Tombstone(t.Context(), ref)
					if err != nil || !when.Equal(shredAt) {
						t.Errorf("%s: Tombstone = %s, %v; want %s: a tombstone after the race is the racing Shred's "+
							"(had the Shred run first on a tombstone, the Revive after it would have left a live record)", what, when, err, shredAt)
					}
				}
			default:
				t.Errorf("%s: Get through handle %d: %v; want the revived record or ErrShredded, one of the two orders", what, hi, err)
			}
		}
	}
}
