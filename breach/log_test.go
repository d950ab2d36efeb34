package breach_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/membreach"
)

var key = bytes.Repeat([]byte{7}, 32)

// now is the tests' clock: a Tuesday in May, Berlin summer time.
var now = time.Date(2026, 5, 12, 14, 0, 0, 0, time.UTC)

func register(t testing.TB) *gdpr.Register {
	t.Helper()
	r := &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Shop GmbH", Address: "Hauptstr. 1, 10115 Berlin", Email: "privacy@shop.example"},
		DPO:        &gdpr.Party{Name: "Data Protection Officer", Email: "dpo@shop.example"},
		Activities: []gdpr.Activity{{
			ID: "orders", Name: "Orders", Purpose: "orders", Basis: gdpr.Contract,
			SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "contact", Description: "name, address, e-mail"},
				{ID: "payment", Description: "card details"}, {ID: "orders", Description: "order history"}},
			Retention: gdpr.RetentionRule{Period: gdpr.Period{Years: 10}},
		}},
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("register: %v", err)
	}
	return r
}

type rec struct {
	mu     sync.Mutex
	events []gdpr.Event
	fail   error
}

func (r *rec) Record(_ context.Context, e gdpr.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, e)
	return nil
}

func (r *rec) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Action)
	}
	return out
}

type fixture struct {
	log   *breach.Log
	store *membreach.Store
	rec   *rec
	trail *fakeTrail
	keys  *fakeKeys
	clock *time.Time
}

