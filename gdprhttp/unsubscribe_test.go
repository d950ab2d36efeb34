package gdprhttp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/gdprhttp"
)

const oneClickBody = "List-Unsubscribe=One-Click"

func link(path, token string) string {
	return path + "?" + gdprhttp.TokenParam + "=" + url.QueryEscape(token)
}

func TestUnsubscribeGETChangesNothing(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	before := f.store.writes()
	h := f.unsubscribeHandler()
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		// A mail scanner fetches the link, again and again.
		for range 3 {
			w := serve(h, method, link("/unsubscribe", tok), "", "")
			if w.Code != http.StatusOK {
				t.Fatalf("%s: status %d", method, w.Code)
			}
			linkHeaders(t, w)
			body := w.Body.String()
			if method == http.MethodHead {
				continue
			}
			if strings.Contains(body, tok) {
				t.Errorf("the page echoes the token")
			}
			if !strings.Contains(body, `<form method="post">`) ||
				!strings.Contains(body, `<input type="hidden" name="List-Unsubscribe" value="One-Click">`) ||
				!strings.Contains(body, `<button type="submit">Unsubscribe</button>`) {
				t.Errorf("the page has no one-click form:\n%s", body)
			}
			noInlineCode(t, body)
			if got := w.Header().Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'none'") || strings.Contains(got, "unsafe-inline") {
				t.Errorf("CSP %q", got)
			}
		}
	}
	if n := f.store.writes() - before; n != 0 {
		t.Errorf("GET and HEAD wrote %d times to the ledger", n)
	}
	if !f.allowed("user-1") {
		t.Error("a GET unsubscribed the subject")
	}
}

