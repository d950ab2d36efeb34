package erasure_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
)

// R1: a purpose-limited restriction does not cover an empty purpose,
// although Check's doc says it does; Guard without a purpose in ctx lets
// decryption through.
func TestReviewEmptyPurposeBypassesPurposeRestriction(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithRestrictionCache(0))
	const s = gdpr.SubjectID("p@example.org")
	r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundUnlawful, Purposes: []gdpr.Purpose{"ads"}})
	settle(t, f, e, r.ID)
	if err := e.Check(t.Context(), s, "", gdpr.AllowNone); err == nil {
		t.Errorf("R1: Check(purpose \"\") = nil for a subject restricted for ads; doc says an empty purpose is covered")
	}
	if err := e.Guard(t.Context(), s); err == nil {
		t.Errorf("R1: Guard with no purpose in ctx = nil: decryption goes ahead")
	}
}

// blockingList blocks a full (cache refresh) listing after it has read
// the store, until released.
type blockingList struct {
	erasure.Store
	armed   atomic.Bool
	reached chan struct{}
	release chan struct{}
	delay   time.Duration
}

func (b *blockingList) ListRestrictions(ctx context.Context, f erasure.RestrictionFilter) ([]erasure.Restriction, error) {
	xs, err := b.Store.ListRestrictions(ctx, f)
	if f.SubjectRef == "" && b.armed.CompareAndSwap(true, false) {
		close(b.reached)
		<-b.release
	}
	if f.SubjectRef == "" && b.delay > 0 {
		time.Sleep(b.delay)
	}
	return xs, err
}

// R2: an invalidation during an in-flight refresh is lost: the refresh
// installs a snapshot read before the local write, fresh for ttl.
func TestReviewLostInvalidation(t *testing.T) {
	bl := &blockingList{Store: memerasure.New(), reached: make(chan struct{}), release: make(chan struct{})}
	e, err := erasure.New(bl, testKey, erasure.WithRestrictionCache(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const s = gdpr.SubjectID("z@example.org")
	bl.armed.Store(true)
	done := make(chan error)
	go func() { done <- e.Check(ctx, "other@example.org", "", gdpr.AllowNone) }()
	<-bl.reached
	r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundUnlawful})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Process(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	close(bl.release)
	<-done
	if err := e.Check(ctx, s, "", gdpr.AllowNone); err == nil {
		t.Errorf("R2: this instance placed the restriction, yet Check allows for up to 2h (ttl 1h)")
	}
}

// R3: the staleness bound was counted from the end of the cache's read,
// not its start: with a slow store, another instance answered nil past
// 2*ttl after the write. Now no Check of the other instance answers nil
// later than 2*ttl after the write (it may take longer to answer, while
// it waits for a fresh read).
func TestReviewBoundFromReadEnd(t *testing.T) {
	store := memerasure.New()
	const ttl = 40 * time.Millisecond
	a, _ := erasure.New(store, testKey, erasure.WithRestrictionCache(ttl))
	slow := &blockingList{Store: store, delay: 300 * time.Millisecond}
	b, _ := erasure.New(slow, testKey, erasure.WithRestrictionCache(ttl))
	ctx := context.Background()
	const s = gdpr.SubjectID("slow@example.org")
	// b starts a refresh (reads at once, then is slow to return).
	go b.Check(ctx, "x", "", gdpr.AllowNone)
	time.Sleep(20 * time.Millisecond)
	r, _, _ := a.Submit(ctx, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundLegalClaims})
	if _, err := a.Process(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	placed := time.Now()
	refused := false
	for time.Since(placed) < 1500*time.Millisecond {
		// A Check that starts past the bound (with a margin for timers
		// that fire late on a loaded machine) must not allow.
		started := time.Since(placed)
		err := b.Check(ctx, s, "", gdpr.AllowNone)
		if err == nil && started > 2*ttl+100*time.Millisecond {
			t.Fatalf("R3: instance b allowed a check started %v after the write; bound %v", started, 2*ttl)
		}
		refused = refused || err != nil
		time.Sleep(time.Millisecond)
	}
	if !refused {
		t.Error("R3: instance b never refused")
	}
}

// failOnce fails the first event with the given action.
type failOnce struct {
	mu     sync.Mutex
	action string
	done   bool
	events []gdpr.Event
}

func (f *failOnce) Record(_ context.Context, ev gdpr.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ev.Action == f.action && !f.done {
		f.done = true
		return errors.New("trail down")
	}
	f.events = append(f.events, ev)
	return nil
}

func (f *failOnce) count(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, ev := range f.events {
		if ev.Action == action {
			n++
		}
	}
	return n
}

// R4: a lift whose audit event fails after the store write: the retry
// finds nothing in force, records NothingFound, and the lift event is
// never recorded.
func TestReviewLiftAuditLost(t *testing.T) {
	rec := &failOnce{action: "erasure.restriction.lifted"}
	f, e := newFixture(t, 1, erasure.WithRestrictionCache(0), erasure.WithRecorder(rec))
	const s = gdpr.SubjectID("l@example.org")
	r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundUnlawful})
	settle(t, f, e, r.ID)
	lift := submitOK(t, e, erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: s, Authenticated: true})
	got := settle(t, f, e, lift.ID)
	last := got.Steps[len(got.Steps)-1]
	if rec.count("erasure.restriction.lifted") == 0 {
		t.Errorf("R4: the restriction was lifted but no erasure.restriction.lifted event exists; lift step %+v", last)
	}
	if last.Outcome == erasure.OutcomeNothingFound {
		t.Errorf("R4: lift step recorded nothing_found though it lifted")
	}
}

