package retention_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
	"github.com/gdprkit/gdpr/gdprtest"
	"github.com/gdprkit/gdpr/internal/clock"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/memretention"
)

func TestHoldsPlaceAndRelease(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 5, 4, 12, 30, 0, 123456789, time.UTC))
	rec := &gdprtest.Recorder{}
	store := memretention.New()
	h, err := retention.NewHolds(store, retention.WithClock(clk.Now), retention.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	in := retention.Hold{ID: "case-2026-17", Subject: "canary-subject-7f3a", Categories: []string{"orders", "invoices"},
		Reason: "claim by the customer pending at the district court", PlacedBy: gdpr.Staff("legal-3"), Until: clk.Now().Add(90 * 24 * time.Hour)}
	got, err := h.Place(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Placed.Equal(clk.Now().Truncate(time.Microsecond)) || got.Subject != in.Subject || len(got.Categories) != 2 {
		t.Errorf("placed %+v", got)
	}
	// A retry later is the same hold, recorded once.
	clk.Add(time.Minute)
	again, err := h.Place(ctx, in)
	if err != nil || !again.Placed.Equal(got.Placed) {
		t.Errorf("retried Place: %+v, %v", again, err)
	}
	other := in
	other.Reason = "another claim"
	if _, err := h.Place(ctx, other); !errors.Is(err, retention.ErrExists) || !errors.Is(err, gdpr.ErrConflict) {
		t.Errorf("other contents under a taken ID: %v, want ErrExists", err)
	}
	ev := rec.ByAction("retention.hold_placed")
	if len(ev) != 1 || ev[0].Subject != in.Subject || ev[0].Resource != "retention_hold/case-2026-17" || ev[0].Actor != gdpr.Staff("legal-3") {
		t.Errorf("placed events %+v", ev)
	}
	// The erasure engine's view.
	lh, err := h.Holds(ctx, "canary-subject-7f3a", clk.Now())
	if err != nil || len(lh) != 1 || lh[0].ID != in.ID || !lh[0].Until.Equal(in.Until.Truncate(time.Microsecond)) || lh[0].Reason != in.Reason {
		t.Errorf("Holds: %+v, %v", lh, err)
	}
	if lh, _ := h.Holds(ctx, "someone-else", clk.Now()); len(lh) != 0 {
		t.Errorf("another subject's holds: %+v", lh)
	}
	// Release.
	clk.Add(time.Hour)
	rel, err := h.Release(ctx, in.ID, gdpr.Staff("legal-4"))
	if err != nil || !rel.Released.Equal(clk.Now().Truncate(time.Microsecond)) || rel.ReleasedBy != gdpr.Staff("legal-4") {
		t.Errorf("Release: %+v, %v", rel, err)
	}
	if lh, _ := h.Holds(ctx, "canary-subject-7f3a", clk.Now()); len(lh) != 0 {
		t.Errorf("a released hold is still in force: %+v", lh)
	}
	clk.Add(time.Hour)
	if again, err := h.Release(ctx, in.ID, gdpr.Staff("legal-5")); err != nil || again.ReleasedBy != gdpr.Staff("legal-4") {
		t.Errorf("releasing again: %+v, %v", again, err)
	}
	if n := len(rec.ByAction("retention.hold_released")); n != 1 {
		t.Errorf("%d release events, want 1", n)
	}
	if _, err := h.Release(ctx, "no-such-case", gdpr.Staff("x")); !errors.Is(err, retention.ErrNotFound) {
		t.Errorf("unknown hold: %v", err)
	}
	for _, e := range rec.Events() {
		for k, v := range e.Attrs {
			if strings.Contains(v, "canary") || strings.Contains(v, "court") {
				t.Errorf("event %s attr %s carries the subject or the reason: %q", e.Action, k, v)
			}
		}
	}
}

func TestHoldsRefuseBadHolds(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	rec := &gdprtest.Recorder{}
	store := memretention.New()
	h, err := retention.NewHolds(store, retention.WithClock(clk.Now), retention.WithRecorder(rec), retention.WithRegister(testRegister()))
	if err != nil {
		t.Fatal(err)
	}
	ok := retention.Hold{ID: "h", Subject: "canary-subject-7f3a", Reason: "claim", PlacedBy: gdpr.Staff("l")}
	for _, c := range []struct {
		name  string
		mod   func(*retention.Hold)
		want  error
		field string
	}{
		{"no id", func(h *retention.Hold) { h.ID = "" }, retention.ErrInvalid, "id"},
		{"neither subject nor categories", func(h *retention.Hold) { h.Subject = "" }, retention.ErrInvalid, "subject"},
		{"no reason", func(h *retention.Hold) { h.Reason = "" }, retention.ErrInvalid, "reason"},
		{"no actor", func(h *retention.Hold) { h.PlacedBy = gdpr.Actor{} }, retention.ErrInvalid, "placed_by"},
		{"ended", func(h *retention.Hold) { h.Until = clk.Now().Add(-time.Hour) }, retention.ErrInvalid, "until"},
		{"placed given", func(h *retention.Hold) { h.Placed = clk.Now() }, retention.ErrInvalid, "placed"},
		{"released given", func(h *retention.Hold) { h.Released = clk.Now() }, retention.ErrInvalid, "released"},
		{"category twice", func(h *retention.Hold) { h.Categories = []string{"orders", "orders"} }, retention.ErrInvalid, "categories[1]"},
		{"unknown category", func(h *retention.Hold) { h.Categories = []string{"health"} }, retention.ErrUnknownCategory, "categories[0]"},
		{"bad subject", func(h *retention.Hold) { h.Subject = "a\x00b" }, retention.ErrInvalid, "subject"},
	} {
		in := ok
		c.mod(&in)
		_, err := h.Place(ctx, in)
		var re *retention.Error
		if !errors.Is(err, c.want) || !errors.As(err, &re) || re.Field != c.field {
			t.Errorf("%s: %v, want %v at %q", c.name, err, c.want, c.field)
		}
		if err != nil && strings.Contains(err.Error(), "canary") {
			t.Errorf("%s: the error names the subject: %v", c.name, err)
		}
	}
	if rec.Len() != 0 {
		t.Errorf("refused holds were recorded: %+v", rec.Events())
	}
	if got, _ := store.ListHolds(ctx, retention.HoldFilter{}); len(got) != 0 {
		t.Errorf("refused holds were stored: %+v", got)
	}
	// The recorder down: nothing is stored.
	rec.FailWith(errors.New("down"))
	if _, err := h.Place(ctx, ok); !errors.Is(err, retention.ErrNotRecorded) {
		t.Errorf("recorder down: %v", err)
	}
	if _, err := store.GetHold(ctx, "h"); !errors.Is(err, retention.ErrNotFound) {
		t.Errorf("a hold was stored without its audit event: %v", err)
	}
}

// TestHoldRetainsFromErasure wires the hold store into the erasure
// engine: a held subject's data are kept on ground Art. 17(3)(e), and
// erased once the hold is released and the subject asks again.
func TestHoldRetainsFromErasure(t *testing.T) {
	store := memretention.New()
	holds, err := retention.NewHolds(store)
	if err != nil {
		t.Fatal(err)
	}
	users := accounts{"user-42": "ann@example.org", "user-7": "bob@example.org"}
	e, err := erasure.New(memerasure.New(), []byte("an example key of 32 bytes or more!"),
		erasure.WithTargets(erasure.Target{Name: "orders", Eraser: users, Categories: []string{"orders"}}),
		erasure.WithLegalHolds(store))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holds.Place(ctx, retention.Hold{ID: "case-9", Subject: "user-42", Categories: []string{"orders"},
		Reason: "claim pending", PlacedBy: gdpr.Staff("legal")}); err != nil {
		t.Fatal(err)
	}
	erase := func(s gdpr.SubjectID) erasure.Request {
		t.Helper()
		r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: s})
		if err != nil {
			t.Fatal(err)
		}
		if r, err = e.Process(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := erase("user-42")
	if _, ok := users["user-42"]; !ok {
		t.Fatal("a held subject's data were erased")
	}
	x := r.Exemptions()
	if len(x) != 1 || x[0].Ground != gdpr.GroundLegalClaims || x[0].Category != "orders" || x[0].Reason != "claim pending" {
		t.Errorf("exemptions %+v, want orders kept on Art. 17(3)(e)", x)
	}
	erase("user-7")
	if _, ok := users["user-7"]; ok {
		t.Error("a subject without a hold was not erased")
	}
	if _, err := holds.Release(ctx, "case-9", gdpr.Staff("legal")); err != nil {
		t.Fatal(err)
	}
	erase("user-42")
	if _, ok := users["user-42"]; ok {
		t.Error("the subject's data were kept after the hold was released")
	}
}

// accounts is a host's table of personal data, as an Eraser.
type accounts map[gdpr.SubjectID]string

func (a accounts) EraseSubject(_ context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	if _, ok := a[s]; !ok {
		return gdpr.ErasureReport{}, nil
	}
	delete(a, s)
	return gdpr.ErasureReport{Erased: 1}, nil
}

func testRegister() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{
			ID: "orders", Name: "Orders", Purpose: "orders", Basis: gdpr.Contract, SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "orders"}, {ID: "invoices"}},
			Retention:      gdpr.RetentionRule{Period: gdpr.Period{Years: 10}},
		}},
	}
}

