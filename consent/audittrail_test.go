package consent_test

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/memaudit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

// These tests run the Ledger against the module's real audit trail
// (audit.Log over memaudit), not a recording fake: what the trail refuses
// or forgets is what they check.

// newTrail returns an audit.Log over a fresh memaudit.Store, closed when
// the test ends.
func newTrail(t testing.TB) *audit.Log { return audittest.NewLog(t, memaudit.New()) }

// trailResources counts the trail's entries per Resource.
func trailResources(t testing.TB, trail *audit.Log) map[string]int {
	return audittest.Resources(t, trail)
}

// wantEveryEventAudited fails t unless every event the store holds for
// subjects has exactly one audit entry naming it.
func wantEveryEventAudited(t *testing.T, store consent.Store, trail *audit.Log, subjects []gdpr.SubjectID) int {
	t.Helper()
	res := trailResources(t, trail)
	total := 0
	for _, s := range subjects {
		evs, err := store.Events(context.Background(), s, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			total++
			switch n := res["consent_event/"+e.ID]; n {
			case 1:
			case 0:
				t.Errorf("the %s event %s is in the ledger with no audit entry: every event the ledger accepts has its record", e.Kind, e.ID)
			default:
				t.Errorf("the %s event %s has %d audit entries; want 1", e.Kind, e.ID, n)
			}
		}
	}
	return total
}

// cancelStore cancels the caller's context as soon as an Append returns:
// the caller gives up after the write and before the audit record.
type cancelStore struct {
	*memconsent.Store
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (s *cancelStore) Append(ctx context.Context, e consent.Event) error {
	err := s.Store.Append(ctx, e)
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	return err
}

// A caller that cancels between the write and the audit record does not
// lose the record (issue 9: 43 of 182 cancelled calls on PostgreSQL left
// an event without its entry).
func TestCancelAfterWriteKeepsAuditRecord(t *testing.T) {
	trail := newTrail(t)
	store := &cancelStore{Store: memconsent.New()}
	l := mustOK(consent.New(store, consent.WithRecorder(trail)))
	mustOK(l.Publish(context.Background(), consent.Notice{ID: "nl", Version: 1, TextHash: consent.HashText("nl")}))
	subjects := []gdpr.SubjectID{"cancel-a", "cancel-b"}
	for i, s := range subjects {
		ctx, cancel := context.WithCancel(context.Background())
		store.mu.Lock()
		store.cancel = cancel
		store.mu.Unlock()
		c := consent.Choice{Subject: s, Purpose: "newsletter", Notice: consent.NoticeRef{ID: "nl", Version: 1}}
		var err error
		if i == 0 {
			_, err = l.Give(ctx, c)
		} else {
			_, err = l.Withdraw(ctx, c)
		}
		if err != nil {
			t.Errorf("call %d, cancelled after its write: %v; want nil: the choice and its record both stand", i, err)
		}
		cancel()
	}
	if n := wantEveryEventAudited(t, store, trail, subjects); n != 2 {
		t.Errorf("%d events stored; want 2", n)
	}
}

// Calls cancelled at random moments: whatever each returned, every event
// in the ledger has its audit entry once all have returned.
func TestRandomCancellationKeepsAuditRecords(t *testing.T) {
	trail := newTrail(t)
	store := memconsent.New()
	l := mustOK(consent.New(store, consent.WithRecorder(trail)))
	mustOK(l.Publish(context.Background(), consent.Notice{ID: "nl", Version: 1, TextHash: consent.HashText("nl")}))
	subjects := []gdpr.SubjectID{"rand-0", "rand-1", "rand-2", "rand-3"}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				ctx, cancel := context.WithCancel(context.Background())
				timer := time.AfterFunc(time.Duration(mrand.IntN(60))*time.Microsecond, cancel)
				c := consent.Choice{Subject: subjects[g], Purpose: "newsletter", Notice: consent.NoticeRef{ID: "nl", Version: 1}}
				if i%2 == 0 {
					l.Give(ctx, c)
				} else {
					l.Withdraw(ctx, c)
				}
				timer.Stop()
				cancel()
			}
		}()
	}
	wg.Wait()
	n := wantEveryEventAudited(t, store, trail, subjects)
	t.Logf("%d of 200 calls wrote an event", n)
}

