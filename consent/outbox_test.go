package consent_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/gdprtest"
)

// recordsOf counts rec's events per Resource.
func recordsOf(rec *gdprtest.Recorder) map[string]int {
	out := map[string]int{}
	for _, e := range rec.Events() {
		out[e.Resource]++
	}
	return out
}

// A Recorder that fails leaves the event's record owed; a later
// DrainAudit, once the marker is due, records it exactly once more, and a
// drain before that records nothing.
func TestDrainAuditAfterRecorderFailure(t *testing.T) {
	f := newFixture(t)
	f.audit.FailWith(errors.New("trail down"))
	e, err := f.l.Give(f.ctx, f.choice("owed"))
	if err == nil || e.ID == "" {
		t.Fatalf("Give with a failing Recorder = %q, %v; want the event and the Recorder's error", e.ID, err)
	}
	if errors.Is(err, consent.ErrInvalid) {
		t.Errorf("a Recorder failure reads as bad input: %v", err)
	}
	f.audit.FailWith(nil)
	if evs := mustOK(f.l.History(f.ctx, "owed", "")); len(evs) != 1 {
		t.Fatalf("history after a failed record: %d events; want the choice, which stands", len(evs))
	}
	if n, err := f.l.DrainAudit(f.ctx); err != nil || n != 0 {
		t.Errorf("DrainAudit before the marker is due = %d, %v; want 0, nil: the appending Ledger has AuditGrace to record", n, err)
	}
	f.clk.Add(consent.AuditGrace)
	if n, err := f.l.DrainAudit(f.ctx); err != nil || n != 1 {
		t.Fatalf("DrainAudit once due = %d, %v; want 1", n, err)
	}
	if got := recordsOf(f.audit)["consent_event/"+e.ID]; got != 1 {
		t.Errorf("the event has %d audit records after the drain; want 1", got)
	}
	a := lastAudit(t, f, "consent.given")
	if a.Subject != "owed" || a.Actor != gdpr.SubjectActor() || a.Purpose != "newsletter" || !a.Time.Equal(e.Time) ||
		a.Attrs["method"] != string(consent.MethodCheckbox) || a.Attrs["notice"] != "newsletter-notice" {
		t.Errorf("drained record %+v; want the record the append would have made", a)
	}
	f.clk.Add(10 * consent.AuditGrace)
	if n, err := f.l.DrainAudit(f.ctx); err != nil || n != 0 {
		t.Errorf("a second DrainAudit = %d, %v; want 0: the record was made", n, err)
	}
	if got := recordsOf(f.audit)["consent_event/"+e.ID]; got != 1 {
		t.Errorf("the event has %d audit records after a second drain; want 1", got)
	}
}

// A failed drain leaves the event owed too, due again AuditGrace later.
func TestDrainAuditRecorderFailsDuringDrain(t *testing.T) {
	f := newFixture(t)
	f.audit.FailWith(errors.New("trail down"))
	e, _ := f.l.Give(f.ctx, f.choice("owed"))
	f.clk.Add(consent.AuditGrace)
	if n, err := f.l.DrainAudit(f.ctx); err == nil || n != 0 {
		t.Errorf("DrainAudit with the Recorder still down = %d, %v; want 0 and its error", n, err)
	}
	f.audit.FailWith(nil)
	if n, _ := f.l.DrainAudit(f.ctx); n != 0 {
		t.Errorf("DrainAudit right after a failed claim recorded %d; want 0 until the claim lapses", n)
	}
	f.clk.Add(consent.AuditGrace)
	if n, err := f.l.DrainAudit(f.ctx); err != nil || n != 1 {
		t.Errorf("DrainAudit after the claim lapsed = %d, %v; want 1", n, err)
	}
	if got := recordsOf(f.audit)["consent_event/"+e.ID]; got != 1 {
		t.Errorf("%d records; want 1", got)
	}
}

// crashStore stores the event and then fails Append, as a commit whose
// acknowledgement was lost (the connection died, the context ended) or a
// process that crashed after the write: the Ledger sees an error and makes
// no record.
type crashStore struct{ *memconsent.Store }

func (s crashStore) Append(ctx context.Context, e consent.Event) error {
	if err := s.Store.Append(ctx, e); err != nil {
		return err
	}
	return errors.New("connection lost after commit")
}

