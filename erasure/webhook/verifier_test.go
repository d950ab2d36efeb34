package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/webhook"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func newVerifier(t testing.TB, c *clock, opts []webhook.Option, secrets ...string) *webhook.Verifier {
	t.Helper()
	var ss []webhook.Secret
	for _, s := range secrets {
		ss = append(ss, mustSecret(t, s))
	}
	v, err := webhook.NewVerifier(ss, append([]webhook.Option{webhook.WithClock(c.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// payload returns a body as the Notifier sends it for the notice ID id.
func payload(id string) []byte {
	return []byte(`{"type":"gdpr.erasure","timestamp":"2026-03-02T09:00:00Z","data":{"id":"` + id +
		`","request":"req-1","kind":"erasure","article":"Art. 17(1)","reference":"C-1042","at":"2026-03-02T09:00:00Z"}}`)
}

func TestSpecVectorSign(t *testing.T) {
	got := webhook.Sign(mustSecret(t, vectorSecret), vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if got != vectorSignature {
		t.Fatalf("Sign of the spec's test vector = %q, want %q", got, vectorSignature)
	}
	if webhook.Sign(webhook.Secret{}, vectorID, time.Unix(vectorTimestamp, 0), nil) != "" {
		t.Error("the zero secret signs")
	}
}

func TestSpecVectorVerify(t *testing.T) {
	c := &clock{now: time.Unix(vectorTimestamp, 0)}
	h := func(sig string) http.Header {
		return http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {strconv.Itoa(vectorTimestamp)}, "Webhook-Signature": {sig}}
	}
	for _, sig := range []string{
		vectorSignature,
		// The official libraries' "valid multi sig" case: other versions
		// and wrong v1 signatures around the good one.
		"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + vectorSignature + " v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
		"v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==  " + vectorSignature,
	} {
		v := newVerifier(t, c, nil, vectorSecret)
		id, sent, err := v.Authenticate(t.Context(), h(sig), []byte(vectorBody))
		if err != nil || id != vectorID || sent.Unix() != vectorTimestamp {
			t.Errorf("Authenticate(%q) = %q, %v, %v; want the spec's vector accepted", sig, id, sent, err)
		}
	}
	for _, sig := range []string{
		"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
		"v1,", "v1", "v2," + strings.TrimPrefix(vectorSignature, "v1,"),
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", // the python tests' one-bit-off signature
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",  // unpadded
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", // non-zero padding bits
		"V1," + strings.TrimPrefix(vectorSignature, "v1,"),
	} {
		v := newVerifier(t, c, nil, vectorSecret)
		if _, _, err := v.Authenticate(t.Context(), h(sig), []byte(vectorBody)); !errors.Is(err, webhook.ErrSignature) || err.Error() != "webhook verify: no matching signature" {
			t.Errorf("Authenticate(%q): %v, want ErrSignature saying no more", sig, err)
		}
	}
	v := newVerifier(t, c, nil, vectorSecret)
	if _, _, err := v.Authenticate(t.Context(), h(vectorSignature), []byte(vectorBody+" ")); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("altered body: %v", err)
	}
	// The test vector's body is not a notice: Verify refuses it, after the
	// signature, as malformed; and does not claim its ID.
	if _, err := v.Verify(t.Context(), h(vectorSignature), []byte(vectorBody)); !errors.Is(err, webhook.ErrInvalid) || errors.Is(err, webhook.ErrSignature) {
		t.Errorf("Verify of a foreign payload: %v", err)
	}
	if _, _, err := v.Authenticate(t.Context(), h(vectorSignature), []byte(vectorBody)); err != nil {
		t.Errorf("the ID was claimed by a refused delivery: %v", err)
	}
}

func TestVerifyRoundTripWithTheSpecsSigner(t *testing.T) {
	c := &clock{now: t0}
	v := newVerifier(t, c, nil, secretA)
	body := payload("req-1-2")
	m, err := v.Verify(t.Context(), specHeaders("req-1-2", t0.Add(-time.Minute), body, secretA), body)
	if err != nil {
		t.Fatal(err)
	}
	want := webhook.Notice{ID: "req-1-2", Request: "req-1", Kind: gdpr.KindErasure, Article: "Art. 17(1)", Reference: "C-1042", At: t0}
	if m.ID != "req-1-2" || !m.Sent.Equal(t0.Add(-time.Minute)) || m.Type != webhook.TypeErasure || !m.Timestamp.Equal(t0) ||
		fmt.Sprintf("%#v", m.Notice) != fmt.Sprintf("%#v", want) || string(m.Notice.Reference) != "C-1042" || !m.Notice.At.Equal(t0) {
		t.Errorf("Verify = %+v", m)
	}
}

func TestReplayRefused(t *testing.T) {
	c := &clock{now: t0}
	v := newVerifier(t, c, nil, secretA)
	body := payload("req-1-2")
	h := specHeaders("req-1-2", t0, body, secretA)
	if _, err := v.Verify(t.Context(), h, body); err != nil {
		t.Fatal(err)
	}
	// The same delivery again, and a retry of the same ID signed later.
	c.Set(t0.Add(time.Minute))
	for _, h := range []http.Header{h, specHeaders("req-1-2", t0.Add(time.Minute), body, secretA)} {
		_, err := v.Verify(t.Context(), h, body)
		if !errors.Is(err, webhook.ErrReplayed) || errors.Is(err, webhook.ErrDuplicate) || !errors.Is(err, gdpr.ErrConflict) || errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("replay: %v, want ErrReplayed", err)
		}
	}
	// Concurrent deliveries of one new ID: one is accepted.
	body3 := payload("req-1-3")
	h3 := specHeaders("req-1-3", t0.Add(time.Minute), body3, secretA)
	var accepted atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := v.Verify(t.Context(), h3, body3); err == nil {
				accepted.Add(1)
			} else if !errors.Is(err, webhook.ErrReplayed) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 1 {
		t.Errorf("%d concurrent deliveries of one ID accepted, want 1", accepted.Load())
	}
	// Forgotten (the host could not process it): the retry is taken.
	if err := v.Forget(t.Context(), "req-1-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), specHeaders("req-1-2", t0.Add(time.Minute), body, secretA), body); err != nil {
		t.Errorf("retry after Forget: %v", err)
	}
	// Done (processed): a retry is a duplicate, to acknowledge.
	if err := v.Done(t.Context(), "req-1-2"); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(t.Context(), specHeaders("req-1-2", t0.Add(2*time.Minute), body, secretA), body)
	if !errors.Is(err, webhook.ErrDuplicate) || !errors.Is(err, webhook.ErrReplayed) || err.Error() != "webhook verify: message already processed" {
		t.Errorf("retry after Done: %v, want ErrDuplicate", err)
	}
	//lint:ignore SA1012 a nil context is what is tested
	if v.Done(nil, "x") == nil || v.Forget(nil, "x") == nil {
		t.Error("nil context accepted")
	}
	// Past the window of its last accepted timestamp the ID is new again.
	c.Set(t0.Add(time.Minute + 5*time.Minute + time.Second))
	if _, err := v.Verify(t.Context(), specHeaders("req-1-2", c.Now(), body, secretA), body); err != nil {
		t.Errorf("retry after the window: %v", err)
	}
}

func TestStaleAndFutureRefused(t *testing.T) {
	c := &clock{now: t0}
	body := payload("req-1-2")
	for _, tc := range []struct {
		sent      time.Duration
		tolerance time.Duration
		ok        bool
	}{
		{0, 0, true},
		{-5 * time.Minute, 0, true},
		{5 * time.Minute, 0, true},
		{-5*time.Minute - time.Second, 0, false},
		{5*time.Minute + time.Second, 0, false},
		{-24 * time.Hour, 0, false},
		{-time.Hour, 2 * time.Hour, true},
		{-31 * time.Second, 30 * time.Second, false},
		{31 * time.Second, 30 * time.Second, false},
	} {
		var opts []webhook.Option
		if tc.tolerance != 0 {
			opts = append(opts, webhook.WithTolerance(tc.tolerance))
		}
		v := newVerifier(t, c, opts, secretA)
		_, err := v.Verify(t.Context(), specHeaders("req-1-2", t0.Add(tc.sent), body, secretA), body)
		if tc.ok && err != nil || !tc.ok && (!errors.Is(err, webhook.ErrStale) || !errors.Is(err, gdpr.ErrInvalid)) {
			t.Errorf("sent %v from now, tolerance %v: %v", tc.sent, tc.tolerance, err)
		}
	}
	// A timestamp of 1970 (the other reading of "<request>.<step>.<ts>.").
	v := newVerifier(t, c, nil, secretA)
	h := http.Header{"Webhook-Id": {"req-1"}, "Webhook-Timestamp": {"2"}, "Webhook-Signature": {"v1,x"}}
	if _, err := v.Verify(t.Context(), h, body); !errors.Is(err, webhook.ErrStale) {
		t.Errorf("1970: %v", err)
	}
}

func TestRotatedSecrets(t *testing.T) {
	c := &clock{now: t0}
	body := payload("req-1-2")
	for _, tc := range []struct {
		verifier []string
		signer   []string
		ok       bool
	}{
		{[]string{secretA, secretOld}, []string{secretOld}, true}, // the recipient rotates first
		{[]string{secretA, secretOld}, []string{secretA}, true},
		{[]string{secretA}, []string{secretA, secretOld}, true}, // the sender signs with both
		{[]string{secretOld}, []string{secretA, secretOld}, true},
		{[]string{secretA, secretOld}, []string{secretB}, false},
		{[]string{secretB}, []string{secretA, secretOld}, false},
	} {
		v := newVerifier(t, c, nil, tc.verifier...)
		_, err := v.Verify(t.Context(), specHeaders("req-1-2", t0, body, tc.signer...), body)
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, webhook.ErrSignature) {
			t.Errorf("verifier %d secrets, signer %d: %v", len(tc.verifier), len(tc.signer), err)
		}
	}
	// The Notifier's rotation, read by the package's Verifier.
	rcv := newReceiver(t, ok)
	n, err := webhook.New(webhook.Endpoints{"acme": {URL: rcv.URL, Secret: mustSecret(t, secretA), Previous: []webhook.Secret{mustSecret(t, secretOld)}}},
		webhook.WithInsecureHTTP(), webhook.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.NotifyRecipient(t.Context(), notice(gdpr.KindErasure, "acme", "C-1042")); err != nil {
		t.Fatal(err)
	}
	d := rcv.deliveries()[0]
	for _, s := range []string{secretA, secretOld} {
		if _, err := newVerifier(t, c, nil, s).Verify(t.Context(), d.header, d.body); err != nil {
			t.Errorf("a recipient with one of the two secrets: %v", err)
		}
	}
}

func TestVerifyRefusesMalformed(t *testing.T) {
	c := &clock{now: t0}
	body := payload("req-1-2")
	good := specHeaders("req-1-2", t0, body, secretA)
	with := func(k string, vs ...string) http.Header {
		h := good.Clone()
		if vs == nil {
			h.Del(k)
		} else {
			h[http.CanonicalHeaderKey(k)] = vs
		}
		return h
	}
	for _, tc := range []struct {
		h     http.Header
		body  []byte
		field string
	}{
		{nil, body, "webhook-id"},
		{with("webhook-id"), body, "webhook-id"},
		{with("webhook-id", ""), body, "webhook-id"},
		{with("webhook-id", "a", "b"), body, "webhook-id"},
		{with("webhook-id", "a b"), body, "webhook-id"},
		{with("webhook-id", strings.Repeat("a", 256)), body, "webhook-id"},
		{with("webhook-id", "ann\u00e9"), body, "webhook-id"},
		{with("webhook-id", "req-1.2"), body, "webhook-id"},
		{with("webhook-timestamp"), body, "webhook-timestamp"},
		{with("webhook-timestamp", "+1772442000"), body, "webhook-timestamp"},
		{with("webhook-timestamp", "-1"), body, "webhook-timestamp"},
		{with("webhook-timestamp", "01772442000"), body, "webhook-timestamp"},
		{with("webhook-timestamp", "1772442000.0"), body, "webhook-timestamp"},
		{with("webhook-timestamp", "99999999999999999999"), body, "webhook-timestamp"},
		{with("webhook-signature"), body, "webhook-signature"},
		{with("webhook-signature", strings.Repeat("v1,x ", 2000)), body, "webhook-signature"},
		{good, bytes.Repeat([]byte("x"), webhook.DefaultMaxBody+1), "body"},
	} {
		v := newVerifier(t, c, nil, secretA)
		_, err := v.Verify(t.Context(), tc.h, tc.body)
		var we *webhook.Error
		if !errors.As(err, &we) || we.Op != "verify" || we.Field != tc.field || !errors.Is(err, webhook.ErrInvalid) || errors.Is(err, webhook.ErrSignature) {
			t.Errorf("%v: %v, want ErrInvalid with Field %q", tc.h, err, tc.field)
		}
	}
	// A Header built by hand with lower-case names is read too; both
	// spellings at once are two values.
	lower := http.Header{"webhook-id": good["Webhook-Id"], "webhook-timestamp": good["Webhook-Timestamp"], "webhook-signature": good["Webhook-Signature"]}
	if _, err := newVerifier(t, c, nil, secretA).Verify(t.Context(), lower, body); err != nil {
		t.Errorf("lower-case header names: %v", err)
	}
	both := good.Clone()
	both["webhook-id"] = good["Webhook-Id"]
	if _, err := newVerifier(t, c, nil, secretA).Verify(t.Context(), both, body); !errors.Is(err, webhook.ErrInvalid) {
		t.Errorf("webhook-id twice: %v", err)
	}
	// Payloads signed well but not this package's, or not for this ID.
	for field, b := range map[string]string{
		"body":           `{"type":"gdpr.erasure"`,
		"body ":          string(payload("req-1-2")) + `{}`,
		"type":           strings.Replace(string(body), "gdpr.erasure", "invoice.paid", 1),
		"type ":          strings.Replace(string(body), "gdpr.erasure", "gdpr.access", 1),
		"timestamp":      strings.Replace(string(body), `"timestamp":"2026-03-02T09:00:00Z"`, `"timestamp":"yesterday"`, 1),
		"data":           `{"type":"gdpr.erasure","timestamp":"2026-03-02T09:00:00Z","data":[1]}`,
		"data ":          `{"type":"gdpr.erasure","timestamp":"2026-03-02T09:00:00Z"}`,
		"data.id":        string(payload("req-9.9")),
		"data.kind":      strings.Replace(string(body), `"kind":"erasure"`, `"kind":"restriction"`, 1),
		"data.request":   strings.Replace(string(body), `"request":"req-1"`, `"request":""`, 1),
		"data.reference": strings.Replace(string(body), `"reference":"C-1042"`, `"reference":""`, 1),
		"data.at":        strings.Replace(string(body), `,"at":"2026-03-02T09:00:00Z"`, ``, 1),
		"data.ground":    strings.Replace(string(body), `"at"`, `"ground":"whim","at"`, 1),
		"data  ":         strings.Replace(string(body), `"reference":"C-1042"`, `"reference":42`, 1),
		// encoding/json would read the bad byte as U+FFFD.
		"body  ": strings.Replace(string(body), `"reference":"C-1042"`, "\"reference\":\"C-1042\xff\"", 1),
	} {
		v := newVerifier(t, c, nil, secretA)
		_, err := v.Verify(t.Context(), specHeaders("req-1-2", t0, []byte(b), secretA), []byte(b))
		var we *webhook.Error
		if !errors.As(err, &we) || we.Field != strings.TrimSpace(field) || !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid with Field %q", b, err, strings.TrimSpace(field))
			continue
		}
		noLeak(t, "error", err.Error(), "C-1042", "invoice", "yesterday", "whim")
	}
	//lint:ignore SA1012 a nil context is what is tested
	if _, err := newVerifier(t, c, nil, secretA).Verify(nil, good, body); !errors.Is(err, webhook.ErrInvalid) {
		t.Errorf("nil context: %v", err)
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	s := mustSecret(t, secretA)
	for _, tc := range []struct {
		secrets []webhook.Secret
		opts    []webhook.Option
		field   string
	}{
		{nil, nil, "secrets"},
		{[]webhook.Secret{s, {}}, nil, "secrets[1]"},
		{[]webhook.Secret{s}, []webhook.Option{webhook.WithTolerance(0)}, "WithTolerance"},
		{[]webhook.Secret{s}, []webhook.Option{webhook.WithTolerance(25 * time.Hour)}, "WithTolerance"},
		{[]webhook.Secret{s}, []webhook.Option{webhook.WithClock(nil)}, "WithClock"},
		{[]webhook.Secret{s}, []webhook.Option{webhook.WithSeen(nil)}, "WithSeen"},
		{[]webhook.Secret{s}, []webhook.Option{webhook.WithMaxBody(10)}, "WithMaxBody"},
		{[]webhook.Secret{s}, []webhook.Option{webhook.WithTimeout(time.Second)}, "WithTimeout"},
		{[]webhook.Secret{s}, []webhook.Option{webhook.WithInsecureHTTP()}, "WithInsecureHTTP"},
		{[]webhook.Secret{s}, []webhook.Option{nil}, "opts"},
	} {
		v, err := webhook.NewVerifier(tc.secrets, tc.opts...)
		var we *webhook.Error
		if v != nil || !errors.As(err, &we) || we.Op != "new verifier" || we.Field != tc.field || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("NewVerifier: %v, want Field %q", err, tc.field)
		}
	}
}

func TestMemSeen(t *testing.T) {
	ctx := t.Context()
	s := webhook.NewMemSeen(2)
	for _, c := range []struct {
		id         string
		now, until time.Duration
		done       bool // mark it done after the claim
		want       webhook.Claim
		full       bool
	}{
		{"a", 0, 5 * time.Minute, false, webhook.ClaimNew, false},
		{"a", time.Minute, 6 * time.Minute, true, webhook.ClaimPending, false},
		{"a", time.Minute, 6 * time.Minute, false, webhook.ClaimDone, false},
		{"b", time.Minute, 10 * time.Minute, false, webhook.ClaimNew, false},
		{"c", time.Minute, 10 * time.Minute, false, 0, true}, // full: refused, nothing forgotten
		{"a", 2 * time.Minute, 7 * time.Minute, false, webhook.ClaimDone, false},
		{"c", 5 * time.Minute, 10 * time.Minute, false, webhook.ClaimNew, false}, // a expired
		{"a", 5 * time.Minute, 10 * time.Minute, false, 0, true},
		{"b", 5 * time.Minute, 10 * time.Minute, false, webhook.ClaimPending, false},
	} {
		got, err := s.Claim(ctx, c.id, t0.Add(c.now), t0.Add(c.until))
		if got != c.want || errors.Is(err, webhook.ErrSeenFull) != c.full || (err != nil) != c.full {
			t.Errorf("Claim(%s at %v) = %v, %v; want %v, full %v", c.id, c.now, got, err, c.want, c.full)
		}
		if c.done {
			s.Done(ctx, c.id)
		}
	}
	s.Forget(ctx, "b")
	if got, err := s.Claim(ctx, "b", t0.Add(5*time.Minute), t0.Add(11*time.Minute)); got != webhook.ClaimNew || err != nil {
		t.Errorf("after Forget: %v %v", got, err)
	}
	s.Done(ctx, "unknown")
	// Many claims and forgets keep the memory bounded.
	big := webhook.NewMemSeen(100)
	for i := range 100_000 {
		id := strconv.Itoa(i)
		if got, err := big.Claim(ctx, id, t0, t0.Add(time.Hour)); got != webhook.ClaimNew || err != nil {
			t.Fatalf("claim %d: %v %v", i, got, err)
		}
		big.Forget(ctx, id)
	}
	if big.Len() != 0 {
		t.Errorf("Len %d", big.Len())
	}
	if got := fmt.Sprintf("%v %+v %#v %s", s, s, s, s); strings.Contains(got, `"a"`) || strings.Contains(got, "{") {
		t.Errorf("a MemSeen prints %s", got)
	}
}

func TestHandler(t *testing.T) {
	c := &clock{now: t0}
	v := newVerifier(t, c, nil, secretA)
	var fail atomic.Bool
	var got []webhook.Message
	var mu sync.Mutex
	srv := httptest.NewServer(v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, ok := webhook.FromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		if !ok || !bytes.Equal(body, payload(m.ID)) {
			t.Errorf("next got %v %v, body %q", m, ok, body)
		}
		if fail.Load() {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	})))
	defer srv.Close()
	post := func(h http.Header, body []byte) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		for k, vs := range h {
			req.Header[k] = vs
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := payload("req-1-2")
	h := specHeaders("req-1-2", t0, body, secretA)
	fail.Store(true)
	if code := post(h, body); code != 500 {
		t.Errorf("handler failing: %d", code)
	}
	fail.Store(false)
	// The retry is taken once the handler failed; once it succeeded, a
	// retry is acknowledged and not processed again.
	for i, want := range []int{200, 200, 200} {
		if code := post(specHeaders("req-1-2", t0.Add(time.Duration(i)*time.Second), body, secretA), body); code != want {
			t.Errorf("delivery %d: %d, want %d", i+2, code, want)
		}
	}
	// A delivery whose first attempt is still being processed: 409.
	blocked := make(chan struct{})
	release := make(chan struct{})
	srvSlow := httptest.NewServer(v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(blocked)
		<-release
	})))
	defer srvSlow.Close()
	body5 := payload("req-1-5")
	first := make(chan int)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srvSlow.URL, bytes.NewReader(body5))
		for k, vs := range specHeaders("req-1-5", t0, body5, secretA) {
			req.Header[k] = vs
		}
		resp, err := srvSlow.Client().Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-blocked
	if code := post(specHeaders("req-1-5", t0, body5, secretA), body5); code != 409 {
		t.Errorf("retry while the first is processed: %d, want 409", code)
	}
	close(release)
	if code := <-first; code != 200 {
		t.Errorf("first: %d", code)
	}
	if code := post(specHeaders("req-1-3", t0, body, secretB), body); code != 401 {
		t.Errorf("bad signature: %d", code)
	}
	if code := post(specHeaders("req-1-2", t0.Add(-time.Hour), body, secretA), body); code != 401 {
		t.Errorf("stale: %d", code)
	}
	if code := post(http.Header{}, body); code != 400 {
		t.Errorf("no headers: %d", code)
	}
	big := bytes.Repeat([]byte("x"), webhook.DefaultMaxBody+1)
	if code := post(specHeaders("req-1-4", t0, big, secretA), big); code != 413 {
		t.Errorf("too large: %d", code)
	}
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if len(got) != 1 || got[0].ID != "req-1-2" {
		t.Errorf("processed %v", got)
	}
	// A SeenStore that fails: 503.
	v2 := newVerifier(t, c, []webhook.Option{webhook.WithSeen(webhook.NewMemSeen(1))}, secretA)
	srv2 := httptest.NewServer(v2.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv2.Close()
	for i, want := range []int{200, 503} {
		id := "req-2-" + strconv.Itoa(i)
		req, _ := http.NewRequest(http.MethodPost, srv2.URL, bytes.NewReader(payload(id)))
		for k, vs := range specHeaders(id, t0, payload(id), secretA) {
			req.Header[k] = vs
		}
		resp, err := srv2.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("seen-set of one, delivery %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
}

// A Notifier against a Verifier's Handler: the whole way.
func TestNotifierToHandler(t *testing.T) {
	c := &clock{now: t0}
	v := newVerifier(t, c, nil, secretA)
	var got []webhook.Message
	srv := httptest.NewServer(v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := webhook.FromContext(r.Context())
		got = append(got, m)
		w.WriteHeader(http.StatusAccepted)
	})))
	defer srv.Close()
	n, err := webhook.New(webhook.Endpoints{"acme": {URL: srv.URL, Secret: mustSecret(t, secretA)}}, webhook.WithInsecureHTTP(), webhook.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	rn := notice(gdpr.KindRestriction, "acme", "C-1042")
	rn.Ground, rn.Purposes = erasure.GroundObjection, []gdpr.Purpose{"profiling"}
	if err := n.NotifyRecipient(t.Context(), rn); err != nil {
		t.Fatal(err)
	}
	// The engine's retry after a crash before it recorded the outcome: the
	// recipient acknowledges it, and does not process it again.
	c.Set(t0.Add(3 * time.Second))
	if err := n.NotifyRecipient(t.Context(), rn); err != nil {
		t.Errorf("second delivery of one ID: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	m := got[0]
	if m.Type != webhook.TypeRestriction || m.Notice.Ground != erasure.GroundObjection || m.Notice.Article != "Art. 18(1)(d)" ||
		len(m.Notice.Purposes) != 1 || m.Notice.Reference != "C-1042" || m.ID != rn.ID {
		t.Errorf("message %+v", m)
	}
	js, _ := json.Marshal(m.Notice)
	if !strings.Contains(string(js), `"reference":"C-1042"`) {
		t.Errorf("the Notice's JSON lost the reference: %s", js)
	}
}

func TestParseSecret(t *testing.T) {
	for _, s := range []string{vectorSecret, secretA} {
		k, err := webhook.ParseSecret(s)
		if err != nil || k.Expose() != s || k.IsZero() {
			t.Errorf("ParseSecret(%q): %v, Expose %q", s, err, k.Expose())
		}
	}
	b64 := func(n int) string { return "whsec_" + base64Of(bytes.Repeat([]byte{0xa7}, n)) }
	for _, n := range []int{24, 32, 64} {
		if _, err := webhook.ParseSecret(b64(n)); err != nil {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
	for _, s := range []string{
		"", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		b64(23), b64(65), b64(1000),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=",
		"whsec_MfKQ9r8GKYqrTwjUPD8I\nLPZIo2LaLaSw", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_",
		"whsec_" + strings.TrimRight(base64Of(bytes.Repeat([]byte{1}, 32)), "="),
	} {
		k, err := webhook.ParseSecret(s)
		var we *webhook.Error
		if !k.IsZero() || !errors.As(err, &we) || we.Op != "parse secret" || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("ParseSecret(%q) = %v, want ErrInvalid", s, err)
			continue
		}
		if rest := strings.TrimPrefix(s, "whsec_"); len(rest) > 4 {
			noLeak(t, "error", err.Error(), rest[:4])
		}
	}
	a, b := webhook.GenerateSecret(), webhook.GenerateSecret()
	if a.Expose() == b.Expose() || len(a.Expose()) != len("whsec_")+44 {
		t.Errorf("GenerateSecret: %d chars", len(a.Expose()))
	}
	if k, err := webhook.ParseSecret(a.Expose()); err != nil || k.Expose() != a.Expose() {
		t.Errorf("round trip: %v", err)
	}
	if (webhook.Secret{}).Expose() != "" {
		t.Error("the zero secret exposes something")
	}
}

func base64Of(b []byte) string {
	s, _ := json.Marshal(b) // encoding/json writes []byte as standard base64
	return strings.Trim(string(s), `"`)
}

func TestNothingSecretPrints(t *testing.T) {
	sa, so := mustSecret(t, secretA), mustSecret(t, secretOld)
	ep := webhook.Endpoint{URL: "https://canary-user:canary-pass@hooks.example.org/canary-path?token=canary-query", Secret: sa, Previous: []webhook.Secret{so}}
	eps := webhook.Endpoints{"acme": ep}
	n, err := webhook.New(eps)
	if err != nil {
		t.Fatal(err)
	}
	v, err := webhook.NewVerifier([]webhook.Secret{sa, so})
	if err != nil {
		t.Fatal(err)
	}
	notice := webhook.Notice{ID: "n.1", Reference: "CANARY-REF-7781"}
	msg := webhook.Message{ID: "n.1", Notice: notice}
	canaries := []string{
		strings.TrimPrefix(secretA, "whsec_"), strings.TrimPrefix(secretOld, "whsec_"), "canary-secret", "Y2FuYXJ5",
		"canary-user", "canary-pass", "canary-path", "canary-query", "CANARY-REF",
		fmt.Sprint([]byte("canary-secret-A-0123456789abcdef")[:6]), fmt.Sprintf("%x", "canary-secret-A")[:12], "99 97 110 97",
	}
	values := map[string]any{
		"Secret": sa, "*Secret": &sa, "Endpoint": ep, "*Endpoint": &ep, "Endpoints": eps, "Notifier": n, "Verifier": v,
		"Reference": notice.Reference, "Notice": notice, "Message": msg, "*Message": &msg,
		"struct": struct {
			E webhook.Endpoint
			S []webhook.Secret
		}{ep, []webhook.Secret{sa}},
		// Values fmt cannot call Format on: in unexported fields of a
		// host's struct, and the Notifier and Verifier dereferenced.
		"unexported fields": struct {
			name    string
			secret  webhook.Secret
			secrets []webhook.Secret
			n       *webhook.Notifier
			nv      webhook.Notifier
			v       *webhook.Verifier
			vv      webhook.Verifier
		}{"acme", sa, []webhook.Secret{sa, so}, n, *n, v, *v},
		"*Notifier deref": *n, "*Verifier deref": *v,
	}
	for name, x := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"} {
			noLeak(t, name+" under "+verb, fmt.Sprintf(verb, x), canaries...)
		}
	}
	// An Endpoint in an unexported field prints its URL as any string
	// does (it is the host's own configuration, a plain struct), but
	// never its secrets.
	hosted := struct {
		ep  webhook.Endpoint
		pep *webhook.Endpoint
		eps webhook.Endpoints
	}{ep, &ep, eps}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		noLeak(t, "unexported Endpoint under "+verb, fmt.Sprintf(verb, hosted), canaries[:4]...)
		noLeak(t, "unexported Endpoint under "+verb, fmt.Sprintf(verb, hosted), "99 97 110 97", fmt.Sprintf("%x", "secret-A"), fmt.Sprintf("%x", "secret-OLD"))
	}
	if got := fmt.Sprint(ep); got != "webhook.Endpoint(https://hooks.example.org)" {
		t.Errorf("Endpoint prints %q", got)
	}
	if got := fmt.Sprintf("%v|%#v|%q", sa, sa, sa); got != `[secret]|webhook.Secret([secret])|"[secret]"` {
		t.Errorf("Secret prints %q", got)
	}
	if got := fmt.Sprint(n, " ", v, " ", *n, " ", *v); got != "webhook.Notifier(1 endpoints) webhook.Verifier(2 secrets, tolerance 5m0s) webhook.Notifier(1 endpoints) webhook.Verifier(2 secrets, tolerance 5m0s)" {
		t.Errorf("prints %q", got)
	}
	// JSON of a Secret or an Endpoint carries no key either.
	js, _ := json.Marshal(ep)
	noLeak(t, "Endpoint JSON", string(js), canaries[:4]...)
}