func TestUnsubscribeOneClickPOST(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	h := f.unsubscribeHandler()

	// The mail provider's POST: no cookie, no Origin, no Referer.
	w := serve(h, http.MethodPost, link("/unsubscribe", tok), formType, oneClickBody,
		"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	linkHeaders(t, w)
	if body := w.Body.String(); !strings.Contains(body, "You are unsubscribed") || strings.Contains(body, "<form") {
		t.Errorf("page:\n%s", body)
	}
	if f.allowed("user-1") {
		t.Fatal("still allowed after a one-click unsubscribe")
	}
	evs, err := f.ledger.History(f.ctx, "user-1", purpose)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Kind != consent.Withdrawn || last.Method != consent.MethodUnsubscribe || last.Contact != consent.Email {
		t.Errorf("last event %s %s %s", last.Kind, last.Method, last.Contact)
	}
	if ev := last.Evidence; ev.IPPrefix != "192.0.2.0/24" || ev.UserAgent != "Firefox/Linux" || ev.Locator != "POST /unsubscribe" {
		t.Errorf("evidence %+v", ev)
	}

	// Again: harmless, the same page.
	w = serve(h, http.MethodPost, link("/unsubscribe", tok), formType+"; charset=utf-8", oneClickBody)
	if w.Code != http.StatusOK {
		t.Errorf("second POST: status %d", w.Code)
	}
}

func TestUnsubscribeMultipart(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("List-Unsubscribe", "One-Click")
	_ = mw.Close()
	w := serve(f.unsubscribeHandler(), http.MethodPost, link("/unsubscribe", tok), mw.FormDataContentType(), b.String())
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if f.allowed("user-1") {
		t.Fatal("still allowed after a multipart one-click unsubscribe")
	}
}

// forgedToken is a well-formed unsubscribe token for user-1 under another key.
func forgedToken(t *testing.T) string {
	t.Helper()
	u, err := consent.NewUnsubscriber([]byte(strings.Repeat("x", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := u.Sign(consent.Claims{Subject: "user-1", Purpose: purpose, Contact: consent.Email})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// hostileTokens are tokens no handler may pass to the Ledger or echo.
var hostileTokens = []string{
	`<script>alert(1)</script>`,
	`u1.abc"><img src=x onerror=alert(1)>`,
	`' OR '1'='1`,
	`u1.x'; DROP TABLE consent_events; --`,
	"u1.\x00\r\nSet-Cookie: a=b",
	strings.Repeat("A", 2049),
	"",
}

func TestUnsubscribeRefused(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	h := f.unsubscribeHandler()
	garbled := []byte(tok)
	garbled[len(garbled)/2] ^= 1
	if garbled[len(garbled)/2] == '/' || garbled[len(garbled)/2] == '+' {
		garbled[len(garbled)/2] = 'A'
	}
	var filePart bytes.Buffer
	mw := multipart.NewWriter(&filePart)
	fw, _ := mw.CreateFormFile("List-Unsubscribe", "x.txt")
	fmt.Fprint(fw, "One-Click")
	_ = mw.Close()

	type req struct {
		name, method, target, ctype, body string
		hdr                               []string
		status                            int
	}
	good := link("/unsubscribe", tok)
	cases := []req{
		{"PUT", http.MethodPut, good, formType, oneClickBody, nil, 405},
		{"DELETE", http.MethodDelete, good, "", "", nil, 405},
		{"PATCH", http.MethodPatch, good, formType, oneClickBody, nil, 405},
		{"OPTIONS", http.MethodOptions, good, "", "", nil, 405},
		{"no body", http.MethodPost, good, formType, "", nil, 400},
		{"other field", http.MethodPost, good, formType, "unsubscribe=yes", nil, 400},
		{"wrong case", http.MethodPost, good, formType, "List-Unsubscribe=one-click", nil, 400},
		{"twice", http.MethodPost, good, formType, oneClickBody + "&" + oneClickBody, nil, 400},
		{"malformed form", http.MethodPost, good, formType, oneClickBody + "&x=%zz", nil, 400},
		{"text/plain", http.MethodPost, good, "text/plain", oneClickBody, nil, 415},
		{"json", http.MethodPost, good, "application/json", `{"List-Unsubscribe":"One-Click"}`, nil, 415},
		{"no content type", http.MethodPost, good, "", oneClickBody, nil, 415},
		{"multipart without boundary", http.MethodPost, good, "multipart/form-data", oneClickBody, nil, 400},
		{"multipart file part", http.MethodPost, good, mw.FormDataContentType(), filePart.String(), nil, 400},
		{"oversized", http.MethodPost, good, formType, oneClickBody + "&pad=" + strings.Repeat("a", gdprhttp.MaxBodyBytes), nil, 413},
		{"no token", http.MethodPost, "/unsubscribe", formType, oneClickBody, nil, 400},
		{"no token GET", http.MethodGet, "/unsubscribe", "", "", nil, 400},
		{"two tokens", http.MethodPost, good + "&t=" + url.QueryEscape(tok), formType, oneClickBody, nil, 400},
		{"token elsewhere", http.MethodPost, "/unsubscribe?token=" + url.QueryEscape(tok), formType, oneClickBody, nil, 400},
		{"token in body", http.MethodPost, "/unsubscribe", formType, oneClickBody + "&t=" + url.QueryEscape(tok), nil, 400},
		{"forged", http.MethodPost, link("/unsubscribe", forgedToken(t)), formType, oneClickBody, nil, 400},
		{"garbled", http.MethodPost, link("/unsubscribe", string(garbled)), formType, oneClickBody, nil, 400},
		{"truncated", http.MethodPost, link("/unsubscribe", tok[:len(tok)-5]), formType, oneClickBody, nil, 400},
		{"confirmation token", http.MethodPost, link("/unsubscribe", f.request("user-2")), formType, oneClickBody, nil, 400},
	}
	for i, ht := range hostileTokens {
		cases = append(cases,
			req{fmt.Sprint("hostile GET ", i), http.MethodGet, link("/unsubscribe", ht), "", "", nil, 400},
			req{fmt.Sprint("hostile POST ", i), http.MethodPost, link("/unsubscribe", ht), formType, oneClickBody, nil, 400})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.store.writes()
			w := serve(h, c.method, c.target, c.ctype, c.body, c.hdr...)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d", w.Code, c.status)
			}
			linkHeaders(t, w)
			if c.status == 405 && w.Header().Get("Allow") != "GET, HEAD, POST" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
			if n := f.store.writes() - before; n != 0 {
				t.Errorf("a refused request wrote %d times to the ledger", n)
			}
			body := w.Body.String()
			noInlineCode(t, body)
			q, _ := url.ParseQuery(strings.SplitN(c.target, "?", 2)[len(strings.SplitN(c.target, "?", 2))-1])
			for _, v := range q["t"] {
				if len(v) > 3 && (strings.Contains(body, v) || strings.Contains(body, template.HTMLEscapeString(v))) {
					t.Errorf("the page echoes the token")
				}
			}
		})
	}
	if !f.allowed("user-1") {
		t.Error("a refused request unsubscribed the subject")
	}
	if logs := f.logs.String(); logs != "" {
		t.Errorf("refused requests were logged: %s", logs)
	}
}

func TestUnsubscribeExpired(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", time.Hour)
	f.advance(2 * time.Hour)
	before := f.store.writes()
	h := f.unsubscribeHandler()
	w := serve(h, http.MethodPost, link("/unsubscribe", tok), formType, oneClickBody)
	if w.Code != http.StatusGone {
		t.Fatalf("status %d", w.Code)
	}
	if !strings.Contains(w.Body.String(), "This link has expired") {
		t.Errorf("page:\n%s", w.Body)
	}
	if f.store.writes() != before || !f.allowed("user-1") {
		t.Error("an expired token unsubscribed")
	}
}

func TestUnsubscribeLedgerFailure(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	h := f.unsubscribeHandler()
	for _, c := range []struct {
		err    error
		status int
		logged bool
	}{
		{errors.New("disk on fire"), 500, true},
		{fmt.Errorf("store: %w", context.DeadlineExceeded), 503, true},
		{fmt.Errorf("store: %w", context.Canceled), gdprhttp.StatusClientClosedRequest, false},
	} {
		f.store.setFail(c.err)
		before := f.logs.String()
		w := serve(h, http.MethodPost, link("/unsubscribe", tok), formType, oneClickBody)
		if w.Code != c.status {
			t.Errorf("%v: status %d, want %d", c.err, w.Code, c.status)
		}
		if strings.Contains(w.Body.String(), "disk on fire") || strings.Contains(w.Body.String(), "context") {
			t.Errorf("%v: the page shows the error:\n%s", c.err, w.Body)
		}
		logs := strings.TrimPrefix(f.logs.String(), before)
		if got := strings.Contains(logs, "gdprhttp: unsubscribe failed"); got != c.logged {
			t.Errorf("%v: logged %v: %q", c.err, got, logs)
		}
		if strings.Contains(logs, tok) || strings.Contains(logs, "t=") {
			t.Errorf("the log holds the token: %s", logs)
		}
	}
}

func TestUnsubscribeLedgerWithoutUnsubscriber(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	bare, _ := consent.New(memconsent.New())
	h, err := gdprhttp.NewUnsubscribeHandler(bare, gdprhttp.WithLogger(f.logger))
	if err != nil {
		t.Fatal(err)
	}
	w := serve(h, http.MethodPost, link("/unsubscribe", tok), formType, oneClickBody)
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d: a Ledger without an Unsubscriber is the host's fault", w.Code)
	}
	if !strings.Contains(f.logs.String(), "WithUnsubscriber") {
		t.Errorf("log %q does not say what is missing", f.logs)
	}
}

func TestUnsubscribeRecorderFailure(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	f.trailDown.Store(true)
	w := serve(f.unsubscribeHandler(), http.MethodPost, link("/unsubscribe", tok), formType, oneClickBody)
	if w.Code != http.StatusOK {
		t.Errorf("status %d: the withdrawal stands, its record is owed", w.Code)
	}
	if f.allowed("user-1") {
		t.Error("still allowed")
	}
	if logs := f.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "unsubscribe recorded; what follows it failed") || strings.Contains(logs, tok) {
		t.Errorf("log %q", logs)
	}
}

