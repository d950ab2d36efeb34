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
	_ = f
	for _, s := range got.Steps {
		if strings.Contains(s.Error, "Rose Court") {
			t.Errorf("R14: step error keeps the value: %q", s.Error)
		}
	}
}
