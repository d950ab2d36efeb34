package erasure_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
)

// settle processes request id until it is closed, advancing the fake
// clock past each wait (the restriction cache's bound, a backoff).
func settle(t *testing.T, f *fixture, e *erasure.Engine, id string) erasure.Request {
	t.Helper()
	for range 20 {
		r, err := e.Process(t.Context(), id)
		if err != nil && !errors.Is(err, erasure.ErrNotify) {
			t.Fatalf("Process: %v", err)
		}
		if !r.State.Open() || r.State == erasure.StateFailed {
			return r
		}
		if !r.NextAt.IsZero() {
			f.clk.Set(r.NextAt.Add(time.Millisecond))
		}
	}
	r, _ := e.Get(t.Context(), id)
	t.Fatalf("request %s did not close: %s %+v", id, r.State, r.Steps)
	return r
}

func submitOK(t *testing.T, e *erasure.Engine, s erasure.Submission) erasure.Request {
	t.Helper()
	r, created, err := e.Submit(t.Context(), s)
	if err != nil || !created {
		t.Fatalf("Submit %s: %v (created %v)", s.Kind, err, created)
	}
	return r
}

func marketingRegister() *gdpr.Register {
	act := func(id string, basis gdpr.LawfulBasis, dm bool) gdpr.Activity {
		a := gdpr.Activity{ID: id, Name: id, Basis: basis, DirectMarketing: dm, SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "contact", Description: "contact details"}},
			Retention:      gdpr.RetentionRule{Period: gdpr.Period{Years: 1}, Description: "a year"}}
		if basis == gdpr.LegitimateInterests {
			a.LegitimateInterestAssessment = "LIA-1"
		}
		return a
	}
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Shop", Email: "dpo@shop.example"},
		Activities: []gdpr.Activity{
			act("newsletter", gdpr.Consent, true),
			act("ads_profiling", gdpr.LegitimateInterests, true),
			act("fraud", gdpr.LegitimateInterests, false),
			act("billing", gdpr.Contract, false),
		},
	}
}

