package retentiontest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
)

// call is one call of every Store method, on ctx.
type call struct {
	name string
	fn   func(ctx context.Context) error
}

// everyMethod returns a call of each Store method: PlaceHold of a new
// hold "new-hold" of subject, ReleaseHold and GetHold of the hold id,
// ListHolds and Holds of subject, AcquireSweep of "other-sweep", and
// SaveSweep, ReleaseSweep and LastSweep of l.
func everyMethod(s retention.Store, subject gdpr.SubjectID, id string, l retention.Lease) []call {
	return []call{
		{"PlaceHold", func(ctx context.Context) error { return s.PlaceHold(ctx, newHold("new-hold", subject, "invoices")) }},
		{"ReleaseHold", func(ctx context.Context) error { _, err := s.ReleaseHold(ctx, id, at(0), legal); return err }},
		{"GetHold", func(ctx context.Context) error { _, err := s.GetHold(ctx, id); return err }},
		{"ListHolds", func(ctx context.Context) error {
			_, err := s.ListHolds(ctx, retention.HoldFilter{Subject: subject})
			return err
		}},
		{"Holds", func(ctx context.Context) error { _, err := s.Holds(ctx, subject, at(0)); return err }},
		{"PurgeHolds", func(ctx context.Context) error { _, err := s.PurgeHolds(ctx, at(1000)); return err }},
		{"AcquireSweep", func(ctx context.Context) error {
			_, err := s.AcquireSweep(ctx, "other-sweep", "host-2", at(0), ttl)
			return err
		}},
		{"SaveSweep", func(ctx context.Context) error { return s.SaveSweep(ctx, l, fullSweep(l.Name), at(1), at(30)) }},
		{"ReleaseSweep", func(ctx context.Context) error { return s.ReleaseSweep(ctx, l) }},
		{"LastSweep", func(ctx context.Context) error { _, err := s.LastSweep(ctx, l.Name); return err }},
	}
}

// wantNothingChanged fails t unless the store is as arrange left it: the
// hold "held" placed and not released, no hold "new-hold", the lease l
// held and saved nothing, no lease of "other-sweep".
func wantNothingChanged(t *testing.T, s retention.Store, h retention.Hold, l retention.Lease, after string) {
	t.Helper()
	wantHold(t, "GetHold after "+after, mustGet(t, s, h.ID), h)
	if _, err := s.GetHold(t.Context(), "new-hold"); !errors.Is(err, retention.ErrNotFound) {
		t.Errorf("GetHold of the hold PlaceHold %s: %v; want ErrNotFound: nothing stored", after, err)
	}
	wantCheckpoint(t, s, l.Name, "LastSweep after SaveSweep "+after, retention.Sweep{})
	wantLeased(t, s, l.Name, "host-3", at(2), "ReleaseSweep "+after+" released nothing")
	mustAcquire(t, s, "other-sweep", "host-3", at(2))
}

func arrange(t *testing.T, s retention.Store) (retention.Hold, retention.Lease) {
	t.Helper()
	h := newHold("held", alice)
	mustPlace(t, s, h)
	return h, mustAcquire(t, s, "nightly", "host-1", at(0))
}

func testNilContext(t *testing.T, s retention.Store) {
	h, l := arrange(t, s)
	var nilCtx context.Context
	for _, c := range everyMethod(s, alice, h.ID, l) {
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s with a nil context panicked: %v; want an error wrapping ErrInvalid", c.name, p)
				}
			}()
			err = c.fn(nilCtx)
		}()
		var re *retention.Error
		if !errors.As(err, &re) || re.Field != "ctx" || !errors.Is(err, retention.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("%s with a nil context: %v; want a *retention.Error with Field \"ctx\" wrapping retention.ErrInvalid: a nil ctx is an error wrapping ErrInvalid", c.name, err)
		}
	}
	wantNothingChanged(t, s, h, l, "with a nil context")
}