func TestDrainAuditAfterCrash(t *testing.T) {
	store := memconsent.New()
	rec := new(gdprtest.Recorder)
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	l := mustOK(consent.New(crashStore{store}, consent.WithRecorder(rec), consent.WithClock(clk.Now)))
	mustOK(l.Publish(context.Background(), consent.Notice{ID: "nl", Version: 1, TextHash: consent.HashText("nl")}))
	if _, err := l.Give(context.Background(), consent.Choice{Subject: "crash", Purpose: "newsletter", Notice: consent.NoticeRef{ID: "nl", Version: 1}}); err == nil {
		t.Fatal("Give over a store that fails after the write: nil error")
	}
	evs := mustOK(store.Events(context.Background(), "crash", ""))
	if len(evs) != 1 || recordsOf(rec)["consent_event/"+evs[0].ID] != 0 {
		t.Fatalf("%d events, %v records; want 1 event without a record", len(evs), recordsOf(rec))
	}
	// Another instance, started after the crash, drains it.
	clk.Add(consent.AuditGrace)
	other := mustOK(consent.New(store, consent.WithRecorder(rec), consent.WithClock(clk.Now)))
	if n, err := other.DrainAudit(context.Background()); err != nil || n != 1 {
		t.Fatalf("DrainAudit = %d, %v; want 1", n, err)
	}
	if got := recordsOf(rec)["consent_event/"+evs[0].ID]; got != 1 {
		t.Errorf("%d records; want 1", got)
	}
}

// Erasure drops the owed records of the erased events: a drain after it
// records nothing that names the subject.
func TestDrainAuditAfterErasure(t *testing.T) {
	f := newFixture(t)
	f.audit.FailWith(errors.New("trail down"))
	f.l.Give(f.ctx, f.choice("gone"))
	f.l.Give(f.ctx, f.choice("stays"))
	f.audit.FailWith(nil)
	mustOK(f.l.EraseSubject(f.ctx, "gone"))
	f.clk.Add(consent.AuditGrace)
	if n, err := f.l.DrainAudit(f.ctx); err != nil || n != 1 {
		t.Errorf("DrainAudit = %d, %v; want 1, the bystander's", n, err)
	}
	for _, e := range f.audit.Events() {
		if e.Subject == "gone" && strings.HasPrefix(e.Resource, "consent_event/") {
			t.Errorf("after erasure a drain recorded %s of an erased event, naming the erased subject", e.Action)
		}
	}
}

// Two instances draining at once record each owed event once.
func TestDrainAuditConcurrent(t *testing.T) {
	f := newFixture(t)
	f.audit.FailWith(errors.New("trail down"))
	const n = 250
	for i := range n {
		f.l.Give(f.ctx, f.choice(fmt.Sprintf("many-%03d", i)))
	}
	f.audit.FailWith(nil)
	f.clk.Add(consent.AuditGrace)
	before := f.audit.Len()
	ledgers := []*consent.Ledger{f.l, mustOK(consent.New(f.store, consent.WithRecorder(f.audit), consent.WithClock(f.clk.Now)))}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := ledgers[g%2].DrainAudit(f.ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += k
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != n || f.audit.Len()-before != n {
		t.Errorf("concurrent drains recorded %d (the Recorder got %d); want %d, each event once", total, f.audit.Len()-before, n)
	}
	for res, k := range recordsOf(f.audit) {
		if k != 1 && res != "notice/newsletter-notice" {
			t.Errorf("%s recorded %d times", res, k)
		}
	}
}

// A Recorder's refusal of one event does not hold back the others.
func TestDrainAuditSkipsRefusedEvent(t *testing.T) {
	f := newFixture(t)
	f.audit.FailWith(errors.New("trail down"))
	poison, _ := f.l.Give(f.ctx, f.choice("poison"))
	f.l.Give(f.ctx, f.choice("fine"))
	f.audit.FailWith(nil)
	f.clk.Add(consent.AuditGrace)
	picky := gdpr.RecorderFunc(func(ctx context.Context, e gdpr.Event) error {
		if e.Resource == "consent_event/"+poison.ID {
			return fmt.Errorf("%w: refused", gdpr.ErrInvalid)
		}
		return f.audit.Record(ctx, e)
	})
	l := mustOK(consent.New(f.store, consent.WithRecorder(picky), consent.WithClock(f.clk.Now)))
	n, err := l.DrainAudit(f.ctx)
	if n != 1 || !errors.Is(err, gdpr.ErrInvalid) {
		t.Errorf("DrainAudit past a refused event = %d, %v; want 1 and the refusal", n, err)
	}
}

func TestDrainAuditNilContext(t *testing.T) {
	f := newFixture(t)
	var nilCtx context.Context
	_, err := f.l.DrainAudit(nilCtx)
	var ce *consent.Error
	if !errors.Is(err, consent.ErrInvalid) || !errors.As(err, &ce) || ce.Op != "drain_audit" || ce.Field != "ctx" {
		t.Errorf("DrainAudit(nil) = %v; want *consent.Error{Op: drain_audit, Field: ctx} wrapping ErrInvalid", err)
	}
}
