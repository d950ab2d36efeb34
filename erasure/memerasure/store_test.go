package memerasure_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/erasuretest"
	"github.com/gdprkit/gdpr/erasure/memerasure"
	"github.com/gdprkit/gdpr/gdprtest"
)

// One process's memory holds each storage: both of a suite's handles are
// one value, and its races are between goroutines.

func TestStore(t *testing.T) {
	erasuretest.RunStoreTests(t, func(*testing.T) (s, other erasure.Store) {
		st := memerasure.New()
		return st, st
	})
}

func TestCodeStore(t *testing.T) {
	erasuretest.RunCodeStoreTests(t, func(*testing.T) (s, other erasure.CodeStore) {
		st := memerasure.NewCodeStore()
		return st, st
	})
}

func TestJournal(t *testing.T) {
	erasuretest.RunJournalTests(t, func(*testing.T) (j, other erasure.Journal) {
		st := memerasure.NewJournal()
		return st, st
	})
}

// TestTargetSuite runs erasuretest.RunTargetTests on a small target over
// a map, one that keeps invoices back, so the suite's checks of retained
// data run too.
func TestTargetSuite(t *testing.T) {
	erasuretest.RunTargetTests(t, func(*testing.T) erasuretest.TargetFixture {
		tg := newTarget()
		return erasuretest.TargetFixture{
			EraserFixture: gdprtest.EraserFixture{Eraser: tg, Seed: tg.seed, Present: tg.present},
			SeedRetained:  tg.seedInvoice,
		}
	})
}

func TestNilContext(t *testing.T) {
	s, cs, j := memerasure.New(), memerasure.NewCodeStore(), memerasure.NewJournal()
	var nilCtx context.Context
	r := erasuretest.NewRequest(gdpr.KindErasure, "subject-a", time.Now())
	l := erasure.Lease{Subject: r.SubjectRef, Request: r.ID, Token: "t"}
	for op, call := range map[string]func() error{
		"create":             func() error { _, _, err := s.Create(nilCtx, r); return err },
		"get":                func() error { _, err := s.Get(nilCtx, r.ID); return err },
		"update":             func() error { return s.Update(nilCtx, r, nil, time.Now()) },
		"acquire":            func() error { _, err := s.Acquire(nilCtx, "w", time.Now(), time.Minute, 1); return err },
		"acquire id":         func() error { _, err := s.AcquireID(nilCtx, r.ID, "w", time.Now(), time.Minute); return err },
		"renew":              func() error { return s.Renew(nilCtx, l, time.Now(), time.Now()) },
		"release":            func() error { return s.Release(nilCtx, l) },
		"list":               func() error { _, err := s.List(nilCtx, erasure.Filter{}); return err },
		"count":              func() error { _, err := s.Count(nilCtx, erasure.Filter{}); return err },
		"delete":             func() error { _, err := s.Delete(nilCtx, r.ID); return err },
		"create restriction": func() error { return s.CreateRestriction(nilCtx, erasure.Restriction{ID: r.ID}) },
		"update restriction": func() error { return s.UpdateRestriction(nilCtx, erasure.Restriction{ID: r.ID}) },
		"get restriction":    func() error { _, err := s.GetRestriction(nilCtx, r.ID); return err },
		"list restrictions":  func() error { _, err := s.ListRestrictions(nilCtx, erasure.RestrictionFilter{}); return err },
		"put statement":      func() error { return s.PutStatement(nilCtx, erasure.Statement{ID: r.ID + "/0"}) },
		"list statements":    func() error { _, err := s.ListStatements(nilCtx, r.SubjectRef); return err },
		"forget":             func() error { _, err := s.Forget(nilCtx, r.SubjectRef); return err },
		"put code":           func() error { return cs.PutCode(nilCtx, erasure.Code{Request: r.ID}) },
		"attempt":            func() error { _, err := cs.Attempt(nilCtx, r.ID); return err },
		"delete code":        func() error { return cs.DeleteCode(nilCtx, r.ID) },
		"due reminders":      func() error { _, err := cs.DueReminders(nilCtx, time.Now(), 1); return err },
		"mark reminded":      func() error { return cs.MarkReminded(nilCtx, r.ID, time.Now()) },
		"append":             func() error { return j.Append(nilCtx, erasure.JournalEntry{RequestID: r.ID}) },
		"match":              func() error { _, err := j.Match(nilCtx, []string{"x"}); return err },
	} {
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s with a nil context panicked: %v", op, p)
				}
			}()
			err = call()
		}()
		var ee *erasure.Error
		if !errors.As(err, &ee) || ee.Op != op || ee.Field != "ctx" || !errors.Is(err, erasure.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("%s with a nil context: %v; want *erasure.Error{Op: %q, Field: \"ctx\"} wrapping erasure.ErrInvalid", op, err, op)
		}
	}
	if rs, _ := s.List(t.Context(), erasure.Filter{}); len(rs) != 0 {
		t.Errorf("a nil-context Create wrote %d requests", len(rs))
	}
	if xs, _ := s.ListRestrictions(t.Context(), erasure.RestrictionFilter{IncludeLifted: true}); len(xs) != 0 {
		t.Errorf("a nil-context CreateRestriction wrote %d restrictions", len(xs))
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s := memerasure.New()
	if _, _, err := s.Create(ctx, erasuretest.NewRequest(gdpr.KindErasure, "subject-a", time.Now())); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a canceled context: %v; want context.Canceled", err)
	}
	if _, err := memerasure.NewCodeStore().Attempt(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Attempt with a canceled context: %v; want context.Canceled", err)
	}
	if err := memerasure.NewJournal().Append(ctx, erasure.JournalEntry{RequestID: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context: %v; want context.Canceled", err)
	}
}