// A delivery is accepted up to now − sent == tolerance; its claim must
// outlive that last second, so that a replay of it then is refused.
func TestReplayRefusedAtTheWindowsLastSecond(t *testing.T) {
	c := &clock{now: t0}
	v := newVerifier(t, c, nil, secretA)
	body := payload("req-1-2")
	h := specHeaders("req-1-2", t0, body, secretA)
	if _, err := v.Verify(t.Context(), h, body); err != nil {
		t.Fatal(err)
	}
	if err := v.Done(t.Context(), "req-1-2"); err != nil {
		t.Fatal(err)
	}
	c.Set(t0.Add(5 * time.Minute)) // now − sent == tolerance: not stale
	if _, err := v.Verify(t.Context(), h, body); !errors.Is(err, webhook.ErrDuplicate) {
		t.Errorf("replay at now == sent+tolerance: %v, want ErrDuplicate", err)
	}
}

// Verify reads the clock once: a replay checked just before the window
// ends is claimed at the same time, not a moment later when the first
// claim has expired.
func TestReplayJudgedAtOneClockReading(t *testing.T) {
	var mu sync.Mutex
	var queue []time.Time
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n := queue[0]
		if len(queue) > 1 {
			queue = queue[1:]
		}
		return n
	}
	queue = []time.Time{t0, t0}
	v, err := webhook.NewVerifier([]webhook.Secret{mustSecret(t, secretA)}, webhook.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	body := payload("req-1-2")
	h := specHeaders("req-1-2", t0, body, secretA)
	if _, err := v.Verify(t.Context(), h, body); err != nil {
		t.Fatal(err)
	}
	_ = v.Done(t.Context(), "req-1-2")
	mu.Lock()
	queue = []time.Time{t0.Add(5*time.Minute - time.Millisecond), t0.Add(5*time.Minute + 2*time.Second)}
	mu.Unlock()
	if _, err := v.Verify(t.Context(), h, body); !errors.Is(err, webhook.ErrDuplicate) {
		t.Errorf("replay checked at sent+tol−1ms: %v, want ErrDuplicate", err)
	}
}