func TestRestrictionBlocksUntilLifted(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithRestrictionCache(time.Second))
	ctx := t.Context()
	const s = gdpr.SubjectID("rita@example.org")
	if err := e.Check(ctx, s, "support", gdpr.AllowNone); err != nil {
		t.Fatalf("unrestricted subject refused: %v", err)
	}
	r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundAccuracy})
	got := settle(t, f, e, r.ID)
	if got.State != erasure.StateCompleted {
		t.Fatalf("restriction request %s: %+v", got.State, got.Steps)
	}
	// The subject is told only once every instance refuses: after the
	// cache's bound.
	var placed, completed time.Time
	for _, h := range got.History {
		if h.Event == "completed" {
			completed = h.At
		}
	}
	for _, st := range got.Steps {
		if st.Target == "restriction" {
			placed = st.At
		}
	}
	if completed.Sub(placed) < 2*time.Second {
		t.Errorf("completed %v after the restriction was placed, want at least twice the cache time", completed.Sub(placed))
	}
	err := e.Check(ctx, s, "support", gdpr.AllowNone)
	if !errors.Is(err, erasure.ErrRestricted) || !errors.Is(err, gdpr.ErrRestricted) {
		t.Fatalf("restricted subject: Check = %v, want ErrRestricted", err)
	}
	if strings.Contains(err.Error(), string(s)) {
		t.Errorf("error names the subject: %v", err)
	}
	if err := e.Guard(gdpr.WithPurpose(ctx, "support"), s); !errors.Is(err, erasure.ErrRestricted) {
		t.Errorf("Guard = %v, want ErrRestricted", err)
	}
	// Art. 18(2): storage, and processing on its grounds, go ahead, and
	// the ground relied on is recorded, storage included (a decryption
	// claimed as storage is on the record too).
	for _, a := range gdpr.Allowances() {
		f.events.Reset()
		if err := e.Check(ctx, s, "support", a); err != nil {
			t.Errorf("Check under %s = %v, want nil", a, err)
		}
		evs := f.events.ByAction("erasure.restriction.allowed")
		if len(evs) != 1 || evs[0].Attrs["allowance"] != string(a) || evs[0].Subject != "" || evs[0].Purpose != "support" {
			t.Errorf("under %s: events %+v", a, evs)
		}
	}
	if err := e.Check(ctx, s, "support", "because"); !errors.Is(err, erasure.ErrInvalid) {
		t.Errorf("unknown allowance: %v, want ErrInvalid", err)
	}
	// A failing Recorder refuses processing under an allowance.
	f.events.FailWith(errors.New("trail down"))
	if err := e.Check(ctx, s, "support", gdpr.AllowLegalClaims); !errors.Is(err, erasure.ErrRestricted) {
		t.Errorf("allowance with the trail down: %v, want a refusal", err)
	}
	f.events.FailWith(nil)
	// Another subject is not affected.
	if err := e.Check(ctx, "other@example.org", "support", gdpr.AllowNone); err != nil {
		t.Errorf("other subject refused: %v", err)
	}

	// The lift: the subject is told first, and the lift waits for it.
	lift := submitOK(t, e, erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: s, Authenticated: true})
	done := settle(t, f, e, lift.ID)
	if done.State != erasure.StateCompleted {
		t.Fatalf("lift %s %+v", done.State, done.Steps)
	}
	var noticeAt, liftAt time.Time
	for _, st := range done.Steps {
		switch st.Target {
		case "lift_notice":
			noticeAt = st.At
		case "lift":
			liftAt = st.At
		}
	}
	xs, _ := e.Restrictions(ctx, s)
	if len(xs) != 1 || xs[0].Lifted.IsZero() || xs[0].LiftedBy != lift.ID || xs[0].Lifted.Before(noticeAt) || liftAt.Before(noticeAt) {
		t.Fatalf("restrictions after the lift: %+v (notice at %v)", xs, noticeAt)
	}
	var lifting []erasure.Notice
	for _, n := range f.notices {
		if n.Type == erasure.NoticeLifting {
			lifting = append(lifting, n)
		}
	}
	if len(lifting) != 1 || lifting[0].Request.Subject != s || len(lifting[0].Restrictions) != 1 || lifting[0].Article != "Art. 18(3)" {
		t.Fatalf("lifting notices: %+v", lifting)
	}
	if err := e.Check(ctx, s, "support", gdpr.AllowNone); err != nil {
		t.Errorf("after the lift: %v", err)
	}
	if got := f.events.ByAction("erasure.restriction.lift_notified"); len(got) != 1 {
		t.Errorf("lift notice recorded %d times", len(got))
	}
}

func TestLiftWaitsForItsNotice(t *testing.T) {
	var fail bool
	var mu sync.Mutex
	var told []erasure.NoticeType
	f, e := newFixture(t, 1, erasure.WithRestrictionCache(0), erasure.WithNotifier(erasure.NotifierFunc(func(_ context.Context, n erasure.Notice) error {
		mu.Lock()
		defer mu.Unlock()
		if n.Type == erasure.NoticeLifting && fail {
			return errors.New("mail down")
		}
		told = append(told, n.Type)
		return nil
	})))
	ctx := t.Context()
	const s = gdpr.SubjectID("lena@example.org")
	r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundUnlawful, Purposes: []gdpr.Purpose{"ads"}})
	settle(t, f, e, r.ID)
	if err := e.Check(ctx, s, "ads", gdpr.AllowNone); !errors.Is(err, erasure.ErrRestricted) {
		t.Fatalf("restricted purpose: %v", err)
	}
	if err := e.Check(ctx, s, "billing", gdpr.AllowNone); err != nil {
		t.Fatalf("a purpose the restriction does not name: %v", err)
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	lift := submitOK(t, e, erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: s, Restriction: r.ID, Authenticated: true})
	for range 2 { // the fixture fails a request on its third attempt
		got, _ := e.Process(ctx, lift.ID)
		if got.NextAt.After(f.clk.Now()) {
			f.clk.Set(got.NextAt)
		}
	}
	if err := e.Check(ctx, s, "ads", gdpr.AllowNone); !errors.Is(err, erasure.ErrRestricted) {
		t.Fatalf("lifted although the subject was not told: %v", err)
	}
	xs, _ := e.Restrictions(ctx, s)
	if !xs[0].Lifted.IsZero() {
		t.Fatal("the restriction was lifted before its notice")
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	got := settle(t, f, e, lift.ID)
	if got.State != erasure.StateCompleted {
		t.Fatalf("lift %s", got.State)
	}
	if err := e.Check(ctx, s, "ads", gdpr.AllowNone); err != nil {
		t.Fatalf("after the lift: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if i := indexOf(told, erasure.NoticeLifting); i < 0 || indexOf(told[i:], erasure.NoticeCompleted) < 0 {
		t.Errorf("notices %v: want lifting before the completion", told)
	}
	// Nothing left to lift: a typed error, nothing written.
	before, _ := e.List(ctx, erasure.Filter{})
	if _, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: s}); !errors.Is(err, erasure.ErrNotFound) {
		t.Errorf("lift with nothing in force: %v", err)
	}
	after, _ := e.List(ctx, erasure.Filter{})
	if len(after) != len(before) {
		t.Error("a refused lift was written")
	}
}

