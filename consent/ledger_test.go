package consent_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/gdprtest"
)

// canary is a subject ID that must never appear in an error, a token or an
// audit event's attributes.
const canary = "canary-7f3a@example.org"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t     testing.TB
	ctx   context.Context
	clk   *clock
	store *memconsent.Store
	l     *consent.Ledger
	audit *gdprtest.Recorder
}

func newFixture(t testing.TB, opts ...consent.Option) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), clk: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
		store: memconsent.New(), audit: new(gdprtest.Recorder)}
	opts = append([]consent.Option{consent.WithClock(f.clk.Now), consent.WithRecorder(f.audit), consent.WithSuppressionKey(suppressionKey)}, opts...)
	l, err := consent.New(f.store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.l = l
	f.publish("newsletter-notice", 1, false)
	return f
}

func (f *fixture) publish(id string, version int, material bool) consent.Notice {
	f.t.Helper()
	n, err := f.l.Publish(f.ctx, consent.Notice{ID: id, Version: version, TextHash: consent.HashText(id + string(rune('0'+version))),
		Language: "en", URL: "https://example.com/notices/" + id, Material: material})
	if err != nil {
		f.t.Fatalf("Publish %s v%d: %v", id, version, err)
	}
	f.clk.Add(time.Second)
	return n
}

func (f *fixture) choice(subject string) consent.Choice {
	return consent.Choice{Subject: gdpr.SubjectID(subject), Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter-notice", Version: 1}, Method: consent.MethodCheckbox, Channel: "web",
		Evidence: consent.Evidence{IPPrefix: "203.0.113.0/24", UserAgent: "Firefox/Linux", Locator: "/signup"}}
}

func (f *fixture) decide(subject string, contact consent.Contact) consent.Decision {
	f.t.Helper()
	d, err := f.l.Decide(f.ctx, consent.Query{Subject: gdpr.SubjectID(subject), Purpose: "newsletter", Contact: contact})
	if err != nil {
		f.t.Fatalf("Decide: %v", err)
	}
	return d
}

// mustOK returns v, or panics on err: a test that fails with a stack trace.
// (Go cannot pass a call's two results and a *testing.T to one function.)
func mustOK[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestGiveWithdrawDecide(t *testing.T) {
	f := newFixture(t)
	if d := f.decide("alice", ""); d.Allowed || d.Reason != consent.ReasonNone || d.Event.ID != "" {
		t.Fatalf("before any consent: %+v, want denied with ReasonNone", d)
	}
	given := mustOK(f.l.Give(f.ctx, f.choice("alice")))
	if given.Notice.TextHash != consent.HashText("newsletter-notice1") {
		t.Errorf("event notice hash %q not filled in from the registry", given.Notice.TextHash)
	}
	f.clk.Add(time.Minute)
	d := f.decide("alice", "")
	if !d.Allowed || d.Reason != consent.ReasonGiven || d.Event.ID == "" || d.Event.ID != given.ID || d.Basis != gdpr.Consent {
		t.Fatalf("after Give: %+v, want allowed by event %s", d, given.ID)
	}
	w := mustOK(f.l.Withdraw(f.ctx, consent.Choice{Subject: "alice", Purpose: "newsletter"}))
	if w.Method != consent.MethodForm || w.Actor.Kind != gdpr.ActorSubject {
		t.Errorf("withdrawal defaults: method %q actor %v", w.Method, w.Actor)
	}
	f.clk.Add(time.Minute)
	if d := f.decide("alice", ""); d.Allowed || d.Reason != consent.ReasonWithdrawn || d.Event.ID != w.ID {
		t.Fatalf("after Withdraw: %+v, want denied with ReasonWithdrawn", d)
	}
	// Decisions at a past time see the state then (Art. 7(1): demonstrate
	// the consent relied on when processing happened).
	past, err := f.l.Decide(f.ctx, consent.Query{Subject: "alice", Purpose: "newsletter", At: given.Time.Add(time.Second)})
	if err != nil || !past.Allowed || past.Event.ID != given.ID {
		t.Fatalf("decision at a time between give and withdraw: %+v, %v", past, err)
	}
	// Other subjects are unaffected.
	if d := f.decide("bob", ""); d.Allowed {
		t.Fatal("bob allowed without consent")
	}
	if ok, err := f.l.Allowed(f.ctx, "alice", "newsletter"); ok || err != nil {
		t.Fatalf("Allowed after withdrawal = %v, %v", ok, err)
	}
}

func TestRefuseAndObject(t *testing.T) {
	f := newFixture(t)
	mustOK(f.l.Refuse(f.ctx, f.choice("carol")))
	f.clk.Add(time.Second)
	if d := f.decide("carol", ""); d.Allowed || d.Reason != consent.ReasonRefused {
		t.Fatalf("after Refuse: %+v", d)
	}
	mustOK(f.l.Give(f.ctx, f.choice("carol")))
	f.clk.Add(time.Second)
	mustOK(f.l.Object(f.ctx, consent.Choice{Subject: "carol", Purpose: "newsletter", Contact: consent.Email}))
	f.clk.Add(time.Second)
	if d := f.decide("carol", consent.Email); d.Allowed || d.Reason != consent.ReasonObjected {
		t.Fatalf("e-mail after objection by e-mail: %+v", d)
	}
	if d := f.decide("carol", consent.SMS); !d.Allowed {
		t.Fatalf("SMS after objection to e-mail only: %+v", d)
	}
}

func TestContactScopes(t *testing.T) {
	f := newFixture(t)
	mustOK(f.l.Give(f.ctx, f.choice("dan")))
	f.clk.Add(time.Second)
	mustOK(f.l.Withdraw(f.ctx, consent.Choice{Subject: "dan", Purpose: "newsletter", Contact: consent.SMS}))
	f.clk.Add(time.Second)
	for _, tc := range []struct {
		contact consent.Contact
		allowed bool
	}{{consent.Email, true}, {consent.SMS, false}, {consent.Push, true}, {"", false}} {
		if d := f.decide("dan", tc.contact); d.Allowed != tc.allowed {
			t.Errorf("contact %q: allowed=%v (%s), want %v", tc.contact, d.Allowed, d.Reason, tc.allowed)
		}
	}
	// A later consent for all channels supersedes the SMS withdrawal.
	mustOK(f.l.Give(f.ctx, f.choice("dan")))
	f.clk.Add(time.Second)
	if d := f.decide("dan", consent.SMS); !d.Allowed {
		t.Errorf("SMS after a new all-channel consent: %+v", d)
	}
}

func TestExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.choice("erin")
	c.ExpiresAt = f.clk.Now().Add(24 * time.Hour)
	mustOK(f.l.Give(f.ctx, c))
	f.clk.Add(23 * time.Hour)
	if d := f.decide("erin", ""); !d.Allowed {
		t.Fatalf("before expiry: %+v", d)
	}
	f.clk.Add(time.Hour)
	if d := f.decide("erin", ""); d.Allowed || d.Reason != consent.ReasonExpired {
		t.Fatalf("at expiry: %+v, want ReasonExpired", d)
	}
	mustOK(f.l.Give(f.ctx, f.choice("frank")))
	f.clk.Add(time.Second)
	mustOK(f.l.Expire(f.ctx, consent.Choice{Subject: "frank", Purpose: "newsletter"}))
	f.clk.Add(time.Second)
	if d := f.decide("frank", ""); d.Allowed || d.Reason != consent.ReasonExpired || d.Event.Actor.Kind != gdpr.ActorSystem {
		t.Fatalf("after Expire: %+v", d)
	}
}