func TestUnsubscribeErasedSubject(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	if _, err := f.ledger.EraseSubject(f.ctx, "user-1"); err != nil {
		t.Fatal(err)
	}
	before := f.store.writes()
	w := serve(f.unsubscribeHandler(), http.MethodPost, link("/unsubscribe", tok), formType, oneClickBody)
	if w.Code != http.StatusOK {
		t.Errorf("status %d", w.Code)
	}
	if n := f.store.writes() - before; n != 0 {
		t.Errorf("an erased subject's unsubscribe wrote %d events", n)
	}
}

// The one-click POST passes the host's cross-origin protection when its
// path is exempted, from a server with no cookie and no Origin, and from
// a webmail page in the reader's browser; the confirmation does not.
func TestCrossOriginProtection(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	ctok := f.request("user-2")
	before := f.store.writes()
	mux := http.NewServeMux()
	mux.Handle("/unsubscribe", f.unsubscribeHandler())
	mux.Handle("/confirm", f.confirmHandler())
	cop := http.NewCrossOriginProtection()
	cop.AddInsecureBypassPattern("POST /unsubscribe")
	srv := httptest.NewServer(cop.Handler(mux))
	defer srv.Close()

	post := func(path, token, body string, hdr ...string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+link(path, token), strings.NewReader(body))
		req.Header.Set("Content-Type", formType)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	crossSite := []string{"Origin", "https://mail.example.net", "Sec-Fetch-Site", "cross-site"}

	if st := post("/confirm", ctok, "", crossSite...); st != http.StatusForbidden {
		t.Errorf("cross-site confirmation: status %d, want 403 from the protection", st)
	}
	if f.store.writes() != before || f.allowed("user-2") {
		t.Error("a cross-site POST confirmed")
	}
	if st := post("/unsubscribe", tok, oneClickBody, crossSite...); st != http.StatusOK {
		t.Errorf("webmail one-click: status %d", st)
	}
	if f.allowed("user-1") {
		t.Error("the webmail one-click did not unsubscribe")
	}
	tok3 := f.give("user-3", 0)
	if st := post("/unsubscribe", tok3, oneClickBody); st != http.StatusOK {
		t.Errorf("provider one-click (no cookie, no Origin): status %d", st)
	}
	if f.allowed("user-3") {
		t.Error("the provider's one-click did not unsubscribe")
	}
	if st := post("/confirm", ctok, "", "Origin", srv.URL, "Sec-Fetch-Site", "same-origin"); st != http.StatusOK {
		t.Errorf("same-origin confirmation: status %d", st)
	}
	if !f.allowed("user-2") {
		t.Error("the same-origin POST did not confirm")
	}
}

