package consent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/gdprtest"
)

// suppressionKey is the fixtures' suppression key (newFixture gives it to
// every Ledger).
var suppressionKey = []byte("suppression-key-for-tests-0123456789")

func (f *fixture) erase(subject gdpr.SubjectID) gdpr.ErasureReport {
	f.t.Helper()
	rep, err := f.l.EraseSubject(f.ctx, subject)
	if err != nil {
		f.t.Fatalf("EraseSubject: %v", err)
	}
	return rep
}

// TestDirectMarketingDoesNotResumeAfterErasure: Art. 21(3). Before issue 9,
// erasing a subject who had objected to direct marketing on legitimate
// interests made Decide allow it again.
func TestDirectMarketingDoesNotResumeAfterErasure(t *testing.T) {
	f := newFixture(t, consent.WithRegister(marketingRegister()))
	mustOK(f.l.Object(f.ctx, consent.Choice{Subject: "rita", Purpose: "promotions"}))
	mustOK(f.l.Object(f.ctx, consent.Choice{Subject: "rita", Purpose: "customer_mailings"})) // not direct marketing
	f.clk.Add(time.Minute)
	rep := f.erase("rita")
	if rep.Erased != 2 || len(rep.Exemptions) != 1 {
		t.Fatalf("report %+v; want 2 erased and one exemption", rep)
	}
	x := rep.Exemptions[0]
	if x.Category != consent.SuppressionCategory || x.Records != 1 || x.Ground != gdpr.GroundLegalObligation || x.Reason == "" {
		t.Errorf("exemption %+v; want 1 record of %s on Art. 17(3)(b)", x, consent.SuppressionCategory)
	}
	if err := x.Validate(); err != nil {
		t.Errorf("exemption invalid: %v", err)
	}
	if strings.Contains(x.Reason, "rita") {
		t.Errorf("exemption names the subject: %q", x.Reason)
	}
	if evs := mustOK(f.l.History(f.ctx, "rita", "")); len(evs) != 0 {
		t.Fatalf("%d events left", len(evs))
	}
	for _, c := range []consent.Contact{consent.Post, consent.Phone, consent.AllContacts} {
		if d := f.decideFor("rita", "promotions", c); d.Allowed || d.Reason != consent.ReasonSuppressed {
			t.Errorf("direct marketing by %q after erasure: %+v; want ReasonSuppressed", c, d)
		}
	}
	// The objection to processing that is not direct marketing is gone
	// with the rest (Art. 17): nothing was kept of it.
	if d := f.decideFor("rita", "customer_mailings", consent.Post); !d.Allowed {
		t.Errorf("a purpose that is not direct marketing after erasure: %+v", d)
	}
	// A new sale does not bring her back: a soft opt-in is no consent.
	mustOK(f.l.RecordSoftOptIn(f.ctx, sale("rita", consent.Email)))
	if d := f.decideFor("rita", "promotions", consent.Email); d.Allowed || d.Reason != consent.ReasonSuppressed {
		t.Errorf("e-mail after erasure and a new soft opt-in: %+v; want ReasonSuppressed", d)
	}
	// The report names what is kept again, every time.
	if again := f.erase("rita"); again.Erased != 1 || len(again.Exemptions) != 1 || again.Exemptions[0].Records != 1 {
		t.Errorf("second erasure %+v; want the soft opt-in erased and the same exemption", again)
	}

	// A withdrawal from consent-based direct marketing is kept too; the
	// subject's own consent afterwards wins over it.
	mustOK(f.l.Give(f.ctx, f.choice("sven")))
	f.clk.Add(time.Second)
	mustOK(f.l.Withdraw(f.ctx, consent.Choice{Subject: "sven", Purpose: "newsletter", Contact: consent.Email}))
	f.clk.Add(time.Second)
	if rep := f.erase("sven"); len(rep.Exemptions) != 1 || rep.Exemptions[0].Records != 1 {
		t.Fatalf("erasure after a withdrawal: %+v", rep)
	}
	if d := f.decideFor("sven", "newsletter", consent.Email); d.Allowed {
		t.Errorf("newsletter after erasure: %+v", d)
	}
	f.clk.Add(time.Second)
	again := mustOK(f.l.Give(f.ctx, f.choice("sven")))
	if d := f.decideFor("sven", "newsletter", consent.Email); !d.Allowed || d.Reason != consent.ReasonGiven || d.Event.ID != again.ID {
		t.Errorf("newsletter after a new consent: %+v; want the new consent to win", d)
	}

	// Nothing to keep: no exemption.
	mustOK(f.l.Give(f.ctx, f.choice("tess")))
	if rep := f.erase("tess"); len(rep.Exemptions) != 0 {
		t.Errorf("erasure without a direct-marketing stop: %+v", rep)
	}
	// A stop that a later consent lifted is not kept.
	mustOK(f.l.Withdraw(f.ctx, consent.Choice{Subject: "uma", Purpose: "newsletter"}))
	f.clk.Add(time.Second)
	mustOK(f.l.Give(f.ctx, f.choice("uma")))
	if rep := f.erase("uma"); len(rep.Exemptions) != 0 {
		t.Errorf("erasure of a withdrawal followed by consent: %+v", rep)
	}
}