func TestStaleNotices(t *testing.T) {
	f := newFixture(t)
	for _, s := range []string{"s1", "s2", "s3", "s4"} {
		mustOK(f.l.Give(f.ctx, f.choice(s)))
	}
	mustOK(f.l.Withdraw(f.ctx, consent.Choice{Subject: "s2", Purpose: "newsletter"}))
	f.clk.Add(time.Second)
	f.publish("newsletter-notice", 2, false) // editorial: nothing stale
	if d := f.decide("s1", ""); !d.Allowed {
		t.Fatalf("after an editorial version: %+v", d)
	}
	if got := mustOK(f.l.StaleSubjects(f.ctx, "newsletter-notice", "", 10)); len(got) != 0 {
		t.Fatalf("stale after an editorial version: %v", got)
	}
	// s4 re-consents under v2 before the material v3.
	c := f.choice("s4")
	c.Notice.Version = 2
	mustOK(f.l.Give(f.ctx, c))
	f.clk.Add(time.Second)
	before := f.clk.Now()
	f.publish("newsletter-notice", 3, true)
	for s, want := range map[string]consent.Reason{"s1": consent.ReasonStale, "s2": consent.ReasonWithdrawn, "s3": consent.ReasonStale, "s4": consent.ReasonStale} {
		if d := f.decide(s, ""); d.Allowed || d.Reason != want {
			t.Errorf("%s after material v3: %+v, want %s", s, d, want)
		}
	}
	if d, _ := f.l.Decide(f.ctx, consent.Query{Subject: "s1", Purpose: "newsletter", At: before.Add(-time.Microsecond)}); !d.Allowed {
		t.Errorf("s1 before v3 was published: %+v, want allowed", d)
	}
	var all []gdpr.SubjectID
	var after gdpr.SubjectID
	for {
		page := mustOK(f.l.StaleSubjects(f.ctx, "newsletter-notice", after, 2))
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1]
	}
	if strings.Join(ids(all), ",") != "s1,s3,s4" {
		t.Fatalf("StaleSubjects pages = %v, want s1,s3,s4", all)
	}
	// Asking again under v3 clears s1.
	c = f.choice("s1")
	c.Notice.Version = 3
	mustOK(f.l.Give(f.ctx, c))
	f.clk.Add(time.Second)
	if d := f.decide("s1", ""); !d.Allowed {
		t.Errorf("s1 after consent under v3: %+v", d)
	}
	if got := mustOK(f.l.StaleSubjects(f.ctx, "newsletter-notice", "", 10)); strings.Join(ids(got), ",") != "s3,s4" {
		t.Errorf("StaleSubjects after s1 re-consented = %v", got)
	}
}

func ids(s []gdpr.SubjectID) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

func TestPublishRules(t *testing.T) {
	f := newFixture(t)
	for name, n := range map[string]consent.Notice{
		"same version":  {ID: "newsletter-notice", Version: 1, TextHash: consent.HashText("x")},
		"lower version": {ID: "newsletter-notice", Version: 0, TextHash: consent.HashText("x")},
		"bad hash":      {ID: "other", Version: 1, TextHash: "abc"},
		"empty id":      {Version: 1, TextHash: consent.HashText("x")},
	} {
		if _, err := f.l.Publish(f.ctx, n); err == nil {
			t.Errorf("Publish %s: no error", name)
		}
	}
	// A notice not yet published cannot back a consent.
	future := consent.Notice{ID: "later", Version: 1, TextHash: consent.HashText("later"), Published: f.clk.Now().Add(time.Hour)}
	mustOK(f.l.Publish(f.ctx, future))
	c := f.choice("gina")
	c.Notice = consent.NoticeRef{ID: "later", Version: 1}
	if _, err := f.l.Give(f.ctx, c); !errors.Is(err, consent.ErrUnknownNotice) {
		t.Errorf("Give under a future notice: %v, want ErrUnknownNotice", err)
	}
}

