package gdprhttp_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/gdprhttp"
)

func TestConfirmGETChangesNothing(t *testing.T) {
	f := newFixture(t)
	tok := f.request("user-1")
	before := f.store.writes()
	h := f.confirmHandler()
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodGet} {
		w := serve(h, method, link("/confirm", tok), "", "")
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", method, w.Code)
		}
		linkHeaders(t, w)
		if method == http.MethodHead {
			continue
		}
		body := w.Body.String()
		if strings.Contains(body, tok) {
			t.Error("the page echoes the token")
		}
		if !strings.Contains(body, `<form method="post">`) || !strings.Contains(body, `<button type="submit">Confirm</button>`) {
			t.Errorf("the page has no form:\n%s", body)
		}
		noInlineCode(t, body)
	}
	if n := f.store.writes() - before; n != 0 {
		t.Errorf("GET wrote %d times", n)
	}
	if f.allowed("user-1") {
		t.Error("a GET confirmed")
	}
}

func TestConfirmPOST(t *testing.T) {
	f := newFixture(t)
	tok := f.request("user-1")
	h := f.confirmHandler()
	mux := http.NewServeMux()
	mux.Handle("/confirm", h)
	// The page's own form: no fields, an empty urlencoded body.
	w := serve(mux, http.MethodPost, link("/confirm", tok), formType, "",
		"User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	linkHeaders(t, w)
	if !strings.Contains(w.Body.String(), "Subscription confirmed") {
		t.Errorf("page:\n%s", w.Body)
	}
	if !f.allowed("user-1") {
		t.Fatal("not allowed after confirmation")
	}
	evs, _ := f.ledger.History(f.ctx, "user-1", purpose)
	last := evs[len(evs)-1]
	if last.Kind != consent.Given || last.Confirms == "" {
		t.Errorf("last event %+v", last)
	}
	if ev := last.Evidence; ev.IPPrefix != "192.0.2.0/24" || ev.UserAgent != "Safari/iOS" || ev.Locator != "/confirm" {
		t.Errorf("evidence %+v", ev)
	}

	// A second click: used.
	before := f.store.writes()
	w = serve(h, http.MethodPost, link("/confirm", tok), formType, "")
	if w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "used already") {
		t.Errorf("second POST: status %d\n%s", w.Code, w.Body)
	}
	if n := f.store.writes() - before; n > 1 {
		// The store refused the second confirmation; countingStore counts the attempt.
		t.Errorf("%d writes", n)
	}
	evs2, _ := f.ledger.History(f.ctx, "user-1", purpose)
	if len(evs2) != len(evs) {
		t.Errorf("the used token added %d events", len(evs2)-len(evs))
	}
}

func TestConfirmMultipartAndEmpty(t *testing.T) {
	f := newFixture(t)
	h := f.confirmHandler()
	for i, c := range []struct{ ctype, body string }{
		{"", ""}, // curl -X POST
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"confirm\"\r\n\r\nyes\r\n--x--\r\n"},
		{formType, "confirm=yes"},
	} {
		tok := f.request(gdpr.SubjectID(fmt.Sprint("user-", i)))
		if w := serve(h, http.MethodPost, link("/confirm", tok), c.ctype, c.body); w.Code != http.StatusOK {
			t.Errorf("%q: status %d", c.ctype, w.Code)
		}
	}
}

