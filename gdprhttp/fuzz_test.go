package gdprhttp_test

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzUnsubscribeHandler sends the handler any query, content type and
// body by any method: it answers one of its statuses, never echoes the
// token, and writes to the Ledger only on a 200 POST.
func FuzzUnsubscribeHandler(f *testing.F) {
	fx := newFixture(f)
	tok := fx.give("user-1", 0)
	h := fx.unsubscribeHandler()
	f.Add("POST", "t="+url.QueryEscape(tok), formType, "List-Unsubscribe=One-Click")
	f.Add("GET", "t="+url.QueryEscape(tok), "", "")
	f.Add("POST", "t=%3Cscript%3E", formType, "List-Unsubscribe=One-Click")
	f.Add("POST", "t="+url.QueryEscape(tok[:len(tok)-2]), "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n")
	f.Add("PUT", "t=x", "text/plain", strings.Repeat("a", 5000))
	f.Fuzz(func(t *testing.T, method, rawQuery, contentType, body string) {
		switch method {
		case "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH":
		default:
			method = "POST"
		}
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		target := "/unsubscribe?" + q.Encode()
		before := fx.store.writes()
		w := serve(h, method, target, contentType, body)
		switch w.Code {
		case 200, 400, 405, 410, 413, 415:
		default:
			t.Fatalf("status %d", w.Code)
		}
		wrote := fx.store.writes() != before
		if wrote && (method != "POST" || w.Code != 200) {
			t.Fatalf("%s answered %d and wrote", method, w.Code)
		}
		for _, v := range q["t"] {
			if len(v) > 8 && strings.Contains(w.Body.String(), v) {
				t.Fatal("the page echoes the token")
			}
		}
	})
}
