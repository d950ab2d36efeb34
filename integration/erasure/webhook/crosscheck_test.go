// Package webhook_test cross-checks package erasure/webhook with the
// official Go library of the Standard Webhooks project
// (github.com/standard-webhooks/standard-webhooks/libraries/go): its
// verifier accepts the Notifier's deliveries, and the package's Verifier
// accepts what the library signs. The library is a dependency of this
// nested module only; the root module does not see it.
package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/webhook"
)

// The spec's test vector, as the official libraries' tests have it.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
)

// The official library checks timestamps against time.Now, with no clock
// to set: these tests sign at the real time.

func TestOfficialVerifierAcceptsOurDeliveries(t *testing.T) {
	current, old := webhook.GenerateSecret(), webhook.GenerateSecret()
	type got struct {
		h    http.Header
		body []byte
	}
	deliveries := make(chan got, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		deliveries <- got{r.Header.Clone(), body}
	}))
	defer srv.Close()
	n, err := webhook.New(webhook.Endpoints{"acme": {URL: srv.URL, Secret: current, Previous: []webhook.Secret{old}}}, webhook.WithInsecureHTTP())
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []gdpr.RequestKind{gdpr.KindRectification, gdpr.KindErasure, gdpr.KindRestriction} {
		rn := erasure.RecipientNotice{
			ID: "0190a3b2-7d1e-7f00-8a2b-123456789012-3", Kind: kind, Request: "0190a3b2-7d1e-7f00-8a2b-123456789012",
			Recipient: gdpr.Disclosure{Recipient: "acme", Reference: "C-1042"}, Fields: []string{"crm.address"},
			Ground: erasure.GroundAccuracy, Purposes: []gdpr.Purpose{"newsletter"}, At: time.Now(),
		}
		if err := n.NotifyRecipient(t.Context(), rn); err != nil {
			t.Fatal(err)
		}
		d := <-deliveries
		for name, s := range map[string]webhook.Secret{"current": current, "old": old} {
			wh, err := standardwebhooks.NewWebhook(s.Expose())
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.Verify(d.body, d.h); err != nil {
				t.Errorf("%s: the official verifier with the %s secret refuses our delivery: %v", kind, name, err)
			}
		}
		other, _ := standardwebhooks.NewWebhook(webhook.GenerateSecret().Expose())
		if err := other.Verify(d.body, d.h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Errorf("%s: another secret: %v", kind, err)
		}
	}
}

func TestOurVerifierAcceptsOfficialSignatures(t *testing.T) {
	s := webhook.GenerateSecret()
	wh, err := standardwebhooks.NewWebhook(s.Expose())
	if err != nil {
		t.Fatal(err)
	}
	v, err := webhook.NewVerifier([]webhook.Secret{s})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	id := "0190a3b2-7d1e-7f00-8a2b-123456789012-3"
	body := []byte(`{"type":"gdpr.erasure","timestamp":"2026-03-02T09:00:00Z","data":{"id":"` + id +
		`","request":"0190a3b2-7d1e-7f00-8a2b-123456789012","kind":"erasure","article":"Art. 17(1)","reference":"C-1042","at":"2026-03-02T09:00:00Z"}}`)
	sig, err := wh.Sign(id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	m, err := v.Verify(context.Background(), h, body)
	if err != nil {
		t.Fatalf("our Verifier refuses the official library's signature: %v", err)
	}
	if m.ID != id || string(m.Notice.Reference) != "C-1042" {
		t.Errorf("message %+v", m)
	}
	// A payload of any shape, as the library's own tests sign it.
	sig, _ = wh.Sign("msg_2", now, []byte(vectorBody))
	h.Set(standardwebhooks.HeaderWebhookID, "msg_2")
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	if _, _, err := v.Authenticate(context.Background(), h, []byte(vectorBody)); err != nil {
		t.Errorf("Authenticate: %v", err)
	}
	// Both agree on the spec's test vector.
	vs, err := webhook.ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	vwh, _ := standardwebhooks.NewWebhook(vectorSecret)
	theirs, _ := vwh.Sign(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if ours := webhook.Sign(vs, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody)); ours != theirs {
		t.Errorf("the test vector: ours %q, theirs %q", ours, theirs)
	}
	if strings.Count(theirs, ",") != 1 {
		t.Errorf("their signature %q", theirs)
	}
}