// TestUnsubscribeAfterErasureWritesNothingThatNamesThem: an old link from
// an e-mail sent before the erasure. Before issue 9 it recorded a
// withdrawal event, and an audit event, naming the erased subject.
func TestUnsubscribeAfterErasureWritesNothingThatNamesThem(t *testing.T) {
	u := mustOK(consent.NewUnsubscriber([]byte(strings.Repeat("u", 32))))
	f := newFixture(t, consent.WithRegister(marketingRegister()), consent.WithUnsubscriber(u))
	mustOK(f.l.Give(f.ctx, f.choice("vic")))
	mustOK(f.l.RecordSoftOptIn(f.ctx, sale("vic", consent.Email)))
	news := mustOK(f.l.UnsubscribeToken("vic", "newsletter", consent.Email, 0))
	promo := mustOK(f.l.UnsubscribeToken("vic", "promotions", consent.Email, 0))
	f.erase("vic")
	n := f.audit.Len()
	for _, tok := range []string{news, promo} {
		e, err := f.l.Unsubscribe(f.ctx, tok, consent.Evidence{Locator: "POST /unsubscribe/{token}"})
		if err != nil || e.ID != "" {
			t.Fatalf("Unsubscribe after erasure: %+v, %v; want the zero Event", e, err)
		}
	}
	if evs := mustOK(f.l.History(f.ctx, "vic", "")); len(evs) != 0 {
		t.Fatalf("Unsubscribe after erasure wrote %d events about the subject", len(evs))
	}
	for _, e := range f.audit.Events()[n:] {
		if e.Subject != "" {
			t.Errorf("audit event %s after the erasure names the subject", e.Action)
		}
	}
	if got := len(f.audit.ByAction("consent.suppressed")); got != 2 {
		t.Errorf("%d consent.suppressed audit events, want 2", got)
	}
	// The stop is honoured all the same: a new sale does not bring the
	// subject back.
	mustOK(f.l.RecordSoftOptIn(f.ctx, sale("vic", consent.Email)))
	if d := f.decideFor("vic", "promotions", consent.Email); d.Allowed || d.Reason != consent.ReasonSuppressed {
		t.Errorf("promotions after an unsubscribe of an erased subject: %+v; want ReasonSuppressed", d)
	}

	// Without a suppression key (and so without direct marketing on other
	// bases), an old link writes nothing at all.
	rec := new(gdprtest.Recorder)
	plain := mustOK(consent.New(memconsent.New(), consent.WithUnsubscriber(u), consent.WithRecorder(rec)))
	tok := mustOK(plain.UnsubscribeToken("wes", "newsletter", consent.AllContacts, 0))
	if e, err := plain.Unsubscribe(f.ctx, tok, consent.Evidence{}); err != nil || e.ID != "" {
		t.Errorf("Unsubscribe of an unknown subject without a key: %+v, %v", e, err)
	}
	if rec.Len() != 0 || len(mustOK(plain.History(f.ctx, "wes", ""))) != 0 {
		t.Errorf("Unsubscribe of an unknown subject without a key wrote something")
	}
}

