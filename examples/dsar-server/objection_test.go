package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
)

// TestObjectionLeavesTheAccount: an objection to analytics (Art. 21(1))
// stops analytics, not the account. Before the account was read for its
// own purpose, the guard counted the read as covered by the objection:
// the address no longer decrypted, the objection's own notice could not
// be sent, and the request never completed.
func TestObjectionLeavesTheAccount(t *testing.T) {
	in := sqliteInstance(t)
	b := newBrowser(t, in)
	const email = "objector@example.org"
	b.signIn(in, email)
	subject, _ := in.app.acc.lookup(context.Background(), email)
	if code, _ := b.post("/requests", url.Values{"kind": {"objection"}, "purpose": {"analytics"}}); code != http.StatusOK {
		t.Fatalf("objection: %d", code)
	}
	var r erasure.Request
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && r.State != erasure.StateCompleted; time.Sleep(50 * time.Millisecond) {
		rs, err := in.app.kit.Engine().List(context.Background(), erasure.Filter{SubjectRef: in.app.kit.Engine().SubjectRef(subject)})
		if err == nil && len(rs) == 1 {
			r = rs[0]
		}
	}
	if r.State != erasure.StateCompleted {
		t.Fatalf("the objection is %q, want completed", r.State)
	}
	in.mail.link(t, email, regexp.MustCompile(`objection request .*completed`))
	if _, page := b.get("/account"); !strings.Contains(page, email) {
		t.Error("after the objection the account page no longer shows the subject's address")
	}
	if err := in.app.kit.Engine().Check(context.Background(), subject, "analytics", gdpr.AllowNone); err == nil {
		t.Error("after the objection, analytics are still allowed")
	}
}
