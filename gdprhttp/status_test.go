package gdprhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/gdprhttp"
)

func TestStatus(t *testing.T) {
	tooLarge := &http.MaxBytesError{Limit: 10}
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 200},
		{gdpr.ErrInvalid, 400},
		{consent.ErrInvalidToken, 400},
		{consent.ErrTokenExpired, 400},
		{gdpr.ErrNotFound, 404},
		{consent.ErrNotFound, 404},
		{gdpr.ErrConflict, 409},
		{consent.ErrTokenUsed, 409},
		{gdpr.ErrRestricted, 403},
		{gdpr.ErrShredded, 410},
		{tooLarge, 413},
		{fmt.Errorf("reading: %w", tooLarge), 413},
		{multipart.ErrMessageTooLarge, 413},
		{context.DeadlineExceeded, 503},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), 503},
		{context.Canceled, gdprhttp.StatusClientClosedRequest},
		{errors.New("boom"), 500},
		{gdprhttp.ErrInvalid, 400},
		// The earlier line of the table wins.
		{errors.Join(gdpr.ErrNotFound, gdpr.ErrShredded), 410},
		{errors.Join(gdpr.ErrInvalid, tooLarge), 413},
		{errors.Join(gdpr.ErrConflict, context.DeadlineExceeded), 503},
	} {
		if got := gdprhttp.Status(c.err); got != c.want {
			t.Errorf("Status(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func errorAnswer(t *testing.T, err error, accept ...string) (*httptest.ResponseRecorder, problem) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/x?email=ann@example.org", nil)
	for _, a := range accept {
		r.Header.Add("Accept", a)
	}
	w := httptest.NewRecorder()
	w.Header().Set("Content-Length", "12345") // for other content
	gdprhttp.Error(w, r, err)
	var p problem
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatalf("body %q: %v", w.Body, err)
		}
	}
	return w, p
}

func TestErrorProblemJSON(t *testing.T) {
	err := &consent.Error{Op: "confirm", Err: consent.ErrInvalidToken}
	w, p := errorAnswer(t, err)
	if w.Code != 400 || p != (problem{"about:blank", "Bad Request", 400, "consent confirm: invalid token"}) {
		t.Errorf("%d %+v", w.Code, p)
	}
	for k, want := range map[string]string{
		"Content-Type": "application/problem+json", "X-Content-Type-Options": "nosniff",
		"Cache-Control": "no-store", "Vary": "Accept",
		"Content-Length": fmt.Sprint(w.Body.Len()),
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if strings.Contains(w.Body.String(), "ann@example.org") {
		t.Error("the answer echoes the request")
	}

	// 5xx: no detail, whatever the error says.
	w, p = errorAnswer(t, errors.New("panic: runtime error: index out of range\ngoroutine 1 [running]:\nmain.main()"))
	if w.Code != 500 || p != (problem{"about:blank", "Internal Server Error", 500, ""}) {
		t.Errorf("%d %+v", w.Code, p)
	}
	if strings.Contains(w.Body.String(), "goroutine") || strings.Contains(w.Body.String(), "detail") {
		t.Errorf("a 5xx shows the error: %s", w.Body)
	}
	w, p = errorAnswer(t, fmt.Errorf("store: %w", context.DeadlineExceeded))
	if w.Code != 503 || p.Detail != "" {
		t.Errorf("%d %+v", w.Code, p)
	}
	w, p = errorAnswer(t, context.Canceled)
	if w.Code != 499 || p.Title != "Client Closed Request" {
		t.Errorf("%d %+v", w.Code, p)
	}
	w, _ = errorAnswer(t, nil)
	if w.Code != 500 {
		t.Errorf("Error(nil): status %d", w.Code)
	}
	// A detail with control characters and a long text is cleaned.
	_, p = errorAnswer(t, fmt.Errorf("a\nb\x1b[31m%s: %w", strings.Repeat("é", 400), gdpr.ErrNotFound))
	if strings.ContainsAny(p.Detail, "\n\x1b") || len(p.Detail) > 512 || !strings.HasPrefix(p.Detail, "a b [31m") {
		t.Errorf("detail %q", p.Detail)
	}
}

func TestErrorHTML(t *testing.T) {
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	w, _ := errorAnswer(t, &consent.Error{Op: "confirm", Field: "<b>", Err: consent.ErrInvalidToken}, browser)
	if w.Code != 400 || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	if !strings.Contains(body, "<h1>Bad Request</h1>") || !strings.Contains(body, "consent confirm: &lt;b&gt;: invalid token") {
		t.Errorf("page:\n%s", body)
	}
	noInlineCode(t, body)
	if csp := w.Header().Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	w, _ = errorAnswer(t, errors.New("secret internals"), browser)
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret") || !strings.Contains(w.Body.String(), "Internal Server Error") {
		t.Errorf("5xx page:\n%s", w.Body)
	}
	// A host's own policy stays.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Security-Policy", "default-src 'self'")
	gdprhttp.Error(rec, r, gdpr.ErrNotFound)
	if got := rec.Header().Get("Content-Security-Policy"); got != "default-src 'self'" {
		t.Errorf("CSP %q replaced the host's", got)
	}
	// Negotiation.
	for accept, html := range map[string]bool{
		"": false, "*/*": false, "application/json": false, "application/problem+json": false,
		"text/html": true, "text/*": true, "text/html;q=0.5, application/json": false,
		"text/html, application/json;q=0.9": true, "text/html;q=0": false,
		"application/json;q=0.1, text/html;q=0.2": true,
	} {
		w, _ := errorAnswer(t, gdpr.ErrNotFound, accept)
		if got := strings.HasPrefix(w.Header().Get("Content-Type"), "text/html"); got != html {
			t.Errorf("Accept %q: HTML %v, want %v", accept, got, html)
		}
	}
	// Two Accept lines are one list.
	if w, _ := errorAnswer(t, gdpr.ErrNotFound, "application/json;q=0.5", "text/html"); !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Error("the second Accept line was not read")
	}
}

