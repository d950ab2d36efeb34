package gdprhttp

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("List-Unsubscribe", "One-Click")
	fw, _ := mw.CreateFormFile("upload", "a.txt")
	fw.Write([]byte("file"))
	_ = mw.Close()
	for _, c := range []struct {
		ctype, body string
		oneClick    bool
		err         error
	}{
		{"", "", false, nil},
		{"text/plain", "", false, nil},
		{"application/x-www-form-urlencoded", "List-Unsubscribe=One-Click", true, nil},
		{"Application/X-WWW-Form-Urlencoded; charset=UTF-8", "List-Unsubscribe=One-Click", true, nil},
		{"application/x-www-form-urlencoded", "List-Unsubscribe=One%2DClick", true, nil},
		{"application/x-www-form-urlencoded", "List-Unsubscribe=One-Click%0D%0A", true, nil},
		{"application/x-www-form-urlencoded", "List-Unsubscribe=One-Clicks", false, nil},
		{"application/x-www-form-urlencoded", "List-Unsubscribe=One-Click&List-Unsubscribe=One-Click", false, nil},
		{"application/x-www-form-urlencoded", "a=%zz", false, errMalformed},
		{"application/x-www-form-urlencoded", strings.Repeat("a=1&", 40), false, errTooManyPart},
		{mw.FormDataContentType(), mp.String(), true, nil},
		{"multipart/form-data", mp.String(), false, errMalformed},
		{"multipart/form-data; boundary=zz", mp.String(), false, errMalformed},
		{"text/plain", "List-Unsubscribe=One-Click", false, errMediaType},
		{"application/json", "{}", false, errMediaType},
		{"bogus", "x", false, errMediaType},
		{"application/x-www-form-urlencoded", strings.Repeat("a", MaxBodyBytes+1), false, errTooLarge},
	} {
		form, err := parseForm(c.ctype, []byte(c.body))
		if !errors.Is(err, c.err) || (err == nil && isOneClick(form) != c.oneClick) {
			t.Errorf("parseForm(%q, %.40q) = %v, %v", c.ctype, c.body, form, err)
		}
		if err == nil && form.Has("upload") {
			t.Error("a file part was read as a field")
		}
	}
	if formStatus(errTooLarge) != 413 || formStatus(errMediaType) != 415 || formStatus(errMalformed) != 400 || formStatus(errTooManyPart) != 400 {
		t.Error("formStatus")
	}
}

func TestLinkToken(t *testing.T) {
	for q, want := range map[string]string{
		"t=u1.abc":                       "u1.abc",
		"list=x&t=c1.A-_b":               "c1.A-_b",
		"t=u1.abc&bad=%zz":               "u1.abc",
		"t=u1.a%2Bb":                     "",
		"t=":                             "",
		"t=a&t=b":                        "",
		"T=u1.abc":                       "",
		"t=u1.abc;x=1":                   "",
		"t=" + "u1.%3Cb%3E":              "",
		"t=" + strings.Repeat("a", 2048): strings.Repeat("a", 2048),
		"t=" + strings.Repeat("a", 2049): "",
	} {
		got, ok := linkToken(q)
		if got != want || ok != (want != "") {
			t.Errorf("linkToken(%.30q) = %.30q, %v", q, got, ok)
		}
	}
}

func TestAcceptParsing(t *testing.T) {
	for v, want := range map[string]int{"0": 0, "1": 1000, "0.5": 500, "0.123": 123, "1.000": 1000, "1.": 1000, "0.": 0} {
		if got, ok := parseQValue(v); !ok || got != want {
			t.Errorf("parseQValue(%q) = %d, %v", v, got, ok)
		}
	}
	for _, v := range []string{"", "2", "1.001", "0.1234", "-1", "0,5", ".5", "0.a", "1.5"} {
		if _, ok := parseQValue(v); ok {
			t.Errorf("parseQValue(%q) accepted", v)
		}
	}
	for accept, want := range map[string]bool{
		`text/html;foo="a,b";q=0.9, application/json;q=0.8`: true,
		`text/html;q=0.9;level=1, */*`:                      false,
		`text/html;q=2, application/json;q=0.1`:             false, // a malformed weight drops the element
		`TEXT/HTML`:                                         true,
		`*/html`:                                            false,
		`text/html,`:                                        true,
		`text/*;q=0.9, text/html;q=0.1, */*;q=0.5`:          false,
		`application/*;q=0.1, text/html;q=0.2`:              true,
		`application/*, text/html`:                          false,
		`"text/html"`:                                       false,
	} {
		if got := prefersHTML(accept); got != want {
			t.Errorf("prefersHTML(%q) = %v", accept, got)
		}
	}
	// Past the first 64 elements nothing is read.
	if prefersHTML(strings.Repeat("x/y,", 64) + "text/html") {
		t.Error("element 65 was read")
	}
}