func indexOf[T comparable](xs []T, x T) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

func TestRestrictionBadInputWritesNothing(t *testing.T) {
	_, e := newFixture(t, 1, erasure.WithRegister(marketingRegister()), erasure.WithRecipients(erasure.RecipientNotifierFunc(
		func(context.Context, erasure.RecipientNotice) error { return nil }), nil),
		erasure.WithRectifiers(erasure.Rectifier{Name: "crm", Fields: []string{"email"},
			Rectify: func(context.Context, gdpr.SubjectID, erasure.Correction) error { return nil }}))
	ctx := t.Context()
	cases := []struct {
		name  string
		s     erasure.Submission
		field string
		is    error
	}{
		{"unknown ground", erasure.Submission{Kind: gdpr.KindRestriction, Subject: "u", Ground: "because"}, "ground", erasure.ErrInvalid},
		{"no ground", erasure.Submission{Kind: gdpr.KindRestriction, Subject: "u"}, "ground", erasure.ErrInvalid},
		{"ground on an erasure", erasure.Submission{Kind: gdpr.KindErasure, Subject: "u", Ground: erasure.GroundAccuracy}, "ground", erasure.ErrInvalid},
		{"unknown purpose", erasure.Submission{Kind: gdpr.KindRestriction, Subject: "u", Ground: erasure.GroundAccuracy, Purposes: []gdpr.Purpose{"nope"}}, "purposes", erasure.ErrInvalid},
		{"objection without purpose", erasure.Submission{Kind: gdpr.KindObjection, Subject: "u"}, "purposes", erasure.ErrInvalid},
		{"objection to a contract", erasure.Submission{Kind: gdpr.KindObjection, Subject: "u", Purposes: []gdpr.Purpose{"billing"}}, "purposes", erasure.ErrInvalid},
		{"rectification of an unknown field", erasure.Submission{Kind: gdpr.KindRectification, Subject: "u",
			Corrections: []erasure.Correction{{Target: "crm", Field: "iban", Value: "DE00"}}}, "corrections", erasure.ErrUnknownField},
		{"rectification of an unknown target", erasure.Submission{Kind: gdpr.KindRectification, Subject: "u",
			Corrections: []erasure.Correction{{Target: "erp", Field: "email", Value: "x"}}}, "corrections", erasure.ErrUnknownField},
		{"empty correction", erasure.Submission{Kind: gdpr.KindRectification, Subject: "u",
			Corrections: []erasure.Correction{{Target: "crm", Field: "email"}}}, "corrections", erasure.ErrInvalid},
		{"no corrections", erasure.Submission{Kind: gdpr.KindRectification, Subject: "u"}, "corrections", erasure.ErrInvalid},
		{"lift with nothing restricted", erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: "u"}, "restriction", erasure.ErrNotFound},
	}
	for _, c := range cases {
		_, _, err := e.Submit(ctx, c.s)
		var ee *erasure.Error
		if !errors.Is(err, c.is) || !errors.As(err, &ee) || ee.Field != c.field {
			t.Errorf("%s: %v (field %q), want %v on %q", c.name, err, fieldOf(err), c.is, c.field)
		}
	}
	if got, _ := e.List(ctx, erasure.Filter{}); len(got) != 0 {
		t.Errorf("bad input wrote %d requests", len(got))
	}
	if xs, _ := e.Restrictions(ctx, "u"); len(xs) != 0 {
		t.Errorf("bad input wrote restrictions: %+v", xs)
	}
	// Override without a reference, or without reasons.
	if _, err := e.Override(ctx, "u", "fraud", "", "reasons"); !errors.Is(err, erasure.ErrInvalid) || fieldOf(err) != "reference" {
		t.Errorf("override without a reference: %v", err)
	}
	if _, err := e.Override(ctx, "u", "fraud", "LIA-7", " "); !errors.Is(err, erasure.ErrInvalid) || fieldOf(err) != "reasons" {
		t.Errorf("override without reasons: %v", err)
	}
	if _, err := e.Override(ctx, "u", "fraud", "LIA-7", "fraud prevention"); !errors.Is(err, erasure.ErrNotFound) {
		t.Errorf("override of no objection: %v", err)
	}
	// A handler for a kind the Engine carries out itself.
	for _, k := range []gdpr.RequestKind{gdpr.KindRestriction, gdpr.KindLiftRestriction, gdpr.KindObjection, gdpr.KindRectification} {
		h := gdpr.RequestHandlerFunc(func(context.Context, gdpr.Request) (gdpr.RequestResult, error) { return gdpr.RequestResult{}, nil })
		if _, err := erasure.New(memerasure.New(), testKey, erasure.WithHandler(k, h)); !errors.Is(err, erasure.ErrInvalid) {
			t.Errorf("WithHandler(%s): %v", k, err)
		}
	}
	// A Register with recipients needs a way to tell them.
	if _, err := erasure.New(memerasure.New(), testKey, erasure.WithRegister(withRecipient(marketingRegister()))); fieldOf(err) != "WithRegister" {
		t.Errorf("Register with recipients and no WithRecipients: %v", err)
	}
}

