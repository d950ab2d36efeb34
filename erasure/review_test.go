package erasure_test

// Regression tests for defects a review found: each failed before its fix.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
	"github.com/gdprkit/gdpr/internal/clock"
)

// failingUpdates is a Store whose lease-checked writes fail after the
// first few, as a database that went away would.
type failingUpdates struct {
	*memerasure.Store
	left atomic.Int32
}

func (s *failingUpdates) Update(ctx context.Context, r erasure.Request, l *erasure.Lease, now time.Time) error {
	if l != nil && s.left.Add(-1) < 0 {
		return errors.New("connection reset")
	}
	return s.Store.Update(ctx, r, l, now)
}

// TestRunDoesNotHammerAFailingStore: a request whose writes fail is not
// taken up again at once: its lease is left to expire.
func TestRunDoesNotHammerAFailingStore(t *testing.T) {
	tb := newTable("t1")
	var calls atomic.Int32
	tb.hook = func(context.Context, gdpr.SubjectID) { calls.Add(1) }
	st := &failingUpdates{Store: memerasure.New()}
	st.left.Store(1) // the start is written, the first step's outcome is not
	e, _ := erasure.New(st, testKey, erasure.WithTargets(erasure.Target{Name: "t1", Eraser: tb}),
		erasure.WithPoll(5*time.Millisecond), erasure.WithLease(time.Minute))
	submit(t, e, "u1")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	e.Run(ctx)
	if n := calls.Load(); n > 2 {
		t.Errorf("the target was called %d times in 300 ms: Run hammers a request whose writes fail", n)
	}
}

// TestEngineFailuresFailTheRequest: a Notifier that keeps failing puts the
// request off with backoff, then fails it and alerts, instead of leaving
// it in progress for ever.
func TestEngineFailuresFailTheRequest(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithNotifier(erasure.NotifierFunc(func(context.Context, erasure.Notice) error {
		return errors.New("mailbox gone")
	})))
	r := submit(t, e, "u1")
	got, err := e.Process(t.Context(), r.ID)
	for i := 0; i < 10 && got.State == erasure.StateInProgress; i++ {
		if !errors.Is(err, erasure.ErrNotify) || !got.NextAt.After(f.clk.Now()) {
			t.Fatalf("round %d: %v, next %v", i, err, got.NextAt)
		}
		f.clk.Set(got.NextAt)
		got, err = e.Process(t.Context(), r.ID)
	}
	if got.State != erasure.StateFailed {
		t.Fatalf("state %s after the Notifier kept failing, want failed", got.State)
	}
	if len(f.alerts) != 1 || f.alerts[0].Target != "notifier" {
		t.Errorf("alerts %+v, want one naming the notifier", f.alerts)
	}
	if f.tables[0].succeeded("u1") != 1 {
		t.Errorf("the target ran %d times", f.tables[0].succeeded("u1"))
	}
}

// ctxRecorder fails, as a database-backed Recorder does, once its context
// has ended.
type ctxRecorder struct{}

func (ctxRecorder) Record(ctx context.Context, _ gdpr.Event) error { return ctx.Err() }

// TestStepRecordedWhenStopping: a worker stopped while a target succeeds
// still records the step, so the target is not run again.
func TestStepRecordedWhenStopping(t *testing.T) {
	tables := []*table{newTable("a"), newTable("b")}
	e, _ := erasure.New(memerasure.New(), testKey, erasure.WithRecorder(ctxRecorder{}),
		erasure.WithTargets(erasure.Target{Name: "a", Eraser: tables[0]}, erasure.Target{Name: "b", Eraser: tables[1]}))
	r := submit(t, e, "u1")
	ctx, cancel := context.WithCancel(t.Context())
	tables[0].hook = func(context.Context, gdpr.SubjectID) { cancel() }
	e.Process(ctx, r.ID)
	got, err := e.Process(t.Context(), r.ID)
	if err != nil || got.State != erasure.StateCompleted {
		t.Fatalf("%v %s", err, got.State)
	}
	if n := tables[0].succeeded("u1"); n != 1 {
		t.Errorf("target a succeeded %d times, want once", n)
	}
}