// With the receiver's clock ahead of the sender's (within the
// tolerance), a pending claim must last while the message is processed:
// the sender's retry, signed later, is refused (409), not processed
// beside the first.
func TestPendingClaimOutlivesProcessingWhenReceiverAhead(t *testing.T) {
	c := &clock{now: t0.Add(4*time.Minute + 50*time.Second)} // 4m50s ahead of the sender
	v := newVerifier(t, c, nil, secretA)
	var mu sync.Mutex
	active, maxActive := 0, 0
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		active++
		maxActive = max(maxActive, active)
		mu.Unlock()
		entered <- struct{}{}
		<-release
		mu.Lock()
		active--
		mu.Unlock()
	}))
	send := func(sent time.Time) int {
		body := payload("req-1-2")
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		for k, vs := range specHeaders("req-1-2", sent, body, secretA) {
			req.Header[k] = vs
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); send(t0) }()
	<-entered
	c.Set(t0.Add(5*time.Minute + 20*time.Second)) // 30 s on: the sender timed out and retries
	retry := make(chan int, 1)
	wg.Add(1)
	go func() { defer wg.Done(); retry <- send(t0.Add(30 * time.Second)) }()
	select {
	case code := <-retry:
		if code != http.StatusConflict {
			t.Errorf("retry while the first is processed: %d, want 409", code)
		}
	case <-entered:
		t.Errorf("the retry was processed while the first was")
	}
	close(release)
	wg.Wait()
	if maxActive > 1 {
		t.Errorf("%d concurrent deliveries of one webhook-id processed", maxActive)
	}
}