func TestHeaderAddr(t *testing.T) {
	for _, c := range []struct{ name, line, want string }{
		{"X-Forwarded-For", "203.0.113.9", "203.0.113.9"},
		{"X-Forwarded-For", "evil, 203.0.113.9", "203.0.113.9"},
		{"X-Forwarded-For", "203.0.113.9, evil", ""},
		{"X-Forwarded-For", "203.0.113.9:1234", "203.0.113.9"},
		{"X-Forwarded-For", "2001:db8::1", "2001:db8::1"},
		{"X-Forwarded-For", "[2001:db8::1]", "2001:db8::1"},
		{"X-Forwarded-For", "[2001:db8::1]:443", "2001:db8::1"},
		{"X-Real-Ip", " 198.51.100.1 ", "198.51.100.1"},
		{"X-Real-Ip", "", ""},
		{"Forwarded", `for=192.0.2.60;proto=http;by=203.0.113.43`, "192.0.2.60"},
		{"Forwarded", `for=192.0.2.43, for="[2001:db8:cafe::17]:4711"`, "2001:db8:cafe::17"},
		{"Forwarded", `For="_gazonk"`, ""},
		{"Forwarded", `for=unknown`, ""},
		{"Forwarded", `proto=https`, ""},
		{"Forwarded", `for=192.0.2.1, proto=https`, ""},
		{"X-Forwarded-For", strings.Repeat("1.1.1.1, ", 500) + "198.51.100.1", "198.51.100.1"},
	} {
		a, ok := headerAddr(c.name, c.line)
		got := ""
		if ok {
			got = a.String()
		}
		if got != c.want {
			t.Errorf("headerAddr(%s, %.40q) = %q, want %q", c.name, c.line, got, c.want)
		}
	}
	if a, ok := parseHostPort("192.0.2.1:80"); !ok || a != netip.MustParseAddr("192.0.2.1") {
		t.Error("parseHostPort")
	}
}

func TestSafeLocator(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"POST", "/unsubscribe", "POST /unsubscribe"},
		{"GET", "/a/b-c_d.e", "GET /a/b-c_d.e"},
		{"PUT", "/unsubscribe", ""},
		{"POST", "", ""},
		{"POST", "unsubscribe", ""},
		{"POST", "/u/ann@example.org", ""},
		{"POST", "/u/192.0.2.1", ""},
		{"POST", "/u/a b", ""},
		{"POST", "/u/a:b", ""},
		{"POST", "/" + strings.Repeat("a", 200), ""},
	} {
		if got := safeLocator(c.method, c.path); got != c.want {
			t.Errorf("safeLocator(%s, %q) = %q", c.method, c.path, got)
		}
	}
}

// Every default page is plain HTML a strict CSP lets through, with its
// texts, and a form exactly where the subject is asked to act.
func TestDefaultTemplateEveryPage(t *testing.T) {
	for _, handler := range []string{handlerUnsubscribe, handlerConfirm} {
		for _, p := range samplePages(handler) {
			var b bytes.Buffer
			if err := defaultTemplate.Execute(&b, p); err != nil {
				t.Fatal(err)
			}
			body := strings.ToLower(b.String())
			for _, bad := range []string{"<script", "<style", "style=", "javascript:", "action=", "<link", "<img", "<iframe"} {
				if strings.Contains(body, bad) {
					t.Errorf("%s %s: page holds %q", handler, p.Kind, bad)
				}
			}
			if handlerAttr.MatchString(body) {
				t.Errorf("%s %s: page holds an event handler attribute", handler, p.Kind)
			}
			if p.Title == "" || p.Message == "" || !strings.Contains(b.String(), "<title>"+p.Title+"</title>") {
				t.Errorf("%s %s %d: texts %q %q", handler, p.Kind, p.Status, p.Title, p.Message)
			}
			ask := p.Kind == PageUnsubscribe || p.Kind == PageConfirm
			if strings.Contains(body, "<form") != ask || (p.Form != nil) != ask {
				t.Errorf("%s %s: form %v", handler, p.Kind, p.Form)
			}
		}
	}
}

var handlerAttr = regexp.MustCompile(`<[^>]*\son[a-z]+\s*=`)
