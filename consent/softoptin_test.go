package consent_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

// marketingRegister is testRegister with its newsletter marked direct
// marketing too: "promotions" is direct marketing on legitimate interests,
// "newsletter" direct marketing on consent, "customer_mailings" legitimate
// interests that are not direct marketing.
func marketingRegister() *gdpr.Register {
	r := testRegister()
	for i := range r.Activities {
		if r.Activities[i].Purpose == "newsletter" {
			r.Activities[i].DirectMarketing = true
		}
	}
	return r
}

// sale is a valid soft opt-in for subject's e-mail address, under the
// fixture's notice.
func sale(subject string, contact consent.Contact) consent.CustomerContact {
	return consent.CustomerContact{Subject: gdpr.SubjectID(subject), Purpose: "promotions", Contact: contact,
		Sale: "order-2026-0042", Products: "outdoor-gear", OptOutOffered: true,
		Notice: consent.NoticeRef{ID: "newsletter-notice", Version: 1}, Channel: "web",
		Evidence: consent.Evidence{Locator: "POST /checkout"}}
}

func (f *fixture) decideFor(subject string, purpose gdpr.Purpose, contact consent.Contact) consent.Decision {
	f.t.Helper()
	d, err := f.l.Decide(f.ctx, consent.Query{Subject: gdpr.SubjectID(subject), Purpose: purpose, Contact: contact})
	if err != nil {
		f.t.Fatalf("Decide(%s, %s): %v", purpose, contact, err)
	}
	return d
}

// TestElectronicMarketingNeedsConsentOrSoftOptIn: ePrivacy Directive Art.
// 13(1). Before issue 9, Decide allowed e-mail and SMS marketing on
// legitimate interests with nothing on record.
func TestElectronicMarketingNeedsConsentOrSoftOptIn(t *testing.T) {
	f := newFixture(t, consent.WithRegister(marketingRegister()))
	for _, c := range []consent.Contact{consent.Email, consent.SMS, consent.Push, consent.WebPush, consent.InApp} {
		if !c.Electronic() {
			t.Errorf("%s is not Electronic", c)
		}
		if d := f.decideFor("ivy", "promotions", c); d.Allowed || d.Reason != consent.ReasonNoOptIn || d.Basis != gdpr.LegitimateInterests {
			t.Errorf("direct marketing by %s on legitimate interests, nothing on record: %+v; want denied with ReasonNoOptIn", c, d)
		}
		// Not direct marketing: the basis decides, as before.
		if d := f.decideFor("ivy", "customer_mailings", c); !d.Allowed || d.Reason != consent.ReasonNotConsentBased {
			t.Errorf("%s for legitimate interests that are not direct marketing: %+v; want allowed", c, d)
		}
	}
	// A call by a person, post, and the purpose as a whole follow the basis.
	for _, c := range []consent.Contact{consent.Phone, consent.Post, consent.AllContacts} {
		if c.Electronic() {
			t.Errorf("%q is Electronic", c)
		}
		if d := f.decideFor("ivy", "promotions", c); !d.Allowed || d.Reason != consent.ReasonNotConsentBased {
			t.Errorf("direct marketing by %q on legitimate interests: %+v; want allowed by the basis", c, d)
		}
	}
	// Direct marketing on consent still needs the consent.
	if d := f.decideFor("ivy", "newsletter", consent.Email); d.Allowed || d.Reason != consent.ReasonNone {
		t.Errorf("newsletter by e-mail without consent: %+v", d)
	}
	// An objection on the whole purpose denies a call and a letter too.
	mustOK(f.l.Object(f.ctx, consent.Choice{Subject: "ivy", Purpose: "promotions"}))
	for _, c := range []consent.Contact{consent.Phone, consent.Post, consent.Email} {
		if d := f.decideFor("ivy", "promotions", c); d.Allowed || d.Reason != consent.ReasonObjected {
			t.Errorf("%q after an objection: %+v; want ReasonObjected", c, d)
		}
	}
}