func withRecipient(r *gdpr.Register) *gdpr.Register {
	r = r.Clone()
	r.Activities[3].Recipients = []gdpr.Recipient{{Name: "payments", Kind: gdpr.Processor}}
	return r
}

// ledger is a stand-in for the consent ledger's objections: what the
// objection hook records, and decisions that deny an objected purpose.
type ledger struct {
	mu       sync.Mutex
	objected map[string]bool
}

func (l *ledger) hook(_ context.Context, o erasure.Objection) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.objected == nil {
		l.objected = map[string]bool{}
	}
	l.objected[string(o.Subject)+"/"+string(o.Purpose)] = !o.Overridden
	return nil
}

func (l *ledger) denies(s gdpr.SubjectID, p gdpr.Purpose) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.objected[string(s)+"/"+string(p)]
}

func TestObjection(t *testing.T) {
	l := &ledger{}
	f, e := newFixture(t, 1, erasure.WithRegister(marketingRegister()), erasure.WithObjectionHook(l.hook),
		erasure.WithRestrictionCache(0))
	ctx := t.Context()
	const s = gdpr.SubjectID("otto@example.org")

	// Art. 21(1): processing on legitimate interests stops, but for legal
	// claims, until staff override it with a reference.
	r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindObjection, Subject: s, Purposes: []gdpr.Purpose{"fraud"}})
	if got := settle(t, f, e, r.ID); got.State != erasure.StateCompleted {
		t.Fatalf("objection %s %+v", got.State, got.Steps)
	}
	err := e.Check(ctx, s, "fraud", gdpr.AllowNone)
	if !errors.Is(err, erasure.ErrObjected) || !errors.Is(err, erasure.ErrRestricted) {
		t.Fatalf("objected purpose: %v", err)
	}
	if err := e.Check(ctx, s, "fraud", gdpr.AllowLegalClaims); err != nil {
		t.Errorf("legal claims under Art. 21(1): %v", err)
	}
	if err := e.Check(ctx, s, "fraud", gdpr.AllowConsent); !errors.Is(err, erasure.ErrObjected) {
		t.Errorf("Art. 18(2) consent is no exception to an objection: %v", err)
	}
	if err := e.Check(ctx, s, "billing", gdpr.AllowNone); err != nil {
		t.Errorf("other purpose: %v", err)
	}
	if !l.denies(s, "fraud") {
		t.Error("the hook was not told")
	}
	f.events.Reset()
	xs, err := e.Override(gdpr.WithActor(ctx, gdpr.Staff("dpo-1")), s, "fraud", "LIA-2026-07", "Fraud prevention protects other customers.")
	if err != nil || len(xs) != 1 {
		t.Fatal(err, len(xs))
	}
	if x := xs[0]; x.Override == nil || x.Override.Reference != "LIA-2026-07" || x.Override.Actor != gdpr.Staff("dpo-1") {
		t.Fatalf("override: %+v", xs[0])
	}
	evs := f.events.ByAction("erasure.objection.overridden")
	if len(evs) != 1 || evs[0].Attrs["reference"] != "LIA-2026-07" || evs[0].Actor != gdpr.Staff("dpo-1") || evs[0].Subject != "" {
		t.Fatalf("override events: %+v", evs)
	}
	if err := e.Check(ctx, s, "fraud", gdpr.AllowNone); err != nil {
		t.Errorf("overridden objection still refuses: %v", err)
	}
	if l.denies(s, "fraud") {
		t.Error("the hook was not told of the override")
	}
	last := f.notices[len(f.notices)-1]
	if last.Type != erasure.NoticeOverridden || len(last.Remedies) != 2 || last.Reasons == "" || last.Request.Subject != s {
		t.Errorf("override notice: %+v", last)
	}

	// Art. 21(2)-(3): direct marketing, every purpose of it, absolute.
	dm := submitOK(t, e, erasure.Submission{Kind: gdpr.KindObjection, Subject: s, DirectMarketing: true})
	settle(t, f, e, dm.ID)
	for _, p := range []gdpr.Purpose{"newsletter", "ads_profiling"} {
		if err := e.Check(ctx, s, p, gdpr.AllowLegalClaims); !errors.Is(err, erasure.ErrObjected) {
			t.Errorf("direct marketing %s under legal claims: %v", p, err)
		}
		if !l.denies(s, p) {
			t.Errorf("the hook was not told of %s", p)
		}
	}
	if _, err := e.Override(ctx, s, "newsletter", "LIA-3", "we like mail"); !errors.Is(err, erasure.ErrAbsolute) || !errors.Is(err, erasure.ErrInvalid) {
		t.Errorf("override of direct marketing: %v, want ErrAbsolute", err)
	}
	if err := e.Check(ctx, s, "newsletter", gdpr.AllowStorage); err != nil {
		t.Errorf("storage of an objector's data: %v", err)
	}
}