// R5: a target or rectifier named like one of the engine's own steps was
// dispatched to that step: nothing erased or corrected, yet completed.
// Such names are refused.
func TestReviewReservedStepNames(t *testing.T) {
	rn := erasure.RecipientNotifierFunc(func(context.Context, erasure.RecipientNotice) error { return nil })
	for _, name := range []string{"handler", "recipients", "recipient", "restriction", "objection", "lift_notice", "lift"} {
		_, err := erasure.New(memerasure.New(), testKey, erasure.WithTargets(erasure.Target{Name: name, Eraser: newTable(name)}),
			erasure.WithRecipients(rn, nil))
		if !errors.Is(err, erasure.ErrInvalid) || fieldOf(err) != "WithTargets" {
			t.Errorf("R5: target %q: %v, want ErrInvalid on WithTargets", name, err)
		}
		rc := erasure.Rectifier{Name: name, Fields: []string{"email"}, Rectify: func(context.Context, gdpr.SubjectID, erasure.Correction) error { return nil }}
		_, err = erasure.New(memerasure.New(), testKey, erasure.WithRectifiers(rc))
		if !errors.Is(err, erasure.ErrInvalid) || fieldOf(err) != "WithRectifiers" {
			t.Errorf("R5: rectifier %q: %v, want ErrInvalid on WithRectifiers", name, err)
		}
	}
}

// conflictUpdate fails UpdateRestriction with ErrConflict.
type conflictUpdate struct{ erasure.Store }

func (c conflictUpdate) UpdateRestriction(context.Context, erasure.Restriction) error {
	return fmt.Errorf("lost race: %w", erasure.ErrConflict)
}

// R6: Override tells the hook, the subject and the trail before the
// write; a failed write leaves all three saying "overridden".
func TestReviewOverrideSideEffectsOnError(t *testing.T) {
	l := &ledger{}
	inner := memerasure.New()
	var notices []erasure.Notice
	e, _ := erasure.New(inner, testKey, erasure.WithRegister(marketingRegister()), erasure.WithObjectionHook(l.hook), erasure.WithRestrictionCache(0),
		erasure.WithNotifier(erasure.NotifierFunc(func(_ context.Context, n erasure.Notice) error { notices = append(notices, n); return nil })))
	const s = gdpr.SubjectID("o@example.org")
	r, _, _ := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindObjection, Subject: s, Purposes: []gdpr.Purpose{"fraud"}, Authenticated: true})
	if _, err := e.Process(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	e2, _ := erasure.New(conflictUpdate{inner}, testKey, erasure.WithRegister(marketingRegister()), erasure.WithObjectionHook(l.hook), erasure.WithRestrictionCache(0),
		erasure.WithNotifier(erasure.NotifierFunc(func(_ context.Context, n erasure.Notice) error { notices = append(notices, n); return nil })))
	n0 := len(notices)
	_, err := e2.Override(gdpr.WithActor(t.Context(), gdpr.Staff("dpo")), s, "fraud", "LIA-1", "reasons")
	if err == nil {
		t.Fatal("expected conflict")
	}
	if !l.denies(s, "fraud") {
		t.Errorf("R6: Override failed (%v) but the objection hook (consent ledger) was told it was overridden", err)
	}
	if len(notices) > n0 {
		t.Errorf("R6: subject told of an override that was not written")
	}
	if e.Check(t.Context(), s, "fraud", gdpr.AllowNone) == nil {
		t.Log("engine allows")
	}
}

// R7: with two objections to one purpose, Override overrides one and
// reports success, Check still refuses.
func TestReviewOverrideTwoObjections(t *testing.T) {
	l := &ledger{}
	f, e := newFixture(t, 1, erasure.WithRegister(marketingRegister()), erasure.WithObjectionHook(l.hook), erasure.WithRestrictionCache(0))
	const s = gdpr.SubjectID("o2@example.org")
	for range 2 {
		r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindObjection, Subject: s, Purposes: []gdpr.Purpose{"fraud"}})
		settle(t, f, e, r.ID)
	}
	if _, err := e.Override(gdpr.WithActor(t.Context(), gdpr.Staff("dpo")), s, "fraud", "LIA-1", "reasons"); err != nil {
		t.Fatal(err)
	}
	if err := e.Check(t.Context(), s, "fraud", gdpr.AllowNone); err != nil {
		t.Errorf("R7: Override succeeded but Check still refuses: %v (hook says denied=%v)", err, l.denies(s, "fraud"))
	}
}

