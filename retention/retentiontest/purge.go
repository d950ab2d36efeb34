package retentiontest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
)

const purgeContract = "PurgeHolds deletes the holds whose Released, or else Until, is before its instant, and only those"

func testPurge(t *testing.T, s retention.Store) {
	open := newHold("open", alice)
	future := newHold("future", bob, "orders")
	future.Until = at(500)
	ended := newHold("ended", "", "invoices")
	ended.Until = at(100)
	endsAt := newHold("ends-at-cutoff", carol)
	endsAt.Until = at(200)
	released := newHold("released", alice, "orders", "invoices")
	released.Until = at(900)
	mustPlace(t, s, open, future, ended, endsAt, released)
	mustRelease(t, s, "released", at(150), legal)
	n, err := s.PurgeHolds(t.Context(), at(200))
	if err != nil {
		t.Fatalf("PurgeHolds: %v", err)
	}
	if n != 2 {
		t.Errorf("PurgeHolds deleted %d holds, want 2 (the one ended at 100 and the one released at 150): %s", n, purgeContract)
	}
	for _, id := range []string{"ended", "released"} {
		if _, err := s.GetHold(t.Context(), id); !errors.Is(err, retention.ErrNotFound) {
			t.Errorf("GetHold(%s) after PurgeHolds: %v; want ErrNotFound: %s", id, err, purgeContract)
		}
	}
	for _, id := range []string{"open", "future", "ends-at-cutoff"} {
		mustGet(t, s, id)
	}
	got := holdIDs(mustList(t, s, retention.HoldFilter{}))
	if want := []string{"ends-at-cutoff", "future", "open"}; !slices.Equal(got, want) {
		t.Errorf("ListHolds after PurgeHolds: %v; want %v: %s", got, want, purgeContract)
	}
	got = holdIDs(mustList(t, s, retention.HoldFilter{Category: "invoices"}))
	if want := []string{"ends-at-cutoff", "open"}; !slices.Equal(got, want) {
		t.Errorf("ListHolds{Category: invoices} after PurgeHolds: %v; want %v (the holds naming no category): %s", got, want, purgeContract)
	}
	if n, err := s.PurgeHolds(t.Context(), at(200)); err != nil || n != 0 {
		t.Errorf("PurgeHolds again: %d, %v; want 0 and no error", n, err)
	}
}

// testPurgeReplace places a hold again under the ID of a purged one:
// nothing of the old one, its categories above all, survives.
func testPurgeReplace(t *testing.T, s retention.Store) {
	old := newHold("case-1", "", "orders", "invoices")
	old.Until = at(10)
	mustPlace(t, s, old)
	if _, err := s.PurgeHolds(t.Context(), at(20)); err != nil {
		t.Fatalf("PurgeHolds: %v", err)
	}
	again := newHold("case-1", bob, "contact")
	mustPlace(t, s, again)
	wantHold(t, "GetHold of a hold placed under a purged one's ID", mustGet(t, s, "case-1"), again)
	for _, c := range []string{"orders", "invoices"} {
		if got := holdIDs(mustList(t, s, retention.HoldFilter{Category: c})); len(got) != 0 {
			t.Errorf("ListHolds{Category: %s}: %v; want none: the purged hold's categories must go with it", c, got)
		}
	}
	if got := holdIDs(mustList(t, s, retention.HoldFilter{Category: "contact"})); !slices.Equal(got, []string{"case-1"}) {
		t.Errorf("ListHolds{Category: contact}: %v; want [case-1]", got)
	}
}

func testPurgeInvalid(t *testing.T, s retention.Store) {
	h := newHold("ended", alice)
	h.Until = at(10)
	mustPlace(t, s, h)
	var re *retention.Error
	if _, err := s.PurgeHolds(t.Context(), time.Time{}); !errors.As(err, &re) || re.Field != "before" ||
		!errors.Is(err, retention.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
		t.Errorf("PurgeHolds of the zero time: %v; want a *retention.Error with Field \"before\" wrapping ErrInvalid", err)
	}
	mustGet(t, s, "ended")
}