func newFixture(t testing.TB, opts ...breach.Option) *fixture {
	t.Helper()
	f := &fixture{store: membreach.New(), rec: &rec{}, trail: &fakeTrail{}, keys: &fakeKeys{m: map[gdpr.SubjectID]gdpr.SubjectKey{}}}
	c := now
	f.clock = &c
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]breach.Option{breach.WithRegister(register(t)), breach.WithRecorder(f.rec),
		breach.WithClock(func() time.Time { return *f.clock }), breach.WithLocation(berlin),
		breach.WithTrail(f.trail), breach.WithKeys(f.keys)}, opts...)
	f.log, err = breach.New(f.store, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func report() breach.Report {
	return breach.Report{
		Aware: now.Add(-2 * time.Hour),
		Details: breach.Details{
			Description:       "A support agent's account was used from an unknown address to read customer records.",
			Nature:            []breach.Nature{breach.Confidentiality},
			Categories:        []string{"contact", "orders"},
			SubjectCategories: []string{"customers"},
		},
	}
}

func (f *fixture) stored(t *testing.T) int {
	t.Helper()
	ids, err := f.store.Breaches(context.Background(), "", breach.MaxPage)
	if err != nil {
		t.Fatal(err)
	}
	return len(ids)
}

func TestRecord(t *testing.T) {
	f := newFixture(t)
	ctx := gdpr.WithActor(context.Background(), gdpr.Staff("incident-lead"))
	b, err := f.log.Record(ctx, report())
	if err != nil {
		t.Fatal(err)
	}
	if b.ID == "" || b.Events != 1 || !b.Recorded.Equal(now) {
		t.Errorf("breach %+v", b)
	}
	// Aware 12:00 UTC = 14:00 CEST: the hour 14–15 does not count.
	if got := b.Clock.Due.Format("2006-01-02 15:04 MST"); got != "2026-05-15 15:00 CEST" {
		t.Errorf("Due = %s, want 2026-05-15 15:00 CEST", got)
	}
	got, err := f.log.Get(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != report().Description || !slices.Equal(got.Categories, []string{"contact", "orders"}) ||
		!got.Clock.Due.Equal(b.Clock.Due) {
		t.Errorf("Get = %+v", got)
	}
	if a := f.rec.actions(); !slices.Equal(a, []string{"breach.recorded"}) {
		t.Errorf("recorded %v", a)
	}
	if e := f.rec.events[0]; e.Actor != gdpr.Staff("incident-lead") || e.Subject != "" || e.Resource != "breach/"+b.ID {
		t.Errorf("audit event %+v", e)
	}
}

// TestRecordRefusals: bad input is a typed error naming the field, and
// nothing is written or recorded.
func TestRecordRefusals(t *testing.T) {
	canary := "jane.doe@example.com"
	for _, c := range []struct {
		name   string
		mod    func(*breach.Report)
		field  string
		target error
	}{
		{"no awareness", func(r *breach.Report) { r.Aware = time.Time{} }, "Aware", breach.ErrInvalid},
		{"awareness in the future", func(r *breach.Report) { r.Aware = now.Add(time.Minute) }, "Aware", breach.ErrInvalid},
		{"unknown category", func(r *breach.Report) { r.Categories = []string{"contact", "health"} }, "Categories[1]", breach.ErrUnknownCategory},
		{"a value for a category", func(r *breach.Report) { r.Categories = []string{canary} }, "Categories[0]", breach.ErrInvalid},
		{"category twice", func(r *breach.Report) { r.Categories = []string{"contact", "contact"} }, "Categories[1]", breach.ErrInvalid},
		{"unknown nature", func(r *breach.Report) { r.Nature = []breach.Nature{"leak"} }, "Nature[0]", breach.ErrInvalid},
		{"negative count", func(r *breach.Report) { r.Subjects = -1 }, "Subjects", breach.ErrInvalid},
		{"control character", func(r *breach.Report) { r.Description = "a\x00b" }, "Description", breach.ErrInvalid},
		{"not UTF-8", func(r *breach.Report) { r.Measures = "\xff" }, "Measures", breach.ErrInvalid},
		{"too long", func(r *breach.Report) { r.Description = strings.Repeat("x", 20001) }, "Description", breach.ErrInvalid},
		{"end before start", func(r *breach.Report) {
			r.OccurredFrom, r.OccurredUntil = now.Add(-time.Hour), now.Add(-2*time.Hour)
		}, "OccurredUntil", breach.ErrInvalid},
		{"occurred in the future", func(r *breach.Report) { r.OccurredFrom = now.Add(time.Hour) }, "OccurredFrom", breach.ErrInvalid},
		{"processor aware after the controller", func(r *breach.Report) {
			r.Processor = &breach.Processor{Name: "Mail Co", Aware: r.Aware.Add(time.Minute)}
		}, "Processor.Aware", breach.ErrInvalid},
		{"processor without a name", func(r *breach.Report) {
			r.Processor = &breach.Processor{Aware: r.Aware.Add(-time.Hour)}
		}, "Processor.Name", breach.ErrInvalid},
		{"contact without a name", func(r *breach.Report) { r.Contact = breach.Contact{Email: canary} }, "Contact.Name", breach.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			r := report()
			c.mod(&r)
			_, err := f.log.Record(context.Background(), r)
			var be *breach.Error
			if !errors.As(err, &be) || be.Field != c.field || !errors.Is(err, c.target) || be.Op != "record" {
				t.Fatalf("Record = %#v (%v); want an *Error of record at %s wrapping %v", err, err, c.field, c.target)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("the error shows the value: %v", err)
			}
			if n := f.stored(t); n != 0 {
				t.Errorf("%d breaches stored", n)
			}
			if a := f.rec.actions(); len(a) != 0 {
				t.Errorf("recorded %v", a)
			}
		})
	}
	t.Run("recorder down", func(t *testing.T) {
		f := newFixture(t)
		f.rec.fail = errors.New("audit trail closed")
		if _, err := f.log.Record(context.Background(), report()); !errors.Is(err, breach.ErrNotRecorded) {
			t.Fatalf("Record = %v, want ErrNotRecorded", err)
		}
		if n := f.stored(t); n != 0 {
			t.Errorf("%d breaches stored without their audit event", n)
		}
	})
	t.Run("without a register, any key", func(t *testing.T) {
		l, err := breach.New(membreach.New(), key, breach.WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		r := report()
		r.Categories = []string{"health"}
		if _, err := l.Record(context.Background(), r); err != nil {
			t.Errorf("Record = %v", err)
		}
	})
}

func TestNew(t *testing.T) {
	for name, c := range map[string]struct {
		store breach.Store
		key   []byte
		opts  []breach.Option
		field string
	}{
		"nil store":     {nil, key, nil, "store"},
		"short key":     {membreach.New(), key[:31], nil, "subjectKey"},
		"nil option":    {membreach.New(), key, []breach.Option{nil}, "opts"},
		"nil register":  {membreach.New(), key, []breach.Option{breach.WithRegister(nil)}, "WithRegister"},
		"nil clock":     {membreach.New(), key, []breach.Option{breach.WithClock(nil)}, "WithClock"},
		"nil location":  {membreach.New(), key, []breach.Option{breach.WithLocation(nil)}, "WithLocation"},
		"nil recorder":  {membreach.New(), key, []breach.Option{breach.WithRecorder(nil)}, "WithRecorder"},
		"nil trail":     {membreach.New(), key, []breach.Option{breach.WithTrail(nil)}, "WithTrail"},
		"nil keys":      {membreach.New(), key, []breach.Option{breach.WithKeys(nil)}, "WithKeys"},
		"batch of zero": {membreach.New(), key, []breach.Option{breach.WithBatch(0)}, "WithBatch"},
	} {
		_, err := breach.New(c.store, c.key, c.opts...)
		var be *breach.Error
		if !errors.As(err, &be) || be.Field != c.field || !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("%s: New = %v; want ErrInvalid at %s", name, err, c.field)
		}
	}
	l, _ := breach.New(membreach.New(), key)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, l); strings.Contains(s, "\x07") || !strings.Contains(s, "breach.Log") {
			t.Errorf("%s of a Log = %q", verb, s)
		}
	}
}