func TestRectification(t *testing.T) {
	const (
		s     = gdpr.SubjectID("rob@example.org")
		value = "canary-new-street-42"
		note  = "canary-statement-about-my-title"
	)
	var mu sync.Mutex
	applied := map[string]string{}
	fails := 1
	rc := erasure.Rectifier{Name: "crm", Fields: []string{"address", "title"},
		Rectify: func(_ context.Context, subject gdpr.SubjectID, c erasure.Correction) error {
			mu.Lock()
			defer mu.Unlock()
			if fails > 0 {
				fails--
				return fmt.Errorf("crm rejected %q for %s", c.Value, subject)
			}
			applied[c.Field] = c.Value
			return nil
		}}
	var told []erasure.RecipientNotice
	rn := erasure.RecipientNotifierFunc(func(_ context.Context, n erasure.RecipientNotice) error {
		mu.Lock()
		defer mu.Unlock()
		if n.Recipient.Reference == "" {
			return fmt.Errorf("%w: no reference at %s", erasure.ErrImpossible, n.Recipient.Recipient)
		}
		told = append(told, n)
		return nil
	})
	disc := gdpr.DisclosuresFunc(func(context.Context, gdpr.SubjectID) ([]gdpr.Disclosure, error) {
		return []gdpr.Disclosure{{Recipient: "mailer", Kind: gdpr.Processor, Reference: "m-991"}}, nil
	})
	f, e := newFixture(t, 1, erasure.WithRectifiers(rc), erasure.WithRegister(withRecipient(marketingRegister())),
		erasure.WithRecipients(rn, disc))
	ctx := t.Context()
	r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindRectification, Subject: s, Corrections: []erasure.Correction{
		{Target: "crm", Field: "address", Value: value},
		{Target: "crm", Field: "title", Value: note, Supplement: true},
	}})
	// At rest the value is sealed: not in the stored request in clear.
	stored, _ := e.Get(ctx, r.ID)
	raw, _ := json.Marshal(stored)
	if strings.Contains(string(raw), value) || strings.Contains(string(raw), note) || stored.Ask.Corrections[0].Sealed == nil {
		t.Fatalf("stored request holds the value in clear, or not at all: %s", raw)
	}
	for _, v := range []string{fmt.Sprint(stored), fmt.Sprintf("%+v", stored), fmt.Sprintf("%#v", stored.Ask.Corrections), fmt.Sprintf("%v",
		erasure.Correction{Target: "crm", Field: "address", Value: value})} {
		if strings.Contains(v, value) {
			t.Errorf("fmt prints the value: %s", v)
		}
	}
	got := settle(t, f, e, r.ID)
	if got.State != erasure.StateCompleted {
		t.Fatalf("rectification %s %+v", got.State, got.Steps)
	}
	if applied["address"] != value || applied["title"] != note {
		t.Errorf("applied %v", applied)
	}
	raw, _ = json.Marshal(got)
	for _, c := range got.Ask.Corrections {
		if c.Sealed != nil {
			t.Errorf("sealed value kept after it was applied: %s.%s", c.Target, c.Field)
		}
	}
	if strings.Contains(string(raw), value) || strings.Contains(string(raw), "m-991") {
		t.Errorf("closed request keeps the value or the recipient's reference: %s", raw)
	}
	for _, st := range got.Steps {
		if strings.Contains(st.Error, value) || strings.Contains(st.Error, string(s)) {
			t.Errorf("step error keeps a personal value: %q", st.Error)
		}
	}
	// Art. 19: the actual recipient was told, the register's without a
	// reference was recorded as not notified, and the subject is told.
	if len(told) != 1 || told[0].Recipient.Reference != "m-991" || strings.Join(told[0].Fields, ",") != "crm.address,crm.title" {
		t.Errorf("recipient notices: %+v", told)
	}
	outs := got.Recipients()
	if len(outs) != 2 || outs[0].Outcome != erasure.OutcomeNotified || outs[1].Recipient != "payments" ||
		outs[1].Outcome != erasure.OutcomeNotNotified || outs[1].Reason == "" {
		t.Errorf("recipient outcomes: %+v", outs)
	}
	last := f.notices[len(f.notices)-1]
	if last.Type != erasure.NoticeCompleted || len(last.Recipients) != 2 || len(last.Fields) != 2 {
		t.Errorf("completion notice: %+v", last)
	}
	// The supplementary statement is kept and exported.
	sts, err := e.Statements(ctx, s)
	if err != nil || len(sts) != 1 || sts[0].Text != note || sts[0].Field != "title" {
		t.Fatalf("statements: %v %+v", err, sts)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", sts[0], sts[0], sts[0]), note) {
		t.Error("fmt prints a statement's text")
	}
	var recs []gdpr.Record
	if err := e.ExportSubject(ctx, s, gdpr.RecordWriterFunc(func(_ context.Context, r gdpr.Record) error {
		recs = append(recs, r)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rec := range recs {
		if rec.Dataset == erasure.StatementsCategory && rec.Fields["statement"] == note {
			found = true
		}
	}
	if !found {
		t.Errorf("the statement is not in the export: %+v", recs)
	}
	for _, ev := range f.events.Leaks(value, note, string(s), "m-991") {
		t.Errorf("event %s holds a personal value", ev.Action)
	}
	// Erasure of the subject takes the statement with it.
	if _, err := e.EraseSubject(ctx, s); err != nil {
		t.Fatal(err)
	}
	if sts, _ := e.Statements(ctx, s); len(sts) != 0 {
		t.Errorf("statements after EraseSubject: %d", len(sts))
	}
}

func TestRecipientDownThenUp(t *testing.T) {
	var mu sync.Mutex
	down := 2
	var ids []string
	rn := erasure.RecipientNotifierFunc(func(_ context.Context, n erasure.RecipientNotice) error {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, n.ID)
		if down > 0 {
			down--
			return errors.New("503 from the recipient")
		}
		return nil
	})
	disc := gdpr.DisclosuresFunc(func(context.Context, gdpr.SubjectID) ([]gdpr.Disclosure, error) {
		return []gdpr.Disclosure{{Recipient: "partner", Kind: gdpr.ThirdParty, Reference: "p-1"}}, nil
	})
	f, e := newFixture(t, 1, erasure.WithRecipients(rn, disc))
	const s = gdpr.SubjectID("dora@example.org")
	f.seed(s)
	r := submit(t, e, s)
	got := settle(t, f, e, r.ID)
	if got.State != erasure.StateCompleted {
		t.Fatalf("%s %+v", got.State, got.Steps)
	}
	last := got.Steps[len(got.Steps)-1]
	if last.Outcome != erasure.OutcomeNotified || last.Attempts != 3 || last.Recipient.Reference != "" {
		t.Errorf("recipient step %+v", last)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("notice IDs %v: want one ID on every attempt", ids)
	}
	if got.Steps[0].Target != "recipients" {
		t.Errorf("recipients are listed first, before any target runs: %+v", got.Steps)
	}
	if es, _ := f.journal.Match(t.Context(), []string{e.SubjectRef(s)}); len(es) != 1 || strings.Join(es[0].Targets, ",") != "t1" {
		t.Errorf("the journal names the targets only: %+v", es)
	}
}

func TestCheckSeesOtherInstances(t *testing.T) {
	store := memerasure.New()
	const ttl = 40 * time.Millisecond
	a, err := erasure.New(store, testKey, erasure.WithRestrictionCache(ttl))
	if err != nil {
		t.Fatal(err)
	}
	flaky := &failingList{Store: store}
	b, err := erasure.New(flaky, testKey, erasure.WithRestrictionCache(ttl))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const s = gdpr.SubjectID("ivy@example.org")
	if err := b.Check(ctx, s, "", gdpr.AllowNone); err != nil {
		t.Fatal(err)
	}
	r, _, err := a.Submit(ctx, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundLegalClaims})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Process(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	placed := time.Now()
	if err := a.Check(ctx, s, "", gdpr.AllowNone); !errors.Is(err, erasure.ErrRestricted) {
		t.Fatalf("the instance that placed it: %v", err)
	}
	for errors.Is(b.Check(ctx, s, "", gdpr.AllowNone), nil) {
		if time.Since(placed) > 2*ttl+time.Second {
			t.Fatal("another instance did not see the restriction within the bound")
		}
		time.Sleep(time.Millisecond)
	}
	if d := time.Since(placed); d > 2*ttl+200*time.Millisecond {
		t.Errorf("seen after %v, bound %v", d, 2*ttl)
	}
	// Fails closed: once the cache is past its bound and the store is
	// down, Check refuses.
	flaky.fail(true)
	time.Sleep(2*ttl + 10*time.Millisecond)
	if err := b.Check(ctx, "someone-else", "", gdpr.AllowNone); !errors.Is(err, erasure.ErrRestricted) {
		t.Errorf("store down past the bound: %v, want a refusal", err)
	}
	flaky.fail(false)
	if err := b.Check(ctx, "someone-else", "", gdpr.AllowNone); err != nil {
		t.Errorf("store back: %v", err)
	}
}

type failingList struct {
	erasure.Store
	mu   sync.Mutex
	down bool
}

func (f *failingList) fail(v bool) {
	f.mu.Lock()
	f.down = v
	f.mu.Unlock()
}

func (f *failingList) ListRestrictions(ctx context.Context, rf erasure.RestrictionFilter) ([]erasure.Restriction, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, errors.New("store down")
	}
	return f.Store.ListRestrictions(ctx, rf)
}