// log/slog's JSON handler encodes a value with encoding/json, past
// Format: Secret, Reference, Endpoint, Notice and Message are LogValuers,
// and an Endpoint marshals masked.
func TestNothingSecretLogsOrMarshals(t *testing.T) {
	sa, so := mustSecret(t, secretA), mustSecret(t, secretOld)
	ep := webhook.Endpoint{URL: "https://canary-user:canary-pass@hooks.example.org/canary-path?token=canary-query", Secret: sa, Previous: []webhook.Secret{so}}
	notice := webhook.Notice{ID: "n-1", Request: "r", Kind: gdpr.KindErasure, Reference: "CANARY-REF-7781", Categories: []string{"orders"}, At: t0}
	msg := webhook.Message{ID: "n-1", Sent: t0, Type: webhook.TypeErasure, Timestamp: t0, Notice: notice}
	canaries := []string{
		strings.TrimPrefix(secretA, "whsec_"), strings.TrimPrefix(secretOld, "whsec_"), "canary-secret", "Y2FuYXJ5",
		"canary-user", "canary-pass", "canary-path", "canary-query", "CANARY-REF",
	}
	for _, newHandler := range []func(io.Writer) slog.Handler{
		func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(newHandler(&buf))
		l.Info("notice", "secret", sa, "secrets", []webhook.Secret{sa, so}, "endpoint", ep, "*endpoint", &ep,
			"endpoints", webhook.Endpoints{"acme": ep}, "reference", notice.Reference,
			"notice", notice, "message", msg, "*message", &msg, slog.Group("g", "message", msg))
		noLeak(t, "slog", buf.String(), canaries...)
		for _, want := range []string{"[secret]", "[reference]", "hooks.example.org", "orders"} {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("slog line lacks %q: %s", want, buf.String())
			}
		}
	}
	js, err := json.Marshal(map[string]any{"endpoint": ep, "endpoints": webhook.Endpoints{"acme": ep}})
	if err != nil {
		t.Fatal(err)
	}
	noLeak(t, "Endpoint JSON", string(js), canaries...)
	if got, _ := json.Marshal(ep); string(got) != `{"URL":"https://hooks.example.org","Secret":"[secret]","Previous":["[secret]"]}` {
		t.Errorf("Endpoint JSON = %s", got)
	}
}

