// Package browser starts the headless Chromium that the module's browser
// tests drive through chromedp — Debian's chromium package, which .ci/run
// installs — and collects what a page does that it must not: dialogs,
// script errors, console output, log entries (a Content-Security-Policy
// violation is one), its requests and the answers of 400 or more.
//
// A test calls Path first: without chromium it skips, or fails when CI is
// set, so a CI run never passes a browser test it did not run.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Path returns the path of chromium, or skips the test (fails it when the
// CI environment variable is set) when it is not installed.
func Path(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is not installed (CI is set, so this is a failure; .ci/run installs Debian's chromium package): %v", err)
		}
		t.Skipf("chromium is not installed (apt-get install chromium; .ci/run does): %v", err)
	}
	return path
}

// ArtifactDir is where a test keeps its screenshots: $GDPR_TEST_ARTIFACTS
// if set (made if need be), else a temporary directory of the test.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("GDPR_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("GDPR_TEST_ARTIFACTS: %v", err)
	}
	return dir
}

// Open starts chromium at exe headless, as root needs it (no sandbox, no
// GPU, no first run, no background networking, component updates or
// sync) with a fresh profile, and returns a browser context whose events
// go to ev and whose dialogs are dismissed (a dialog would block the page
// until the test timed out). extra options follow the defaults, e.g.
// chromedp.Flag("ignore-certificate-errors", true) for an httptest TLS
// server. Everything ends with ctx or the test.
func Open(ctx context.Context, t testing.TB, exe string, ev *Events, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithListener(ev.Listen), chromedp.WithLogf(t.Logf))
	t.Cleanup(bcancel)
	dialogs := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return bctx
}

// Events collects what pages did; give its Listen to Open. It is safe
// for concurrent use.
type Events struct {
	mu   sync.Mutex
	seen Seen
}

// Seen is what Events collected, in order.
type Seen struct {
	// Dialogs are the dialogs opened, as "<type>: <message>".
	Dialogs []string
	// Console holds exceptions ("exception: …"), console calls
	// ("console.<type>") and log entries ("<source> <level>: <text>
	// (<url>)"); Chromium reports a policy violation as a log entry of
	// source "security", a failed resource as one of source "network".
	Console []string
	// Requests are the URLs requested, Failed the answers of 400 or
	// more, as "<status> <url>".
	Requests, Failed []string
}

// Listen takes one event of chromedp's.
func (e *Events) Listen(ev any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		e.seen.Dialogs = append(e.seen.Dialogs, string(ev.Type)+": "+ev.Message)
	case *runtime.EventExceptionThrown:
		e.seen.Console = append(e.seen.Console, "exception: "+ev.ExceptionDetails.Text)
	case *runtime.EventConsoleAPICalled:
		e.seen.Console = append(e.seen.Console, "console."+string(ev.Type))
	case *cdplog.EventEntryAdded:
		e.seen.Console = append(e.seen.Console, string(ev.Entry.Source)+" "+string(ev.Entry.Level)+": "+ev.Entry.Text+" ("+ev.Entry.URL+")")
	case *network.EventRequestWillBeSent:
		e.seen.Requests = append(e.seen.Requests, ev.Request.URL)
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			e.seen.Failed = append(e.seen.Failed, fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.URL))
		}
	}
}

// Seen returns a copy of what was collected so far.
func (e *Events) Seen() Seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := func(s []string) []string { return append([]string(nil), s...) }
	return Seen{Dialogs: c(e.seen.Dialogs), Console: c(e.seen.Console), Requests: c(e.seen.Requests), Failed: c(e.seen.Failed)}
}
