package gdprtest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/gdprtest"
)

var _ gdpr.Recorder = (*gdprtest.Recorder)(nil)

func TestRecorderKeepsEventsInOrder(t *testing.T) {
	ctx := context.Background()
	var r gdprtest.Recorder // the zero value is ready
	if _, ok := r.Last(); ok || r.Len() != 0 || len(r.Events()) != 0 || len(r.Actions()) != 0 {
		t.Fatal("a new Recorder is not empty")
	}
	for _, a := range []string{"x.one", "x.two", "x.one"} {
		if err := r.Record(ctx, gdpr.Event{Action: a, Subject: "s-1", Outcome: gdpr.Success}); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.Actions(); !slices.Equal(got, []string{"x.one", "x.two", "x.one"}) {
		t.Errorf("Actions() = %v", got)
	}
	if got := r.ByAction("x.one"); len(got) != 2 || got[0].Action != "x.one" || got[1].Action != "x.one" {
		t.Errorf("ByAction(x.one) = %v", got)
	}
	if got := r.ByAction("x.none"); len(got) != 0 {
		t.Errorf("ByAction(x.none) = %v", got)
	}
	if e, ok := r.Last(); !ok || e.Action != "x.one" || e.Subject != "s-1" {
		t.Errorf("Last() = %v, %v", e, ok)
	}
	if r.Len() != 3 || len(r.Events()) != 3 {
		t.Errorf("Len() = %d, len(Events()) = %d, want 3", r.Len(), len(r.Events()))
	}
	r.Reset()
	if r.Len() != 0 || len(r.Events()) != 0 {
		t.Errorf("after Reset: %d events", r.Len())
	}
}

// Neither the caller of Record nor a reader can change what was recorded.
func TestRecorderCopies(t *testing.T) {
	ctx := context.Background()
	r := new(gdprtest.Recorder)
	e := gdpr.Event{Action: "x.one", Categories: []string{"contact"}, Attrs: map[string]string{"k": "v"}}
	if err := r.Record(ctx, e); err != nil {
		t.Fatal(err)
	}
	e.Categories[0] = "changed"
	e.Attrs["k"] = "changed"
	for _, read := range [][]gdpr.Event{r.Events(), r.ByAction("x.one")} {
		read[0].Categories[0] = "changed by reader"
		read[0].Attrs["k"] = "changed by reader"
	}
	last, _ := r.Last()
	last.Attrs["k"] = "changed by reader"
	got := r.Events()[0]
	if got.Categories[0] != "contact" || got.Attrs["k"] != "v" {
		t.Errorf("recorded event changed: %v %v", got.Categories, got.Attrs)
	}
}

func TestRecorderFailWith(t *testing.T) {
	ctx := context.Background()
	r := new(gdprtest.Recorder)
	_ = r.Record(ctx, gdpr.Event{Action: "x.kept"})
	errDown := errors.New("trail down")
	r.FailWith(fmt.Errorf("audit: %w", errDown))
	if err := r.Record(ctx, gdpr.Event{Action: "x.lost"}); !errors.Is(err, errDown) {
		t.Errorf("Record after FailWith = %v, want the error given", err)
	}
	r.Reset()
	if err := r.Record(ctx, gdpr.Event{Action: "x.lost"}); !errors.Is(err, errDown) {
		t.Errorf("Reset cleared FailWith: Record = %v", err)
	}
	r.FailWith(nil)
	if err := r.Record(ctx, gdpr.Event{Action: "x.kept"}); err != nil {
		t.Errorf("Record after FailWith(nil) = %v", err)
	}
	if got := r.Actions(); !slices.Equal(got, []string{"x.kept"}) {
		t.Errorf("Actions() = %v: a failed Record keeps nothing", got)
	}
}

func TestRecorderLeaks(t *testing.T) {
	ctx := context.Background()
	const v = "jane@example.com"
	clean := gdpr.Event{Action: "x.clean", Subject: v, Actor: gdpr.System("crm"), Purpose: "support",
		Categories: []string{"contact"}, Resource: "customer/42", Attrs: map[string]string{"n": "1"}}
	leaky := map[string]func(*gdpr.Event){
		"Action":     func(e *gdpr.Event) { e.Action = "x." + v },
		"Actor.ID":   func(e *gdpr.Event) { e.Actor = gdpr.Staff(v) },
		"Purpose":    func(e *gdpr.Event) { e.Purpose = gdpr.Purpose(v) },
		"Categories": func(e *gdpr.Event) { e.Categories = []string{"contact", v} },
		"Resource":   func(e *gdpr.Event) { e.Resource = "customer/" + v },
		"Attrs key":  func(e *gdpr.Event) { e.Attrs = map[string]string{v: "1"} },
		"Attrs":      func(e *gdpr.Event) { e.Attrs = map[string]string{"to": "<" + v + ">"} },
	}
	r := new(gdprtest.Recorder)
	_ = r.Record(ctx, clean)
	for field, spoil := range leaky {
		e := clean
		e.Action = "x.leak"
		spoil(&e)
		r.Reset()
		_ = r.Record(ctx, clean)
		_ = r.Record(ctx, e)
		if got := r.Leaks("", "nobody", v); len(got) != 1 || got[0].Action == "x.clean" {
			t.Errorf("%s: Leaks found %d events, want the one with the value in %s", field, len(got), field)
		}
	}
	r.Reset()
	_ = r.Record(ctx, clean)
	if got := r.Leaks(v, ""); len(got) != 0 {
		t.Errorf("Leaks flags the Subject, which may hold the ID: %v", got)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	ctx := context.Background()
	r := new(gdprtest.Recorder)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				_ = r.Record(ctx, gdpr.Event{Action: "x.n", Attrs: map[string]string{"i": fmt.Sprint(i, j)}})
				_ = r.Events()
				_ = r.ByAction("x.n")
				_ = r.Leaks("y")
				_, _ = r.Last()
				if j == 50 {
					r.FailWith(nil)
				}
			}
		})
	}
	wg.Wait()
	if r.Len() != 800 {
		t.Errorf("Len() = %d, want 800", r.Len())
	}
}