// TestLiftDelay: with WithLiftDelay the restriction stays in force for
// that long after the subject was told, and is lifted only then.
func TestLiftDelay(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithRestrictionCache(0), erasure.WithLiftDelay(7*24*time.Hour))
	ctx := t.Context()
	const s = gdpr.SubjectID("del@example.org")
	r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundAccuracy})
	settle(t, f, e, r.ID)
	lift := submitOK(t, e, erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: s})
	got, err := e.Process(ctx, lift.ID)
	if err != nil {
		t.Fatal(err)
	}
	told := got.Steps[0].At
	if got.State != erasure.StateInProgress || !got.NextAt.Equal(told.Add(7*24*time.Hour)) || got.Steps[0].Outcome != erasure.OutcomeApplied {
		t.Fatalf("after the notice: %s next %v, steps %+v", got.State, got.NextAt, got.Steps)
	}
	f.clk.Add(24 * time.Hour)
	if again, _ := e.Process(ctx, lift.ID); again.State != erasure.StateInProgress || again.Version != got.Version {
		t.Errorf("processed early: %s, version %d → %d", again.State, got.Version, again.Version)
	}
	if err := e.Check(ctx, s, "support", gdpr.AllowNone); !errors.Is(err, erasure.ErrRestricted) {
		t.Errorf("lifted before its delay: %v", err)
	}
	done := settle(t, f, e, lift.ID)
	if done.State != erasure.StateCompleted || done.Steps[1].At.Before(told.Add(7*24*time.Hour)) {
		t.Fatalf("lift %s at %v, told at %v", done.State, done.Steps[1].At, told)
	}
	if err := e.Check(ctx, s, "support", gdpr.AllowNone); err != nil {
		t.Errorf("after the delay: %v", err)
	}
	if _, err := erasure.New(memerasure.New(), testKey, erasure.WithLiftDelay(-1)); fieldOf(err) != "WithLiftDelay" {
		t.Errorf("negative delay: %v", err)
	}
}