// TestInvalidArguments checks what the contracts leave to the
// implementation: the arguments memerasure refuses.
func TestInvalidArguments(t *testing.T) {
	ctx := t.Context()
	s := memerasure.New()
	r := erasuretest.NewRequest(gdpr.KindErasure, "subject-a", time.Now())
	noID := r
	noID.ID = ""
	badZone := r
	badZone.Deadline.Location = time.FixedZone("UTC+1", 3600)
	_, _, errNoID := s.Create(ctx, noID)
	_, _, errZone := s.Create(ctx, badZone)
	_, errN := s.Acquire(ctx, "w", time.Now(), time.Minute, 0)
	_, errTTL := s.Acquire(ctx, "w", time.Now(), 0, 1)
	_, errIDTTL := s.AcquireID(ctx, r.ID, "w", time.Now(), -time.Second)
	_, errLimit := memerasure.NewCodeStore().DueReminders(ctx, time.Now(), 0)
	for name, c := range map[string]struct {
		err   error
		field string
	}{
		"Create without an ID":                          {errNoID, "id"},
		"Create with a zone that does not load by name": {errZone, "deadline"},
		"Acquire with n 0":                              {errN, "n"},
		"Acquire with ttl 0":                            {errTTL, "ttl"},
		"AcquireID with a negative ttl":                 {errIDTTL, "ttl"},
		"DueReminders with limit 0":                     {errLimit, "limit"},
		"PutCode without a request":                     {memerasure.NewCodeStore().PutCode(ctx, erasure.Code{}), "request"},
		"Append without a request":                      {memerasure.NewJournal().Append(ctx, erasure.JournalEntry{}), "request"},
		"CreateRestriction without an ID":               {s.CreateRestriction(ctx, erasure.Restriction{SubjectRef: r.SubjectRef}), "id"},
		"PutStatement without an ID":                    {s.PutStatement(ctx, erasure.Statement{SubjectRef: r.SubjectRef}), "id"},
	} {
		var ee *erasure.Error
		if !errors.Is(c.err, erasure.ErrInvalid) || !errors.As(c.err, &ee) || ee.Field != c.field {
			t.Errorf("%s: %v; want an *erasure.Error with Field %q wrapping erasure.ErrInvalid", name, c.err, c.field)
		}
	}
	if rs, _ := s.List(ctx, erasure.Filter{}); len(rs) != 0 {
		t.Errorf("refused Creates wrote %d requests", len(rs))
	}
	if xs, _ := s.ListRestrictions(ctx, erasure.RestrictionFilter{IncludeLifted: true}); len(xs) != 0 {
		t.Errorf("a refused CreateRestriction wrote %d restrictions", len(xs))
	}
	if ss, _ := s.ListStatements(ctx, r.SubjectRef); len(ss) != 0 {
		t.Errorf("a refused PutStatement wrote %d statements", len(ss))
	}
}