// TestSoftOptIn: Art. 13(2), recorded as its own evidence and honoured for
// its channel alone, until an objection or unsubscribe, which always wins.
func TestSoftOptIn(t *testing.T) {
	u := mustOK(consent.NewUnsubscriber([]byte(strings.Repeat("u", 32))))
	f := newFixture(t, consent.WithRegister(marketingRegister()), consent.WithUnsubscriber(u))
	e, err := f.l.RecordSoftOptIn(f.ctx, sale("jo", consent.Email))
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != consent.SoftOptIn || e.Contact != consent.Email || e.Basis != gdpr.LegitimateInterests ||
		e.Evidence.Attrs["sale"] != "order-2026-0042" || e.Evidence.Attrs["products"] != "outdoor-gear" ||
		e.Notice.TextHash != consent.HashText("newsletter-notice1") || e.Actor.Kind != gdpr.ActorSubject || e.Method != consent.MethodForm {
		t.Fatalf("soft opt-in event %+v", e)
	}
	if got := mustOK(f.store.Event(f.ctx, e.ID)); got.Kind != consent.SoftOptIn || got.Evidence.Attrs["sale"] != "order-2026-0042" {
		t.Fatalf("stored %+v", got)
	}
	if n := len(f.audit.ByAction("consent.soft_opt_in")); n != 1 {
		t.Errorf("%d consent.soft_opt_in audit events, want 1", n)
	}
	f.clk.Add(time.Second)
	if d := f.decideFor("jo", "promotions", consent.Email); !d.Allowed || d.Reason != consent.ReasonSoftOptIn || d.Event.ID != e.ID {
		t.Fatalf("e-mail after the soft opt-in: %+v", d)
	}
	if d := f.decideFor("jo", "promotions", consent.SMS); d.Allowed || d.Reason != consent.ReasonNoOptIn {
		t.Errorf("SMS after an e-mail soft opt-in: %+v; want denied, a soft opt-in is for its channel", d)
	}
	// An objection on SMS is not hidden from a question about the purpose
	// as a whole by a later soft opt-in on e-mail.
	mustOK(f.l.Object(f.ctx, consent.Choice{Subject: "kim", Purpose: "promotions", Contact: consent.SMS}))
	mustOK(f.l.RecordSoftOptIn(f.ctx, sale("kim", consent.Email)))
	if d := f.decideFor("kim", "promotions", consent.AllContacts); d.Allowed || d.Reason != consent.ReasonObjected {
		t.Errorf("the purpose as a whole after an SMS objection and an e-mail soft opt-in: %+v; want ReasonObjected", d)
	}
	if d := f.decideFor("kim", "promotions", consent.Email); !d.Allowed || d.Reason != consent.ReasonSoftOptIn {
		t.Errorf("e-mail after an SMS objection and an e-mail soft opt-in: %+v", d)
	}

	// Every message offers the opt-out: an unsubscribe link wins.
	tok := mustOK(f.l.UnsubscribeToken("jo", "promotions", consent.Email, 24*time.Hour))
	stop := mustOK(f.l.Unsubscribe(f.ctx, tok, consent.Evidence{}))
	if stop.Kind != consent.Objected {
		t.Errorf("unsubscribe from direct marketing on legitimate interests recorded %s, want an objection", stop.Kind)
	}
	if d := f.decideFor("jo", "promotions", consent.Email); d.Allowed || d.Reason != consent.ReasonObjected {
		t.Fatalf("e-mail after unsubscribing: %+v", d)
	}
	// A later sale does not bring it back (Art. 21(3)).
	if _, err := f.l.RecordSoftOptIn(f.ctx, sale("jo", consent.Email)); !errors.Is(err, consent.ErrObjectionStands) || !errors.Is(err, consent.ErrInvalid) {
		t.Errorf("soft opt-in after an objection: %v; want ErrObjectionStands", err)
	}
	// Nor on another channel after an objection to all of them.
	mustOK(f.l.Object(f.ctx, consent.Choice{Subject: "jo", Purpose: "promotions"}))
	if _, err := f.l.RecordSoftOptIn(f.ctx, sale("jo", consent.SMS)); !errors.Is(err, consent.ErrObjectionStands) {
		t.Errorf("SMS soft opt-in after an objection to all channels: %v; want ErrObjectionStands", err)
	}
	if evs := mustOK(f.l.History(f.ctx, "jo", "promotions")); len(evs) != 3 {
		t.Errorf("history %d events, want 3 (refused soft opt-ins write nothing)", len(evs))
	}

	// An expiry ends it.
	c := sale("lea", consent.SMS)
	c.ExpiresAt = f.clk.Now().Add(time.Hour)
	mustOK(f.l.RecordSoftOptIn(f.ctx, c))
	if d := f.decideFor("lea", "promotions", consent.SMS); !d.Allowed {
		t.Errorf("SMS before the soft opt-in expires: %+v", d)
	}
	f.clk.Add(2 * time.Hour)
	if d := f.decideFor("lea", "promotions", consent.SMS); d.Allowed || d.Reason != consent.ReasonExpired {
		t.Errorf("SMS after the soft opt-in expired: %+v", d)
	}
}

