package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/webhook"
)

// Signing a delivery and verifying it, with a fixed clock: the spec's own
// test vector, then a notice's payload.
func Example_signAndVerify() {
	secret, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	sent := time.Unix(1614265330, 0)
	fmt.Println(webhook.Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", sent, []byte(`{"test": 2432232314}`)))

	body := []byte(`{"type":"gdpr.erasure","timestamp":"2021-02-25T15:00:00Z","data":{"id":"req-1-2","request":"req-1",` +
		`"kind":"erasure","article":"Art. 17(1)","reference":"C-1042","at":"2021-02-25T15:00:00Z"}}`)
	h := http.Header{}
	h.Set(webhook.HeaderID, "req-1-2")
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(sent.Unix(), 10))
	h.Set(webhook.HeaderSignature, webhook.Sign(secret, "req-1-2", sent, body))

	v, err := webhook.NewVerifier([]webhook.Secret{secret},
		webhook.WithClock(func() time.Time { return sent.Add(time.Minute) }))
	if err != nil {
		panic(err)
	}
	m, err := v.Verify(context.Background(), h, body)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Type, m.Notice.Article, string(m.Notice.Reference), m.Notice.Reference)

	_, err = v.Verify(context.Background(), h, body)
	fmt.Println(errors.Is(err, webhook.ErrReplayed), err)
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
	// gdpr.erasure Art. 17(1) C-1042 [reference]
	// true webhook verify: message already received
}

// A Notifier delivering a restriction's notice to a recipient whose
// endpoint is a Verifier's Handler.
func ExampleNotifier() {
	secret := webhook.GenerateSecret() // given to the recipient once, by Expose
	now := func() time.Time { return time.Date(2026, 3, 2, 9, 0, 30, 0, time.UTC) }

	// The recipient's side.
	v, err := webhook.NewVerifier([]webhook.Secret{secret}, webhook.WithClock(now))
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := webhook.FromContext(r.Context())
		n := m.Notice
		fmt.Println(m.Type, n.Request, n.Article, n.Ground, n.Purposes, string(n.Reference))
		w.WriteHeader(http.StatusNoContent)
	})))
	defer srv.Close()

	// The controller's side; WithInsecureHTTP because httptest serves http.
	n, err := webhook.New(webhook.Endpoints{
		"Acme Mail": {URL: srv.URL + "/gdpr", Secret: secret},
	}, webhook.WithInsecureHTTP(), webhook.WithClock(now))
	if err != nil {
		panic(err)
	}
	fmt.Println(n)
	// The engine calls it (erasure.WithRecipients(n, disclosures)).
	err = n.NotifyRecipient(context.Background(), erasure.RecipientNotice{
		ID:        "0190a3b2-7d1e-7f00-8a2b-123456789012-4",
		Kind:      gdpr.KindRestriction,
		Request:   "0190a3b2-7d1e-7f00-8a2b-123456789012",
		Recipient: gdpr.Disclosure{Recipient: "Acme Mail", Kind: gdpr.Processor, Reference: "C-1042"},
		Ground:    erasure.GroundAccuracy,
		Purposes:  []gdpr.Purpose{"newsletter"},
		At:        time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
	})
	fmt.Println(err)

	// A recipient without an endpoint cannot be told this way.
	err = n.NotifyRecipient(context.Background(), erasure.RecipientNotice{
		ID: "0190a3b2-7d1e-7f00-8a2b-123456789012-5", Kind: gdpr.KindRestriction, Request: "0190a3b2-7d1e-7f00-8a2b-123456789012",
		Recipient: gdpr.Disclosure{Recipient: "Initech"}, At: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
	})
	fmt.Println(errors.Is(err, erasure.ErrImpossible), err)
	// Output:
	// webhook.Notifier(1 endpoints)
	// gdpr.restriction 0190a3b2-7d1e-7f00-8a2b-123456789012 Art. 18(1)(a) accuracy_contested [newsletter] C-1042
	// <nil>
	// true webhook notify: Recipient: notice to the recipient impossible: no webhook endpoint for this recipient
}