// TestUnsubscribeKeepsAnEntryBeforeTheEvent: with a key, every
// direct-marketing unsubscribe keeps an entry first, so an erasure racing
// it cannot lose the stop.
func TestUnsubscribeKeepsAnEntryBeforeTheEvent(t *testing.T) {
	u := mustOK(consent.NewUnsubscriber([]byte(strings.Repeat("u", 32))))
	f := newFixture(t, consent.WithRegister(marketingRegister()), consent.WithUnsubscriber(u))
	mustOK(f.l.RecordSoftOptIn(f.ctx, sale("xan", consent.Email)))
	tok := mustOK(f.l.UnsubscribeToken("xan", "promotions", consent.Email, time.Hour))
	if e := mustOK(f.l.Unsubscribe(f.ctx, tok, consent.Evidence{})); e.Kind != consent.Objected {
		t.Fatalf("unsubscribe recorded %s", e.Kind)
	}
	// Simulate an erasure that read the events before the objection was
	// appended: the store loses the events, the entry stays.
	mustOK(f.store.DeleteSubject(f.ctx, "xan"))
	if d := f.decideFor("xan", "promotions", consent.AllContacts); d.Allowed || d.Reason != consent.ReasonSuppressed {
		t.Errorf("after the events were lost: %+v; want ReasonSuppressed", d)
	}
}

// TestUnsubscribeTokenNegativeTTL: before issue 9 a negative TTL gave a
// token that never expires.
func TestUnsubscribeTokenNegativeTTL(t *testing.T) {
	u := mustOK(consent.NewUnsubscriber([]byte(strings.Repeat("u", 32))))
	f := newFixture(t, consent.WithUnsubscriber(u))
	tok, err := f.l.UnsubscribeToken("yara", "newsletter", consent.Email, -time.Hour)
	var ce *consent.Error
	if tok != "" || !errors.Is(err, consent.ErrInvalid) || !errors.As(err, &ce) || ce.Field != "ttl" {
		t.Fatalf("UnsubscribeToken with a negative TTL: %q, %v; want ErrInvalid for field ttl", tok, err)
	}
	never := mustOK(f.l.UnsubscribeToken("yara", "newsletter", consent.Email, 0))
	if c := mustOK(u.Verify(never)); !c.Expires.IsZero() {
		t.Errorf("a TTL of 0 expires at %v; want never", c.Expires)
	}
}

func TestSuppressionKeyOption(t *testing.T) {
	// Direct marketing on legitimate interests needs the key.
	_, err := consent.New(memconsent.New(), consent.WithRegister(testRegister()))
	var ce *consent.Error
	if !errors.Is(err, consent.ErrInvalid) || !errors.As(err, &ce) || ce.Op != "new" || ce.Field != "WithSuppressionKey" {
		t.Errorf("New with direct marketing on legitimate interests and no key: %v; want ErrInvalid for WithSuppressionKey", err)
	}
	// Consent-based direct marketing does not.
	consentOnly := &gdpr.Register{Controller: gdpr.Party{Name: "C", Email: "c@example.com"}, Activities: []gdpr.Activity{
		{ID: "nl", Purpose: "newsletter", Basis: gdpr.Consent, DirectMarketing: true, SubjectCategories: []string{"s"},
			DataCategories: []gdpr.Category{{ID: "contact"}}, Retention: gdpr.RetentionRule{Description: "until withdrawal"}}}}
	if _, err := consent.New(memconsent.New(), consent.WithRegister(consentOnly)); err != nil {
		t.Errorf("New with consent-based direct marketing: %v", err)
	}
	for name, opt := range map[string]consent.Option{
		"no key":    consent.WithSuppressionKey(),
		"nil key":   consent.WithSuppressionKey(nil),
		"short key": consent.WithSuppressionKey(suppressionKey, make([]byte, 31)),
	} {
		_, err := consent.New(memconsent.New(), opt)
		if !errors.Is(err, consent.ErrInvalid) || !errors.As(err, &ce) || ce.Field != "WithSuppressionKey" {
			t.Errorf("%s: %v; want ErrInvalid for WithSuppressionKey", name, err)
		}
	}
	// The key never prints.
	l := mustOK(consent.New(memconsent.New(), consent.WithSuppressionKey(suppressionKey)))
	for _, form := range secretForms(suppressionKey) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(verb, l); strings.Contains(out, form) {
				t.Errorf("%s of a Ledger prints the suppression key", verb)
			}
		}
	}
}

