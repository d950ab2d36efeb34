package memretention_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/memretention"
	"github.com/gdprkit/gdpr/retention/retentiontest"
)

func TestStore(t *testing.T) {
	retentiontest.RunStoreTests(t, func(*testing.T) (s, other retention.Store) {
		s = memretention.New()
		return s, s
	})
}

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func hold(id string) retention.Hold {
	return retention.Hold{
		ID: id, Subject: "subject-a", Categories: []string{"invoices"},
		Reason: "claim", PlacedBy: gdpr.Staff("staff-1"), Placed: t0,
	}
}

// wantErr fails t unless err is a *retention.Error of Op op and Field
// field wrapping target.
func wantErr(t *testing.T, err error, op, field string, target error) {
	t.Helper()
	var re *retention.Error
	if !errors.As(err, &re) || re.Op != op || re.Field != field || !errors.Is(err, target) {
		t.Errorf("got %v; want *retention.Error{Op: %q, Field: %q} wrapping %v", err, op, field, target)
	}
}

// TestOps: every method's errors name it, as "memretention.<Method>",
// and a nil context is Field "ctx".
func TestOps(t *testing.T) {
	s := memretention.New()
	var nilCtx context.Context
	l := retention.Lease{Name: "nightly", Token: "t"}
	for op, call := range map[string]func(ctx context.Context) error{
		"PlaceHold":   func(ctx context.Context) error { return s.PlaceHold(ctx, hold("h")) },
		"ReleaseHold": func(ctx context.Context) error { _, err := s.ReleaseHold(ctx, "h", t0, gdpr.Staff("x")); return err },
		"GetHold":     func(ctx context.Context) error { _, err := s.GetHold(ctx, "h"); return err },
		"ListHolds":   func(ctx context.Context) error { _, err := s.ListHolds(ctx, retention.HoldFilter{}); return err },
		"Holds":       func(ctx context.Context) error { _, err := s.Holds(ctx, "subject-a", t0); return err },
		"AcquireSweep": func(ctx context.Context) error {
			_, err := s.AcquireSweep(ctx, "nightly", "host", t0, time.Minute)
			return err
		},
		"SaveSweep":    func(ctx context.Context) error { return s.SaveSweep(ctx, l, retention.Sweep{Name: "nightly"}, t0, t0) },
		"ReleaseSweep": func(ctx context.Context) error { return s.ReleaseSweep(ctx, l) },
		"LastSweep":    func(ctx context.Context) error { _, err := s.LastSweep(ctx, "nightly"); return err },
	} {
		t.Run(op, func(t *testing.T) {
			wantErr(t, call(nilCtx), "memretention."+op, "ctx", retention.ErrInvalid)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			wantErr(t, call(ctx), "memretention."+op, "", context.Canceled)
		})
	}
	_, err := s.GetHold(t.Context(), "unknown")
	wantErr(t, err, "memretention.GetHold", "", retention.ErrNotFound)
	if got := err.Error(); got != "retention memretention.GetHold: not found: no hold of that ID" {
		t.Errorf("error text %q", got)
	}
}

// TestInvalidFields: each refusal names its field and stores nothing.
func TestInvalidFields(t *testing.T) {
	s := memretention.New()
	ctx := t.Context()
	for field, edit := range map[string]func(h *retention.Hold){
		"id":            func(h *retention.Hold) { h.ID = " padded" },
		"subject":       func(h *retention.Hold) { h.Subject, h.Categories = "", nil },
		"categories[1]": func(h *retention.Hold) { h.Categories = []string{"invoices", "invoices"} },
		"reason":        func(h *retention.Hold) { h.Reason = "" },
		"placed_by":     func(h *retention.Hold) { h.PlacedBy = gdpr.Actor{} },
		"until":         func(h *retention.Hold) { h.Until = h.Placed },
		"released":      func(h *retention.Hold) { h.Released = t0.Add(time.Hour) },
		"placed":        func(h *retention.Hold) { h.Placed = time.Time{} },
	} {
		h := hold("h")
		edit(&h)
		wantErr(t, s.PlaceHold(ctx, h), "memretention.PlaceHold", field, retention.ErrInvalid)
	}
	if hs, _ := s.ListHolds(ctx, retention.HoldFilter{}); len(hs) != 0 {
		t.Fatalf("refused PlaceHolds stored %d holds", len(hs))
	}
	if err := s.PlaceHold(ctx, hold("h")); err != nil {
		t.Fatal(err)
	}
	_, err := s.ReleaseHold(ctx, "h", time.Time{}, gdpr.Staff("x"))
	wantErr(t, err, "memretention.ReleaseHold", "at", retention.ErrInvalid)
	_, err = s.ReleaseHold(ctx, "h", t0, gdpr.Actor{})
	wantErr(t, err, "memretention.ReleaseHold", "by", retention.ErrInvalid)
	_, err = s.ReleaseHold(ctx, "h", t0, gdpr.Actor{Kind: "robot", ID: "r"})
	wantErr(t, err, "memretention.ReleaseHold", "by", retention.ErrInvalid)
	if h, _ := s.GetHold(ctx, "h"); !h.Released.IsZero() {
		t.Errorf("a refused ReleaseHold released the hold")
	}
	_, err = s.ListHolds(ctx, retention.HoldFilter{Limit: -1})
	wantErr(t, err, "memretention.ListHolds", "limit", retention.ErrInvalid)
	_, err = s.Holds(ctx, "", t0)
	wantErr(t, err, "memretention.Holds", "subject", retention.ErrInvalid)
	_, err = s.AcquireSweep(ctx, "", "host", t0, time.Minute)
	wantErr(t, err, "memretention.AcquireSweep", "name", retention.ErrInvalid)
	_, err = s.AcquireSweep(ctx, "nightly", "", t0, time.Minute)
	wantErr(t, err, "memretention.AcquireSweep", "owner", retention.ErrInvalid)
	_, err = s.AcquireSweep(ctx, "nightly", "host", t0, 0)
	wantErr(t, err, "memretention.AcquireSweep", "ttl", retention.ErrInvalid)

	l, err := s.AcquireSweep(ctx, "nightly", "host", t0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SaveSweep(ctx, l, retention.Sweep{Name: "weekly"}, t0, t0.Add(time.Minute)), "memretention.SaveSweep", "sweep.name", retention.ErrInvalid)
	wantErr(t, s.SaveSweep(ctx, l, retention.Sweep{Name: "nightly", Targets: make([]retention.TargetSweep, retention.MaxTargets+1)}, t0, t0),
		"memretention.SaveSweep", "sweep.targets", retention.ErrInvalid)
	wantErr(t, s.SaveSweep(ctx, l, retention.Sweep{Name: "nightly", Targets: []retention.TargetSweep{{}, {Cursor: strings.Repeat("c", retention.MaxCursorLen+1)}}}, t0, t0),
		"memretention.SaveSweep", "sweep.targets[1].cursor", retention.ErrInvalid)
	wantErr(t, s.ReleaseSweep(ctx, retention.Lease{}), "memretention.ReleaseSweep", "name", retention.ErrInvalid)
	_, err = s.LastSweep(ctx, strings.Repeat("n", retention.MaxKeyLen+1))
	wantErr(t, err, "memretention.LastSweep", "name", retention.ErrInvalid)
	// An empty token holds nothing.
	empty := l
	empty.Token = ""
	wantErr(t, s.SaveSweep(ctx, empty, retention.Sweep{Name: "nightly"}, t0, t0.Add(time.Minute)), "memretention.SaveSweep", "", retention.ErrLeaseLost)
	if err := s.ReleaseSweep(ctx, empty); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireSweep(ctx, "nightly", "host-2", t0, time.Minute); !errors.Is(err, retention.ErrLeased) {
		t.Errorf("ReleaseSweep with an empty token released the lease: %v", err)
	}
}

