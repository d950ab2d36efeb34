package gdprhttp_test

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/gdprhttp"
)

func TestConstructorErrors(t *testing.T) {
	f := newFixture(t)
	broken := template.Must(template.New("x").Parse(`{{if eq .Kind "confirmed"}}{{.Nope}}{{end}}ok`))
	for _, c := range []struct {
		opts  []gdprhttp.Option
		field string
		text  string
	}{
		{[]gdprhttp.Option{nil}, "opts", "gdprhttp new_confirm_handler: opts: invalid input: nil option"},
		{[]gdprhttp.Option{gdprhttp.WithTemplate(nil)}, "WithTemplate", "gdprhttp new_confirm_handler: WithTemplate: invalid input: nil template"},
		{[]gdprhttp.Option{gdprhttp.WithLogger(nil)}, "WithLogger", "gdprhttp new_confirm_handler: WithLogger: invalid input: nil logger"},
		{[]gdprhttp.Option{gdprhttp.WithClientIPHeader("")}, "WithClientIPHeader", ""},
		{[]gdprhttp.Option{gdprhttp.WithClientIPHeader("X-Forwarded-For: 1")}, "WithClientIPHeader", ""},
		{[]gdprhttp.Option{gdprhttp.WithClientIPHeader("host")}, "WithClientIPHeader", ""},
		{[]gdprhttp.Option{gdprhttp.WithTemplate(broken)}, "WithTemplate", "gdprhttp new_confirm_handler: WithTemplate: invalid input: the template fails for page kind confirmed status 200"},
	} {
		_, err := gdprhttp.NewConfirmHandler(f.ledger, c.opts...)
		var oe *gdprhttp.OpError
		if !errors.As(err, &oe) || oe.Op != "new_confirm_handler" || oe.Field != c.field || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("%s: %v", c.field, err)
			continue
		}
		if c.text != "" && err.Error() != c.text {
			t.Errorf("text %q, want %q", err.Error(), c.text)
		}
	}
	_, err := gdprhttp.NewUnsubscribeHandler(nil)
	if got, want := fmt.Sprint(err), "gdprhttp new_unsubscribe_handler: ledger: invalid input: nil ledger"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	_, err = gdprhttp.NewConfirmHandler(nil)
	if !errors.Is(err, gdprhttp.ErrInvalid) {
		t.Errorf("NewConfirmHandler(nil): %v", err)
	}
	// An unsubscribe page the template fails on is refused too.
	brokenUnsub := template.Must(template.New("x").Parse(`{{if eq .Kind "unsubscribed"}}{{.Nope}}{{end}}ok`))
	if _, err := gdprhttp.NewUnsubscribeHandler(f.ledger, gdprhttp.WithTemplate(brokenUnsub)); !errors.Is(err, gdprhttp.ErrInvalid) {
		t.Errorf("broken unsubscribe template: %v", err)
	}
	for _, name := range []string{"X-Forwarded-For", "x-real-ip", "Forwarded", "CF-Connecting-IP"} {
		if _, err := gdprhttp.NewConfirmHandler(f.ledger, gdprhttp.WithClientIPHeader(name)); err != nil {
			t.Errorf("WithClientIPHeader(%q): %v", name, err)
		}
	}
}

// A host's template, in its own language and brand, sees every kind of
// page and no token.
func TestWithTemplate(t *testing.T) {
	f := newFixture(t)
	tmpl := template.Must(template.New("brand").Parse(`<!DOCTYPE html><html lang="de"><link rel="stylesheet" href="/static/brand.css">
<p class="{{.Handler}}">{{.Kind}} {{.Status}}</p>
{{- with .Form}}<form method="post">{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}<button>Abmelden</button></form>{{end}}`))
	h := f.unsubscribeHandler(gdprhttp.WithTemplate(tmpl))
	tok := f.give("user-1", 0)
	for _, c := range []struct {
		method, target, body, want string
	}{
		{http.MethodGet, link("/u", tok), "", `<p class="unsubscribe">unsubscribe 200</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button>Abmelden</button></form>`},
		{http.MethodPost, link("/u", tok), oneClickBody, `<p class="unsubscribe">unsubscribed 200</p>`},
		{http.MethodGet, "/u?t=%3Cx%3E", "", `<p class="unsubscribe">invalid_link 400</p>`},
		{http.MethodDelete, link("/u", tok), "", `<p class="unsubscribe">error 405</p>`},
	} {
		w := serve(h, c.method, c.target, formType, c.body)
		if !strings.HasSuffix(w.Body.String(), c.want) {
			t.Errorf("%s %s: %q, want suffix %q", c.method, c.target, w.Body, c.want)
		}
		if csp := w.Header().Get("Content-Security-Policy"); csp != "" {
			t.Errorf("CSP %q set on the host's page", csp)
		}
		if strings.Contains(w.Body.String(), tok) {
			t.Error("the page holds the token")
		}
	}
	// The handler's CSP for its own pages does not replace the host's.
	r := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		f.confirmHandler().ServeHTTP(w, r)
	}), http.MethodGet, "/confirm", "", "")
	if got := r.Header().Get("Content-Security-Policy"); got != "default-src 'self'" {
		t.Errorf("CSP %q", got)
	}
	if got := r.Header().Get("X-Frame-Options"); got != "SAMEORIGIN" {
		t.Errorf("X-Frame-Options %q", got)
	}
}

// Every page of each handler comes with the package's English texts.
func TestDefaultPages(t *testing.T) {
	f := newFixture(t)
	var kinds []string
	tmpl := template.Must(template.New("probe").Parse(`{{.Handler}}/{{.Kind}}/{{.Status}}/{{.Lang}}/{{if .Title}}title{{end}}/{{if .Message}}message{{end}}`))
	for _, mk := range []func(...gdprhttp.Option) (http.Handler, error){
		func(o ...gdprhttp.Option) (http.Handler, error) {
			return gdprhttp.NewUnsubscribeHandler(f.ledger, o...)
		},
		func(o ...gdprhttp.Option) (http.Handler, error) { return gdprhttp.NewConfirmHandler(f.ledger, o...) },
	} {
		h, err := mk(gdprhttp.WithTemplate(tmpl), gdprhttp.WithLogger(f.logger))
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{"/x", "/x?t=abc"} {
			kinds = append(kinds, serve(h, http.MethodGet, target, "", "").Body.String())
		}
	}
	want := []string{
		"unsubscribe/invalid_link/400/en/title/message", "unsubscribe/unsubscribe/200/en/title/message",
		"confirm/invalid_link/400/en/title/message", "confirm/invalid_link/400/en/title/message",
	}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("pages %q, want %q", kinds, want)
	}
}

// A template that fails at request time (a func of the host's) is a
// plain 500, logged, with nothing of the page.
func TestTemplateFailsLater(t *testing.T) {
	f := newFixture(t)
	var broken atomic.Bool
	tmpl := template.Must(template.New("x").Funcs(template.FuncMap{"brand": func() (string, error) {
		if broken.Load() {
			return "", errors.New("brand store down")
		}
		return "Example", nil
	}}).Parse(`{{brand}} {{.Kind}}`))
	h := f.confirmHandler(gdprhttp.WithTemplate(tmpl))
	tok := f.request("user-1")
	broken.Store(true)
	w := serve(h, http.MethodGet, link("/confirm", tok), "", "")
	if w.Code != http.StatusInternalServerError || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("status %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if logs := f.logs.String(); !strings.Contains(logs, "page template failed") || strings.Contains(logs, tok) {
		t.Errorf("log %q", logs)
	}
}