// The spec forbids a '.' in a webhook-id: the signed content is
// id.timestamp.body, so "evt.<ts>" signed over a body "<ts>.{…}" is
// also "evt" over "<ts>.<ts>.{…}". Neither side takes such an ID.
func TestIDWithADotRefused(t *testing.T) {
	c := &clock{now: t0}
	v := newVerifier(t, c, nil, secretA)
	ts := strconv.FormatInt(t0.Unix(), 10)
	id := "evt." + ts
	body := []byte(ts + `.{"x":1}`)
	h := specHeaders(id, t0, body, secretA)
	var we *webhook.Error
	if _, _, err := v.Authenticate(t.Context(), h, body); !errors.Is(err, webhook.ErrInvalid) || !errors.As(err, &we) || we.Field != webhook.HeaderID {
		t.Errorf("Authenticate of an ID with a '.': %v, want ErrInvalid at %s", err, webhook.HeaderID)
	}
	if _, err := v.Verify(t.Context(), h, body); !errors.Is(err, webhook.ErrInvalid) {
		t.Errorf("Verify of an ID with a '.': %v, want ErrInvalid", err)
	}
	rcv := newReceiver(t, ok)
	n, err := webhook.New(webhook.Endpoints{"acme": {URL: rcv.URL, Secret: mustSecret(t, secretA)}}, webhook.WithInsecureHTTP())
	if err != nil {
		t.Fatal(err)
	}
	nt := notice(gdpr.KindErasure, "acme", "C-1")
	nt.ID = "req-1.2"
	if err := n.NotifyRecipient(t.Context(), nt); !errors.Is(err, webhook.ErrInvalid) || !errors.As(err, &we) || we.Field != "ID" {
		t.Errorf("NotifyRecipient of an ID with a '.': %v, want ErrInvalid at ID", err)
	}
	if d := rcv.deliveries(); len(d) != 0 {
		t.Errorf("%d deliveries sent", len(d))
	}
}