// TestRetryAfterRelease: a retried placement is the same placement,
// however the hold changed since; it does not undo the release.
func TestRetryAfterRelease(t *testing.T) {
	s := memretention.New()
	ctx := t.Context()
	h := hold("h")
	if err := s.PlaceHold(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReleaseHold(ctx, "h", t0.Add(time.Hour), gdpr.Staff("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.PlaceHold(ctx, h); err != nil {
		t.Errorf("a retried PlaceHold after the release: %v; want nil", err)
	}
	if got, _ := s.GetHold(ctx, "h"); !got.Released.Equal(t0.Add(time.Hour)) {
		t.Errorf("a retried PlaceHold undid the release: Released %v", got.Released)
	}
}

// TestStoredInUTC: every time comes back in UTC, zero times zero, and
// empty slices nil.
func TestStoredInUTC(t *testing.T) {
	s := memretention.New()
	ctx := t.Context()
	zone := time.FixedZone("X", 3600)
	h := hold("h")
	h.Placed, h.Until, h.Categories = t0.In(zone), t0.Add(time.Hour).In(zone), []string{}
	h.Subject = "subject-a"
	if err := s.PlaceHold(ctx, h); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetHold(ctx, "h")
	if got.Placed.Location() != time.UTC || got.Until.Location() != time.UTC || got.Categories != nil || !got.Released.IsZero() {
		t.Errorf("stored hold %+v; want UTC times and nil Categories", got)
	}
	l, _ := s.AcquireSweep(ctx, "nightly", "host", t0.In(zone), time.Minute)
	if l.Until.Location() != time.UTC {
		t.Errorf("lease Until in %v", l.Until.Location())
	}
	sw := retention.Sweep{Name: "nightly", Started: t0.In(zone), Targets: []retention.TargetSweep{{Cutoff: t0.In(zone)}}}
	if err := s.SaveSweep(ctx, l, sw, t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	last, _ := s.LastSweep(ctx, "nightly")
	if last.Started.Location() != time.UTC || last.Targets[0].Cutoff.Location() != time.UTC || !last.Finished.IsZero() {
		t.Errorf("stored sweep %+v; want UTC times", last)
	}
}

// TestDoesNotPrint: no fmt verb prints what a Store holds.
func TestDoesNotPrint(t *testing.T) {
	s := memretention.New()
	h := hold("h")
	h.Subject, h.Reason = "CANARY-subject", "CANARY-reason"
	if err := s.PlaceHold(t.Context(), h); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out := fmt.Sprintf(f, s)
		if strings.Contains(strings.ToLower(out), "canary") || !strings.Contains(out, "memretention.Store") {
			t.Errorf("%s of a Store prints %q; want only its type's name", f, out)
		}
	}
}

// TestLegalHolds: the Store is what erasure.WithLegalHolds takes.
func TestLegalHolds(t *testing.T) {
	var lh gdpr.LegalHolds = memretention.New()
	hs, err := lh.Holds(t.Context(), "subject-a", t0)
	if err != nil || hs == nil || len(hs) != 0 {
		t.Errorf("Holds of an empty store = %#v, %v; want an empty slice", hs, err)
	}
}
