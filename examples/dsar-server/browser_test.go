package main

// The subject's journey in a real browser: headless Chromium, driven over
// the DevTools protocol, signs in with the link from the mail, gives and
// withdraws a consent with the page's buttons, reads who used the data,
// files an erasure and is signed out once it is done. Every page is
// checked for what the strict Content-Security-Policy must never see: a
// script, an event handler, a console error, a violation. Full-page
// screenshots are kept as artifacts.
//
// It needs Debian's chromium package. Without it the test skips, unless
// CI is set.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/erasure"
	chromium "github.com/gdprkit/gdpr/integration/browser"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

const (
	// browserTimeout bounds the whole test, browser included.
	browserTimeout = 60 * time.Second
	// stepTimeout bounds one step in the browser, so that a missing
	// element fails the step instead of the whole budget.
	stepTimeout = 15 * time.Second
	// The viewport of the screenshots.
	shotWidth, shotHeight = 1000, 600
)

// shotDirs are where the screenshots go: $GDPR_TEST_ARTIFACTS if set
// (else a temporary directory of the test), and the committed
// screenshots/ beside this file when GDPR_UPDATE_SCREENSHOTS=1.
func shotDirs(t *testing.T) (artifacts, committed string) {
	t.Helper()
	artifacts = chromium.ArtifactDir(t)
	if os.Getenv("GDPR_UPDATE_SCREENSHOTS") == "1" {
		committed = "screenshots"
		if err := os.MkdirAll(committed, 0o755); err != nil {
			t.Fatalf("screenshots: %v", err)
		}
	}
	return artifacts, committed
}

