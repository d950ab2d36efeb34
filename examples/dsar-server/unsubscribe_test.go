package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/consent"
)

// TestOneClickUnsubscribe: the List-Unsubscribe link of a bulk message
// works as RFC 8058 says — a GET (a mail scanner) changes nothing, the
// one-click POST from a mail provider, with no session and no Origin of
// ours, withdraws the consent; a forged token changes nothing.
func TestOneClickUnsubscribe(t *testing.T) {
	in := sqliteInstance(t)
	b := newBrowser(t, in)
	const email = "reader@example.org"
	b.signIn(in, email)
	b.post("/consents", url.Values{"purpose": {"newsletter"}, "contact": {"email"}, "action": {"give"}})
	subject, _ := in.app.acc.lookup(context.Background(), email)
	allowed := func() bool {
		d, err := in.app.kit.Ledger().Decide(context.Background(), consent.Query{Subject: subject, Purpose: "newsletter", Contact: consent.Email})
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	}
	if !allowed() {
		t.Fatal("consent not given")
	}
	sent, err := in.app.sendBulk(context.Background(), subject, "newsletter", "News", "This month's news.")
	if err != nil || !sent {
		t.Fatalf("sendBulk: %v, %v", sent, err)
	}
	h := in.mail.last(t, email).Header
	link := strings.Trim(h.Get("List-Unsubscribe"), "<>")
	if h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasPrefix(link, in.srv.URL+"/unsubscribe?") {
		t.Fatalf("headers %v", h)
	}
	provider := in.srv.Client() // no cookie jar: a mail provider's server
	res, err := provider.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !allowed() {
		t.Fatalf("GET the link: %d; a GET must not unsubscribe", res.StatusCode)
	}
	forged := strings.Replace(link, "t=u1.", "t=u1.A", 1)
	for _, target := range []string{forged, link} {
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := provider.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if target == forged {
			if res.StatusCode < 400 || res.StatusCode >= 500 || !allowed() {
				t.Fatalf("a forged token: %d, allowed %v; want a 4xx and nothing changed", res.StatusCode, allowed())
			}
			continue
		}
		if res.StatusCode != http.StatusOK || allowed() {
			t.Fatalf("the one-click POST: %d, allowed %v; want 200 and the consent withdrawn", res.StatusCode, allowed())
		}
	}
	n := in.mail.count(email)
	if sent, err := in.app.sendBulk(context.Background(), subject, "newsletter", "News", "More news."); err != nil || sent || in.mail.count(email) != n {
		t.Fatalf("after the unsubscribe, sendBulk sent %v (%v)", sent, err)
	}
}
