package breach_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/breach"
)

// TestProcessorsBreach: a processor keeps its own register; its breach is
// reported to its controllers without undue delay, timed from its own
// awareness (Art. 33(2)); it has no 72-hour clock and no notification to
// the authority or to subjects, which are the controllers'.
func TestProcessorsBreach(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := report()
	r.Controllers = []string{"Example Shop GmbH", "Other Shop AG"}
	b, err := f.log.Record(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if !b.ForControllers() || !b.Clock.Due.IsZero() || b.Clock.Late(now.Add(1000*time.Hour)) {
		t.Fatalf("a processor's breach: %+v, clock %+v", b.Controllers, b.Clock)
	}
	if !slices.Equal(b.Unreported(), r.Controllers) {
		t.Errorf("unreported %v", b.Unreported())
	}
	if _, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BlnBDI"}); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("a processor notifying the authority: %v", err)
	}
	for name, rep := range map[string]breach.ControllerReport{
		"unknown controller": {Controller: "Someone Else"},
		"before awareness":   {Controller: "Example Shop GmbH", At: r.Aware.Add(-time.Second)},
		"in the future":      {Controller: "Example Shop GmbH", At: now.Add(time.Second)},
	} {
		if _, err := f.log.ReportToController(ctx, b.ID, rep); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	*f.clock = now.Add(30 * time.Minute)
	b, err = f.log.ReportToController(ctx, b.ID, breach.ControllerReport{Controller: "Example Shop GmbH", Reference: "INC-7"})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Reports) != 1 || !slices.Equal(b.Unreported(), []string{"Other Shop AG"}) {
		t.Errorf("after one report: %+v, unreported %v", b.Reports, b.Unreported())
	}
	if d := b.Reports[0].At.Sub(b.Clock.Aware); d != 2*time.Hour+30*time.Minute {
		t.Errorf("reported %v after the processor's awareness, want 2h30m", d)
	}
	n, err := f.log.AuthorityNotice(ctx, b.ID)
	if err != nil || n.Late || len(n.Reports) != 1 {
		t.Fatalf("notice %+v, %v", n, err)
	}
	var sb strings.Builder
	if err := n.WriteHTML(&sb); err != nil {
		t.Fatal(err)
	}
	page := sb.String()
	for _, want := range []string{"Report of a personal data breach by a processor", "Processor aware of the breach",
		`<td id="controllers">Example Shop GmbH, Other Shop AG, without undue delay</td>`, "Reported to Example Shop GmbH", "INC-7"} {
		if !strings.Contains(page, want) {
			t.Errorf("the processor's report lacks %q", want)
		}
	}
	if strings.Contains(page, "72 hours end") {
		t.Error("the processor's report shows a 72-hour deadline")
	}
	// A controller's breach takes no controller reports.
	cb, _ := f.log.Record(ctx, report())
	if _, err := f.log.ReportToController(ctx, cb.ID, breach.ControllerReport{Controller: "Example Shop GmbH"}); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("a controller's breach reported to a controller: %v", err)
	}
	// Both roles at once, or a controller twice, are refused.
	bad := report()
	bad.Controllers = []string{"A"}
	bad.Processor = &breach.Processor{Name: "P", Aware: bad.Aware}
	if _, err := f.log.Record(ctx, bad); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Controllers and Processor: %v", err)
	}
	bad = report()
	bad.Controllers = []string{"A", "A"}
	if _, err := f.log.Record(ctx, bad); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("a controller twice: %v", err)
	}
}

// TestControllerIntakeOfAProcessorsReport: the controller's clock runs
// from when the processor told it, and the notice says when the
// processor itself became aware.
func TestControllerIntakeOfAProcessorsReport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := report()
	r.Processor = &breach.Processor{Name: "Mail Co", Aware: r.Aware.Add(-20 * time.Hour)}
	b, err := f.log.Record(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if want := breach.NewClock(r.Aware, b.Clock.Due.Location()).Due; !b.Clock.Due.Equal(want) {
		t.Errorf("due %v, want %v: from the controller's awareness", b.Clock.Due, want)
	}
	n, _ := f.log.AuthorityNotice(ctx, b.ID)
	var sb strings.Builder
	n.WriteHTML(&sb)
	if !strings.Contains(sb.String(), "Reported by the processor") || !strings.Contains(sb.String(), "Mail Co") {
		t.Error("the notice does not name the processor")
	}
}