// TestErrorTexts checks the texts: the operation, the sentinel, IDs at
// most, never a subject.
func TestErrorTexts(t *testing.T) {
	ctx := t.Context()
	s := memerasure.New()
	const subject = "ada.lovelace@example.com"
	r := erasuretest.NewRequest(gdpr.KindErasure, subject, time.Now())
	if _, _, err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	dup := erasuretest.NewRequest(gdpr.KindAccess, subject, time.Now())
	dup.ID = r.ID
	_, _, errDup := s.Create(ctx, dup)
	stale := r
	stale.Version = 5
	l := erasure.Lease{Subject: r.SubjectRef, Request: r.ID, Token: "t"}
	x := erasure.Restriction{ID: r.ID, Kind: gdpr.KindRestriction, SubjectRef: r.SubjectRef}
	if err := s.CreateRestriction(ctx, x); err != nil {
		t.Fatal(err)
	}
	staleX := x
	staleX.Version = 4
	for err, want := range map[error]string{
		s.CreateRestriction(ctx, x):             "erasure create restriction: memerasure: conflict: restriction " + fmt.Sprintf("%q", r.ID) + " exists",
		s.UpdateRestriction(ctx, staleX):        "erasure update restriction: memerasure: conflict: restriction " + fmt.Sprintf("%q", r.ID) + ": stored version is 1, not 4",
		errDup:                                  "erasure create: memerasure: conflict: request " + fmt.Sprintf("%q", r.ID) + " exists",
		s.Update(ctx, stale, nil, time.Now()):   "erasure update: memerasure: conflict: request " + fmt.Sprintf("%q", r.ID) + ": stored version is 1, not 5",
		s.Update(ctx, r, &l, time.Now()):        "erasure update: memerasure: lease lost: request " + fmt.Sprintf("%q", r.ID),
		s.Renew(ctx, l, time.Now(), time.Now()): "erasure renew: memerasure: lease lost: request " + fmt.Sprintf("%q", r.ID),
	} {
		if err == nil || err.Error() != want {
			t.Errorf("error %v; want %q", err, want)
		}
		if err != nil && strings.Contains(fmt.Sprintf("%v %+v", err, err), subject) {
			t.Errorf("error %q names the subject", err)
		}
	}
	_, err := s.Get(ctx, subject)
	if err == nil || strings.Contains(err.Error(), subject) {
		t.Errorf("Get(a subject ID passed as a request ID): %v; want ErrNotFound without the value", err)
	}
}

// TestDoesNotPrint checks that no verb prints what the stores hold.
func TestDoesNotPrint(t *testing.T) {
	const subject = "ada.lovelace@example.com"
	s := memerasure.New()
	if _, _, err := s.Create(t.Context(), erasuretest.NewRequest(gdpr.KindErasure, subject, time.Now())); err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{s, memerasure.NewCodeStore(), memerasure.NewJournal()} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "ada") || !strings.Contains(out, "memerasure.") {
				t.Errorf("fmt %s of a %T = %.200q; want its type name only", verb, v, out)
			}
		}
	}
}

// TestDeadlineWithoutCalendar checks the Deadline's normalisation: the
// Calendar is not kept (as no SQL store can keep code), the Location is
// the zone its name loads.
func TestDeadlineWithoutCalendar(t *testing.T) {
	ctx := t.Context()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	hol, err := gdpr.NewHolidays("2025-05-02")
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2025, time.April, 1, 10, 0, 0, 0, berlin)
	r := erasuretest.NewRequest(gdpr.KindErasure, "subject-a", received)
	r.Deadline = gdpr.NewDeadline(received, berlin, hol)
	s := memerasure.New()
	got, _, err := s.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if got.Deadline.Location.String() != "Europe/Berlin" || got.Deadline.LastDay.Location().String() != "Europe/Berlin" {
		t.Errorf("Deadline.Location %s, LastDay in %s; want both Europe/Berlin", got.Deadline.Location, got.Deadline.LastDay.Location())
	}
	if got.Deadline.Received.Location() != time.UTC {
		t.Errorf("Deadline.Received in %s; want UTC", got.Deadline.Received.Location())
	}
	want, err := r.Deadline.Extend("complex")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := got.Deadline.WithCalendar(hol).Extend("complex"); err != nil || !got.Due.Equal(want.Due) {
		t.Errorf("Extend of the stored deadline with its Calendar re-attached: Due %s, %v; want %s", got.Due, err, want.Due)
	}
}

// target is a host store over a map for TestTargetSuite: per subject, a
// row of profile data it erases and a count of invoices it keeps.
type target struct {
	mu       sync.Mutex
	rows     map[gdpr.SubjectID]string
	invoices map[gdpr.SubjectID]int64
}

func newTarget() *target {
	return &target{rows: map[gdpr.SubjectID]string{}, invoices: map[gdpr.SubjectID]int64{}}
}

func (tg *target) seed(_ context.Context, s gdpr.SubjectID, canary string) error {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	tg.rows[s] = canary
	return nil
}

func (tg *target) seedInvoice(_ context.Context, s gdpr.SubjectID) error {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	tg.invoices[s]++
	return nil
}

func (tg *target) present(_ context.Context, s gdpr.SubjectID) (bool, error) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	_, ok := tg.rows[s]
	return ok, nil
}

func (tg *target) EraseSubject(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	if err := ctx.Err(); err != nil {
		return gdpr.ErasureReport{}, err
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	var rep gdpr.ErasureReport
	if _, ok := tg.rows[s]; ok {
		delete(tg.rows, s)
		rep.Erased = 1
	}
	if n := tg.invoices[s]; n > 0 {
		rep.Exemptions = []gdpr.Exemption{{Category: "billing", Records: n, Ground: gdpr.GroundLegalObligation, Reason: "tax law: 10 years"}}
	}
	return rep, nil
}

func (tg *target) ErasureLatency() time.Duration { return 0 }