func TestClientIPHeader(t *testing.T) {
	f := newFixture(t)
	h := f.unsubscribeHandler(gdprhttp.WithClientIPHeader("x-forwarded-for"))
	for _, c := range []struct {
		hdr  []string
		want string
	}{
		{[]string{"X-Forwarded-For", "203.0.113.9, 198.51.100.7"}, "198.51.100.0/24"},
		{[]string{"X-Forwarded-For", "1.2.3.4", "X-Forwarded-For", "[2001:db8:1:2::1]:443"}, "2001:db8:1::/48"},
		{[]string{"X-Forwarded-For", "198.51.100.7, unknown"}, ""},
		{nil, ""}, // not the RemoteAddr, which is the proxy's
	} {
		tok := f.give("user-1", 0)
		w := serve(h, http.MethodPost, link("/unsubscribe", tok), formType, oneClickBody, c.hdr...)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		evs, _ := f.ledger.History(f.ctx, "user-1", purpose)
		if got := evs[len(evs)-1].Evidence.IPPrefix; got != c.want {
			t.Errorf("%q: prefix %q, want %q", c.hdr, got, c.want)
		}
	}
}

func TestLocator(t *testing.T) {
	f := newFixture(t)
	h := f.unsubscribeHandler()
	mux := http.NewServeMux()
	mux.Handle("POST /lists/{list}/unsubscribe", h)
	for _, c := range []struct {
		handler http.Handler
		path    string
		want    string
	}{
		{mux, "/lists/news/unsubscribe", "POST /lists/{list}/unsubscribe"},
		{h, "/unsubscribe", "POST /unsubscribe"},
		{h, "/u/ann@example.org", ""},
		{h, "/u/4930123456789", ""},
		{h, "/u/a%20b", ""},
		{h, "/u/%41", "POST /u/A"}, // the path as decoded
	} {
		tok := f.give("user-1", 0)
		w := serve(c.handler, http.MethodPost, link(c.path, tok), formType, oneClickBody)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", c.path, w.Code)
		}
		evs, _ := f.ledger.History(f.ctx, "user-1", purpose)
		if got := evs[len(evs)-1].Evidence.Locator; got != c.want {
			t.Errorf("%s: locator %q, want %q", c.path, got, c.want)
		}
	}
}

func TestGPCEvidence(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	serve(f.unsubscribeHandler(), http.MethodPost, link("/unsubscribe", tok), formType, oneClickBody, "Sec-GPC", "1")
	evs, _ := f.ledger.History(f.ctx, "user-1", purpose)
	if got := evs[len(evs)-1].Evidence.Attrs["gpc"]; got != "1" {
		t.Errorf("gpc attribute %q", got)
	}
}