// doneFails is a MemSeen whose Done fails, as a shared store that went
// away between the claim and the answer.
type doneFails struct{ *webhook.MemSeen }

func (doneFails) Done(context.Context, string) error { return errors.New("store unreachable") }

// claimFails is a SeenStore that takes no claim.
type claimFails struct{ doneFails }

func (claimFails) Claim(context.Context, string, time.Time, time.Time) (webhook.Claim, error) {
	return 0, errors.New("store unreachable")
}

// If Done fails after next processed a delivery, the claim is forgotten:
// the sender's retry is taken (processed again), not refused with 409
// until the window ends.
func TestHandlerForgetsAClaimItCouldNotMarkDone(t *testing.T) {
	c := &clock{now: t0}
	v := newVerifier(t, c, []webhook.Option{webhook.WithSeen(doneFails{webhook.NewMemSeen(8)})}, secretA)
	calls := 0
	h := v.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
	body := payload("req-1-2")
	for i := range 2 {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		for k, vs := range specHeaders("req-1-2", t0, body, secretA) {
			req.Header[k] = vs
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Errorf("delivery %d: %d, want 200", i, w.Code)
		}
	}
	if calls != 2 {
		t.Errorf("next called %d times, want 2 (the retry taken)", calls)
	}
}

// A SeenStore that fails is a 503 with a Retry-After.
func TestHandler503HasRetryAfter(t *testing.T) {
	c := &clock{now: t0}
	v := newVerifier(t, c, []webhook.Option{webhook.WithSeen(claimFails{})}, secretA)
	h := v.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next called") }))
	body := payload("req-1-2")
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	for k, vs := range specHeaders("req-1-2", t0, body, secretA) {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("%d, Retry-After %q: want 503 with a Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if secs, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After %q, want delay-seconds", w.Header().Get("Retry-After"))
	}
}