// Values the Ledger accepts are values the audit trail accepts: a value
// the trail would refuse is refused before anything is written, with the
// field named; a value at the trail's limit is written and recorded.
func TestLedgerValuesFitTheAuditTrail(t *testing.T) {
	ctx := context.Background()
	notice := consent.NoticeRef{ID: "nl", Version: 1}
	choice := func(s gdpr.SubjectID) consent.Choice {
		return consent.Choice{Subject: s, Purpose: "newsletter", Notice: notice}
	}
	longSystem := gdpr.System(strings.Repeat("s", audit.MaxSystemNameLen+1))
	refused := []struct {
		name, op, field string
		call            func(l *consent.Ledger) error
	}{
		{"method with a C1 control character", "give", "method", func(l *consent.Ledger) error {
			c := choice("val-1")
			c.Method = "form\u0085"
			_, err := l.Give(ctx, c)
			return err
		}},
		{"method with a C1 control character (withdraw)", "withdraw", "method", func(l *consent.Ledger) error {
			c := choice("val-1")
			c.Method = "\u009bform"
			_, err := l.Withdraw(ctx, c)
			return err
		}},
		{"system actor over the trail's limit", "give", "actor", func(l *consent.Ledger) error {
			c := choice("val-2")
			c.Actor = longSystem
			_, err := l.Give(ctx, c)
			return err
		}},
		{"system actor over the trail's limit (withdraw)", "withdraw", "actor", func(l *consent.Ledger) error {
			c := choice("val-2")
			c.Actor = longSystem
			_, err := l.Withdraw(ctx, c)
			return err
		}},
		{"system actor with a C1 character", "expire", "actor", func(l *consent.Ledger) error {
			c := choice("val-2")
			c.Actor = gdpr.System("sweep\u0080")
			_, err := l.Expire(ctx, c)
			return err
		}},
		{"context's system actor over the trail's limit", "give", "ctx", func(l *consent.Ledger) error {
			_, err := l.Give(gdpr.WithActor(ctx, longSystem), choice("val-3"))
			return err
		}},
		{"context's system actor over the trail's limit (erase)", "erase", "ctx", func(l *consent.Ledger) error {
			_, err := l.EraseSubject(gdpr.WithActor(ctx, longSystem), "val-keep")
			return err
		}},
		{"notice ID the trail cannot name (250 bytes)", "publish", "id", func(l *consent.Ledger) error {
			_, err := l.Publish(ctx, consent.Notice{ID: strings.Repeat("n", 250), Version: 1, TextHash: consent.HashText("x")})
			return err
		}},
		{"notice ID with a C1 character", "publish", "id", func(l *consent.Ledger) error {
			_, err := l.Publish(ctx, consent.Notice{ID: "terms\u0090", Version: 1, TextHash: consent.HashText("x")})
			return err
		}},
		{"withdrawal quoting a notice ID with a C1 character", "withdraw", "notice.id", func(l *consent.Ledger) error {
			c := choice("val-4")
			c.Notice = consent.NoticeRef{ID: "old\u0085notice", Version: 1}
			_, err := l.Withdraw(ctx, c)
			return err
		}},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			trail := newTrail(t)
			store := memconsent.New()
			l := mustOK(consent.New(store, consent.WithRecorder(trail)))
			mustOK(l.Publish(ctx, consent.Notice{ID: notice.ID, Version: 1, TextHash: consent.HashText("nl")}))
			mustOK(l.Give(ctx, choice("val-keep")))
			before := len(trailResources(t, trail))
			err := tc.call(l)
			var ce *consent.Error
			switch {
			case !errors.Is(err, consent.ErrInvalid):
				t.Fatalf("%v; want an error wrapping consent.ErrInvalid, before anything is written", err)
			case !errors.As(err, &ce) || ce.Op != tc.op || ce.Field != tc.field:
				t.Errorf("%#v; want a *consent.Error with Op %q and Field %q", err, tc.op, tc.field)
			}
			for _, s := range []gdpr.SubjectID{"val-1", "val-2", "val-3", "val-4"} {
				if evs := mustOK(store.Events(ctx, s, "")); len(evs) != 0 {
					t.Errorf("%d events written for %s; want none", len(evs), s)
				}
			}
			if evs := mustOK(store.Events(ctx, "val-keep", "")); len(evs) != 1 {
				t.Errorf("%d events for the bystander; want 1 (nothing erased)", len(evs))
			}
			if ns := mustOK(store.Notices(ctx, strings.Repeat("n", 250))); len(ns) != 0 {
				t.Errorf("the notice was stored")
			}
			if ns := mustOK(store.Notices(ctx, "terms\u0090")); len(ns) != 0 {
				t.Errorf("the notice was stored")
			}
			if after := len(trailResources(t, trail)); after != before {
				t.Errorf("the trail gained %d entries; want none", after-before)
			}
		})
	}

	t.Run("at the limits", func(t *testing.T) {
		trail := newTrail(t)
		store := memconsent.New()
		l := mustOK(consent.New(store, consent.WithRecorder(trail)))
		longID := strings.Repeat("n", audit.MaxResourceLen-len("notice/"))
		mustOK(l.Publish(ctx, consent.Notice{ID: longID, Version: 1, TextHash: consent.HashText("long")}))
		c := consent.Choice{Subject: "lim-1", Purpose: "newsletter", Notice: consent.NoticeRef{ID: longID, Version: 1},
			Method: consent.Method("formé ¡" + strings.Repeat("m", 50)), Actor: gdpr.System(strings.Repeat("s", audit.MaxSystemNameLen))}
		if _, err := l.Give(ctx, c); err != nil {
			t.Errorf("Give at the trail's limits: %v; want nil", err)
		}
		w := consent.Choice{Subject: "lim-1", Purpose: "newsletter", Notice: consent.NoticeRef{ID: strings.Repeat("w", 256), Version: 2}}
		if _, err := l.Withdraw(gdpr.WithActor(ctx, gdpr.System(strings.Repeat("s", audit.MaxSystemNameLen))), w); err != nil {
			t.Errorf("Withdraw quoting an unpublished 256-byte notice ID: %v; want nil (a stop is never refused for the registry)", err)
		}
		wantEveryEventAudited(t, store, trail, []gdpr.SubjectID{"lim-1"})
		if n := trailResources(t, trail)["notice/"+longID]; n != 1 {
			t.Errorf("the publication of a %d-byte notice ID has %d entries; want 1", len(longID), n)
		}
	})
}
