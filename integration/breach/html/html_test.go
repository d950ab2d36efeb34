// Package html_test opens the breach notification page that
// breach.AuthorityNotice.WriteHTML writes in headless Chromium: the page
// shows the breach reference, the deadline in the controller's zone and
// the items still to follow; values planted in every free-text field to
// run script, open a dialog or replace the style do none of it; the
// Content-Security-Policy lets the page's own hashed style apply and the
// page fetches nothing. A full-page screenshot is kept as an artifact.
//
// It needs Debian's chromium package (.ci/run installs it). Without it the
// test skips, unless CI is set.
package html_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/membreach"
	"github.com/gdprkit/gdpr/integration/browser"
)

const (
	// The values planted in the breach's free-text fields: each would
	// open a dialog, set window.__pwned, or hide the page and recolour
	// its headings (an unhashed style block, which the policy would also
	// refuse and report), were the page not escaping it.
	plantedAlert  = `<script>alert("pwned")</script>`
	plantedImg    = `<img src=x onerror="window.__pwned=1">`
	plantedAttr   = `"><img src=x onerror=alert(3)>`
	plantedStyle  = `</style><style>body{display:none}h2{color:red}</style>`
	plantedURL    = `https://shop.example/?q="><script>alert(4)</script>`
	plantedAction = `{{.}}`

	// timeLayout is how the page writes a time.
	timeLayout = "Monday 2 January 2006, 15:04 MST"

	// timeout bounds the whole test, browser included.
	timeout = 60 * time.Second
)

// planted is a field's planted value, labelled; short enough for the
// fields of at most 200 bytes.
func planted(label string) string {
	return label + ": " + strings.Join([]string{plantedAlert, plantedImg, plantedAttr, plantedStyle, plantedAction}, " ")
}

// clock is when the breach is recorded: a Tuesday in May, Berlin summer
// time.
var clock = time.Date(2026, 5, 12, 14, 0, 0, 0, time.UTC)

func register() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Shop GmbH", Address: "Hauptstr. 1, 10115 Berlin", Email: "privacy@shop.example"},
		DPO:        &gdpr.Party{Name: "Data Protection Officer", Email: "dpo@shop.example"},
		Activities: []gdpr.Activity{{
			ID: "orders", Name: "Orders", Purpose: "orders", Basis: gdpr.Contract,
			SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "contact", Description: planted("category")},
				{ID: "orders", Description: "order history"}},
			Retention: gdpr.RetentionRule{Period: gdpr.Period{Years: 10}},
		}},
	}
}

// notice records a breach with the planted values, assesses it, notifies
// the authority after the 72 hours with the reasons and publishes a
// communication, and returns its notice. The numbers of subjects and
// records are left to follow.
func notice(t *testing.T, ctx context.Context, berlin *time.Location) breach.AuthorityNotice {
	t.Helper()
	now := clock
	l, err := breach.New(membreach.New(), bytes.Repeat([]byte{7}, breach.MinSubjectKeyLen),
		breach.WithRegister(register()), breach.WithLocation(berlin), breach.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatalf("breach.New: %v", err)
	}
	b, err := l.Record(ctx, breach.Report{
		Aware: clock.Add(-2 * time.Hour),
		Details: breach.Details{
			Description:       planted("description"),
			Nature:            []breach.Nature{breach.Confidentiality},
			Categories:        []string{"contact", "orders"},
			SubjectCategories: []string{planted("subjects"), "customers"},
			OccurredFrom:      clock.Add(-30 * time.Hour),
			Consequences:      planted("consequences"),
			Measures:          planted("measures"),
			Contact:           breach.Contact{Name: planted("contact"), Email: planted("email")},
		},
	})
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if _, err := l.Assess(ctx, b.ID, breach.Assessment{Risk: breach.HighRisk, Reasoning: planted("reasoning"),
		Exemptions: []breach.Exemption{{Ground: breach.Disproportionate, Reasoning: planted("exemption")}}}); err != nil {
		t.Fatalf("Assess: %v", err)
	}
	now = b.Clock.Due.Add(6 * time.Hour)
	if _, err := l.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: planted("authority"),
		Reference: planted("reference"), DelayReasons: planted("delay")}); err != nil {
		t.Fatalf("NotifyAuthority: %v", err)
	}
	if _, err := l.Publish(ctx, b.ID, breach.Public{Channel: planted("channel"), URL: plantedURL, Reasoning: planted("public")}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	n, err := l.AuthorityNotice(ctx, b.ID)
	if err != nil {
		t.Fatalf("AuthorityNotice: %v", err)
	}
	if !n.Late || len(n.ToFollow) != 2 {
		t.Fatalf("the notice is late %v with %d items to follow; want late, with the two counts to follow", n.Late, len(n.ToFollow))
	}
	return n
}

