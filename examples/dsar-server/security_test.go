package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The regressions of a security review of the app. Each failed before
// its fix.

// TestLookAlikeAddress: an address that lower-cases to another's
// ("İ" to "i") is refused, so its link never reaches another's account;
// the same address in other letter cases is the one account.
func TestLookAlikeAddress(t *testing.T) {
	in := sqliteInstance(t)
	victim := newBrowser(t, in)
	victim.signIn(in, "victim@gmail.com")
	s, _ := in.app.acc.lookup(context.Background(), "victim@gmail.com")
	for _, look := range []string{"victim@gma\u0130l.com", "victim@gmai\u212Al.com", "vict\u0131m@gmail.com"} {
		if code, _ := newBrowser(t, in).post("/signin", url.Values{"email": {look}}); code != http.StatusBadRequest {
			t.Errorf("a look-alike address: %d, want 400", code)
		}
	}
	if n := len(in.mail.all("victim@gma\u0130l.com")); n != 0 {
		t.Fatal("a link went to the look-alike address")
	}
	other := newBrowser(t, in)
	other.post("/signin", url.Values{"email": {"VICTIM@Gmail.com"}})
	l := in.mail.link(t, "victim@gmail.com", signinLink) // to the address in its one form
	if code, _ := other.post("/signin/confirm", url.Values{"t": {strings.TrimPrefix(l, "/signin/confirm?t=")}}); code != http.StatusOK {
		t.Fatalf("sign-in in capitals: %d", code)
	}
	if got, _ := in.app.acc.lookup(context.Background(), "victim@gmail.com"); got != s {
		t.Error("the address in capitals is another account")
	}
	if n := rowCounts(t, in)["accounts"]; n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}
}

// TestOneAccountPerAddress: two sign-in links of one new address, both
// used, make one account; the page of a link says which address it signs
// in, masked.
func TestOneAccountPerAddress(t *testing.T) {
	in := sqliteInstance(t)
	const email = "twice@example.org"
	var links []string
	for range 2 {
		newBrowser(t, in).post("/signin", url.Values{"email": {email}})
		links = append(links, in.mail.link(t, email, signinLink))
		time.Sleep(time.Millisecond)
	}
	if links[0] == links[1] {
		t.Fatal("one link twice")
	}
	for _, l := range links {
		b := newBrowser(t, in)
		_, page := b.get(l)
		if !strings.Contains(page, "t•••@example.org") {
			t.Error("the link's page does not show the address it signs in")
		}
		if code, _ := b.post("/signin/confirm", url.Values{"t": {strings.TrimPrefix(l, "/signin/confirm?t=")}}); code != http.StatusOK {
			t.Fatalf("sign-in: %d", code)
		}
	}
	if n := rowCounts(t, in)["accounts"]; n != 1 {
		t.Errorf("%d accounts of one address, want 1", n)
	}
}

// TestSigninLimitPerAddress: an address gets three links at once, then
// the page says the same but no more mail goes, from any network.
func TestSigninLimitPerAddress(t *testing.T) {
	in := sqliteInstance(t)
	const email = "flooded@example.org"
	for i := range 6 {
		if code, page := newBrowser(t, in).post("/signin", url.Values{"email": {email}}); code != http.StatusOK || !strings.Contains(page, "Check your mail") {
			t.Fatalf("sign-in %d: %d", i, code)
		}
	}
	if n := in.mail.count(email); n != 3 {
		t.Errorf("%d links mailed to one address, want 3", n)
	}
	if n := rowCounts(t, in)["links"]; n != 3 {
		t.Errorf("%d links recorded, want 3", n)
	}
}