func TestSoftOptInRefusesWhatArt13_2DoesNotCover(t *testing.T) {
	f := newFixture(t, consent.WithRegister(marketingRegister()))
	for name, c := range map[string]struct {
		mod   func(*consent.CustomerContact)
		field string
		want  error
	}{
		"unknown purpose":         {func(c *consent.CustomerContact) { c.Purpose = "nope" }, "purpose", consent.ErrUnknownPurpose},
		"not direct marketing":    {func(c *consent.CustomerContact) { c.Purpose = "customer_mailings" }, "purpose", consent.ErrInvalid},
		"rests on consent":        {func(c *consent.CustomerContact) { c.Purpose = "newsletter" }, "purpose", consent.ErrInvalid},
		"push":                    {func(c *consent.CustomerContact) { c.Contact = consent.Push }, "contact", consent.ErrInvalid},
		"phone":                   {func(c *consent.CustomerContact) { c.Contact = consent.Phone }, "contact", consent.ErrInvalid},
		"all channels":            {func(c *consent.CustomerContact) { c.Contact = consent.AllContacts }, "contact", consent.ErrInvalid},
		"opt-out not offered":     {func(c *consent.CustomerContact) { c.OptOutOffered = false }, "opt_out_offered", consent.ErrInvalid},
		"no sale":                 {func(c *consent.CustomerContact) { c.Sale = "" }, "sale", consent.ErrInvalid},
		"sale holds an e-mail":    {func(c *consent.CustomerContact) { c.Sale = "ann@example.org" }, "sale", consent.ErrInvalid},
		"no products":             {func(c *consent.CustomerContact) { c.Products = "" }, "products", consent.ErrInvalid},
		"reserved attribute":      {func(c *consent.CustomerContact) { c.Evidence.Attrs = map[string]string{"sale": "x"} }, "evidence.attrs", consent.ErrInvalid},
		"no notice":               {func(c *consent.CustomerContact) { c.Notice = consent.NoticeRef{} }, "notice", consent.ErrInvalid},
		"unpublished notice":      {func(c *consent.CustomerContact) { c.Notice.Version = 9 }, "notice", consent.ErrUnknownNotice},
		"expiry before the event": {func(c *consent.CustomerContact) { c.ExpiresAt = time.Unix(1, 0) }, "expires_at", consent.ErrInvalid},
	} {
		c := c
		t.Run(name, func(t *testing.T) {
			cc := sale("max", consent.Email)
			c.mod(&cc)
			_, err := f.l.RecordSoftOptIn(f.ctx, cc)
			var ce *consent.Error
			if !errors.Is(err, c.want) || !errors.As(err, &ce) || ce.Field != c.field || ce.Op != "soft_opt_in" {
				t.Fatalf("%v; want %v for field %s", err, c.want, c.field)
			}
		})
	}
	noReg := newFixture(t)
	if _, err := noReg.l.RecordSoftOptIn(noReg.ctx, sale("max", consent.Email)); !errors.Is(err, consent.ErrInvalid) {
		t.Errorf("without a Register: %v", err)
	}
	if evs := mustOK(f.l.History(f.ctx, "max", "")); len(evs) != 0 {
		t.Errorf("refused soft opt-ins wrote %d events", len(evs))
	}
	if _, err := f.l.RecordSoftOptIn(nilContext(), sale("max", consent.Email)); !errors.Is(err, consent.ErrInvalid) {
		t.Errorf("nil context: %v", err)
	}
}

func nilContext() context.Context { return nil }

// racingStore appends an objection for the subject of the first Events
// call it sees after armed, as another instance of the host would between
// RecordSoftOptIn's check and its append.
type racingStore struct {
	consent.Store
	mu    sync.Mutex
	armed bool
	stop  consent.Event
}

func (s *racingStore) Events(ctx context.Context, subject gdpr.SubjectID, purpose gdpr.Purpose) ([]consent.Event, error) {
	evs, err := s.Store.Events(ctx, subject, purpose)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.armed {
		s.armed = false
		if err := s.Store.Append(ctx, s.stop); err != nil {
			return nil, err
		}
	}
	return evs, err
}

// TestSoftOptInRacingAnObjection: an objection that lands between the
// check and the append is recorded again after the soft opt-in, so the
// subject's "no" stands.
func TestSoftOptInRacingAnObjection(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := &racingStore{Store: memconsent.New()}
	l := mustOK(consent.New(store, consent.WithClock(clk.Now), consent.WithRegister(marketingRegister()), consent.WithSuppressionKey(suppressionKey)))
	ctx := context.Background()
	mustOK(l.Publish(ctx, consent.Notice{ID: "newsletter-notice", Version: 1, TextHash: consent.HashText("n")}))
	store.stop = consent.Event{ID: "0190a3b2-7d1e-7f00-8a2b-000000000001", Subject: "ned", Purpose: "promotions",
		Kind: consent.Objected, Time: clk.Now(), Actor: gdpr.SubjectActor(), Method: consent.MethodForm, Basis: gdpr.LegitimateInterests}
	store.armed = true
	e, err := l.RecordSoftOptIn(ctx, sale("ned", consent.Email))
	if !errors.Is(err, consent.ErrObjectionStands) || e.Kind != consent.SoftOptIn {
		t.Fatalf("RecordSoftOptIn racing an objection: %+v, %v; want the soft opt-in and ErrObjectionStands", e, err)
	}
	d := mustOK(l.Decide(ctx, consent.Query{Subject: "ned", Purpose: "promotions", Contact: consent.Email}))
	if d.Allowed || d.Reason != consent.ReasonObjected {
		t.Fatalf("after the race: %+v; want the objection to stand", d)
	}
}