func TestProblem(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	gdprhttp.Problem(w, r, http.StatusTooManyRequests, errors.New("too many verification attempts"))
	var p problem
	_ = json.Unmarshal(w.Body.Bytes(), &p)
	if w.Code != 429 || p != (problem{"about:blank", "Too Many Requests", 429, "too many verification attempts"}) {
		t.Errorf("%d %+v", w.Code, p)
	}
	for status, title := range map[int]string{452: "Bad Request", 599: "Internal Server Error", 413: "Request Entity Too Large"} {
		w = httptest.NewRecorder()
		gdprhttp.Problem(w, r, status, nil)
		p = problem{}
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != status || p.Title != title {
			t.Errorf("Problem(%d): %d %q", status, w.Code, p.Title)
		}
	}
	w = httptest.NewRecorder()
	gdprhttp.Problem(w, r, 200, errors.New("x"))
	if w.Code != 500 {
		t.Errorf("Problem(200): status %d", w.Code)
	}
	w = httptest.NewRecorder()
	gdprhttp.Problem(w, nil, 404, nil)
	if w.Code != 404 || strings.Contains(w.Body.String(), "detail") {
		t.Errorf("Problem(nil request, nil error): %d %s", w.Code, w.Body)
	}
}

func TestGPC(t *testing.T) {
	for _, c := range []struct {
		values []string
		want   bool
	}{
		{[]string{"1"}, true},
		{[]string{" 1"}, true},
		{[]string{"\t1 \t"}, true},
		{nil, false},
		{[]string{""}, false},
		{[]string{"0"}, false},
		{[]string{"true"}, false},
		{[]string{"1 1"}, false},
		{[]string{"1, 1"}, false},
		{[]string{"1", "1"}, false},
		{[]string{"\u00a01"}, false}, // not optional whitespace
		{[]string{"01"}, false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, v := range c.values {
			r.Header.Add("Sec-GPC", v)
		}
		if got := gdprhttp.GPC(r); got != c.want {
			t.Errorf("GPC(%q) = %v", c.values, got)
		}
	}
	if gdprhttp.GPC(nil) {
		t.Error("GPC(nil)")
	}
}

func TestUnsubscribeURL(t *testing.T) {
	const tok = "u1.AbC-_9"
	for base, want := range map[string]string{
		"https://example.com/unsubscribe":           "https://example.com/unsubscribe?t=u1.AbC-_9",
		"https://example.com/u?list=news":           "https://example.com/u?list=news&t=u1.AbC-_9",
		"https://example.com:8443/a%20b":            "https://example.com:8443/a%20b?t=u1.AbC-_9",
		"HTTPS://xn--bcher-kva.example/unsubscribe": "https://xn--bcher-kva.example/unsubscribe?t=u1.AbC-_9",
		"http://localhost:8080/unsubscribe":         "http://localhost:8080/unsubscribe?t=u1.AbC-_9",
		"http://app.localhost/u":                    "http://app.localhost/u?t=u1.AbC-_9",
		"http://127.0.0.1:8080/u":                   "http://127.0.0.1:8080/u?t=u1.AbC-_9",
		"http://[::1]:8080/u":                       "http://[::1]:8080/u?t=u1.AbC-_9",
	} {
		got, err := gdprhttp.UnsubscribeURL(base, tok)
		if err != nil || got != want {
			t.Errorf("UnsubscribeURL(%q) = %q, %v; want %q", base, got, err, want)
		}
	}
	for _, base := range []string{
		"http://example.com/unsubscribe", "http://192.0.2.1/u", "http://localhost.example.com/u",
		"ftp://example.com/u", "mailto:unsubscribe@example.com", "//example.com/u", "/unsubscribe", "",
		"https://user:pw@example.com/u", "https://example.com/u#frag", "https://example.com/u#",
		"https://bücher.example/u", "https://example.com/u?t=old", "https://example.com/u?a=%zz", "https://",
		"javascript:alert(1)", "https://exa mple.com/",
	} {
		_, err := gdprhttp.UnsubscribeURL(base, tok)
		var oe *gdprhttp.OpError
		if !errors.As(err, &oe) || oe.Op != "unsubscribe_url" || oe.Field != "base" || !errors.Is(err, gdprhttp.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("UnsubscribeURL(%q): %v", base, err)
			continue
		}
		if base != "" && strings.Contains(err.Error(), base) {
			t.Errorf("the error quotes the URL: %v", err)
		}
	}
	for _, bad := range append([]string{"a b", "<x>", "u1.%41", "a&t=b"}, hostileTokens...) {
		_, err := gdprhttp.UnsubscribeURL("https://example.com/u", bad)
		var oe *gdprhttp.OpError
		if !errors.As(err, &oe) || oe.Field != "token" {
			t.Errorf("UnsubscribeURL(token %q): %v", bad, err)
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("the error quotes the token: %v", err)
		}
	}
}

func TestUnsubscribeHeader(t *testing.T) {
	f := newFixture(t)
	tok := f.give("user-1", 0)
	h, err := gdprhttp.UnsubscribeHeader("https://example.com/unsubscribe", tok)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get("List-Unsubscribe"), "<https://example.com/unsubscribe?t="+tok+">"; got != want {
		t.Errorf("List-Unsubscribe %q, want %q", got, want)
	}
	if got := h.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", got)
	}
	if len(h) != 2 {
		t.Errorf("%d fields", len(h))
	}
	if strings.Contains(h.Get("List-Unsubscribe"), "user-1") {
		t.Error("the link names the subject")
	}
	// The link the header gives is the one the handler takes.
	link := strings.Trim(h.Get("List-Unsubscribe"), "<>")
	w := serve(f.unsubscribeHandler(), http.MethodPost, link, formType, h.Get("List-Unsubscribe-Post"))
	if w.Code != 200 || f.allowed("user-1") {
		t.Errorf("the header's own one-click: status %d", w.Code)
	}
	_, err = gdprhttp.UnsubscribeHeader("http://example.com/u", tok)
	var oe *gdprhttp.OpError
	if !errors.As(err, &oe) || oe.Op != "unsubscribe_header" || oe.Field != "base" {
		t.Errorf("UnsubscribeHeader(http): %v", err)
	}
	if got, want := err.Error(), "gdprhttp unsubscribe_header: base: invalid input: an http URL of a host that is not loopback: RFC 8058 asks for https"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
}