// TestEmailChange: a new address counts only once its owner confirms
// it, from the link mailed to it, in the same account's session; an
// address of another account is never taken; the old address is told,
// and the subject's other sessions end.
func TestEmailChange(t *testing.T) {
	in := sqliteInstance(t)
	owner, elsewhere, intruder := newBrowser(t, in), newBrowser(t, in), newBrowser(t, in)
	owner.signIn(in, "old@example.org")
	elsewhere.signIn(in, "old@example.org")
	intruder.signIn(in, "intruder@example.org")
	newBrowser(t, in).signIn(in, "taken@example.org")
	s, _ := in.app.acc.lookup(context.Background(), "old@example.org")
	addressOf := func() string {
		p, err := in.app.acc.get(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		return p.Email
	}

	// Another account's address: a mail to it, nothing else.
	if code, _ := owner.post("/requests", url.Values{"kind": {"rectification"}, "field": {"email"}, "value": {"taken@example.org"}}); code != http.StatusOK {
		t.Fatalf("change to a taken address: %d", code)
	}
	if m := in.mail.last(t, "taken@example.org"); !strings.Contains(m.Body, "Nothing changed") || strings.Contains(m.Body, "/email/confirm") {
		t.Errorf("the taken address got %q", m.Body)
	}

	// A free one: nothing changes until the link is used.
	if code, _ := owner.post("/requests", url.Values{"kind": {"rectification"}, "field": {"email"}, "value": {"New@Example.org"}}); code != http.StatusOK {
		t.Fatalf("change: %d", code)
	}
	if addressOf() != "old@example.org" {
		t.Fatal("the address changed before its owner confirmed it")
	}
	link := in.mail.link(t, "new@example.org", regexp.MustCompile(`/email/confirm\?t=[A-Za-z0-9_-]{43}`))
	tok := strings.TrimPrefix(link, "/email/confirm?t=")
	// In another account's session the link does nothing.
	if code, _ := intruder.get(link); code != http.StatusBadRequest {
		t.Errorf("the link in another account's session: %d, want 400", code)
	}
	if code, _ := intruder.post("/email/confirm", url.Values{"t": {tok}}); code != http.StatusBadRequest {
		t.Errorf("confirming in another account's session: %d, want 400", code)
	}
	if code, page := owner.get(link); code != http.StatusOK || !strings.Contains(page, "n•••@example.org") {
		t.Fatalf("the confirmation page: %d", code)
	}
	if code, _ := owner.post("/email/confirm", url.Values{"t": {tok}}); code != http.StatusOK {
		t.Fatalf("confirming: %d", code)
	}
	for deadline := time.Now().Add(20 * time.Second); addressOf() != "new@example.org"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the confirmed address was not made the account's")
		}
	}
	if m := in.mail.last(t, "old@example.org"); !strings.Contains(m.Body, "n•••@example.org") {
		t.Errorf("the old address was not told: %q", m.Body)
	}
	if code, _ := owner.post("/email/confirm", url.Values{"t": {tok}}); code != http.StatusBadRequest {
		t.Errorf("the link used twice: %d, want 400", code)
	}
	if _, page := owner.get("/account"); !strings.Contains(page, "new@example.org") {
		t.Error("the browser that confirmed is signed out")
	}
	if _, page := elsewhere.get("/account"); strings.Contains(page, "new@example.org") || !strings.Contains(page, "Send me a sign-in link") {
		t.Error("another session of the subject outlived the change of address")
	}
	if got, _ := in.app.acc.lookup(context.Background(), "old@example.org"); got != "" {
		t.Error("the old address still finds the account")
	}
}

// TestSignoutEverywhere: signing out ends the subject's sessions in
// every browser, a copied cookie included.
func TestSignoutEverywhere(t *testing.T) {
	in := sqliteInstance(t)
	a, b := newBrowser(t, in), newBrowser(t, in)
	a.signIn(in, "two@example.org")
	b.signIn(in, "two@example.org")
	a.post("/signout", nil)
	if _, page := b.get("/account"); strings.Contains(page, "two@example.org") {
		t.Error("a session outlived the subject's sign-out")
	}
	b.signIn(in, "two@example.org") // a later sign-in works
	if _, page := b.get("/account"); !strings.Contains(page, "two@example.org") {
		t.Error("a sign-in after the sign-out does not sign in")
	}
}

// TestRestrictionStopsBulkMail: once a restriction is in effect, the
// newsletter the subject consented to is not sent (Art. 18(1)).
func TestRestrictionStopsBulkMail(t *testing.T) {
	in := sqliteInstance(t)
	b := newBrowser(t, in)
	const email = "restricted@example.org"
	b.signIn(in, email)
	s, _ := in.app.acc.lookup(context.Background(), email)
	b.post("/consents", url.Values{"purpose": {"newsletter"}, "contact": {"email"}, "action": {"give"}})
	if sent, err := in.app.sendBulk(context.Background(), s, "newsletter", "News", "x"); err != nil || !sent {
		t.Fatalf("before the restriction: %v %v", sent, err)
	}
	b.post("/requests", url.Values{"kind": {"restriction"}, "ground": {string(erasure.GroundAccuracy)}})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		xs, err := in.app.kit.Engine().Restrictions(context.Background(), s)
		if err == nil && len(xs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no restriction in effect")
		}
	}
	time.Sleep(500 * time.Millisecond) // the restriction cache (2 × 200 ms)
	n := in.mail.count(email)
	if sent, err := in.app.sendBulk(context.Background(), s, "newsletter", "News", "y"); err != nil || sent || in.mail.count(email) != n {
		t.Errorf("under a restriction sendBulk sent %v (%v)", sent, err)
	}
}

