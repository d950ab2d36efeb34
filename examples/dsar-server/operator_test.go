package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// api calls the operator's JSON API with the operator token.
func api(t *testing.T, in *instance, method, path, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, in.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := in.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var v map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s %s: not JSON: %v", method, path, err)
		}
	}
	return res.StatusCode, v
}

// TestOperatorAPI drives the operator's JSON API over requests that no
// worker takes (the instance runs no background work): the dashboard,
// the lists by state and due date, one request, an extension told to the
// subject (and a second one refused, with the engine's reason, the
// request unchanged), a refusal under Art. 12(5) with its reasons, the
// audit trail's verification; and the same extension from the
// operator's page.
func TestOperatorAPI(t *testing.T) {
	db := testdb.Open(t, sqldialect.SQLite)
	keys, session := testKeys(t)
	in := launch(t, db, sqldialect.SQLite, t.TempDir(), keys, session, "one", false, nil)
	b := newBrowser(t, in)
	const email = "asker@example.org"
	b.signIn(in, email)
	subject, _ := in.app.acc.lookup(context.Background(), email)
	for _, f := range []url.Values{{"kind": {"access"}}, {"kind": {"restriction"}, "ground": {string(erasure.GroundAccuracy)}}, {"kind": {"objection"}, "purpose": {"analytics"}}} {
		if code, _ := b.post("/requests", f); code != http.StatusOK {
			t.Fatalf("filing %s: %d", f.Get("kind"), code)
		}
	}
	rs, err := in.app.kit.Engine().List(context.Background(), erasure.Filter{SubjectRef: in.app.kit.Engine().SubjectRef(subject)})
	if err != nil || len(rs) != 3 {
		t.Fatalf("filed %d requests (%v), want 3", len(rs), err)
	}
	byKind := map[gdpr.RequestKind]erasure.Request{}
	for _, r := range rs {
		byKind[r.Kind] = r
	}
	access, restriction, objection := byKind[gdpr.KindAccess], byKind[gdpr.KindRestriction], byKind[gdpr.KindObjection]

	if code, d := api(t, in, "GET", "/api/v1/dashboard", "", ""); code != 200 || d["stats"] == nil {
		t.Fatalf("dashboard: %d %v", code, d)
	}
	if code, _ := api(t, in, "GET", "/api/v1/requests?state="+string(access.State), "", ""); code != 200 {
		t.Errorf("list by state: %d", code)
	}
	for _, q := range []string{"?state=bogus", "?due=later", "?after=1%27%20OR%201=1"} {
		if code, p := api(t, in, "GET", "/api/v1/requests"+q, "", ""); code != 400 || p["status"] != float64(400) {
			t.Errorf("list%s: %d %v, want a 400 problem", q, code, p)
		}
	}
	if code, r := api(t, in, "GET", "/api/v1/requests/"+access.ID, "", ""); code != 200 || r["id"] != access.ID {
		t.Errorf("get: %d %v", code, r["id"])
	}
	for _, id := range []string{"01234567-89ab-7def-8123-456789abcdef", "nope"} {
		if code, _ := api(t, in, "GET", "/api/v1/requests/"+id, "", ""); code != 404 {
			t.Errorf("get %s: %d, want 404", id, code)
		}
	}

	// Extension: told to the subject, once only.
	ext := "/api/v1/requests/" + access.ID + "/extend"
	for _, c := range []struct{ contentType, body string }{
		{"text/plain", `{"months":2,"reason":"x"}`},
		{"application/json", `{"months":3,"reason":"many systems to search"}`},
		{"application/json", `{"months":2}`},
		{"application/json", `{"months":2,"reason":"many systems","extra":1}`},
		{"application/json", `{"months":2,"reason":"a"} {"months":1}`},
		{"application/json", `[`},
	} {
		if code, _ := api(t, in, "POST", ext, c.contentType, c.body); code < 400 || code >= 500 {
			t.Errorf("extend with %s %s: %d, want a 4xx", c.contentType, c.body, code)
		}
	}
	if r, _ := in.app.kit.Engine().Get(context.Background(), access.ID); r.Deadline.Extended {
		t.Fatal("a refused extension extended the deadline")
	}
	code, r := api(t, in, "POST", ext, "application/json", `{"months":2,"reason":"We search many systems for your data."}`)
	if code != 200 {
		t.Fatalf("extend: %d %v", code, r)
	}
	if got, _ := in.app.kit.Engine().Get(context.Background(), access.ID); !got.Deadline.Extended {
		t.Fatal("the deadline is not extended")
	}
	in.mail.link(t, email, regexp.MustCompile(`extended`))
	if code, p := api(t, in, "POST", ext, "application/json", `{"months":1,"reason":"again"}`); code != 400 || !strings.Contains(p["detail"].(string), "extend") {
		t.Errorf("a second extension: %d %v, want 400 with the engine's reason", code, p)
	}

	// Refusal under Art. 12(5)(b), with its reasons.
	rej := "/api/v1/requests/" + restriction.ID + "/reject"
	for _, body := range []string{`{"reason":"bored","note":"x"}`, `{"reason":"excessive","note":""}`} {
		if code, _ := api(t, in, "POST", rej, "application/json", body); code != 400 {
			t.Errorf("reject %s: %d, want 400", body, code)
		}
	}
	if code, r := api(t, in, "POST", rej, "application/json", `{"reason":"excessive","note":"The same request was answered last week."}`); code != 200 || r["state"] != string(erasure.StateRejected) {
		t.Fatalf("reject: %d %v", code, r["state"])
	}
	in.mail.link(t, email, regexp.MustCompile(`rejected`))
	if code, _ := api(t, in, "POST", rej, "application/json", `{"reason":"excessive","note":"again"}`); code != 409 {
		t.Errorf("rejecting a rejected request: %d, want 409", code)
	}
	if code, _ := api(t, in, "POST", "/api/v1/requests/"+restriction.ID+"/retry", "", ""); code != 409 {
		t.Errorf("retrying a rejected request: %d, want 409", code)
	}

	if code, rep := api(t, in, "POST", "/api/v1/audit/verify", "", ""); code != 200 || rep == nil {
		t.Errorf("verify: %d", code)
	}

	// The operator's page: the same extension from its form.
	op := newBrowser(t, in)
	if code, _ := op.post("/operator/signin", url.Values{"token": {testOperatorToken}}); code != 200 {
		t.Fatalf("operator sign-in: %d", code)
	}
	if _, page := op.get("/operator"); !strings.Contains(page, "/operator/requests/"+objection.ID+"/extend") {
		t.Fatal("the operator page has no extension form for the open request")
	}
	if code, _ := op.post("/operator/requests/"+objection.ID+"/extend", url.Values{"months": {"1"}, "reason": {"An assessment of the legitimate interests."}}); code != 200 {
		t.Fatalf("extend from the page: %d", code)
	}
	if got, _ := in.app.kit.Engine().Get(context.Background(), objection.ID); !got.Deadline.Extended {
		t.Error("the page's extension did not extend")
	}
	// A subject's session is not an operator's.
	if code, _ := b.post("/operator/requests/"+objection.ID+"/reject", url.Values{"reason": {"excessive"}, "note": {"x"}}); code != 401 {
		t.Errorf("a subject rejecting from the operator's form: %d, want 401", code)
	}
}