func testRegister() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{
			{ID: "nl", Name: "Newsletter", Purpose: "newsletter", Basis: gdpr.Consent,
				SubjectCategories: []string{"subscribers"}, DataCategories: []gdpr.Category{{ID: "contact"}},
				Retention: gdpr.RetentionRule{Description: "until withdrawal"}},
			{ID: "cm", Name: "Customer mailings", Purpose: "customer_mailings", Basis: gdpr.LegitimateInterests,
				LegitimateInterestAssessment: "LIA-2026-01",
				SubjectCategories:            []string{"customers"}, DataCategories: []gdpr.Category{{ID: "contact"}},
				Retention: gdpr.RetentionRule{Description: "while a customer"}},
			{ID: "promo", Name: "Promotions", Purpose: "promotions", Basis: gdpr.LegitimateInterests, DirectMarketing: true,
				LegitimateInterestAssessment: "LIA-2026-02",
				SubjectCategories:            []string{"customers"}, DataCategories: []gdpr.Category{{ID: "contact"}},
				Retention: gdpr.RetentionRule{Description: "while a customer"}},
			{ID: "health", Name: "Health coaching", Purpose: "coaching", Basis: gdpr.ExplicitConsent, SpecialCondition: "a",
				SubjectCategories: []string{"members"}, DataCategories: []gdpr.Category{{ID: "fitness", Special: gdpr.HealthData}},
				Retention: gdpr.RetentionRule{Description: "until withdrawal"}},
			{ID: "orders", Name: "Orders", Purpose: "orders", Basis: gdpr.Contract,
				SubjectCategories: []string{"customers"}, DataCategories: []gdpr.Category{{ID: "contact"}},
				Retention: gdpr.RetentionRule{Description: "10 years"}},
		},
	}
}

func TestRegisterRules(t *testing.T) {
	f := newFixture(t, consent.WithRegister(testRegister()))
	c := f.choice("hal")
	c.Purpose = "unknown"
	if _, err := f.l.Give(f.ctx, c); !errors.Is(err, consent.ErrUnknownPurpose) {
		t.Errorf("Give for an unknown purpose: %v", err)
	}
	c.Purpose = "orders"
	if _, err := f.l.Give(f.ctx, c); !errors.Is(err, consent.ErrNotConsentBased) {
		t.Errorf("Give for a contract purpose: %v", err)
	}
	// Legitimate interests: allowed until the subject objects.
	d, err := f.l.Decide(f.ctx, consent.Query{Subject: "hal", Purpose: "customer_mailings"})
	if err != nil || !d.Allowed || d.Reason != consent.ReasonNotConsentBased || d.Basis != gdpr.LegitimateInterests {
		t.Fatalf("legitimate interests before objection: %+v, %v", d, err)
	}
	mustOK(f.l.Object(f.ctx, consent.Choice{Subject: "hal", Purpose: "customer_mailings"}))
	f.clk.Add(time.Second)
	d, err = f.l.Decide(f.ctx, consent.Query{Subject: "hal", Purpose: "customer_mailings"})
	if err != nil || d.Allowed || d.Reason != consent.ReasonObjected {
		t.Fatalf("legitimate interests after objection: %+v, %v", d, err)
	}
	if _, err := f.l.Decide(f.ctx, consent.Query{Subject: "hal", Purpose: "nope"}); !errors.Is(err, consent.ErrUnknownPurpose) {
		t.Errorf("Decide for an unknown purpose: %v", err)
	}
	if evs := mustOK(f.l.History(f.ctx, "hal", "")); len(evs) != 1 {
		t.Errorf("rejected choices were written: %d events", len(evs))
	}
}