// TestSuppressionKeyRotation: entries kept under an old key are honoured
// while the old key is listed after the new one; none holds the subject ID.
func TestSuppressionKeyRotation(t *testing.T) {
	f := newFixture(t, consent.WithRegister(marketingRegister()))
	mustOK(f.l.Object(f.ctx, consent.Choice{Subject: "zoe", Purpose: "promotions", Contact: consent.Post}))
	f.erase("zoe")
	newKey := []byte("a-new-suppression-key-0123456789abcdef")
	rotated := mustOK(consent.New(f.store, consent.WithClock(f.clk.Now), consent.WithRegister(marketingRegister()),
		consent.WithSuppressionKey(newKey, suppressionKey)))
	d := mustOK(rotated.Decide(f.ctx, consent.Query{Subject: "zoe", Purpose: "promotions", Contact: consent.Post}))
	if d.Allowed || d.Reason != consent.ReasonSuppressed {
		t.Errorf("after rotation, old key kept: %+v", d)
	}
	// A letter is suppressed; a call, of another channel, is not: the entry
	// is for the channel objected to.
	if d := mustOK(rotated.Decide(f.ctx, consent.Query{Subject: "zoe", Purpose: "promotions", Contact: consent.Phone})); !d.Allowed {
		t.Errorf("another channel after a one-channel objection and erasure: %+v", d)
	}
	dropped := mustOK(consent.New(f.store, consent.WithClock(f.clk.Now), consent.WithRegister(marketingRegister()),
		consent.WithSuppressionKey(newKey)))
	if d := mustOK(dropped.Decide(f.ctx, consent.Query{Subject: "zoe", Purpose: "promotions", Contact: consent.Post})); !d.Allowed {
		t.Errorf("with the old key dropped the entry cannot match: %+v", d)
	}
}

// TestMemconsentSuppressions: the in-memory store's list keeps the later
// time, looks up each hash once, and is untouched by DeleteSubject.
func TestMemconsentSuppressions(t *testing.T) {
	s := memconsent.New()
	ctx := t.Context()
	h1, h2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := mustOK(s.Suppressed(ctx, [][]byte{h1})); len(got) != 0 {
		t.Fatalf("empty list: %v", got)
	}
	mustOK(0, s.Suppress(ctx, consent.Suppression{Hash: h1, Time: t0.Add(time.Hour)}))
	mustOK(0, s.Suppress(ctx, consent.Suppression{Hash: h1, Time: t0}, consent.Suppression{Hash: h2, Time: t0}))
	mustOK(s.DeleteSubject(ctx, "anyone"))
	got := mustOK(s.Suppressed(ctx, [][]byte{h1, h1, h2, bytes.Repeat([]byte{3}, 32)}))
	if len(got) != 2 {
		t.Fatalf("Suppressed = %v; want two entries", got)
	}
	for _, e := range got {
		want := t0
		if bytes.Equal(e.Hash, h1) {
			want = t0.Add(time.Hour)
		}
		if !e.Time.Equal(want) {
			t.Errorf("entry %x at %v; want %v (the later time)", e.Hash[:1], e.Time, want)
		}
	}
	got[0].Hash[0] = 9
	if again := mustOK(s.Suppressed(ctx, [][]byte{h1, h2})); len(again) != 2 {
		t.Errorf("a caller's change to a returned hash changed the store")
	}
}

// TestLedgerWithSuppressionsPassesTheEraserSuite: gdprtest's Eraser suite on
// a Ledger that keeps suppression entries, so every report's exemption is
// checked (a valid ground, no personal data).
func TestLedgerWithSuppressionsPassesTheEraserSuite(t *testing.T) {
	gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
		s := memconsent.New()
		l := mustOK(consent.New(s, consent.WithRegister(marketingRegister()), consent.WithSuppressionKey(suppressionKey)))
		mustOK(l.Publish(t.Context(), consent.Notice{ID: "newsletter-notice", Version: 1, TextHash: consent.HashText("n")}))
		seed := func(ctx context.Context, subject gdpr.SubjectID, _ string) error {
			if _, err := l.Give(ctx, consent.Choice{Subject: subject, Purpose: "newsletter",
				Notice: consent.NoticeRef{ID: "newsletter-notice", Version: 1}}); err != nil {
				return err
			}
			_, err := l.Object(ctx, consent.Choice{Subject: subject, Purpose: "promotions"})
			return err
		}
		return gdprtest.EraserFixture{Eraser: l, Seed: seed, Present: gdprtest.ExportsAny(l)}
	})
}
