package erasure_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
)

// TestReviewQuotedValueLeaks: a rectifier's error that quotes the value
// (%q) left it in the step's error text; the text is not kept now.
func TestReviewQuotedValueLeaks(t *testing.T) {
	const v = `Flat 3 "Rose Court"`
	rc := erasure.Rectifier{Name: "crm", Fields: []string{"address"}, Rectify: func(_ context.Context, _ gdpr.SubjectID, c erasure.Correction) error {
		return fmt.Errorf("crm rejected %q", c.Value)
	}}
	f, e := newFixture(t, 1, erasure.WithRectifiers(rc))
	r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindRectification, Subject: "q@example.org",
		Corrections: []erasure.Correction{{Target: "crm", Field: "address", Value: v}}})
	_, _ = e.Process(t.Context(), r.ID)
	got, _ := e.Get(t.Context(), r.ID)
	for _, s := range got.Steps {
		if strings.Contains(s.Error, "Rose Court") {
			t.Errorf("R14: step error keeps the value: %q", s.Error)
		}
	}
	for _, ev := range f.events.Leaks("Rose Court") {
		t.Errorf("R14: event %s keeps the value", ev.Action)
	}
	// The host's own error text (WithErrorText) is kept, but the value is
	// cut from it, quoted or not.
	_, e2 := newFixture(t, 1, erasure.WithRectifiers(rc), erasure.WithErrorText(func(err error) string { return err.Error() }))
	r2 := submitOK(t, e2, erasure.Submission{Kind: gdpr.KindRectification, Subject: "q@example.org",
		Corrections: []erasure.Correction{{Target: "crm", Field: "address", Value: v}}})
	got2, _ := e2.Process(t.Context(), r2.ID)
	if e := got2.Steps[0].Error; strings.Contains(e, "Rose Court") || !strings.Contains(e, "crm rejected") {
		t.Errorf("R14: host error text %q: want it kept without the value", e)
	}
}