func TestUpdateAssessClose(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b, err := f.log.Record(ctx, report())
	if err != nil {
		t.Fatal(err)
	}
	b, err = f.log.Update(ctx, b.ID, breach.Details{Subjects: 1200, Records: 5400, Consequences: "Phishing aimed at the customers.",
		Contact: breach.Contact{Name: "Data Protection Officer", Email: "dpo@shop.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Subjects != 1200 || b.Records != 5400 || b.Description != report().Description || b.Events != 2 {
		t.Errorf("after Update: %+v", b.Details)
	}
	if _, err := f.log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.HighRisk}); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Assess without reasoning = %v", err)
	}
	if _, err := f.log.Assess(ctx, b.ID, breach.Assessment{Risk: "medium", Reasoning: "x"}); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Assess with an unknown level = %v", err)
	}
	if _, err := f.log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.SomeRisk, Reasoning: "x",
		Exemptions: []breach.Exemption{{Ground: breach.Unintelligible, Reasoning: "y"}}}); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("an Art. 34(3) exemption for a mere risk = %v", err)
	}
	b, err = f.log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.HighRisk, Reasoning: "Contact data and order history of many customers, usable for targeted phishing."})
	if err != nil || b.Assessment.Risk != breach.HighRisk {
		t.Fatalf("Assess = %+v, %v", b.Assessment, err)
	}
	if _, err := f.log.Close(ctx, b.ID, ""); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Close without a reason = %v", err)
	}
	// Not before the authority and the subjects are told (Art. 33(1), 34(1)).
	if _, err := f.log.Close(ctx, b.ID, "Remediated."); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Close of a high-risk breach never notified = %v", err)
	}
	if _, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BlnBDI", Final: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Close(ctx, b.ID, "Remediated."); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Close of a high-risk breach whose subjects were not told = %v", err)
	}
	if _, err := f.log.Publish(ctx, b.ID, breach.Public{Channel: "home page", Reasoning: "no current addresses"}); err != nil {
		t.Fatal(err)
	}
	if b, err = f.log.Close(ctx, b.ID, "Notified and remediated."); err != nil || b.Closed.IsZero() {
		t.Fatalf("Close = %v", err)
	}
	if _, err := f.log.Update(ctx, b.ID, breach.Details{Subjects: 1}); !errors.Is(err, breach.ErrClosed) {
		t.Errorf("Update of a closed breach = %v, want ErrClosed", err)
	}
	if _, err := f.log.Update(ctx, "0190a0a0-0000-7000-8000-000000000000", breach.Details{}); !errors.Is(err, breach.ErrNotFound) {
		t.Errorf("Update of an unknown breach = %v, want ErrNotFound", err)
	}
	if _, err := f.log.Get(ctx, "jane.doe@example.com"); !errors.Is(err, breach.ErrInvalid) || strings.Contains(err.Error(), "jane") {
		t.Errorf("Get of a malformed ID = %v", err)
	}
	want := []string{"breach.recorded", "breach.updated", "breach.assessed", "breach.notified", "breach.published", "breach.closed"}
	if a := f.rec.actions(); !slices.Equal(a, want) {
		t.Errorf("recorded %v, want %v", a, want)
	}
}

