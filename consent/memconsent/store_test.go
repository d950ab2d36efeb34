package memconsent_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/consenttest"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

// TestStore runs the conformance suite. A memconsent.Store lives in one
// process's memory, so both of the suite's handles are the same Store, and
// its races are between goroutines.
func TestStore(t *testing.T) {
	consenttest.RunStoreTests(t, func(*testing.T) (s, other consent.Store) {
		st := memconsent.New()
		return st, st
	})
}

// TestStaleSubjectsDefaultLimit checks what the Store contract leaves to the
// implementation: a Limit of 0 or less means 100.
func TestStaleSubjectsDefaultLimit(t *testing.T) {
	ctx := t.Context()
	s := memconsent.New()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 150 {
		e := consenttest.NewEvent(gdpr.SubjectID(fmt.Sprintf("s-%03d", i)), "newsletter", consent.Given, t0)
		if err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{0, -1} {
		got, err := s.StaleSubjects(ctx, consent.StaleQuery{Notice: consenttest.NoticeID, Version: 2, Limit: limit})
		if err != nil || len(got) != 100 {
			t.Errorf("StaleSubjects(Limit %d) = %d subjects, %v; want 100", limit, len(got), err)
		}
	}
}

func TestErrorsWrapRootSentinels(t *testing.T) {
	ctx := t.Context()
	s := memconsent.New()
	e := consenttest.NewEvent("s", "p", consent.Given, time.Now())
	if err := s.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	err := s.Append(ctx, e)
	if !errors.Is(err, consent.ErrConflict) || !errors.Is(err, gdpr.ErrConflict) {
		t.Errorf("duplicate Append: %v; want consent.ErrConflict and gdpr.ErrConflict", err)
	}
	_, err = s.Latest(ctx, consent.Query{Subject: "other", Purpose: "p", At: time.Now()})
	if !errors.Is(err, consent.ErrNotFound) || !errors.Is(err, gdpr.ErrNotFound) {
		t.Errorf("Latest of nothing: %v; want consent.ErrNotFound and gdpr.ErrNotFound", err)
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s := memconsent.New()
	if err := s.Append(ctx, consenttest.NewEvent("s", "p", consent.Given, time.Now())); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context: %v; want context.Canceled", err)
	}
}

func TestLatestAllocations(t *testing.T) {
	ctx := t.Context()
	s := memconsent.New()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	e := consenttest.NewEvent("s", "p", consent.Given, t0)
	if err := s.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	q := consent.Query{Subject: "s", Purpose: "p", At: t0.Add(time.Hour)}
	if n := testing.AllocsPerRun(100, func() { _, _ = s.Latest(ctx, q) }); n != 0 {
		t.Errorf("Latest of an event without TokenHash or Evidence.Attrs: %v allocations; want 0", n)
	}
	q.Subject = "none"
	if n := testing.AllocsPerRun(100, func() { _, _ = s.Latest(ctx, q) }); n != 0 {
		t.Errorf("Latest that finds nothing: %v allocations; want 0", n)
	}
}

type benchKey struct {
	subject gdpr.SubjectID
	purpose gdpr.Purpose
}

// BenchmarkLatest compares Latest with the floor of any index: a plain map
// from (subject, purpose) to the deciding event, on the same data set of
// 10,000 subjects × 3 purposes × 4 events (pending, its confirmation, an
// SMS-only withdrawal, an email-only objection), queried for the push
// channel in the same random order, so Latest skips two channel-scoped
// events that do not apply before it finds the confirmation. (A query for
// all channels would stop at the objection, which applies to it.)
func BenchmarkLatest(b *testing.B) {
	const subjects = 10_000
	purposes := []gdpr.Purpose{"newsletter", "ads_personalisation", "analytics"}
	ctx := context.Background()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0.Add(24 * time.Hour)

	store := memconsent.New()
	baseline := make(map[benchKey]consent.Event, subjects*len(purposes))
	if err := store.PutNotice(ctx, consent.Notice{ID: consenttest.NoticeID, Version: 1, TextHash: "00", Material: true, Published: t0}); err != nil {
		b.Fatal(err)
	}
	var queries []consent.Query
	for i := range subjects {
		subject := gdpr.SubjectID(fmt.Sprintf("subject-%06d", i))
		for j, p := range purposes {
			at := t0.Add(time.Duration(i*len(purposes)+j) * time.Millisecond)
			pending := consenttest.NewEvent(subject, p, consent.Pending, at)
			given := consenttest.NewEvent(subject, p, consent.Given, at.Add(time.Minute))
			given.Confirms = pending.ID
			given.Evidence = consent.Evidence{IPPrefix: "192.0.2.0/24", UserAgent: "Firefox/Linux", Locator: "/signup"}
			sms := consenttest.NewEvent(subject, p, consent.Withdrawn, at.Add(2*time.Minute))
			sms.Contact = consent.SMS
			email := consenttest.NewEvent(subject, p, consent.Objected, at.Add(3*time.Minute))
			email.Contact = consent.Email
			for _, e := range []consent.Event{pending, given, sms, email} {
				if err := store.Append(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
			baseline[benchKey{subject, p}] = given
			queries = append(queries, consent.Query{Subject: subject, Purpose: p, Contact: consent.Push, At: now})
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(queries), func(i, j int) { queries[i], queries[j] = queries[j], queries[i] })

	b.Run("memconsent", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			cur, err := store.Latest(ctx, queries[i%len(queries)])
			if err != nil || cur.Event.Kind != consent.Given {
				b.Fatalf("Latest = %v, %v; want the Given event", cur.Event.Kind, err)
			}
			i++
		}
	})
	b.Run("map-baseline", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			q := queries[i%len(queries)]
			e, ok := baseline[benchKey{q.Subject, q.Purpose}]
			if !ok || e.Kind != consent.Given {
				b.Fatal("baseline lookup missed")
			}
			i++
		}
	})
}
