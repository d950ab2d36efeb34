package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// rowCounts counts the rows of the app's tables and of the consent
// ledger and request store: what a refused request must not change.
func rowCounts(t *testing.T, in *instance) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"accounts", "links", "signin_log", "consent_events", "erasure_requests"} {
		var n int
		if err := in.app.cfg.db.QueryRow("SELECT COUNT(*) FROM " + in.app.acc.table(table)).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

// TestHostileInput sends every form and API route what an attacker
// would: oversized bodies, SQL and HTML metacharacters, wrong methods,
// cross-origin posts, forged sessions and tokens. Each is refused with a
// 4xx that echoes nothing, and nothing is written.
func TestHostileInput(t *testing.T) {
	in := sqliteInstance(t)
	b := newBrowser(t, in)
	b.signIn(in, "victim@example.org")
	before := rowCounts(t, in)

	big := strings.Repeat("a", maxBody+1)
	meta := `'; DROP TABLE gdpr_accounts; -- <script>alert(1)</script>`
	cases := []struct {
		name, method, path string
		body               string
		header             map[string]string
		noCookie           bool
		want               int
	}{
		{"oversized sign-in", "POST", "/signin", "email=" + big, nil, false, http.StatusRequestEntityTooLarge},
		{"oversized consent", "POST", "/consents", "purpose=" + big, nil, false, http.StatusRequestEntityTooLarge},
		{"oversized request", "POST", "/requests", "kind=rectification&field=name&value=" + big, nil, false, http.StatusRequestEntityTooLarge},
		{"metacharacters as address", "POST", "/signin", "email=" + url.QueryEscape(meta), nil, false, http.StatusBadRequest},
		{"address with a display name", "POST", "/signin", "email=" + url.QueryEscape("Eve <eve@example.org>"), nil, false, http.StatusBadRequest},
		{"metacharacters as purpose", "POST", "/consents", "action=give&contact=email&purpose=" + url.QueryEscape(meta), nil, false, http.StatusBadRequest},
		{"unknown channel", "POST", "/consents", "action=give&contact=pigeon&purpose=newsletter", nil, false, http.StatusBadRequest},
		{"unknown action", "POST", "/consents", "action=" + url.QueryEscape(meta) + "&contact=email&purpose=newsletter", nil, false, http.StatusBadRequest},
		{"unknown kind", "POST", "/requests", "kind=" + url.QueryEscape(meta), nil, false, http.StatusBadRequest},
		{"unknown ground", "POST", "/requests", "kind=restriction&ground=" + url.QueryEscape(meta), nil, false, http.StatusBadRequest},
		{"objection to a consent purpose", "POST", "/requests", "kind=objection&purpose=newsletter", nil, false, http.StatusBadRequest},
		{"rectification of an unknown field", "POST", "/requests", "kind=rectification&field=role&value=admin", nil, false, http.StatusBadRequest},
		{"rectification to a bad address", "POST", "/requests", "kind=rectification&field=email&value=" + url.QueryEscape(meta), nil, false, http.StatusBadRequest},
		{"cancel of a made-up request", "POST", "/requests/" + "01234567-89ab-7def-8123-456789abcdef" + "/cancel", "", nil, false, http.StatusNotFound},
		{"cancel with metacharacters", "POST", "/requests/" + url.PathEscape(meta) + "/cancel", "", nil, false, http.StatusNotFound},
		{"cross-site consent", "POST", "/consents", "action=give&contact=email&purpose=newsletter", map[string]string{"Sec-Fetch-Site": "cross-site"}, false, http.StatusForbidden},
		{"cross-origin request", "POST", "/requests", "kind=erasure", map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}, false, http.StatusForbidden},
		{"no session", "POST", "/requests", "kind=erasure", nil, true, http.StatusUnauthorized},
		{"forged session", "POST", "/requests", "kind=erasure", map[string]string{"Cookie": subjectCookie + "=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, true, http.StatusUnauthorized},
		{"wrong method on sign-in", "PUT", "/signin", "email=a@example.org", nil, false, http.StatusMethodNotAllowed},
		{"wrong method on requests", "DELETE", "/requests", "", nil, false, http.StatusMethodNotAllowed},
		{"bad sign-in link", "POST", "/signin/confirm", "t=" + url.QueryEscape(meta), nil, true, http.StatusBadRequest},
		{"bad sign-in link page", "GET", "/signin/confirm?t=" + url.QueryEscape(meta), "", nil, true, http.StatusBadRequest},
		{"operator API without token", "GET", "/api/v1/dashboard", "", nil, true, http.StatusUnauthorized},
		{"operator API with a wrong token", "POST", "/api/v1/audit/verify", "", map[string]string{"Authorization": "Bearer " + meta}, true, http.StatusUnauthorized},
		{"operator retry without session", "POST", "/operator/requests/01234567-89ab-7def-8123-456789abcdef/retry", "", nil, true, http.StatusUnauthorized},
		{"operator extend without token", "POST", "/api/v1/requests/01234567-89ab-7def-8123-456789abcdef/extend", `{"months":1,"reason":"x"}`, map[string]string{"Content-Type": "application/json"}, true, http.StatusUnauthorized},
		{"operator extend, oversized", "POST", "/api/v1/requests/01234567-89ab-7def-8123-456789abcdef/extend", `{"months":1,"reason":"` + big + `"}`, map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + testOperatorToken}, true, http.StatusRequestEntityTooLarge},
		{"operator extend, not JSON", "POST", "/api/v1/requests/01234567-89ab-7def-8123-456789abcdef/extend", "months=1&reason=x", map[string]string{"Authorization": "Bearer " + testOperatorToken}, true, http.StatusUnsupportedMediaType},
		{"operator reject of a made-up request", "POST", "/api/v1/requests/" + url.PathEscape(meta) + "/reject", `{"reason":"excessive","note":"x"}`, map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + testOperatorToken}, true, http.StatusNotFound},
		{"operator reject with a subject's session", "POST", "/operator/requests/01234567-89ab-7def-8123-456789abcdef/reject", "reason=excessive&note=x", nil, false, http.StatusUnauthorized},
		{"operator extend without session", "POST", "/operator/requests/01234567-89ab-7def-8123-456789abcdef/extend", "months=1&reason=x", nil, true, http.StatusUnauthorized},
		{"operator sign-in with a wrong token", "POST", "/operator/signin", "token=" + url.QueryEscape(meta), nil, true, http.StatusUnauthorized},
		{"receipt of a made-up request", "GET", "/receipts/" + url.PathEscape(meta), "", nil, true, http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, in.srv.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			for k, v := range c.header {
				if v == "" {
					req.Header.Del(k)
					continue
				}
				req.Header.Set(k, v)
			}
			client := b.c
			if c.noCookie {
				client = in.srv.Client()
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := make([]byte, 64<<10)
			n, _ := res.Body.Read(body)
			res.Body.Close()
			if res.StatusCode != c.want {
				t.Errorf("%s %s: %d, want %d", c.method, c.path, res.StatusCode, c.want)
			}
			page := string(body[:n])
			if strings.Contains(page, "<script>") || strings.Contains(page, "DROP TABLE") || strings.Contains(page, "goroutine ") {
				t.Errorf("the answer echoes the input or a stack trace")
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("no strict content-security policy: %q", csp)
			}
		})
	}
	after := rowCounts(t, in)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("refused requests changed %s: %d rows, then %d", k, v, after[k])
		}
	}
	_ = context.Background()
}

// TestRateLimits: a client network that asks for sign-in links too fast
// is refused with 429 and Retry-After, and no link is made.
func TestRateLimits(t *testing.T) {
	db := testdb.Open(t, sqldialect.SQLite)
	keys, session := testKeys(t)
	in := startInstance(t, db, sqldialect.SQLite, t.TempDir(), keys, session, "one", 4, 600)
	b := newBrowser(t, in)
	codes := map[int]int{}
	for range 6 {
		req, _ := http.NewRequest("POST", in.srv.URL+"/signin", strings.NewReader("email=someone%40example.org"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		codes[res.StatusCode]++
		if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
			t.Error("a 429 without Retry-After")
		}
	}
	if codes[http.StatusOK] != 2 || codes[http.StatusTooManyRequests] != 4 {
		t.Errorf("6 sign-ins at a rate of 4 a minute, burst 2: %v, want 2 OK and 4 refused", codes)
	}
	if n := rowCounts(t, in)["links"]; n != 2 {
		t.Errorf("%d sign-in links made, want 2", n)
	}
}