// R8: a retried submission of the same rectification, after one of its
// corrections was applied, is refused as "asks otherwise".
func TestReviewDuplicateRectificationConflict(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	rc := erasure.Rectifier{Name: "crm", Fields: []string{"a", "b"}, Rectify: func(_ context.Context, _ gdpr.SubjectID, c erasure.Correction) error {
		if c.Field == "b" && fail.Load() {
			return errors.New("down")
		}
		return nil
	}}
	f, e := newFixture(t, 1, erasure.WithRectifiers(rc))
	const s = gdpr.SubjectID("d@example.org")
	sub := erasure.Submission{Kind: gdpr.KindRectification, Subject: s, Corrections: []erasure.Correction{
		{Target: "crm", Field: "a", Value: "va"}, {Target: "crm", Field: "b", Value: "vb"}}}
	r := submitOK(t, e, sub)
	_, _ = e.Process(t.Context(), r.ID)
	_ = f
	again, created, err := e.Submit(t.Context(), sub)
	if err != nil || created || again.ID != r.ID {
		t.Errorf("R8: resubmitting the same rectification while open: %v (created %v)", err, created)
	}
}

// R9: EraseSubject (gdpr.Eraser) deletes a restriction in force: Check
// allows with no lift and no Art. 18(3) notice.
func TestReviewEraseSubjectDropsRestriction(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithRestrictionCache(0))
	const s = gdpr.SubjectID("e@example.org")
	r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundLegalClaims})
	settle(t, f, e, r.ID)
	n := len(f.notices)
	if _, err := e.EraseSubject(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if e.Check(t.Context(), s, "x", gdpr.AllowNone) == nil {
		t.Errorf("R9: restriction gone after EraseSubject, no lift notice (notices %d -> %d)", n, len(f.notices))
	}
}

// R10: an erasure retained entirely by a legal hold still tells every
// recipient "erasure", with nothing to say it was not carried out.
func TestReviewRecipientsToldOfRetainedErasure(t *testing.T) {
	var told []erasure.RecipientNotice
	rn := erasure.RecipientNotifierFunc(func(_ context.Context, n erasure.RecipientNotice) error { told = append(told, n); return nil })
	disc := gdpr.DisclosuresFunc(func(context.Context, gdpr.SubjectID) ([]gdpr.Disclosure, error) {
		return []gdpr.Disclosure{{Recipient: "partner", Reference: "p-1"}}, nil
	})
	f, e := newFixture(t, 1, erasure.WithRecipients(rn, disc),
		erasure.WithLegalHolds(holds{"h@example.org": {{ID: "case-1", Categories: []string{"profile"}, Reason: "litigation"}}}))
	const s = gdpr.SubjectID("h@example.org")
	f.seed(s)
	got := settle(t, f, e, submit(t, e, s).ID)
	if len(told) > 0 {
		t.Errorf("R10: state %s, table still has data %v, recipients told %+v", got.State, f.tables[0].has(s), told)
	}
}

// R11: one malformed disclosure fails the whole erasure before any target.
func TestReviewBadDisclosureBlocksErasure(t *testing.T) {
	rn := erasure.RecipientNotifierFunc(func(context.Context, erasure.RecipientNotice) error { return nil })
	disc := gdpr.DisclosuresFunc(func(context.Context, gdpr.SubjectID) ([]gdpr.Disclosure, error) {
		return []gdpr.Disclosure{{Recipient: strings.Repeat("x", 201)}}, nil
	})
	f, e := newFixture(t, 1, erasure.WithRecipients(rn, disc))
	const s = gdpr.SubjectID("b@example.org")
	f.seed(s)
	got := settle(t, f, e, submit(t, e, s).ID)
	if got.State == erasure.StateFailed && f.tables[0].has(s) {
		t.Errorf("R11: erasure failed on a recipient-listing problem, data not erased: %+v", got.Steps)
	}
}

// R12: prints of recipient data.
func TestReviewRecipientFmt(t *testing.T) {
	n := erasure.RecipientNotice{ID: "x", Recipient: gdpr.Disclosure{Recipient: "p", Reference: "cust-SECRET"}}
	for _, v := range []string{fmt.Sprint(n), fmt.Sprintf("%+v", n), fmt.Sprintf("%#v", n.Recipient)} {
		if strings.Contains(v, "cust-SECRET") {
			t.Errorf("R12: fmt prints the recipient's reference: %s", v)
			break
		}
	}
}

// R13: lift processed by an instance without a Notifier.
func TestReviewLiftWithoutNotifierPanics(t *testing.T) {
	store := memerasure.New()
	a, _ := erasure.New(store, testKey, erasure.WithRestrictionCache(0),
		erasure.WithNotifier(erasure.NotifierFunc(func(context.Context, erasure.Notice) error { return nil })))
	b, _ := erasure.New(store, testKey, erasure.WithRestrictionCache(0))
	const s = gdpr.SubjectID("nn@example.org")
	r, _, _ := a.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundUnlawful})
	a.Process(t.Context(), r.ID)
	l, _, err := a.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: s})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("R13: Process of a lift on an instance without Notifier panics: %v", p)
		}
	}()
	b.Process(t.Context(), l.ID)
}
