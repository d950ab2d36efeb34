package webhook_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/erasure/webhook"
)

// nopSeen claims every ID as new, so that a fuzz input is judged alone.
type nopSeen struct{}

func (nopSeen) Claim(context.Context, string, time.Time, time.Time) (webhook.Claim, error) {
	return webhook.ClaimNew, nil
}
func (nopSeen) Done(context.Context, string) error   { return nil }
func (nopSeen) Forget(context.Context, string) error { return nil }

// FuzzVerify feeds Verify and Authenticate arbitrary headers and bodies:
// they never panic, and what they accept the spec's own verifier accepts
// under one of the Verifier's secrets, and Verify's Message belongs to the
// delivery.
func FuzzVerify(f *testing.F) {
	body := payload("req-1-2")
	good := specHeaders("req-1-2", t0, body, secretA)
	add := func(h http.Header, b []byte) {
		f.Add(h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"), b)
	}
	add(good, body)
	add(specHeaders("req-1-2", t0, body, secretB, secretOld), body)
	add(specHeaders(vectorID, t0, []byte(vectorBody), secretA), []byte(vectorBody))
	add(good, body[:len(body)-1])
	f.Add("req-1-2", "1772442000", "v1,", body)
	f.Add("req-1-2", "01772442000", good.Get("webhook-signature"), body)
	f.Add("", "", "", []byte{})
	f.Add("a b", "-1", "v1a,xx v1,=== v2,", []byte(`{"type":"gdpr.erasure","data":null}`))
	f.Add("req-1-2", "1772442000", strings.Repeat("v1,"+strings.Repeat("A", 43)+"= ", 40), body)
	v, err := webhook.NewVerifier([]webhook.Secret{mustSecret(f, secretA), mustSecret(f, secretOld)},
		webhook.WithClock(func() time.Time { return t0 }), webhook.WithSeen(nopSeen{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig}}
		gotID, sent, aerr := v.Authenticate(t.Context(), h, body)
		m, verr := v.Verify(t.Context(), h, body)
		if verr == nil && aerr != nil {
			t.Fatalf("Verify accepts what Authenticate refuses (%v)", aerr)
		}
		if aerr != nil {
			return
		}
		if specVerify(secretA, h, body, t0, 5*time.Minute) != nil && specVerify(secretOld, h, body, t0, 5*time.Minute) != nil {
			t.Fatalf("accepted a delivery the spec's verifier refuses: %q %q %q", id, ts, sig)
		}
		if gotID != id || strconv.FormatInt(sent.Unix(), 10) != ts {
			t.Fatalf("Authenticate = %q, %v", gotID, sent)
		}
		if verr == nil && (m.ID != id || m.Notice.ID != id || m.Notice.Reference == "" || m.Type != "gdpr."+string(m.Notice.Kind)) {
			t.Fatalf("Verify = %+v", m)
		}
	})
}

// FuzzParseSecret feeds ParseSecret arbitrary strings: it never panics,
// and a secret it accepts is 24 to 64 bytes in the spec's form and
// serialises back to the same string.
func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{vectorSecret, secretA, "whsec_", "", "whsec_====", "whsec_MfKQ9r8G\nKYqrTwjUPD8ILPZIo2LaLaSw",
		"whsec_" + strings.Repeat("A", 86) + "==", "whsec_" + strings.Repeat("/", 88), webhook.GenerateSecret().Expose()} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := webhook.ParseSecret(s)
		if err != nil {
			if !k.IsZero() {
				t.Fatal("a refused secret is not zero")
			}
			return
		}
		if k.Expose() != s {
			t.Fatalf("Expose() = %q, want %q", k.Expose(), s)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || !strings.HasPrefix(s, "whsec_") || len(raw) < 24 || len(raw) > 64 {
			t.Fatalf("accepted %q (%d bytes)", s, len(raw))
		}
	})
}
