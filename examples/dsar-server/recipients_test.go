package main

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/erasure"
)

// TestRecipients: the partner that received a subject's address is told
// of their erasure once, under its own reference, with no address and no
// subject ID (Art. 19); a subject whose data it never received is
// recorded as not told, with the reason; a restriction is told too, and
// the subject's notice of it says whom the controller told.
func TestRecipients(t *testing.T) {
	in := sqliteInstance(t)
	file := func(email string, partnerConsent bool, form url.Values) (erasure.Request, string) {
		t.Helper()
		b := newBrowser(t, in)
		b.signIn(in, email)
		subject, err := in.app.acc.lookup(context.Background(), email)
		if err != nil || subject == "" {
			t.Fatalf("lookup: %v", err)
		}
		if partnerConsent {
			b.post("/consents", url.Values{"purpose": {"partner_offers"}, "contact": {"email"}, "action": {"give"}})
		}
		if code, _ := b.post("/requests", form); code != 200 {
			t.Fatalf("request: %d", code)
		}
		var r erasure.Request
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			rs, err := in.app.kit.Engine().List(context.Background(), erasure.Filter{SubjectRef: in.app.kit.Engine().SubjectRef(subject)})
			if err == nil && len(rs) == 1 && !rs[0].State.Open() {
				r = rs[0]
				break
			}
		}
		if r.State != erasure.StateCompleted {
			t.Fatalf("the %s request is %q", form.Get("kind"), r.State)
		}
		return r, string(subject)
	}
	erase := url.Values{"kind": {"erasure"}}
	const shared, kept = "shared@example.org", "kept@example.org"
	r, subject := file(shared, true, erase)
	if out := r.Recipients(); len(out) != 1 || out[0].Recipient != partnerName || out[0].Outcome != erasure.OutcomeNotified {
		t.Fatalf("recipients of the shared subject's erasure: %+v", out)
	}
	notices := in.mail.all(partnerEmail)
	if len(notices) != 1 {
		t.Fatalf("the partner got %d notices, want 1", len(notices))
	}
	n := notices[0]
	if !strings.Contains(n.Body, "erased") || !strings.Contains(n.Body, "ref-") || !strings.Contains(n.Body, r.ID) {
		t.Errorf("the partner's notice does not say what happened to which of its records: %q", n.Body)
	}
	if strings.Contains(n.Body, shared) || strings.Contains(n.Body, subject) {
		t.Error("the partner's notice names the subject")
	}

	r, _ = file(kept, false, erase)
	if out := r.Recipients(); len(out) != 1 || out[0].Outcome != erasure.OutcomeNotNotified || !strings.Contains(out[0].Reason, "never disclosed") {
		t.Fatalf("recipients of the other subject's erasure: %+v", out)
	}
	if got := len(in.mail.all(partnerEmail)); got != 1 {
		t.Errorf("the partner got %d notices, want still 1", got)
	}

	// A restriction: the partner is told to store only, and the subject,
	// whose address is still there, is told whom we told.
	const restricted = "restricted@example.org"
	r, _ = file(restricted, true, url.Values{"kind": {"restriction"}, "ground": {string(erasure.GroundAccuracy)}})
	if out := r.Recipients(); len(out) != 1 || out[0].Outcome != erasure.OutcomeNotified {
		t.Fatalf("recipients of the restriction: %+v", out)
	}
	if notices := in.mail.all(partnerEmail); len(notices) != 2 || !strings.Contains(notices[1].Body, "restricted") {
		t.Fatalf("the partner's notices: %d", len(notices))
	}
	in.mail.link(t, restricted, regexp.MustCompile("We told "+partnerName))
}
