package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
	"github.com/gdprkit/gdpr/erasure/webhook"
)

// eraser erases one subject's row.
type eraser struct{ rows map[gdpr.SubjectID]bool }

func (e *eraser) EraseSubject(_ context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	if !e.rows[s] {
		return gdpr.ErasureReport{}, nil
	}
	delete(e.rows, s)
	return gdpr.ErasureReport{Erased: 1}, nil
}

// TestEngineTellsARecipientThatWasDown runs an erasure through the request
// engine with this package's Notifier as its recipient notifier, against
// a recipient behind a Verifier that answers 503 to the first two
// deliveries: the engine retries the step with backoff, every attempt
// carries the same webhook-id, the recipient processes the notice once,
// with its own reference and no subject, and the request completes with
// the recipient notified.
func TestEngineTellsARecipientThatWasDown(t *testing.T) {
	const subject = gdpr.SubjectID("canary-subject@example.org")
	secret := webhook.GenerateSecret()
	v, err := webhook.NewVerifier([]webhook.Secret{secret})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ids []string
	var processed []webhook.Message
	down := 2
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get(webhook.HeaderID))
		if down > 0 {
			down--
			mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Unlock()
		v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), string(subject)) {
				t.Errorf("the payload names the subject: %s", body)
			}
			m, _ := webhook.FromContext(r.Context())
			mu.Lock()
			processed = append(processed, m)
			mu.Unlock()
		})).ServeHTTP(w, r)
	}))
	defer srv.Close()
	n, err := webhook.New(webhook.Endpoints{"partner": {URL: srv.URL, Secret: secret}}, webhook.WithInsecureHTTP())
	if err != nil {
		t.Fatal(err)
	}
	disc := gdpr.DisclosuresFunc(func(context.Context, gdpr.SubjectID) ([]gdpr.Disclosure, error) {
		return []gdpr.Disclosure{{Recipient: "partner", Kind: gdpr.ThirdParty, Reference: "P-77"}}, nil
	})
	rows := &eraser{rows: map[gdpr.SubjectID]bool{subject: true}}
	e, err := erasure.New(memerasure.New(), []byte("0123456789abcdef0123456789abcdef"),
		erasure.WithTargets(erasure.Target{Name: "accounts", Eraser: rows, Categories: []string{"contact"}}),
		erasure.WithRecipients(n, disc), erasure.WithRetry(5, time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: subject, Authenticated: true})
	if err != nil {
		t.Fatal(err)
	}
	var got erasure.Request
	for range 20 {
		if got, err = e.Process(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if !got.State.Open() {
			break
		}
		time.Sleep(time.Until(got.NextAt) + time.Millisecond)
	}
	if got.State != erasure.StateCompleted {
		t.Fatalf("request %s: %+v", got.State, got.Steps)
	}
	last := got.Steps[len(got.Steps)-1]
	if last.Outcome != erasure.OutcomeNotified || last.Attempts != 3 {
		t.Errorf("recipient step %+v, want notified on the third attempt", last)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] || ids[0] == "" {
		t.Errorf("webhook-ids %v, want one ID on all three attempts", ids)
	}
	if len(processed) != 1 || processed[0].Notice.Reference != "P-77" || processed[0].Notice.Kind != gdpr.KindErasure ||
		strings.Join(processed[0].Notice.Categories, ",") != "contact" || processed[0].ID != ids[0] {
		t.Errorf("processed %+v", processed)
	}
	if outs := got.Recipients(); len(outs) != 1 || outs[0].Recipient != "partner" || outs[0].Outcome != erasure.OutcomeNotified {
		t.Errorf("the subject would be told of %+v", outs)
	}
}
