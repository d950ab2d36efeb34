// Package html_test opens the index.html of a real access bundle in
// headless Chromium: the page shows the subject's data and the Art. 15
// information, values planted to run script do not run, and the
// Content-Security-Policy lets the page's own hashed style apply while it
// blocks everything else. A full-page screenshot is kept as an artifact.
//
// It needs Debian's chromium package (.ci/run installs it). Without it the
// test skips, unless CI is set.
package html_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/integration/browser"
)

const (
	// The values planted in the subject's records.
	plantedEmail  = "erika.planted-7f3a@example.org"
	plantedScript = `<script>window.__pwned=1</script>`
	plantedImg    = `<img src=x onerror="window.__pwned=1">`
	plantedAttr   = `"><img src=x onerror=window.__pwned=1>`
	plantedAlert  = `<script>alert("pwned")</script>`

	purposeDescription = "We handle your orders and deliver them to you."

	// timeout bounds the whole test, browser included.
	timeout = 60 * time.Second
)

var clock = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func register() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Acme Shop GmbH", Address: "Hauptstraße 1, 10115 Berlin", Email: "privacy@acme.example"},
		DPO:        &gdpr.Party{Name: "Data Protection Officer", Email: "dpo@acme.example"},
		Activities: []gdpr.Activity{{
			ID: "orders", Name: "Order handling", Description: purposeDescription,
			Basis:             gdpr.Contract,
			SubjectCategories: []string{"customers"},
			DataCategories:    []gdpr.Category{{ID: "contact", Description: "Your name, address and email"}},
			Recipients:        []gdpr.Recipient{{Name: "Parcel Service", Kind: gdpr.Processor, Country: "DE"}},
			Transfers:         []gdpr.Transfer{{Country: "US", Recipient: "Cloud Hosting Inc.", Safeguard: gdpr.StandardContractualClauses}},
			Retention:         gdpr.RetentionRule{Period: gdpr.Period{Years: 10}, Description: "after the end of the year of the order (tax law)"},
		}},
	}
}