func TestHoldsPurge(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	rec := &gdprtest.Recorder{}
	store := memretention.New()
	h, err := retention.NewHolds(store, retention.WithClock(clk.Now), retention.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if _, err := h.Place(ctx, retention.Hold{ID: id, Subject: "canary-subject-7f3a", Reason: "claim", PlacedBy: gdpr.Staff("l")}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Hour)
	h.Release(ctx, "a", gdpr.Staff("l"))
	clk.Add(40 * 24 * time.Hour)
	h.Release(ctx, "b", gdpr.Staff("l"))
	clk.Add(time.Hour)
	n, err := h.Purge(ctx, 30*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("Purge: %d, %v; want the one hold released 40 days ago", n, err)
	}
	if _, err := h.Get(ctx, "a"); !errors.Is(err, retention.ErrNotFound) {
		t.Errorf("the purged hold: %v", err)
	}
	for _, id := range []string{"b", "c"} {
		if _, err := h.Get(ctx, id); err != nil {
			t.Errorf("hold %s: %v", id, err)
		}
	}
	if ev := rec.ByAction("retention.holds_purged"); len(ev) != 1 || ev[0].Subject != "" || ev[0].Attrs["ended_before"] == "" {
		t.Errorf("purge events %+v", ev)
	}
	if _, err := h.Purge(ctx, time.Hour); !errors.Is(err, retention.ErrInvalid) {
		t.Errorf("a keep of an hour: %v, want ErrInvalid", err)
	}
}