// TestRecipientToldWhenNothingWasFound: an erasure whose targets found
// nothing still tells a recipient the subject's data were disclosed to
// (it may hold its copy); an instance without a RecipientNotifier fails
// the step instead of panicking.
func TestRecipientToldWhenNothingWasFound(t *testing.T) {
	var told int
	rn := erasure.RecipientNotifierFunc(func(context.Context, erasure.RecipientNotice) error { told++; return nil })
	disc := gdpr.DisclosuresFunc(func(context.Context, gdpr.SubjectID) ([]gdpr.Disclosure, error) {
		return []gdpr.Disclosure{{Recipient: "partner", Reference: "p-9"}}, nil
	})
	f, e := newFixture(t, 1, erasure.WithRecipients(rn, disc))
	r := submit(t, e, "none@example.org") // not seeded: nothing to find
	got := settle(t, f, e, r.ID)
	if got.State != erasure.StateCompleted || told != 1 || got.Recipients()[0].Outcome != erasure.OutcomeNotified {
		t.Fatalf("%s, told %d, %+v", got.State, told, got.Steps)
	}

	// The same store, another instance without WithRecipients, takes up
	// a request whose recipients the first listed.
	lister, err := erasure.New(f.store, testKey, erasure.WithTargets(erasure.Target{Name: "t1", Eraser: newTable("t1")}),
		erasure.WithRecipients(erasure.RecipientNotifierFunc(func(context.Context, erasure.RecipientNotice) error {
			return errors.New("down")
		}), disc), erasure.WithRetry(5, time.Second, time.Minute), erasure.WithClock(f.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	r2, _, _ := lister.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "other@example.org"})
	if _, err := lister.Process(t.Context(), r2.ID); err != nil {
		t.Fatal(err)
	}
	bare, err := erasure.New(f.store, testKey, erasure.WithTargets(erasure.Target{Name: "t1", Eraser: newTable("t1")}), erasure.WithClock(f.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Add(time.Hour)
	got2, err := bare.Process(t.Context(), r2.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := got2.Steps[len(got2.Steps)-1]
	if last.Outcome != erasure.OutcomeFailed || !strings.Contains(last.Error, "RecipientNotifier") {
		t.Errorf("recipient step on an Engine without a notifier: %+v", last)
	}
}