// records are the subject's data: a profile with the planted values, and
// some orders.
func records(ctx context.Context, _ gdpr.SubjectID, w gdpr.RecordWriter) error {
	profile := gdpr.Record{
		Dataset: "profile", ID: "p1", Time: clock.Add(-48 * time.Hour), Category: "contact", Activity: "orders", Provided: true,
		Fields: map[string]any{
			"name": "Erika Mustermann", "email": plantedEmail,
			"note": plantedScript, "bio": plantedImg, "quote": plantedAttr, "alert": plantedAlert,
		},
	}
	if err := w.WriteRecord(ctx, profile); err != nil {
		return err
	}
	for i := range 5 {
		r := gdpr.Record{
			Dataset: "orders", ID: fmt.Sprintf("o%d", i+1), Time: clock.Add(-time.Duration(i+1) * time.Hour),
			Category: "contact", Activity: "orders", Provided: true,
			Fields: map[string]any{"item": fmt.Sprintf("Teapot no. %d", i+1), "price_cents": 1999 + i},
		}
		if err := w.WriteRecord(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// bundle writes an access bundle through the public API and returns the
// archive.
func bundle(t *testing.T, ctx context.Context) []byte {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	b, err := export.New(key,
		export.WithSources(export.Source{Name: "shop", Exporter: gdpr.ExporterFunc(records)}),
		export.WithRegister(register()),
		export.WithDisclosures(gdpr.DisclosuresFunc(func(context.Context, gdpr.SubjectID) ([]gdpr.Disclosure, error) {
			return []gdpr.Disclosure{{Recipient: "Debt Collectors Ltd", Kind: gdpr.ThirdParty, Reference: "DC-4711", At: clock.Add(-24 * time.Hour)}}, nil
		})),
		export.WithAuthority(gdpr.Party{Name: "Berliner Beauftragte für Datenschutz und Informationsfreiheit", URL: "https://www.datenschutz-berlin.de"}),
		export.WithClock(func() time.Time { return clock }),
		export.WithSpoolDir(t.TempDir()),
	)
	if err != nil {
		t.Fatalf("export.New: %v", err)
	}
	var buf bytes.Buffer
	m, err := b.Write(ctx, &buf, gdpr.Request{ID: "req-html-1", Kind: gdpr.KindAccess, Subject: "subject-42"})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	found := false
	for _, f := range m.Files {
		found = found || f.Path == export.HTMLPath
	}
	if !found {
		t.Fatalf("the manifest does not list %s", export.HTMLPath)
	}
	return buf.Bytes()
}

// extract writes the archive's files under dir and returns the path of
// index.html.
func extract(t *testing.T, archive []byte, dir string) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	index := ""
	for _, f := range zr.File {
		if !filepath.IsLocal(f.Name) || strings.HasSuffix(f.Name, "/") {
			t.Fatalf("unexpected archive entry %q", f.Name)
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if f.Name == export.HTMLPath {
			index = path
		}
	}
	if index == "" {
		t.Fatalf("no %s in the archive", export.HTMLPath)
	}
	return index
}

func TestIndexHTMLInChromium(t *testing.T) {
	exe := browser.Path(t)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()

	dir := t.TempDir()
	index := extract(t, bundle(t, ctx), filepath.Join(dir, "bundle"))
	pageURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(index)}).String()

	var ev browser.Events
	bctx := browser.Open(ctx, t, exe, &ev, chromedp.WindowSize(1280, 900))

	if err := chromedp.Do(bctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("navigate to %s: %v", pageURL, err)
	}
	// Let any deferred handler (an onerror of a failed image) have its
	// chance to run before the page is judged.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](
		`new Promise(r => requestAnimationFrame(() => setTimeout(() => r(true), 250)))`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("wait: %v", err)
	}

	eval := func(what, js string) any {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[any](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}

	// The subject's data: the planted values are the text of table
	// cells, as written, so they were rendered as text.
	cells := map[string]bool{}
	raw, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("td"), td => td.textContent)`))
	if err != nil {
		t.Fatalf("cells: %v", err)
	}
	for _, c := range raw {
		cells[c] = true
	}
	for _, want := range []string{plantedEmail, "Erika Mustermann", plantedScript, plantedImg, plantedAttr, plantedAlert, "Teapot no. 5"} {
		if !cells[want] {
			t.Errorf("no table cell holds %q", want)
		}
	}

	// The Art. 15 information.
	text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatalf("innerText: %v", err)
	}
	for _, want := range []string{
		"Your personal data", purposeDescription, "Art. 6(1)(b)", "Your name, address and email",
		"Parcel Service", "Debt Collectors Ltd", "DC-4711", "after the end of the year of the order (tax law)",
		"Art. 46(2)(c)", "Art. 15", "Art. 16", "Art. 17", "Art. 18", "Art. 20", "Art. 21", "Art. 77",
		"Berliner Beauftragte für Datenschutz und Informationsfreiheit", "dpo@acme.example", "Acme Shop GmbH",
		"req-html-1", "2026-03-01T12:00:00Z",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page's text lacks %q", want)
		}
	}
	if got := eval("title", `document.title`); got != "Your personal data" {
		t.Errorf("title %q", got)
	}

	// Nothing ran, nothing was created, nothing was fetched.
	if got := eval("__pwned", `window.__pwned === undefined`); got != true {
		t.Error("window.__pwned is set: a planted script ran")
	}
	if got := eval("elements", `document.querySelectorAll("script, img, iframe, object, embed, link, base, form").length`); got != float64(0) {
		t.Errorf("%v script, img or other active elements in the DOM", got)
	}
	if got := eval("handlers", `Array.from(document.querySelectorAll("*")).some(e => Array.from(e.attributes).some(a => a.name.startsWith("on")))`); got != false {
		t.Error("an element has an event handler attribute")
	}

	// The policy is in force, and it lets the hashed style apply: the
	// tables have their borders, the headings their colour.
	csp := eval("csp", `document.querySelector('meta[http-equiv="Content-Security-Policy"]').content`).(string)
	for _, d := range []string{"default-src 'none'", "style-src 'sha256-", "img-src 'none'", "form-action 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("the policy %q lacks %q", csp, d)
		}
	}
	style := eval("style", `(() => { const s = getComputedStyle(document.querySelector("table")); return [s.borderTopStyle, s.borderTopWidth, s.borderCollapse].join(" ") })()`)
	if style != "solid 1px collapse" {
		t.Errorf("the table's computed border is %q, want %q: the inline style did not apply", style, "solid 1px collapse")
	}
	if got := eval("h2", `getComputedStyle(document.querySelector("h2")).borderBottomStyle`); got != "solid" {
		t.Errorf("h2 border-bottom %q: the inline style did not apply", got)
	}
	if got := eval("charset", `document.characterSet`); got != "UTF-8" {
		t.Errorf("characterSet %q", got)
	}
	if got := eval("lang", `document.documentElement.lang`); got != "en" {
		t.Errorf("lang %q", got)
	}

	// The screenshot.
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(browser.ArtifactDir(t), "export-index-html.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of index.html: %s (%d bytes)", shot, len(png))

	seen := ev.Seen()
	dl, console, requests := seen.Dialogs, seen.Console, seen.Requests
	if len(dl) > 0 {
		t.Errorf("the page opened dialogs: %q", dl)
	}
	for _, c := range console {
		// Headless Chromium may log about its own machinery; the page
		// itself must log nothing, and the policy must refuse nothing.
		if strings.HasPrefix(c, "security ") || strings.Contains(c, "Content Security Policy") ||
			strings.HasPrefix(c, "exception") || strings.HasPrefix(c, "console.") {
			t.Errorf("the page logged: %s", c)
		}
	}
	for _, r := range requests {
		if r != pageURL {
			t.Errorf("the page requested %s", r)
		}
	}
	if len(requests) == 0 {
		t.Error("no request seen at all: the network listener did not work")
	}
}