func TestBadInputWritesNothing(t *testing.T) {
	f := newFixture(t)
	good := f.choice(canary)
	cases := map[string]func(c *consent.Choice){
		"empty subject":       func(c *consent.Choice) { c.Subject = "" },
		"empty purpose":       func(c *consent.Choice) { c.Purpose = "" },
		"missing notice":      func(c *consent.Choice) { c.Notice = consent.NoticeRef{} },
		"missing version":     func(c *consent.Choice) { c.Notice.Version = 0 },
		"unknown version":     func(c *consent.Choice) { c.Notice.Version = 9 },
		"unknown notice":      func(c *consent.Choice) { c.Notice.ID = "nope" },
		"raw IP":              func(c *consent.Choice) { c.Evidence.IPPrefix = "203.0.113.7/32" },
		"raw IP no prefix":    func(c *consent.Choice) { c.Evidence.IPPrefix = "203.0.113.7" },
		"IPv6 /64":            func(c *consent.Choice) { c.Evidence.IPPrefix = "2001:db8:1:2::/64" },
		"full user agent":     func(c *consent.Choice) { c.Evidence.UserAgent = strings.Repeat("Mozilla/5.0 ", 10) },
		"unknown contact":     func(c *consent.Choice) { c.Contact = "pigeon" },
		"staff without ID":    func(c *consent.Choice) { c.Actor = gdpr.Actor{Kind: gdpr.ActorStaff} },
		"expiry in the past":  func(c *consent.Choice) { c.ExpiresAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"non-consent basis":   func(c *consent.Choice) { c.Basis = gdpr.Contract },
		"control char method": func(c *consent.Choice) { c.Method = "form\n" },
	}
	for name, mutate := range cases {
		c := good
		c.Evidence.Attrs = nil
		mutate(&c)
		_, err := f.l.Give(f.ctx, c)
		if !errors.Is(err, consent.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("%s: Give error %v, want one wrapping consent.ErrInvalid and gdpr.ErrInvalid", name, err)
			continue
		}
		var ce *consent.Error
		if !errors.As(err, &ce) || ce.Op != "give" {
			t.Errorf("%s: %v is not a *consent.Error with Op give", name, err)
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("%s: error text %q holds the subject ID", name, err)
		}
	}
	if evs := mustOK(f.store.Events(f.ctx, canary, "")); len(evs) != 0 {
		t.Fatalf("bad input wrote %d events", len(evs))
	}
	if f.audit.Len() != 1 { // the notice publication only
		t.Fatalf("bad input was audited as done: %d audit events", f.audit.Len())
	}
}

func TestDoubleOptIn(t *testing.T) {
	f := newFixture(t)
	p, token, err := f.l.Request(f.ctx, f.choice(canary))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != consent.Pending || strings.Contains(token, canary) {
		t.Fatalf("Request: kind %s, token %q", p.Kind, token)
	}
	f.clk.Add(time.Second)
	if d := f.decide(canary, ""); d.Allowed || d.Reason != consent.ReasonNone {
		t.Fatalf("pending consent allows: %+v", d)
	}
	// A forged token with the right event ID but another secret fails.
	id, secret, err := consent.ParseConfirmationToken(token)
	if err != nil || id != p.ID || len(secret) != 32 {
		t.Fatalf("ParseConfirmationToken = %q, %d bytes, %v", id, len(secret), err)
	}
	forged := []byte(token)
	forged[len(forged)-2] ^= 0x01
	if _, err := f.l.Confirm(f.ctx, string(forged), consent.Evidence{}); !errors.Is(err, consent.ErrInvalidToken) {
		t.Errorf("Confirm with a forged secret: %v, want ErrInvalidToken", err)
	}
	for _, bad := range []string{"", "c1.", token[:len(token)-1], "c2." + token[3:], token + "A"} {
		if _, err := f.l.Confirm(f.ctx, bad, consent.Evidence{}); !errors.Is(err, consent.ErrInvalidToken) {
			t.Errorf("Confirm(%q): %v, want ErrInvalidToken", bad, err)
		}
	}
	g, err := f.l.Confirm(f.ctx, token, consent.Evidence{UserAgent: "Safari/iOS"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind != consent.Given || g.Confirms != p.ID || g.Method != consent.MethodEmailLink || g.Notice != p.Notice {
		t.Fatalf("confirmation event %+v", g)
	}
	f.clk.Add(time.Second)
	if d := f.decide(canary, ""); !d.Allowed || d.Event.ID != g.ID {
		t.Fatalf("after Confirm: %+v", d)
	}
	if _, err := f.l.Confirm(f.ctx, token, consent.Evidence{}); !errors.Is(err, consent.ErrTokenUsed) {
		t.Fatalf("second Confirm: %v, want ErrTokenUsed", err)
	}
}

func TestDoubleOptInExpiryAndRace(t *testing.T) {
	f := newFixture(t, consent.WithConfirmationTTL(time.Hour))
	_, token := mustRequest(t, f, "ivy")
	f.clk.Add(time.Hour)
	if _, err := f.l.Confirm(f.ctx, token, consent.Evidence{}); !errors.Is(err, consent.ErrTokenExpired) {
		t.Fatalf("Confirm after TTL: %v, want ErrTokenExpired", err)
	}
	_, token = mustRequest(t, f, "jay")
	var ok, used atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.l.Confirm(f.ctx, token, consent.Evidence{})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, consent.ErrTokenUsed):
				used.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || used.Load() != 15 {
		t.Fatalf("16 concurrent confirmations: %d succeeded, %d ErrTokenUsed; want 1 and 15", ok.Load(), used.Load())
	}
	// Erasure invalidates outstanding tokens.
	_, token = mustRequest(t, f, "kim")
	mustOK(f.l.EraseSubject(f.ctx, "kim"))
	if _, err := f.l.Confirm(f.ctx, token, consent.Evidence{}); !errors.Is(err, consent.ErrInvalidToken) {
		t.Fatalf("Confirm after erasure: %v, want ErrInvalidToken", err)
	}
}

func mustRequest(t *testing.T, f *fixture, s string) (consent.Event, string) {
	t.Helper()
	e, tok, err := f.l.Request(f.ctx, f.choice(s))
	if err != nil {
		t.Fatal(err)
	}
	return e, tok
}

func TestUnsubscribe(t *testing.T) {
	oldKey := []byte(strings.Repeat("o", 32))
	newKey := []byte(strings.Repeat("n", 32))
	oldU := mustOK(consent.NewUnsubscriber(oldKey))
	u := mustOK(consent.NewUnsubscriber(newKey, oldKey))
	f := newFixture(t, consent.WithUnsubscriber(u), consent.WithRegister(testRegister()))
	mustOK(f.l.Give(f.ctx, f.choice(canary)))
	f.clk.Add(time.Second)

	tok := mustOK(f.l.UnsubscribeToken(canary, "newsletter", consent.Email, 0))
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "u1."))
	if strings.Contains(tok, canary) || strings.Contains(string(raw), canary) ||
		strings.Contains(tok, base64.RawURLEncoding.EncodeToString([]byte(canary))) {
		t.Fatal("unsubscribe token carries the subject ID in clear")
	}
	// Rotation: a token signed with the old key still verifies.
	oldTok := mustOK(oldU.Sign(consent.Claims{Subject: canary, Purpose: "newsletter", Contact: consent.SMS}))
	if c, err := u.Verify(oldTok); err != nil || c.Subject != canary || c.Contact != consent.SMS {
		t.Fatalf("old-key token after rotation: %+v, %v", c, err)
	}
	// A token from a key the Ledger does not hold fails.
	other := mustOK(consent.NewUnsubscriber([]byte(strings.Repeat("x", 32))))
	foreign := mustOK(other.Sign(consent.Claims{Subject: canary, Purpose: "newsletter"}))
	if _, err := f.l.Unsubscribe(f.ctx, foreign, consent.Evidence{}); !errors.Is(err, consent.ErrInvalidToken) {
		t.Fatalf("foreign token: %v", err)
	}
	e, err := f.l.Unsubscribe(f.ctx, tok, consent.Evidence{Attrs: map[string]string{"one_click": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != consent.Withdrawn || e.Contact != consent.Email || e.Method != consent.MethodUnsubscribe {
		t.Fatalf("unsubscribe event %+v", e)
	}
	f.clk.Add(time.Second)
	if d := f.decide(canary, consent.Email); d.Allowed {
		t.Fatal("e-mail still allowed after unsubscribe")
	}
	if d := f.decide(canary, consent.Push); !d.Allowed {
		t.Fatal("push denied after an e-mail unsubscribe")
	}
	// On a legitimate-interest purpose, unsubscribing is an objection.
	tok = mustOK(f.l.UnsubscribeToken(canary, "customer_mailings", "", 0))
	if e := mustOK(f.l.Unsubscribe(f.ctx, tok, consent.Evidence{})); e.Kind != consent.Objected {
		t.Fatalf("unsubscribe on legitimate interests recorded %s, want objected", e.Kind)
	}
	// Expiry.
	tok = mustOK(f.l.UnsubscribeToken(canary, "newsletter", "", time.Hour))
	f.clk.Add(2 * time.Hour)
	if _, err := f.l.Unsubscribe(f.ctx, tok, consent.Evidence{}); !errors.Is(err, consent.ErrTokenExpired) {
		t.Fatalf("expired unsubscribe token: %v", err)
	}
	// Every flipped bit fails.
	tok = mustOK(f.l.UnsubscribeToken(canary, "newsletter", "", 0))
	b := []byte(tok)
	for i := 3; i < len(b); i++ {
		orig := b[i]
		b[i] = flipB64(orig)
		if _, err := u.Verify(string(b)); !errors.Is(err, consent.ErrInvalidToken) {
			t.Fatalf("token altered at %d verified: %v", i, err)
		}
		b[i] = orig
	}
	if _, err := consent.NewUnsubscriber([]byte("short")); !errors.Is(err, consent.ErrInvalid) {
		t.Errorf("short secret: %v", err)
	}
}

// flipB64 returns another base64url character.
func flipB64(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

func TestReceipts(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	ctrl := validController()
	f := newFixture(t, consent.WithReceipts(priv, ctrl, "EU"), consent.WithRegister(testRegister()))
	g := mustOK(f.l.Give(f.ctx, f.choice("lee")))
	r, jws, err := f.l.Receipt(f.ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ConsentReceiptID != g.ID || r.PIIPrincipalID != "lee" || r.NoticeHash != g.Notice.TextHash ||
		r.Services[0].Service != "Newsletter" || r.PolicyURL == "" || r.ConsentTimestamp != g.Time.Unix() {
		t.Fatalf("receipt %+v", r)
	}
	got, err := consent.VerifyReceipt(jws, pub)
	if err != nil || got.ConsentReceiptID != g.ID {
		t.Fatalf("VerifyReceipt = %+v, %v", got, err)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	if _, err := consent.VerifyReceipt(jws, otherPub); !errors.Is(err, consent.ErrInvalidReceipt) {
		t.Errorf("verify with another key: %v", err)
	}
	if _, err := consent.VerifyReceipt(jws, otherPub, pub); err != nil {
		t.Errorf("verify with a key set holding the key: %v", err)
	}
	// Alter the payload: change the subject and re-encode.
	parts := strings.Split(jws, ".")
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	p = []byte(strings.Replace(string(p), `"piiPrincipalId":"lee"`, `"piiPrincipalId":"eve"`, 1))
	altered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(p) + "." + parts[2]
	if _, err := consent.VerifyReceipt(altered, pub); !errors.Is(err, consent.ErrInvalidReceipt) {
		t.Errorf("altered receipt verified: %v", err)
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"`+consent.KeyID(pub)+`"}`)) + "." + parts[1] + "."
	if _, err := consent.VerifyReceipt(none, pub); !errors.Is(err, consent.ErrInvalidReceipt) {
		t.Errorf("alg none receipt verified: %v", err)
	}
	pend, _ := mustRequest(t, f, "lee")
	if _, _, err := f.l.Receipt(f.ctx, pend.ID); !errors.Is(err, consent.ErrInvalid) {
		t.Errorf("receipt for a pending event: %v", err)
	}
	if _, _, err := f.l.Receipt(f.ctx, "0190b6a0-0000-7000-8000-000000000000"); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("receipt for an unknown event: %v", err)
	}
}

func TestEraseAndExport(t *testing.T) {
	f := newFixture(t)
	mustOK(f.l.Give(f.ctx, f.choice(canary)))
	f.clk.Add(time.Second)
	mustOK(f.l.Withdraw(f.ctx, consent.Choice{Subject: canary, Purpose: "newsletter", Contact: consent.SMS}))
	mustOK(f.l.Give(f.ctx, f.choice("other")))
	var recs []gdpr.Record
	err := f.l.ExportSubject(f.ctx, canary, gdpr.RecordWriterFunc(func(_ context.Context, r gdpr.Record) error {
		recs = append(recs, r)
		return nil
	}))
	if err != nil || len(recs) != 2 || recs[0].Dataset != consent.ExportDataset || recs[0].Fields["kind"] != "given" ||
		recs[1].Fields["contact"] != "sms" || !recs[0].Provided {
		t.Fatalf("export = %+v, %v", recs, err)
	}
	rep, err := f.l.EraseSubject(f.ctx, canary)
	if err != nil || rep.Erased != 2 {
		t.Fatalf("EraseSubject = %+v, %v", rep, err)
	}
	if d := f.decide(canary, ""); d.Allowed || d.Reason != consent.ReasonNone {
		t.Fatalf("decision after erasure: %+v", d)
	}
	if rep, err := f.l.EraseSubject(f.ctx, canary); err != nil || rep.Erased != 0 {
		t.Fatalf("second erasure = %+v, %v; want idempotent", rep, err)
	}
	if d := f.decide("other", ""); !d.Allowed {
		t.Fatal("erasure touched another subject")
	}
	// The audit trail got every step, and nothing but IDs and keys in its attributes.
	actions := map[string]int{}
	for _, a := range f.audit.Actions() {
		actions[a]++
	}
	for _, e := range f.audit.Leaks(canary) {
		t.Errorf("audit event %s carries the subject ID outside its Subject", e.Action)
	}
	for _, a := range []string{"consent.given", "consent.withdrawn", "consent.exported", "consent.erased"} {
		if actions[a] == 0 {
			t.Errorf("no %s audit event; got %v", a, actions)
		}
	}
}

func TestConcurrentAppends(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				s := "conc"
				if i%2 == 0 {
					s = "conc-" + string(rune('a'+g))
				}
				if _, err := f.l.Give(f.ctx, f.choice(s)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := len(mustOK(f.l.History(f.ctx, "conc", ""))); n != 8*25 {
		t.Fatalf("shared subject has %d events, want %d", n, 8*25)
	}
}

// A withdrawal recorded after a consent wins, however the instances' clocks
// stamped them (Art. 7(3)).
func TestClockSkewDoesNotLoseWithdrawal(t *testing.T) {
	f := newFixture(t)
	fast := &clock{t: f.clk.Now().Add(5 * time.Second)}
	skewed, err := consent.New(f.store, consent.WithClock(fast.Now))
	if err != nil {
		t.Fatal(err)
	}
	mustOK(skewed.Give(f.ctx, f.choice("mia")))                                        // stamped t+5s
	mustOK(f.l.Withdraw(f.ctx, consent.Choice{Subject: "mia", Purpose: "newsletter"})) // stamped t, appended later
	f.clk.Add(10 * time.Second)
	if d := f.decide("mia", ""); d.Allowed || d.Reason != consent.ReasonWithdrawn {
		t.Fatalf("withdrawal appended after a consent with a later timestamp: %+v, want withdrawn", d)
	}
}

// A withdrawal on one channel denies the purpose as a whole, so Allowed
// never says yes to mailing after an e-mail unsubscribe.
func TestAllowedHonoursChannelWithdrawal(t *testing.T) {
	u := mustOK(consent.NewUnsubscriber([]byte(strings.Repeat("k", 32))))
	f := newFixture(t, consent.WithUnsubscriber(u))
	mustOK(f.l.Give(f.ctx, f.choice("noa")))
	tok := mustOK(f.l.UnsubscribeToken("noa", "newsletter", consent.Email, 0))
	mustOK(f.l.Unsubscribe(f.ctx, tok, consent.Evidence{}))
	f.clk.Add(time.Second)
	if ok, err := f.l.Allowed(f.ctx, "noa", "newsletter"); ok || err != nil {
		t.Fatalf("Allowed after an e-mail unsubscribe = %v, %v; want false", ok, err)
	}
	if d := f.decide("noa", consent.Push); !d.Allowed {
		t.Fatalf("push after an e-mail unsubscribe: %+v, want allowed", d)
	}
	// A consent for one channel allows that channel only.
	c := f.choice("ola")
	c.Contact = consent.SMS
	mustOK(f.l.Give(f.ctx, c))
	f.clk.Add(time.Second)
	if d := f.decide("ola", ""); d.Allowed {
		t.Fatalf("an SMS-only consent allowed the purpose as a whole: %+v", d)
	}
	if d := f.decide("ola", consent.SMS); !d.Allowed {
		t.Fatalf("SMS after an SMS consent: %+v", d)
	}
}

func TestWithdrawalNeverBlocked(t *testing.T) {
	f := newFixture(t, consent.WithRegister(testRegister()))
	// A purpose since removed from the register.
	if _, err := f.l.Withdraw(f.ctx, consent.Choice{Subject: "pia", Purpose: "retired_purpose"}); err != nil {
		t.Fatalf("Withdraw for a purpose not in the register: %v", err)
	}
	// A basis that does not match the register's.
	if _, err := f.l.Withdraw(f.ctx, consent.Choice{Subject: "pia", Purpose: "coaching", Basis: gdpr.Consent}); err != nil {
		t.Fatalf("Withdraw with a plain-consent basis on an explicit-consent purpose: %v", err)
	}
	// A notice the registry does not know.
	if _, err := f.l.Withdraw(f.ctx, consent.Choice{Subject: "pia", Purpose: "newsletter", Notice: consent.NoticeRef{ID: "gone", Version: 3}}); err != nil {
		t.Fatalf("Withdraw quoting an unknown notice: %v", err)
	}
	// On legitimate interests, "stop" is an objection, whatever basis the
	// caller names, and the decision then denies.
	for _, b := range []gdpr.LawfulBasis{0, gdpr.Consent} {
		subj := gdpr.SubjectID(fmt.Sprintf("pia-%d", b))
		e, err := f.l.Withdraw(f.ctx, consent.Choice{Subject: subj, Purpose: "customer_mailings", Basis: b})
		if err != nil || e.Kind != consent.Objected || e.Basis != gdpr.LegitimateInterests {
			t.Fatalf("Withdraw (basis %v) on legitimate interests = %+v, %v; want an objection", b, e, err)
		}
		f.clk.Add(time.Second)
		d := mustOK(f.l.Decide(f.ctx, consent.Query{Subject: subj, Purpose: "customer_mailings"}))
		if d.Allowed {
			t.Fatalf("decision after a withdrawal on legitimate interests: %+v, want denied", d)
		}
	}
	// A withdrawal recorded while the purpose rested on consent still stops
	// processing once the register moves it to legitimate interests.
	plain := mustOK(consent.New(f.store, consent.WithClock(f.clk.Now)))
	mustOK(plain.Withdraw(f.ctx, consent.Choice{Subject: "pia-old", Purpose: "customer_mailings"}))
	f.clk.Add(time.Second)
	if d := mustOK(f.l.Decide(f.ctx, consent.Query{Subject: "pia-old", Purpose: "customer_mailings"})); d.Allowed {
		t.Fatalf("an old withdrawal on a purpose now on legitimate interests: %+v, want denied", d)
	}
}

// A withdrawal stamped by an instance whose clock runs ahead takes effect at
// once for every other instance.
func TestFastClockWithdrawalTakesEffectAtOnce(t *testing.T) {
	f := newFixture(t)
	mustOK(f.l.Give(f.ctx, f.choice("uma")))
	fast := &clock{t: f.clk.Now().Add(time.Minute)}
	ahead := mustOK(consent.New(f.store, consent.WithClock(fast.Now)))
	mustOK(ahead.Withdraw(f.ctx, consent.Choice{Subject: "uma", Purpose: "newsletter"}))
	if d := f.decide("uma", ""); d.Allowed || d.Reason != consent.ReasonWithdrawn {
		t.Fatalf("right after a withdrawal stamped a minute ahead: %+v, want withdrawn", d)
	}
}

// raceStore slips a withdrawal in just before a confirmation is appended,
// as a concurrent request on another instance could.
type raceStore struct {
	*memconsent.Store
	slip consent.Event
}

func (r *raceStore) Append(ctx context.Context, e consent.Event) error {
	if e.Confirms != "" && r.slip.ID != "" {
		slip := r.slip
		r.slip = consent.Event{}
		if err := r.Store.Append(ctx, slip); err != nil {
			return err
		}
	}
	return r.Store.Append(ctx, e)
}

func TestConfirmRacingWithdrawal(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	rs := &raceStore{Store: memconsent.New()}
	l := mustOK(consent.New(rs, consent.WithClock(clk.Now)))
	ctx := context.Background()
	mustOK(l.Publish(ctx, consent.Notice{ID: "n", Version: 1, TextHash: consent.HashText("n")}))
	_, token, err := l.Request(ctx, consent.Choice{Subject: "vic", Purpose: "newsletter", Notice: consent.NoticeRef{ID: "n", Version: 1}})
	if err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(time.Second)
	rs.slip = consent.Event{ID: "01900000-0000-7000-8000-0000000000aa", Subject: "vic", Purpose: "newsletter",
		Kind: consent.Withdrawn, Time: clk.Now(), Actor: gdpr.SubjectActor(), Method: consent.MethodForm, Basis: gdpr.Consent}
	_, err = l.Confirm(ctx, token, consent.Evidence{})
	if !errors.Is(err, consent.ErrSuperseded) {
		t.Fatalf("Confirm racing a withdrawal: %v, want ErrSuperseded", err)
	}
	d := mustOK(l.Decide(ctx, consent.Query{Subject: "vic", Purpose: "newsletter"}))
	if d.Allowed || d.Reason != consent.ReasonWithdrawn || d.Event.Evidence.Attrs["reasserts"] != "01900000-0000-7000-8000-0000000000aa" {
		t.Fatalf("after a confirmation raced by a withdrawal: %+v, want the withdrawal re-recorded and standing", d)
	}
}

func TestStaleSubjectsFollowsDecisions(t *testing.T) {
	f := newFixture(t)
	c := f.choice("wes")
	c.Contact = consent.Email
	mustOK(f.l.Give(f.ctx, c))
	mustOK(f.l.Withdraw(f.ctx, consent.Choice{Subject: "wes", Purpose: "newsletter"})) // all channels
	mustOK(f.l.Give(f.ctx, f.choice("xia")))
	f.clk.Add(time.Second)
	f.publish("newsletter-notice", 2, true)
	got := mustOK(f.l.StaleSubjects(f.ctx, "newsletter-notice", "", 10))
	if strings.Join(ids(got), ",") != "xia" {
		t.Fatalf("StaleSubjects = %v, want only xia (wes withdrew on every channel)", got)
	}
}

func TestExplicitConsentRequired(t *testing.T) {
	f := newFixture(t)
	c := f.choice("quinn")
	c.Purpose = "coaching"
	mustOK(f.l.Give(f.ctx, c)) // plain consent, recorded before the register said "explicit"
	f.clk.Add(time.Second)
	withReg := mustOK(consent.New(f.store, consent.WithClock(f.clk.Now), consent.WithRegister(testRegister()), consent.WithSuppressionKey(suppressionKey)))
	d := mustOK(withReg.Decide(f.ctx, consent.Query{Subject: "quinn", Purpose: "coaching"}))
	if d.Allowed || d.Reason != consent.ReasonNotExplicit {
		t.Fatalf("plain consent for an Art. 9 purpose: %+v, want denied as not explicit", d)
	}
	c.Basis = 0 // the register's explicit_consent
	mustOK(withReg.Give(f.ctx, c))
	f.clk.Add(time.Second)
	d = mustOK(withReg.Decide(f.ctx, consent.Query{Subject: "quinn", Purpose: "coaching"}))
	if !d.Allowed || d.Basis != gdpr.ExplicitConsent {
		t.Fatalf("explicit consent: %+v", d)
	}
}

func TestOverrideObjection(t *testing.T) {
	f := newFixture(t, consent.WithRegister(testRegister()))
	if _, err := f.l.OverrideObjection(f.ctx, consent.Choice{Subject: "rae", Purpose: "customer_mailings",
		Actor: gdpr.Staff("dpo-1"), Evidence: consent.Evidence{Locator: "x"}}); !errors.Is(err, consent.ErrInvalid) {
		t.Errorf("override without an objection: %v, want ErrInvalid", err)
	}
	mustOK(f.l.Object(f.ctx, consent.Choice{Subject: "rae", Purpose: "customer_mailings"}))
	f.clk.Add(time.Second)
	staff := gdpr.Staff("dpo-1")
	for name, c := range map[string]consent.Choice{
		"by the subject":   {Subject: "rae", Purpose: "customer_mailings", Evidence: consent.Evidence{Locator: "LIA-2026-01/objection-7"}},
		"without grounds":  {Subject: "rae", Purpose: "customer_mailings", Actor: staff},
		"one channel only": {Subject: "rae", Purpose: "customer_mailings", Actor: staff, Contact: consent.SMS, Evidence: consent.Evidence{Locator: "x"}},
	} {
		if _, err := f.l.OverrideObjection(f.ctx, c); !errors.Is(err, consent.ErrInvalid) {
			t.Errorf("override %s: %v, want ErrInvalid", name, err)
		}
	}
	for _, p := range []gdpr.Purpose{"promotions", "newsletter", "orders"} {
		_, err := f.l.OverrideObjection(f.ctx, consent.Choice{Subject: "rae", Purpose: p, Actor: staff, Evidence: consent.Evidence{Locator: "x"}})
		if !errors.Is(err, consent.ErrNotOverridable) {
			t.Errorf("override on %s: %v, want ErrNotOverridable", p, err)
		}
	}
	mustOK(f.l.OverrideObjection(f.ctx, consent.Choice{Subject: "rae", Purpose: "customer_mailings", Actor: staff,
		Evidence: consent.Evidence{Locator: "LIA-2026-01/objection-7"}}))
	f.clk.Add(time.Second)
	d := mustOK(f.l.Decide(f.ctx, consent.Query{Subject: "rae", Purpose: "customer_mailings"}))
	if !d.Allowed || d.Reason != consent.ReasonOverridden {
		t.Fatalf("after override: %+v", d)
	}
}

func TestConfirmAfterWithdrawal(t *testing.T) {
	f := newFixture(t)
	_, token := mustRequest(t, f, "sam")
	f.clk.Add(time.Second)
	mustOK(f.l.Withdraw(f.ctx, consent.Choice{Subject: "sam", Purpose: "newsletter"}))
	f.clk.Add(time.Second)
	if _, err := f.l.Confirm(f.ctx, token, consent.Evidence{}); !errors.Is(err, consent.ErrSuperseded) {
		t.Fatalf("Confirm after a withdrawal: %v, want ErrSuperseded", err)
	}
	if d := f.decide("sam", ""); d.Allowed {
		t.Fatal("an old link brought consent back")
	}
}

func TestStaleNoticeRejected(t *testing.T) {
	f := newFixture(t)
	_, token := mustRequest(t, f, "tia")
	f.publish("newsletter-notice", 2, true)
	if _, err := f.l.Give(f.ctx, f.choice("tia")); !errors.Is(err, consent.ErrStaleNotice) {
		t.Fatalf("Give under a replaced version: %v, want ErrStaleNotice", err)
	}
	if _, err := f.l.Confirm(f.ctx, token, consent.Evidence{}); !errors.Is(err, consent.ErrStaleNotice) {
		t.Fatalf("Confirm of a request under a replaced version: %v, want ErrStaleNotice", err)
	}
	// Withdrawal under an old version is still fine.
	c := f.choice("tia")
	if _, err := f.l.Withdraw(f.ctx, consent.Choice{Subject: c.Subject, Purpose: c.Purpose, Notice: c.Notice}); err != nil {
		t.Fatalf("Withdraw quoting an old notice: %v", err)
	}
}

func TestTokenErrorsWrapRootSentinels(t *testing.T) {
	for err, root := range map[error]error{
		consent.ErrInvalidToken: gdpr.ErrInvalid, consent.ErrInvalidReceipt: gdpr.ErrInvalid,
		consent.ErrTokenExpired: gdpr.ErrInvalid, consent.ErrTokenUsed: gdpr.ErrConflict,
		consent.ErrSuperseded: gdpr.ErrConflict, consent.ErrStaleNotice: gdpr.ErrInvalid,
	} {
		if !errors.Is(err, root) {
			t.Errorf("%v does not wrap %v", err, root)
		}
	}
	var zero consent.Unsubscriber
	if _, err := zero.Sign(consent.Claims{Subject: "s", Purpose: "p"}); !errors.Is(err, consent.ErrInvalid) {
		t.Errorf("zero Unsubscriber Sign: %v", err)
	}
	if _, err := zero.Verify("u1.x"); !errors.Is(err, consent.ErrInvalid) {
		t.Errorf("zero Unsubscriber Verify: %v", err)
	}
}