func TestConfirmExpiredSupersededStale(t *testing.T) {
	f := newFixture(t)
	h := f.confirmHandler()

	expired := f.request("user-1")
	f.advance(73 * time.Hour)
	superseded := f.request("user-2")
	if _, err := f.ledger.Withdraw(f.ctx, consent.Choice{Subject: "user-2", Purpose: purpose}); err != nil {
		t.Fatal(err)
	}
	stale := f.request("user-3")
	if _, err := f.ledger.Publish(f.ctx, consent.Notice{ID: notice, Version: 2, TextHash: consent.HashText("May we, now?"), Material: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		subject, tok, text string
	}{
		{"user-1", expired, "This link has expired"},
		{"user-2", superseded, "no longer applies"},
		{"user-3", stale, "no longer applies"},
	} {
		before := f.store.writes()
		w := serve(h, http.MethodPost, link("/confirm", c.tok), formType, "")
		if w.Code != http.StatusGone || !strings.Contains(w.Body.String(), c.text) {
			t.Errorf("%s: status %d\n%s", c.subject, w.Code, w.Body)
		}
		if n := f.store.writes() - before; n != 0 {
			t.Errorf("%s: %d writes", c.subject, n)
		}
		if f.allowed(gdpr.SubjectID(c.subject)) {
			t.Errorf("%s: allowed", c.subject)
		}
	}
}

func TestConfirmRefused(t *testing.T) {
	f := newFixture(t)
	tok := f.request("user-1")
	h := f.confirmHandler()
	other, _ := consent.New(memconsent.New())
	other.Publish(f.ctx, consent.Notice{ID: notice, Version: 1, TextHash: consent.HashText("x")})
	_, foreign, _ := other.Request(f.ctx, consent.Choice{Subject: "user-1", Purpose: purpose, Notice: consent.NoticeRef{ID: notice, Version: 1}})
	garbled := []byte(tok)
	garbled[len(garbled)-10] = map[bool]byte{true: 'B', false: 'A'}[garbled[len(garbled)-10] == 'A']
	good := link("/confirm", tok)
	type req struct {
		name, method, target, ctype, body string
		status                            int
	}
	cases := []req{
		{"PUT", http.MethodPut, good, formType, "", 405},
		{"DELETE", http.MethodDelete, good, "", "", 405},
		{"OPTIONS", http.MethodOptions, good, "", "", 405},
		{"text/plain", http.MethodPost, good, "text/plain", "confirm", 415},
		{"json", http.MethodPost, good, "application/json", "{}", 415},
		{"oversized", http.MethodPost, good, formType, "x=" + strings.Repeat("a", gdprhttp.MaxBodyBytes), 413},
		{"malformed", http.MethodPost, good, formType, "x=%zz", 400},
		{"no token", http.MethodPost, "/confirm", formType, "", 400},
		{"foreign", http.MethodPost, link("/confirm", foreign), formType, "", 400},
		{"garbled", http.MethodPost, link("/confirm", string(garbled)), formType, "", 400},
		{"unsubscribe token", http.MethodPost, link("/confirm", f.give("user-9", 0)), formType, "", 400},
		{"GET garbled shape", http.MethodGet, link("/confirm", tok[:20]), "", "", 400},
	}
	for i, ht := range hostileTokens {
		cases = append(cases,
			req{fmt.Sprint("hostile GET ", i), http.MethodGet, link("/confirm", ht), "", "", 400},
			req{fmt.Sprint("hostile POST ", i), http.MethodPost, link("/confirm", ht), formType, "", 400})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.store.writes()
			w := serve(h, c.method, c.target, c.ctype, c.body)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d", w.Code, c.status)
			}
			linkHeaders(t, w)
			if c.status == 405 && w.Header().Get("Allow") != "GET, HEAD, POST" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
			if n := f.store.writes() - before; n != 0 {
				t.Errorf("%d writes", n)
			}
			if strings.Contains(w.Body.String(), tok) || strings.Contains(w.Body.String(), "script>") || strings.Contains(w.Body.String(), "DROP") {
				t.Error("the page echoes the token")
			}
			noInlineCode(t, w.Body.String())
		})
	}
	if f.allowed("user-1") {
		t.Error("a refused request confirmed")
	}
	// A genuine token still works after all that.
	if w := serve(h, http.MethodPost, good, formType, ""); w.Code != http.StatusOK {
		t.Errorf("genuine token: status %d", w.Code)
	}
}

func TestConfirmLedgerFailure(t *testing.T) {
	f := newFixture(t)
	tok := f.request("user-1")
	f.store.setFail(fmt.Errorf("disk on fire"))
	w := serve(f.confirmHandler(), http.MethodPost, link("/confirm", tok), formType, "")
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "fire") {
		t.Errorf("status %d\n%s", w.Code, w.Body)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "confirmation failed") || strings.Contains(logs, tok) {
		t.Errorf("log %q", logs)
	}
}

func TestConfirmRecorderFailure(t *testing.T) {
	f := newFixture(t)
	tok := f.request("user-1")
	f.trailDown.Store(true)
	w := serve(f.confirmHandler(), http.MethodPost, link("/confirm", tok), formType, "")
	if w.Code != http.StatusOK || !f.allowed("user-1") {
		t.Errorf("status %d: the confirmation stands, its record is owed", w.Code)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "confirmation recorded") || strings.Contains(logs, tok) {
		t.Errorf("log %q", logs)
	}
}