func TestAuthorityNoticeInChromium(t *testing.T) {
	exe := browser.Path(t)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	n := notice(t, ctx, berlin)

	var page bytes.Buffer
	if err := n.WriteHTML(&page); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	file := filepath.Join(t.TempDir(), "breach-notice.html")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(file)}).String()

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
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](
			`(() => { const e = document.querySelector(`+jsString(sel)+`); return e ? e.textContent : "<no `+sel+`>" })()`))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}

	// The breach reference, the deadline in the controller's zone, the
	// late paragraph with the reasons, the items to follow.
	if got := text("#breach"); got != n.Breach {
		t.Errorf("#breach shows %q, want the reference %q", got, n.Breach)
	}
	if got := eval("title", `document.title`); got != "Personal data breach notification "+n.Breach {
		t.Errorf("title %q", got)
	}
	// Aware 12:00 UTC = 14:00 CEST; the hour 14–15 does not count.
	const due = "Friday 15 May 2026, 15:00 CEST"
	if got := n.Due.In(berlin).Format(timeLayout); got != due {
		t.Fatalf("the notice's Due is %s, want %s", got, due)
	}
	if got := text("#due"); got != due {
		t.Errorf("#due shows %q, want %q", got, due)
	}
	if got := text("#aware"); got != n.Aware.In(berlin).Format(timeLayout) {
		t.Errorf("#aware shows %q", got)
	}
	if got, want := text("#late"), "This notification is made after the 72 hours of Art. 33(1). Reasons for the delay: "+n.DelayReasons; got != want {
		t.Errorf("#late shows\n%q\nwant\n%q", got, want)
	}
	if got, want := text("#to-follow p"), "The following information is not available yet and will be provided in phases (Art. 33(4)):"; got != want {
		t.Errorf("#to-follow says %q", got)
	}
	items, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#to-follow li"), li => li.textContent)`))
	if err != nil {
		t.Fatalf("items to follow: %v", err)
	}
	var want []string
	for _, it := range n.ToFollow {
		want = append(want, it.What+" "+it.Article)
	}
	if !slices.Equal(items, want) {
		t.Errorf("#to-follow lists %q, want %q", items, want)
	}
	for sel, want := range map[string]string{"#subjects": "to follow", "#records": "to follow", "#risk-level": "a high risk (Art. 34(1))"} {
		if got := text(sel); got != want {
			t.Errorf("%s shows %q, want %q", sel, got, want)
		}
	}

	// The planted values are text, as written.
	cells, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("td, p, div"), e => e.textContent)`))
	if err != nil {
		t.Fatalf("cells: %v", err)
	}
	for _, want := range []string{planted("description"), planted("consequences"), planted("measures"), planted("reasoning"), planted("exemption"), "contact: " + planted("category")} {
		if !slices.Contains(cells, want) {
			t.Errorf("no element's text is %q", want)
		}
	}
	for _, want := range []string{planted("authority"), planted("reference"), planted("channel"), planted("public"), plantedURL, planted("contact"), planted("email"), planted("subjects")} {
		if !slices.ContainsFunc(cells, func(c string) bool { return strings.Contains(c, want) }) {
			t.Errorf("no element's text holds %q", want)
		}
	}
	for _, id := range []string{"nature", "contact", "consequences", "measures", "risk", "notifications"} {
		if got := eval("section "+id, `document.querySelectorAll("section#`+id+`").length`); got != float64(1) {
			t.Errorf("%v sections #%s, want 1", got, id)
		}
	}

	// Nothing ran, nothing was made from the planted values.
	if got := eval("__pwned", `window.__pwned === undefined`); got != true {
		t.Error("window.__pwned is set: a planted script or handler ran")
	}
	if got := eval("elements", `document.querySelectorAll("script, img, iframe, object, embed, link, base, form, a, svg").length`); got != float64(0) {
		t.Errorf("%v script, img, link or other active elements in the DOM", got)
	}
	if got := eval("styles", `document.querySelectorAll("style").length + " " + document.styleSheets.length + " " + document.querySelectorAll("[style]").length`); got != "1 1 0" {
		t.Errorf("style elements, style sheets, style attributes: %v, want 1 1 0", got)
	}
	if got := eval("handlers", `Array.from(document.querySelectorAll("*")).filter(e => Array.from(e.attributes).some(a => a.name.startsWith("on") || /javascript:/i.test(a.value))).map(e => e.tagName).join(" ")`); got != "" {
		t.Errorf("elements with an event handler or a javascript: URL: %v", got)
	}

	// The policy is in force and lets the hashed style apply: the
	// headings have their colour and rule, the page is shown.
	csp := eval("csp", `document.querySelector('meta[http-equiv="Content-Security-Policy"]').content`).(string)
	for _, d := range []string{"default-src 'none'", "style-src 'sha256-", "img-src 'none'", "form-action 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("the policy %q lacks %q", csp, d)
		}
	}
	if got := eval("h2", `(() => { const s = getComputedStyle(document.querySelector("h2")); return [s.color, s.borderBottomStyle, s.borderBottomColor].join(" ") })()`); got != "rgb(31, 78, 121) solid rgb(31, 78, 121)" {
		t.Errorf("h2 computed %q, want \"rgb(31, 78, 121) solid rgb(31, 78, 121)\": the hashed style did not apply", got)
	}
	if got := eval("late", `getComputedStyle(document.querySelector("#late")).borderLeftColor`); got != "rgb(179, 38, 30)" {
		t.Errorf("#late border %q: the hashed style did not apply", got)
	}
	if got := eval("body", `getComputedStyle(document.body).display + " " + (document.body.getBoundingClientRect().height > 500)`); got != "block true" {
		t.Errorf("body display and height %q: the page is hidden", got)
	}
	if got := eval("charset", `document.characterSet`); got != "UTF-8" {
		t.Errorf("characterSet %q", got)
	}

	// The screenshot.
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(browser.ArtifactDir(t), "breach-notice.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the breach notice: %s (%d bytes)", shot, len(png))

	seen := ev.Seen()
	if len(seen.Dialogs) > 0 {
		t.Errorf("the page opened dialogs: %q", seen.Dialogs)
	}
	for _, c := range seen.Console {
		// Headless Chromium may log about its own machinery; the page
		// itself must log nothing, and the policy must refuse nothing.
		if strings.HasPrefix(c, "security ") || strings.Contains(c, "Content Security Policy") ||
			strings.HasPrefix(c, "exception") || strings.HasPrefix(c, "console.") ||
			strings.Contains(c, " error: ") && strings.Contains(c, pageURL) {
			t.Errorf("the page logged: %s", c)
		}
	}
	for _, r := range seen.Requests {
		if r != pageURL {
			t.Errorf("the page requested %s", r)
		}
	}
	if len(seen.Requests) == 0 {
		t.Error("no request seen at all: the network listener did not work")
	}
	if len(seen.Failed) > 0 {
		t.Errorf("failed answers: %q", seen.Failed)
	}
	if len(seen.Console) > 0 {
		t.Logf("console entries (none from the page): %q", seen.Console)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
