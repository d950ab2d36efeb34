package gdprhttp

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/consent"
)

func FuzzParseForm(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("List-Unsubscribe=One-Click"))
	f.Add("application/x-www-form-urlencoded; charset=utf-8", []byte("List-Unsubscribe=One%2DClick&x=1"))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--\r\n"))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nOne-Click\r\n--x--\r\n"))
	f.Add("multipart/form-data; boundary=\"a;b\"", []byte("--a;b--"))
	f.Add("text/plain", []byte("x"))
	f.Add("", []byte(""))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		form, err := parseForm(contentType, body)
		if err != nil {
			if form != nil {
				t.Fatal("a form with an error")
			}
			switch formStatus(err) {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			default:
				t.Fatalf("status %d", formStatus(err))
			}
			if !errors.Is(err, errTooLarge) && !errors.Is(err, errMediaType) && !errors.Is(err, errMalformed) && !errors.Is(err, errTooManyPart) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		n := 0
		for _, v := range form {
			n += len(v)
		}
		if n > maxFormFields {
			t.Fatalf("%d fields", n)
		}
		if len(body) == 0 && n != 0 {
			t.Fatal("fields from an empty body")
		}
		if isOneClick(form) && len(body) < len("List-Unsubscribe=One-Click") {
			t.Fatal("a one-click from a body too short to hold it")
		}
	})
}

func FuzzLinkToken(f *testing.F) {
	f.Add("t=u1.abc")
	f.Add("t=%3Cscript%3E")
	f.Add("t=a&t=b")
	f.Add("x=%zz&t=c1.A")
	f.Add("t=" + strings.Repeat("A", 2049))
	f.Fuzz(func(t *testing.T, rawQuery string) {
		tok, ok := linkToken(rawQuery)
		if ok != (tok != "") || (ok && !tokenShape(tok)) {
			t.Fatalf("linkToken(%q) = %q, %v", rawQuery, tok, ok)
		}
		if ok && strings.ContainsAny(tok, "<>\"'&;%+ \x00\r\n") {
			t.Fatalf("token %q passed with a metacharacter", tok)
		}
	})
}

func FuzzPrefersHTML(f *testing.F) {
	for _, s := range []string{
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"application/json", "*/*", "", "text/*;q=0.5, application/problem+json;q=0.4",
		`text/html;a="x,\"y";q=0.9`, "text/html;q=1.000,,,", "text/html;q=0.", ";;;,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got := prefersHTML(accept)
		if got != prefersHTML(accept) {
			t.Fatal("not deterministic")
		}
		low := strings.ToLower(accept)
		if got && !strings.Contains(low, "text/html") && !strings.Contains(low, "text/*") {
			t.Fatalf("prefersHTML(%q) with no range that matches text/html", accept)
		}
	})
}

func FuzzHeaderAddr(f *testing.F) {
	f.Add(false, "203.0.113.9, 198.51.100.7")
	f.Add(false, "[2001:db8::1]:443")
	f.Add(true, `for=192.0.2.43, for="[2001:db8:cafe::17]:4711"`)
	f.Add(true, `for="\[::1\]"`)
	f.Add(false, "fe80::1%eth0")
	f.Fuzz(func(t *testing.T, forwarded bool, line string) {
		name := "X-Forwarded-For"
		if forwarded {
			name = "Forwarded"
		}
		a, ok := headerAddr(name, line)
		if ok != a.IsValid() {
			t.Fatalf("headerAddr(%q) = %v, %v", line, a, ok)
		}
		if ok {
			p, err := netip.ParsePrefix(consent.TruncateIP(a))
			if err != nil || p.Bits() > 48 || (p.Addr().Is4() && p.Bits() > 24) {
				t.Fatalf("TruncateIP(%v) = %v, %v", a, p, err)
			}
		}
	})
}