func testCanceled(t *testing.T, s retention.Store) {
	h, l := arrange(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range everyMethod(s, alice, h.ID, l) {
		if err := c.fn(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v; want an error wrapping context.Canceled", c.name, err)
		}
	}
	wantNothingChanged(t, s, h, l, "with a canceled context")
}

// The canaries: values no error may hold.
const (
	canarySubject gdpr.SubjectID = "canary-subject-7f3a"
	canaryReason  string         = "canary-reason-c41d"
)

func testErrorTexts(t *testing.T, s retention.Store) {
	h := newHold("canary-case", canarySubject, "invoices")
	h.Reason = canaryReason
	mustPlace(t, s, h)
	l := mustAcquire(t, s, "nightly", "host-1", at(0))
	long := gdpr.SubjectID(strings.Repeat(string(canarySubject), 20)[:gdpr.MaxIDLen+1])
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	ctx := t.Context()
	calls := []call{
		{"PlaceHold of another hold under a taken ID", func(ctx context.Context) error {
			x := cloneHold(h)
			x.Reason = canaryReason + " and more"
			return s.PlaceHold(ctx, x)
		}},
		{"PlaceHold of a hold with no ID", func(ctx context.Context) error {
			x := cloneHold(h)
			x.ID = ""
			return s.PlaceHold(ctx, x)
		}},
		{"PlaceHold of a hold with a 256-byte subject", func(ctx context.Context) error {
			x := cloneHold(h)
			x.ID, x.Subject = "canary-long", long
			return s.PlaceHold(ctx, x)
		}},
		{"PlaceHold of a hold with a 4097-byte reason", func(ctx context.Context) error {
			x := cloneHold(h)
			x.ID, x.Reason = "canary-long", strings.Repeat(canaryReason+" ", 300)[:retention.MaxTextLen+1]
			return s.PlaceHold(ctx, x)
		}},
		{"PlaceHold of a hold with 65 categories", func(ctx context.Context) error {
			x := cloneHold(h)
			x.ID, x.Categories = "canary-many", nil
			for i := range retention.MaxHoldCategories + 1 {
				x.Categories = append(x.Categories, "category-"+string(rune('a'+i%26))+strings.Repeat("x", i/26))
			}
			return s.PlaceHold(ctx, x)
		}},
		{"Holds of a 256-byte subject", func(ctx context.Context) error { _, err := s.Holds(ctx, long, at(0)); return err }},
		{"ListHolds{Subject, Limit: -1}", func(ctx context.Context) error {
			_, err := s.ListHolds(ctx, retention.HoldFilter{Subject: canarySubject, Limit: -1})
			return err
		}},
		{"ListHolds{Subject, Limit: MaxLimit+1}", func(ctx context.Context) error {
			_, err := s.ListHolds(ctx, retention.HoldFilter{Subject: canarySubject, Limit: retention.MaxLimit + 1})
			return err
		}},
		{"GetHold of an unknown ID", func(ctx context.Context) error { _, err := s.GetHold(ctx, "unknown"); return err }},
		{"ReleaseHold of an unknown ID", func(ctx context.Context) error {
			_, err := s.ReleaseHold(ctx, "unknown", at(0), legal)
			return err
		}},
		{"AcquireSweep of a sweep leased", func(ctx context.Context) error {
			_, err := s.AcquireSweep(ctx, "nightly", "host-2", at(1), ttl)
			return err
		}},
	}
	for _, c := range calls {
		checkText(t, c.name, c.fn(ctx))
	}
	for _, c := range everyMethod(s, canarySubject, h.ID, l) {
		x := c
		if x.name == "PlaceHold" {
			x.fn = func(ctx context.Context) error { return s.PlaceHold(ctx, h) }
		}
		checkText(t, x.name+" with a canceled context", x.fn(canceled))
	}
}

// checkText fails t unless err, the error of a call that must fail,
// holds neither canary.
func checkText(t *testing.T, call string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: nil error; want it to fail", call)
		return
	}
	msg := err.Error()
	for _, canary := range []string{string(canarySubject), canaryReason, "canary-subject", "canary-reason"} {
		if strings.Contains(msg, canary) {
			t.Errorf("%s: the error text %q holds a subject ID or a hold's reason; errors carry no personal data: no subject ID, no reason", call, msg)
			return
		}
	}
}
