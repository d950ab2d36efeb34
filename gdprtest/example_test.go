package gdprtest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/gdprtest"
)

// notes is a tiny component of the kind a host writes: free-text notes
// about customers, kept per subject. It is a gdpr.Eraser and a
// gdpr.Exporter, and passes both suites.
type notes struct {
	mu     sync.Mutex
	next   int
	bySubj map[gdpr.SubjectID][]note
}

type note struct {
	id   string
	text string
}

var (
	_ gdpr.Eraser   = (*notes)(nil)
	_ gdpr.Exporter = (*notes)(nil)
)

var errBadSubject = fmt.Errorf("notes: %w: bad subject ID", gdpr.ErrInvalid)

func newNotes() *notes { return &notes{bySubj: map[gdpr.SubjectID][]note{}} }

// Add stores a note about subject.
func (n *notes) Add(ctx context.Context, subject gdpr.SubjectID, text string) error {
	if err := subject.Validate(); err != nil {
		return errBadSubject
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.next++
	n.bySubj[subject] = append(n.bySubj[subject], note{id: strconv.Itoa(n.next), text: text})
	return nil
}

func (n *notes) EraseSubject(ctx context.Context, subject gdpr.SubjectID) (gdpr.ErasureReport, error) {
	if err := subject.Validate(); err != nil {
		return gdpr.ErasureReport{}, errBadSubject // the ID itself stays out of the error
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	erased := len(n.bySubj[subject])
	delete(n.bySubj, subject)
	return gdpr.ErasureReport{Erased: int64(erased)}, nil
}

func (n *notes) ExportSubject(ctx context.Context, subject gdpr.SubjectID, w gdpr.RecordWriter) error {
	if err := subject.Validate(); err != nil {
		return errBadSubject
	}
	n.mu.Lock()
	ns := slices.Clone(n.bySubj[subject]) // oldest first: a stable order
	n.mu.Unlock()
	for _, x := range ns {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := gdpr.Record{Dataset: "notes", ID: x.id, Provided: true, Fields: map[string]any{"text": x.text}}
		if err := w.WriteRecord(ctx, r); err != nil {
			return fmt.Errorf("notes: export: %w", err)
		}
	}
	return nil
}

// seed stores two notes, one of them the canary, so that the suites can
// see the data and see an export stop part-way.
func (n *notes) seed(ctx context.Context, subject gdpr.SubjectID, canary string) error {
	if err := n.Add(ctx, subject, "prefers e-mail"); err != nil {
		return err
	}
	return n.Add(ctx, subject, canary)
}

// The Eraser suite on the notes component. Present is left nil: notes is
// also an Exporter, and the suite sees through its export whether a
// subject's data is still there. In a test, call RunEraserTests instead,
// which runs each check as a subtest.
func ExampleTestEraser() {
	err := gdprtest.TestEraser(func() (gdprtest.EraserFixture, error) {
		n := newNotes()
		return gdprtest.EraserFixture{Eraser: n, Seed: n.seed}, nil
	})
	fmt.Println("Eraser conformance:", err)
	// Output: Eraser conformance: <nil>
}

// The Exporter suite on the notes component.
func ExampleTestExporter() {
	err := gdprtest.TestExporter(func() (gdprtest.ExporterFixture, error) {
		n := newNotes()
		return gdprtest.ExporterFixture{Exporter: n, Seed: n.seed}, nil
	})
	fmt.Println("Exporter conformance:", err)
	// Output: Exporter conformance: <nil>
}

// An eraser that counts again what it erased before fails the suite,
// which says which contract it broke.
func ExampleTestEraser_failure() {
	err := gdprtest.TestEraser(func() (gdprtest.EraserFixture, error) {
		n := newNotes()
		forgetful := gdpr.EraserFunc(func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
			rep, err := n.EraseSubject(ctx, s)
			rep.Erased = max(rep.Erased, 1) // wrong: nothing was left to erase
			return rep, err
		})
		return gdprtest.EraserFixture{Eraser: forgetful, Seed: n.seed, Present: func(ctx context.Context, s gdpr.SubjectID) (bool, error) {
			n.mu.Lock()
			defer n.mu.Unlock()
			return len(n.bySubj[s]) > 0, nil
		}}, nil
	})
	var first string
	if err != nil {
		first = err.(interface{ Unwrap() []error }).Unwrap()[0].Error()
	}
	fmt.Println(first)
	// Output: Eraser/Idempotent: second EraseSubject of the same subject reports 1 records erased, want 0: gdpr.Eraser must be idempotent: erasing a subject that is already erased succeeds with a zero report, so that a workflow that crashed half-way can run every step again
}

// A component's unit test wires a Recorder as its gdpr.Recorder and reads
// back what was recorded.
func ExampleRecorder() {
	ctx := context.Background()
	rec := new(gdprtest.Recorder)

	// The code under test records two events.
	_ = rec.Record(ctx, gdpr.Event{Action: "notes.added", Subject: "cust-42", Actor: gdpr.Staff("agent-7"),
		Resource: "note/1", Outcome: gdpr.Success})
	_ = rec.Record(ctx, gdpr.Event{Action: "notes.viewed", Subject: "cust-42", Actor: gdpr.Staff("agent-7"),
		Resource: "note/1", Outcome: gdpr.Success, Attrs: map[string]string{"text": "Jane Doe called"}})

	fmt.Println(rec.Actions())
	viewed := rec.ByAction("notes.viewed")
	fmt.Println(len(viewed), string(viewed[0].Subject)) // kept in clear: this is a fake
	for _, e := range rec.Leaks("cust-42", "Jane Doe") {
		fmt.Println("personal data outside Subject in", e.Action)
	}
	// Output:
	// [notes.added notes.viewed]
	// 1 cust-42
	// personal data outside Subject in notes.viewed
}

// FailWith makes the Recorder refuse events, to test that a caller which
// must not act unrecorded fails with the Recorder's error.
func ExampleRecorder_FailWith() {
	ctx := context.Background()
	rec := new(gdprtest.Recorder)
	errTrailDown := errors.New("audit trail unavailable")
	rec.FailWith(errTrailDown)

	err := rec.Record(ctx, gdpr.Event{Action: "notes.viewed", Subject: "cust-42", Outcome: gdpr.Success})
	fmt.Println(errors.Is(err, errTrailDown), rec.Len())

	rec.FailWith(nil)
	err = rec.Record(ctx, gdpr.Event{Action: "notes.viewed", Subject: "cust-42", Outcome: gdpr.Success})
	fmt.Println(err, rec.Len())
	// Output:
	// true 0
	// <nil> 1
}