func TestNotifyAuthority(t *testing.T) {
	ctx := context.Background()
	t.Run("before the breach is recorded", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.log.NotifyAuthority(ctx, "0190a0a0-0000-7000-8000-000000000000", breach.Notification{Authority: "BlnBDI"})
		if !errors.Is(err, breach.ErrNotFound) {
			t.Errorf("NotifyAuthority of an unrecorded breach = %v, want ErrNotFound", err)
		}
		if f.stored(t) != 0 {
			t.Error("stored")
		}
	})
	t.Run("in time", func(t *testing.T) {
		f := newFixture(t)
		b, _ := f.log.Record(ctx, report())
		*f.clock = b.Clock.Due.Add(-time.Second)
		b, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "Berliner Beauftragte für Datenschutz", Reference: "2026-0042"})
		if err != nil || !b.Notified() || b.Notifications[0].At.IsZero() {
			t.Fatalf("NotifyAuthority = %+v, %v", b.Notifications, err)
		}
		// A later phase needs no reasons, even after the 72 hours.
		*f.clock = b.Clock.Due.Add(24 * time.Hour)
		if b, err = f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BlnBDI", Final: true}); err != nil || len(b.Notifications) != 2 {
			t.Fatalf("second phase = %v", err)
		}
		if _, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BlnBDI"}); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("a notification after the final one = %v", err)
		}
	})
	t.Run("late without reasons is refused", func(t *testing.T) {
		f := newFixture(t)
		b, _ := f.log.Record(ctx, report())
		*f.clock = b.Clock.Due // at Due: late
		_, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BlnBDI", DelayReasons: "  \n"})
		var be *breach.Error
		if !errors.Is(err, breach.ErrLate) || !errors.Is(err, breach.ErrInvalid) || !errors.As(err, &be) || be.Field != "DelayReasons" {
			t.Fatalf("late NotifyAuthority = %v, want ErrLate at DelayReasons", err)
		}
		if got, _ := f.log.Get(ctx, b.ID); got.Notified() || got.Events != 1 {
			t.Errorf("the refused notification was written: %+v", got.Notifications)
		}
		b, err = f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BlnBDI",
			DelayReasons: "The processor reported the breach to us two days after it found it."})
		if err != nil || !b.Notified() {
			t.Fatalf("late with reasons = %v", err)
		}
	})
	t.Run("times", func(t *testing.T) {
		f := newFixture(t)
		b, _ := f.log.Record(ctx, report())
		for name, at := range map[string]time.Time{"before awareness": b.Clock.Aware.Add(-time.Second), "in the future": now.Add(time.Second)} {
			if _, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{At: at, Authority: "BlnBDI"}); !errors.Is(err, breach.ErrInvalid) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{}); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("no authority: %v", err)
		}
	})
}

func TestList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var want []string
	for range 105 {
		b, err := f.log.Record(ctx, report())
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b.ID)
	}
	var got []string
	for b, err := range f.log.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("List gave %d breaches, want the %d in order", len(got), len(want))
	}
}

// TestConcurrentChanges: changes from many goroutines all land, each
// once, in one order.
func TestConcurrentChanges(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b, _ := f.log.Record(ctx, report())
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if _, err := f.log.Update(ctx, b.ID, breach.Details{Records: int64(i + 1)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := f.log.Get(ctx, b.ID); got.Events != 7 {
		t.Errorf("%d events after 6 concurrent updates, want 7", got.Events)
	}
}

// fakeTrail is a gdpr.Trail over a slice of entries; a subject's token is
// a hash of its ID, and a subject is known once an entry names it.
type fakeTrail struct {
	mu      sync.Mutex
	entries []gdpr.TrailEntry
	known   map[string]bool
	erased  map[string]bool
	calls   int
}

func token(s gdpr.SubjectID) []byte {
	h := sha256.Sum256([]byte("token:" + s))
	return h[:]
}

func (f *fakeTrail) add(s gdpr.SubjectID, at time.Time, actor string, cats ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.known == nil {
		f.known = map[string]bool{}
	}
	e := gdpr.TrailEntry{Index: int64(len(f.entries)), Time: at, Action: "crm.read", Categories: cats,
		Resource: "customer/" + actor, Outcome: gdpr.Success}
	if s != "" {
		e.Subject = token(s)
		f.known[string(e.Subject)] = true
	}
	f.entries = append(f.entries, e)
}

func (f *fakeTrail) Search(ctx context.Context, q gdpr.TrailQuery) iter.Seq2[gdpr.TrailEntry, error] {
	return func(yield func(gdpr.TrailEntry, error) bool) {
		f.mu.Lock()
		es := slices.Clone(f.entries)
		f.mu.Unlock()
		for _, e := range es {
			if e.Time.Before(q.Since) || !e.Time.Before(q.Until) {
				continue
			}
			if q.Actor.ID != "" && e.Resource != "customer/"+q.Actor.ID {
				continue
			}
			if len(q.Categories) > 0 && !slices.ContainsFunc(e.Categories, func(c string) bool { return slices.Contains(q.Categories, c) }) {
				continue
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (f *fakeTrail) SubjectTokens(_ context.Context, ss []gdpr.SubjectID) ([][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	out := make([][]byte, len(ss))
	for i, s := range ss {
		if t := token(s); f.known[string(t)] && !f.erased[string(s)] {
			out[i] = t
		}
	}
	return out, nil
}

type fakeKeys struct {
	mu sync.Mutex
	m  map[gdpr.SubjectID]gdpr.SubjectKey
}

func (k *fakeKeys) SubjectKeys(_ context.Context, ss []gdpr.SubjectID) ([]gdpr.SubjectKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]gdpr.SubjectKey, len(ss))
	for i, s := range ss {
		out[i] = k.m[s]
	}
	return out, nil
}

func ids(n int, f func(i int) string) iter.Seq2[gdpr.SubjectID, error] {
	return func(yield func(gdpr.SubjectID, error) bool) {
		for i := range n {
			if !yield(gdpr.SubjectID(f(i)), nil) {
				return
			}
		}
	}
}