// TestOperatorSecrets: a short session secret is refused at start; an
// operator's session ends with the token it was made with; wrong bearer
// tokens are limited.
func TestOperatorSecrets(t *testing.T) {
	db := testdb.Open(t, sqldialect.SQLite)
	keys, session := testKeys(t)
	state := t.TempDir()
	if _, err := open(context.Background(), config{db: db, dialect: sqldialect.SQLite, state: state, keys: keys, sessionSecret: session[:16],
		operatorToken: testOperatorToken, baseURL: "https://127.0.0.1", mail: &inbox{}, logger: slog.New(slog.DiscardHandler)}); err == nil {
		t.Fatal("a 16-byte session secret was taken")
	}
	in := startInstance(t, db, sqldialect.SQLite, state, keys, session, "one")
	op := newBrowser(t, in)
	if code, _ := op.post("/operator/signin", url.Values{"token": {testOperatorToken}}); code != http.StatusOK {
		t.Fatalf("operator sign-in: %d", code)
	}
	in.stop()
	rotated := launch(t, db, sqldialect.SQLite, state, keys, session, "two", false, func(c *config) {
		c.operatorToken, c.baseURL = strings.Repeat("n", 40), in.srv.URL // the public URL stays
	})
	op.url = rotated.srv.URL
	if _, page := op.get("/operator"); !strings.Contains(page, "Operator sign-in") {
		t.Error("an operator session of the old token works after the token changed")
	}
	codes := map[int]int{}
	for range 8 {
		req, _ := http.NewRequest("GET", rotated.srv.URL+"/api/v1/dashboard", nil)
		req.Header.Set("Authorization", "Bearer wrong-token")
		res, err := rotated.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		codes[res.StatusCode]++
	}
	if codes[http.StatusUnauthorized] != 5 || codes[http.StatusTooManyRequests] != 3 {
		t.Errorf("8 calls with a wrong token: %v, want 5 refused and 3 limited", codes)
	}
}

// TestTamperedTrailReported: an audit entry rewritten in the database is
// a report of the problem, on the page and in the API (409), not a bare
// 500.
func TestTamperedTrailReported(t *testing.T) {
	in := sqliteInstance(t)
	b := newBrowser(t, in)
	b.signIn(in, "someone@example.org")
	b.post("/consents", url.Values{"purpose": {"newsletter"}, "contact": {"email"}, "action": {"give"}})
	if _, err := in.app.cfg.db.Exec("UPDATE "+in.app.cfg.prefix+"audit_entries SET body = ? WHERE idx = (SELECT MIN(idx) FROM "+in.app.cfg.prefix+"audit_entries)", []byte("rewritten")); err != nil {
		t.Fatal(err)
	}
	code, rep := api(t, in, "POST", "/api/v1/audit/verify", "", "")
	if code != http.StatusConflict || rep == nil {
		t.Fatalf("verify of a tampered trail: %d %v, want 409 with the report", code, rep)
	}
	if raw, _ := json.Marshal(rep); !strings.Contains(string(raw), "roblem") {
		t.Errorf("the report names no problem: %s", raw)
	}
	op := newBrowser(t, in)
	op.post("/operator/signin", url.Values{"token": {testOperatorToken}})
	if code, page := op.post("/operator/audit/verify", nil); code != http.StatusOK || !strings.Contains(page, "problems") {
		t.Errorf("the operator page's verification: %d, no problems shown", code)
	}
}

// TestDevOnLoopbackOnly: the app with the development keys and mailbox
// refuses to listen anywhere but on loopback.
func TestDevOnLoopbackOnly(t *testing.T) {
	err := serve(context.Background(), slog.New(slog.DiscardHandler), "0.0.0.0:0", "", t.TempDir(), "", "gdpr_")
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("serve on 0.0.0.0: %v, want a refusal", err)
	}
}