// TestSubjectActorKeepsNoID: an actor of kind subject with an ID in the
// context leaves no ID in the history or the trail.
func TestSubjectActorKeepsNoID(t *testing.T) {
	f, e := newFixture(t, 1)
	ctx := gdpr.WithActor(t.Context(), gdpr.Actor{Kind: gdpr.ActorSubject, ID: personal})
	r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: personal})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.Process(t.Context(), r.ID)
	if s := fmt.Sprintf("%+v", got.History); strings.Contains(s, personal) {
		t.Errorf("a closed request's history keeps the subject: %s", s)
	}
	for _, ev := range f.events.Events() {
		if ev.Actor.ID == personal {
			t.Errorf("event %s names the subject as its actor", ev.Action)
		}
	}
}

// TestStepErrorCutsEscapedSubject: the subject ID is cut from a target's
// error text also URL-escaped and in another letter case.
func TestStepErrorCutsEscapedSubject(t *testing.T) {
	e, _ := erasure.New(memerasure.New(), testKey, erasure.WithRetry(1, time.Second, time.Second),
		erasure.WithTargets(erasure.Target{Name: "api", Eraser: gdpr.EraserFunc(func(_ context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
			return gdpr.ErasureReport{}, fmt.Errorf("DELETE /users/%s: 503 (%s)", strings.ReplaceAll(string(s), "@", "%40"), strings.ToUpper(string(s)))
		})}))
	r, _, _ := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "ann@example.org"})
	got, _ := e.Process(t.Context(), r.ID)
	if msg := got.Steps[0].Error; strings.Contains(strings.ToLower(msg), "ann") {
		t.Errorf("step error keeps the subject: %q", msg)
	}
}

// TestVerifiedDropsTheCode: a request the host confirms by its own means
// gets no reminder of a code it no longer needs.
func TestVerifiedDropsTheCode(t *testing.T) {
	codes := memerasure.NewCodeStore()
	clk := clock.NewFake(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	v, _ := erasure.NewCodeVerifier(codes, testKey, func(context.Context, gdpr.Request, string) error { return nil }, erasure.CodeOptions{Now: clk.Now})
	_, e := newFixture(t, 1, erasure.WithVerifier(v))
	r, _, _ := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1", Channel: "email"})
	if _, err := e.Verified(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := codes.Attempt(t.Context(), r.ID); !errors.Is(err, erasure.ErrNotFound) {
		t.Errorf("the code outlives the verification: %v", err)
	}
}

// TestRejectNeedsReasons: Art. 12(4) asks for the reasons.
func TestRejectNeedsReasons(t *testing.T) {
	_, e := newFixture(t, 1, erasure.WithVerifier(manualVerifier{}))
	r, _, _ := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1"})
	if _, err := e.Reject(t.Context(), r.ID, erasure.RejectDuplicate, " "); !errors.Is(err, erasure.ErrInvalid) || fieldOf(err) != "note" {
		t.Errorf("a rejection without reasons: %v", err)
	}
	if got, _ := e.Get(t.Context(), r.ID); got.State != erasure.StateAwaitingIdentity {
		t.Errorf("a refused rejection wrote: %s", got.State)
	}
}

// TestDeletionsRecordedFirst: Purge and EraseSubject record their event
// before they delete: a Recorder that fails stops the deletion.
func TestDeletionsRecordedFirst(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithAccountability(gdpr.Period{Days: 1}))
	r := submit(t, e, "u1")
	e.Process(t.Context(), r.ID)
	f.clk.Add(72 * time.Hour)
	boom := errors.New("trail down")
	f.events.FailWith(boom)
	if _, err := e.Purge(t.Context()); !errors.Is(err, boom) {
		t.Errorf("Purge with the trail down: %v", err)
	}
	if _, err := e.EraseSubject(t.Context(), "u1"); !errors.Is(err, boom) {
		t.Errorf("EraseSubject with the trail down: %v", err)
	}
	if _, err := e.Get(t.Context(), r.ID); err != nil {
		t.Errorf("a request was deleted without its audit event: %v", err)
	}
	f.events.FailWith(nil)
	if n, err := e.Purge(t.Context()); n != 1 || err != nil {
		t.Errorf("Purge: %d %v", n, err)
	}
	if len(f.events.ByAction("erasure.request.purged")) != 1 {
		t.Errorf("purge events: %d", len(f.events.ByAction("erasure.request.purged")))
	}
}
