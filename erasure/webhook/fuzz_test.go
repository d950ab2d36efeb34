package webhook_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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

// FuzzVerifySigned signs each fuzzed delivery — ID, timestamp (an offset
// from t0) and body — with the Verifier's secret inside the target, and
// runs the Verifier's clock at another fuzzed offset, so that what lies
// past the MAC is reached: the tolerance, the payload's decoding and
// checks, and the claims of a real MemSeen. Authenticate accepts exactly
// the well-formed IDs within the tolerance; a second delivery is
// ErrReplayed, after Done ErrDuplicate, after Forget accepted again; what
// Verify accepts belongs to the delivery, and Verify accepts nothing
// Authenticate refuses.
func FuzzVerifySigned(f *testing.F) {
	for _, id := range []string{"req-1-2", "0190a3b2-7d1e-7f00-8a2b-123456789012-3", "a.b", "a b", ""} {
		for _, off := range [][2]int64{{0, 0}, {-300, 0}, {300, 0}, {0, 300}, {-301, 0}, {0, -301}, {280, -20}} {
			f.Add(id, off[0], off[1], payload(id))
		}
	}
	f.Add("req-1-2", int64(0), int64(0), []byte(`{"type":"gdpr.restriction","timestamp":"2026-03-02T09:00:00+01:00","data":{"id":"req-1-2","request":"r","kind":"restriction","article":"Art. 18(1)(a)","reference":"C-\u00e9","ground":"accuracy_contested","purposes":["newsletter"],"at":"2026-03-02T09:00:00Z"}}`))
	f.Add("req-1-2", int64(0), int64(0), []byte(`{"type":"gdpr.rectification","timestamp":"2026-03-02T09:00:00Z","data":{"id":"req-1-2","request":"r","kind":"rectification","reference":"x","fields":["crm.phone"],"at":"2026-03-02T09:00:00Z"}}`))
	f.Add("req-1-2", int64(0), int64(0), []byte("{\"type\":\"gdpr.erasure\",\"data\":{\"reference\":\"\xff\"}}"))
	secret := mustSecret(f, secretA)
	f.Fuzz(func(t *testing.T, id string, sentOff, clockOff int64, body []byte) {
		const day = 24 * 60 * 60
		if sentOff < -day || sentOff > day || clockOff < -day || clockOff > day {
			return
		}
		sent, now := t0.Add(time.Duration(sentOff)*time.Second), t0.Add(time.Duration(clockOff)*time.Second)
		h := http.Header{
			"Webhook-Id": {id}, "Webhook-Timestamp": {strconv.FormatInt(sent.Unix(), 10)},
			"Webhook-Signature": {webhook.Sign(secret, id, sent, body)},
		}
		c := &clock{now: now}
		va := newVerifier(t, c, []webhook.Option{webhook.WithSeen(webhook.NewMemSeen(4))}, secretA)
		vv := newVerifier(t, c, []webhook.Option{webhook.WithSeen(webhook.NewMemSeen(4))}, secretA)

		_, _, aerr := va.Authenticate(t.Context(), h, body)
		skew := now.Sub(sent)
		wellFormed := id != "" && len(id) <= 255 && !strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '.' })
		inTime := skew <= webhook.DefaultTolerance && -skew <= webhook.DefaultTolerance
		if want := wellFormed && inTime && len(body) <= webhook.DefaultMaxBody; (aerr == nil) != want {
			t.Fatalf("Authenticate(id %q, skew %v) = %v, want accepted %v", id, skew, aerr, want)
		}
		m, verr := vv.Verify(t.Context(), h, body)
		if verr == nil && aerr != nil {
			t.Fatalf("Verify accepts what Authenticate refuses (%v)", aerr)
		}
		if aerr != nil {
			if !errors.Is(aerr, webhook.ErrInvalid) || errors.Is(aerr, webhook.ErrSignature) {
				t.Fatalf("a signed delivery refused for %v", aerr)
			}
			return
		}
		// The claim: pending, then done, then forgotten; past the window, stale.
		if _, _, err := va.Authenticate(t.Context(), h, body); !errors.Is(err, webhook.ErrReplayed) || errors.Is(err, webhook.ErrDuplicate) {
			t.Fatalf("second delivery while pending: %v, want ErrReplayed", err)
		}
		if err := va.Done(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if _, _, err := va.Authenticate(t.Context(), h, body); !errors.Is(err, webhook.ErrDuplicate) {
			t.Fatalf("delivery after Done: %v, want ErrDuplicate", err)
		}
		c.Set(sent.Add(webhook.DefaultTolerance)) // the window's last second
		if _, _, err := va.Authenticate(t.Context(), h, body); !errors.Is(err, webhook.ErrDuplicate) {
			t.Fatalf("delivery at the window's end after Done: %v, want ErrDuplicate", err)
		}
		c.Set(now)
		if err := va.Forget(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if _, _, err := va.Authenticate(t.Context(), h, body); err != nil {
			t.Fatalf("delivery after Forget: %v", err)
		}
		c.Set(sent.Add(webhook.DefaultTolerance + time.Second))
		if _, _, err := va.Authenticate(t.Context(), h, body); !errors.Is(err, webhook.ErrStale) {
			t.Fatalf("delivery past the window: %v, want ErrStale", err)
		}
		if verr != nil {
			var we *webhook.Error
			if !errors.Is(verr, webhook.ErrInvalid) || !errors.As(verr, &we) || we.Field == "" {
				t.Fatalf("Verify refused a signed, timely delivery for %v, want ErrInvalid at a payload field", verr)
			}
			return
		}
		if m.ID != id || m.Notice.ID != id || !m.Sent.Equal(sent) || m.Notice.Reference == "" || m.Type != "gdpr."+string(m.Notice.Kind) || m.Notice.At.IsZero() {
			t.Fatalf("Verify = %+v", m)
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("Verify accepted a body that is not UTF-8 JSON")
		}
		c.Set(now)
		if _, err := vv.Verify(t.Context(), h, body); !errors.Is(err, webhook.ErrReplayed) {
			t.Fatalf("second Verify: %v, want ErrReplayed", err)
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