// TestBrowserJourney walks one subject through the app in headless
// Chromium, on SQLite.
func TestBrowserJourney(t *testing.T) {
	exe := chromium.Path(t)
	ctx, cancel := context.WithTimeout(t.Context(), browserTimeout)
	defer cancel()

	db := testdb.Open(t, sqldialect.SQLite)
	keys, session := testKeys(t)
	in := startInstance(t, db, sqldialect.SQLite, t.TempDir(), keys, session, "browser")
	origin := in.srv.URL
	artifacts, committed := shotDirs(t)

	// The test server's certificate is self-signed; the cookies are
	// __Host- and Secure, so the app must be reached over TLS.
	var ev chromium.Events
	bctx := chromium.Open(ctx, t, exe, &ev, chromedp.Flag("ignore-certificate-errors", true))

	// step runs actions with a bound of their own.
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, stepTimeout)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(what, js string) any {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, stepTimeout)
		defer scancel()
		v, err := chromedp.Run(sctx, chromedp.Evaluate[any](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	text := func(sel string) string {
		t.Helper()
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText.trim() : "<no %s>" })()`, sel, sel)
		s, _ := eval("text of "+sel, js).(string)
		return s
	}
	body := func() string { return text("body") }

	// checkPage checks what every page must be: served 200 with the
	// policy, styled by the app's own stylesheet, with no script and no
	// event handler in its DOM.
	checkPage := func(name string, res *network.Response, wantPath string) {
		t.Helper()
		if res == nil {
			t.Fatalf("%s: no response", name)
		}
		if res.Status != 200 {
			t.Fatalf("%s: status %d %s (%s): %s", name, res.Status, res.StatusText, res.URL, body())
		}
		policy := ""
		for k, v := range res.Headers {
			if strings.EqualFold(k, "Content-Security-Policy") {
				policy = fmt.Sprint(v)
			}
		}
		if policy != csp {
			t.Errorf("%s: the Content-Security-Policy header is %q, want %q", name, policy, csp)
		}
		loc := eval("location", `location.pathname`)
		if loc != wantPath {
			t.Fatalf("%s: at %v, want %s: %s", name, loc, wantPath, body())
		}
		if got := eval("scripts", `document.scripts.length + document.querySelectorAll("iframe, object, embed, base").length`); got != float64(0) {
			t.Errorf("%s: %v script or other active elements in the DOM", name, got)
		}
		if got := eval("handlers", `Array.from(document.querySelectorAll("*")).filter(e => Array.from(e.attributes).some(a => a.name.startsWith("on") || /^\s*javascript:/i.test(a.value))).map(e => e.tagName).join(" ")`); got != "" {
			t.Errorf("%s: elements with an event handler or a javascript: URL: %v", name, got)
		}
		// The stylesheet applied under style-src 'self': the body has its
		// background, the header its border.
		if got := eval("style", `getComputedStyle(document.body).backgroundColor + " " + getComputedStyle(document.querySelector("header")).borderBottomStyle`); got != "rgb(246, 247, 249) solid" {
			t.Errorf("%s: computed style %q: the stylesheet did not apply", name, got)
		}
	}
	// open navigates to a path of the app.
	open := func(name, path, wantPath string) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, stepTimeout)
		defer scancel()
		res, err := chromedp.Run(sctx, chromedp.NavigateResponse(origin+path))
		if err != nil {
			t.Fatalf("%s: navigate to %s: %v", name, path, err)
		}
		checkPage(name, res, wantPath)
	}
	// click clicks an element that navigates (a form's button, a link)
	// and waits for the page it leads to.
	click := func(name, sel, wantPath string) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, stepTimeout)
		defer scancel()
		res, err := chromedp.RunResponse(sctx, chromedp.Click(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: click %s: %v", name, sel, err)
		}
		checkPage(name, res, wantPath)
	}
	shot := func(name string) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, stepTimeout)
		defer scancel()
		png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		for _, dir := range []string{artifacts, committed} {
			if dir == "" {
				continue
			}
			file := "dsar-server-" + name + ".png"
			if dir == committed {
				file = name + ".png"
			}
			path := filepath.Join(dir, file)
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot of %s: %s (%d bytes)", name, path, len(png))
		}
	}

	step("viewport", chromedp.EmulateViewport(shotWidth, shotHeight))

	// Sign-in: the address typed into the form, the link from the mail,
	// its button.
	const email = "erika@example.org"
	open("home page", "/", "/")
	if !strings.Contains(body(), "Send me a sign-in link") {
		t.Fatalf("the home page has no sign-in form: %s", body())
	}
	step("type the address", chromedp.SendKeys(chromedp.CSS("#email"), email))
	if got := eval("typed", `document.querySelector("#email").value`); got != email {
		t.Fatalf("the e-mail field holds %q after typing", got)
	}
	step("blur", chromedp.Blur(chromedp.CSS("#email"))) // no caret in the screenshot
	shot("signin")
	click("sign-in sent", `form[action="/signin"] button[type="submit"]`, "/signin")
	if !strings.Contains(body(), "Check your mail") {
		t.Fatalf("after asking for a link: %s", body())
	}
	link := in.mail.link(t, email, signinLink)
	open("sign-in link", link, "/signin/confirm")
	shot("signin-confirm")
	click("sign-in", "#signin", "/account")

	// The session is the app's __Host- cookie, as the browser keeps it.
	sctx, scancel := context.WithTimeout(bctx, stepTimeout)
	cookies, err := chromedp.Run(sctx, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{})
		return res.Cookies, err
	})
	scancel()
	if err != nil {
		t.Fatalf("cookies: %v", err)
	}
	var sess *network.Cookie
	for _, c := range cookies {
		if c.Name == subjectCookie {
			sess = c
		} else {
			t.Errorf("an unexpected cookie %q", c.Name)
		}
	}
	if sess == nil {
		t.Fatalf("the browser holds no %s cookie after signing in (it holds %d others)", subjectCookie, len(cookies))
	}
	if !sess.Secure || !sess.HTTPOnly || sess.Path != "/" || sess.SameSite != network.CookieSameSiteLax {
		t.Errorf("the session cookie is Secure=%v HttpOnly=%v Path=%q SameSite=%q", sess.Secure, sess.HTTPOnly, sess.Path, sess.SameSite)
	}

	// The account page shows the address.
	if got := text("#profile dd"); got != email {
		t.Errorf("the account page shows the address %q, want %q", got, email)
	}
	if got := eval("title", `document.title`); got != "Your privacy · Example Ltd" {
		t.Errorf("the account page's title is %q", got)
	}
	subject, err := in.app.acc.lookup(ctx, email)
	if err != nil || subject == "" {
		t.Fatalf("lookup: %q, %v", subject, err)
	}
	allowed := func() bool {
		t.Helper()
		d, err := in.app.kit.Ledger().Decide(ctx, consent.Query{Subject: subject, Purpose: "newsletter", Contact: consent.Email})
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	}

	// A consent given with its button, and withdrawn with one click.
	const row = "#consent-newsletter-email"
	if got := text(row + " .state"); got != "not given" {
		t.Fatalf("before any choice the newsletter consent is %q", got)
	}
	if allowed() {
		t.Fatal("before any choice the ledger allows the newsletter")
	}
	click("consent given", row+` button[value="give"]`, "/account")
	if got := text(".flash"); got != "Your choice is saved." {
		t.Errorf("after giving consent the flash is %q", got)
	}
	if got := text(row + " .state"); got != "given" {
		t.Errorf("after giving consent the page shows it %q", got)
	}
	if got := text(row + " button"); got != "Withdraw" {
		t.Errorf("after giving consent the row's button is %q, want Withdraw", got)
	}
	if !allowed() {
		t.Error("after giving consent in the browser, the ledger does not allow the newsletter")
	}
	for _, other := range []string{"#consent-offers-email", "#consent-offers-sms", "#consent-partner_offers-email"} {
		if got := text(other + " .state"); got != "not given" {
			t.Errorf("%s is %q: one click changed another consent", other, got)
		}
	}
	shot("account")

	click("consent withdrawn", row+` button[value="withdraw"]`, "/account")
	if got := text(row + " .state"); got != "not given" {
		t.Errorf("after withdrawing the page shows the consent %q", got)
	}
	if got := text(row + " button"); got != "Consent" {
		t.Errorf("after withdrawing the row's button is %q, want Consent", got)
	}
	if allowed() {
		t.Error("after withdrawing in the browser, the ledger still allows the newsletter")
	}

	// Who used the data: the two consent events.
	click("activity", `nav a[href="/activity"]`, "/activity")
	if act := text("table"); !strings.Contains(act, "consent.given") || !strings.Contains(act, "consent.withdrawn") {
		t.Errorf("the activity page does not list the consent events: %s", act)
	}
	shot("activity")
	click("back to the account", `nav a[href="/account"]`, "/account")

	// Erasure, through the requests form: the page shows the request with
	// its state and its deadline.
	if got := text("#requests"); !strings.Contains(got, "No requests yet.") {
		t.Errorf("before any request the requests section reads %q", got)
	}
	click("erasure filed", "#erase", "/account")
	if got := text(".flash"); !strings.HasPrefix(got, "Your erasure request is received.") {
		t.Errorf("after filing erasure the flash is %q", got)
	}
	const erasureRow = `#requests tr.request[data-kind="erasure"]`
	cells := eval("erasure row", `Array.from(document.querySelectorAll('`+erasureRow+` td'), td => td.innerText.trim())`)
	cs, _ := cells.([]any)
	if len(cs) < 4 {
		t.Fatalf("the requests section has no erasure row: %q", text("#requests"))
	}
	kind, received, state, due := fmt.Sprint(cs[0]), fmt.Sprint(cs[1]), fmt.Sprint(cs[2]), fmt.Sprint(cs[3])
	t.Logf("the erasure request on the page: %q received %q, state %q, due by %q", kind, received, state, due)
	date := regexp.MustCompile(`^\d{1,2} [A-Z][a-z]+ \d{4}$`)
	if kind != "erasure" {
		t.Errorf("the request's kind reads %q", kind)
	}
	if !knownState(erasure.State(state)) {
		t.Errorf("the erasure request's state reads %q, not a state", state)
	}
	if !date.MatchString(received) {
		t.Errorf("the erasure request's received date reads %q", received)
	}
	if dueDay, err := time.Parse("2 January 2006", due); err != nil {
		t.Errorf("the erasure request's deadline reads %q: %v", due, err)
	} else if now := time.Now(); dueDay.Before(now.AddDate(0, 0, 27)) || dueDay.After(now.AddDate(0, 3, 2)) {
		// Art. 12(3): one month, extensible by two more.
		t.Errorf("the erasure request is due by %s, not about a month from now", due)
	}
	shot("requests-erasure")

	// Once the erasure is done the browser's session signs no one in: the
	// account page sends it to the sign-in page.
	receipt := in.mail.link(t, email, regexp.MustCompile(`/receipts/[0-9a-f-]{36}`))
	id := strings.TrimPrefix(receipt, "/receipts/")
	var done erasure.Request
	for {
		done, err = in.app.kit.Engine().Get(ctx, id)
		if err == nil && !done.State.Open() {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the erasure did not close: %s, %v", done.State, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if done.State != erasure.StateCompleted {
		t.Fatalf("the erasure is %s", done.State)
	}
	open("account after erasure", "/account", "/")
	if got := body(); strings.Contains(got, email) || !strings.Contains(got, "Send me a sign-in link") {
		t.Errorf("after the erasure the browser's session still signs the subject in: %s", got)
	}

	seen := ev.Seen()
	dl, console, requests, failed := seen.Dialogs, seen.Console, seen.Requests, seen.Failed
	if len(dl) > 0 {
		t.Errorf("the pages opened dialogs: %q", dl)
	}
	for _, c := range console {
		t.Errorf("the pages logged: %s", c)
	}
	for _, r := range failed {
		t.Errorf("an answer of 400 or more: %s", r)
	}
	for _, r := range requests {
		if r != origin && !strings.HasPrefix(r, origin+"/") && r != "about:blank" {
			t.Errorf("the pages requested another origin: %s", r)
		}
	}
	if len(requests) < 10 {
		t.Errorf("only %d requests seen: the network listener did not work", len(requests))
	}

	// The control: an inline script and an inline handler, put into the
	// page from outside, do not run, and the browser reports both
	// refusals where the listener above looks. So an empty log above
	// means no violation, not a deaf listener.
	ran := eval("inline probe", `(() => {
		const s = document.createElement("script");
		s.textContent = "window.__inlineRan = 1";
		document.head.append(s);
		const d = document.createElement("div");
		d.setAttribute("onclick", "window.__handlerRan = 1");
		document.body.append(d);
		d.click();
		return [window.__inlineRan, window.__handlerRan].map(String).join(" ");
	})()`)
	if ran != "undefined undefined" {
		t.Errorf("an inline script or handler ran under the policy: %v", ran)
	}
	var violations []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && len(violations) < 2; time.Sleep(50 * time.Millisecond) {
		after := ev.Seen().Console
		violations = violations[:0]
		for _, c := range after[len(console):] {
			if strings.Contains(c, "Content Security Policy") {
				violations = append(violations, c)
			}
		}
	}
	if len(violations) < 2 {
		after := ev.Seen().Console
		t.Errorf("the refused inline script and handler were not both reported; the log after the probe: %q", after[len(console):])
	}
	for _, v := range violations {
		if !strings.HasPrefix(v, "security error: ") {
			t.Errorf("a violation reported as %q, not as a security error", v)
		}
	}
}
