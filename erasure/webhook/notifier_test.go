package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/webhook"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Secrets of the tests, as the spec serialises them.
const (
	secretA   = "whsec_Y2FuYXJ5LXNlY3JldC1BLTAxMjM0NTY3ODlhYmNkZWY=" // "canary-secret-A-0123456789abcdef"
	secretOld = "whsec_Y2FuYXJ5LXNlY3JldC1PTEQtMDEyMzQ1Njc4OWFiY2Q=" // "canary-secret-OLD-0123456789abcd"
	secretB   = "whsec_Y2FuYXJ5LXNlY3JldC1CLTAxMjM0NTY3ODlhYmNkZWY=" // "canary-secret-B-0123456789abcdef"
)

func mustSecret(t testing.TB, s string) webhook.Secret {
	t.Helper()
	k, err := webhook.ParseSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// delivery is one request a test server received.
type delivery struct {
	header http.Header
	body   []byte
	url    *url.URL
	user   string
	pass   string
}

// receiver is an httptest server that records every delivery and answers
// with the status code() gives.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []delivery
	code func(n int) int // n: the number of the delivery, from 1
}

func newReceiver(t *testing.T, code func(n int) int) *receiver {
	r := &receiver{code: code}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		u, p, _ := req.BasicAuth()
		r.mu.Lock()
		r.got = append(r.got, delivery{header: req.Header.Clone(), body: body, url: req.URL, user: u, pass: p})
		n := len(r.got)
		r.mu.Unlock()
		w.WriteHeader(r.code(n))
		io.WriteString(w, "echo of the body: "+string(body)) // never quoted by the Notifier
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func ok(int) int { return http.StatusOK }

// notice returns a notice of kind to the recipient named name with the
// reference ref.
func notice(kind gdpr.RequestKind, name, ref string) erasure.RecipientNotice {
	return erasure.RecipientNotice{
		ID: "0190a3b2-7d1e-7f00-8a2b-123456789012-3", Kind: kind, Request: "0190a3b2-7d1e-7f00-8a2b-123456789012",
		Recipient: gdpr.Disclosure{Recipient: name, Kind: gdpr.Processor, Reference: ref, Categories: []string{"contact"}, At: t0.Add(-time.Hour)},
		At:        t0,
	}
}

// noLeak fails if s holds any of the canaries.
func noLeak(t *testing.T, what, s string, canaries ...string) {
	t.Helper()
	for _, c := range canaries {
		if c != "" && strings.Contains(s, c) {
			t.Errorf("%s holds %q: %s", what, c, s)
		}
	}
}

func TestDeliverySignedAsTheSpecSays(t *testing.T) {
	rcv := newReceiver(t, ok)
	n, err := webhook.New(webhook.Endpoints{
		"Acme Mail": {URL: rcv.URL + "/hooks/gdpr", Secret: mustSecret(t, secretA), Previous: []webhook.Secret{mustSecret(t, secretOld)}},
	}, webhook.WithInsecureHTTP(), webhook.WithClock(func() time.Time { return t0.Add(90 * time.Second) }))
	if err != nil {
		t.Fatal(err)
	}
	rn := notice(gdpr.KindErasure, "Acme Mail", "C-1042")
	if err := n.NotifyRecipient(t.Context(), rn); err != nil {
		t.Fatal(err)
	}
	got := rcv.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	d := got[0]
	if d.url.Path != "/hooks/gdpr" {
		t.Errorf("path %q", d.url.Path)
	}
	if id := d.header.Get("webhook-id"); id != rn.ID {
		t.Errorf("webhook-id %q, want the notice's ID %q", id, rn.ID)
	}
	if ts := d.header.Get("webhook-timestamp"); ts != "1772442090" {
		t.Errorf("webhook-timestamp %q, want the attempt's Unix seconds 1772442090", ts)
	}
	if ct := d.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	sigs := strings.Split(d.header.Get("webhook-signature"), " ")
	if len(sigs) != 2 {
		t.Fatalf("webhook-signature %q: want one signature per secret", sigs)
	}
	now := t0.Add(90 * time.Second)
	for _, s := range []string{secretA, secretOld} {
		if err := specVerify(s, d.header, d.body, now, 5*time.Minute); err != nil {
			t.Errorf("the spec's verifier refuses the delivery under one of the endpoint's secrets: %v", err)
		}
	}
	if err := specVerify(secretB, d.header, d.body, now, 5*time.Minute); !errors.Is(err, errSpecSignature) {
		t.Errorf("another secret's verifier: %v, want no matching signature", err)
	}
	// The current secret's signature comes first.
	if want := specSignature(secretA, rn.ID, "1772442090", d.body); sigs[0] != want {
		t.Errorf("first signature %q, want the current secret's %q", sigs[0], want)
	}
}

func TestPayload(t *testing.T) {
	rcv := newReceiver(t, ok)
	n, err := webhook.New(webhook.Endpoints{"acme": {URL: rcv.URL, Secret: mustSecret(t, secretA)}}, webhook.WithInsecureHTTP())
	if err != nil {
		t.Fatal(err)
	}
	rect := notice(gdpr.KindRectification, "acme", "C-1042")
	rect.Fields = []string{"crm.address", "crm.phone"}
	rest := notice(gdpr.KindRestriction, "acme", "C-1042")
	rest.Ground, rest.Purposes = erasure.GroundAccuracy, []gdpr.Purpose{"newsletter", "profiling"}
	restNone := notice(gdpr.KindRestriction, "acme", "C-1042")
	for _, c := range []struct {
		rn   erasure.RecipientNotice
		want string
	}{
		{notice(gdpr.KindErasure, "acme", "C-1042"), `{"type":"gdpr.erasure","timestamp":"2026-03-02T09:00:00Z","data":{"id":"0190a3b2-7d1e-7f00-8a2b-123456789012-3","request":"0190a3b2-7d1e-7f00-8a2b-123456789012","kind":"erasure","article":"Art. 17(1)","reference":"C-1042","at":"2026-03-02T09:00:00Z"}}`},
		{rect, `{"type":"gdpr.rectification","timestamp":"2026-03-02T09:00:00Z","data":{"id":"0190a3b2-7d1e-7f00-8a2b-123456789012-3","request":"0190a3b2-7d1e-7f00-8a2b-123456789012","kind":"rectification","article":"Art. 16","reference":"C-1042","fields":["crm.address","crm.phone"],"at":"2026-03-02T09:00:00Z"}}`},
		{rest, `{"type":"gdpr.restriction","timestamp":"2026-03-02T09:00:00Z","data":{"id":"0190a3b2-7d1e-7f00-8a2b-123456789012-3","request":"0190a3b2-7d1e-7f00-8a2b-123456789012","kind":"restriction","article":"Art. 18(1)(a)","reference":"C-1042","ground":"accuracy_contested","purposes":["newsletter","profiling"],"at":"2026-03-02T09:00:00Z"}}`},
		{restNone, `{"type":"gdpr.restriction","timestamp":"2026-03-02T09:00:00Z","data":{"id":"0190a3b2-7d1e-7f00-8a2b-123456789012-3","request":"0190a3b2-7d1e-7f00-8a2b-123456789012","kind":"restriction","article":"Art. 18(1)","reference":"C-1042","at":"2026-03-02T09:00:00Z"}}`},
	} {
		if err := n.NotifyRecipient(t.Context(), c.rn); err != nil {
			t.Fatal(err)
		}
		got := rcv.deliveries()
		if body := string(got[len(got)-1].body); body != c.want {
			t.Errorf("%s payload\n got %s\nwant %s", c.rn.Kind, body, c.want)
		}
	}
	// A time in another zone is sent in UTC; fields and purposes of other
	// kinds are not sent.
	other := notice(gdpr.KindErasure, "acme", "C-1042")
	other.At = t0.In(time.FixedZone("CET", 3600)).Add(500 * time.Millisecond)
	other.Fields, other.Purposes, other.Ground = []string{"crm.address"}, []gdpr.Purpose{"x"}, erasure.GroundAccuracy
	if err := n.NotifyRecipient(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	got := rcv.deliveries()
	body := string(got[len(got)-1].body)
	if !strings.Contains(body, `"timestamp":"2026-03-02T09:00:00.5Z"`) || strings.Contains(body, "crm.address") || strings.Contains(body, "accuracy") {
		t.Errorf("erasure payload %s", body)
	}
}

// The canary: a subject's notices to two recipients carry each its own
// reference alone, and nothing of the subject.
func TestPayloadCarriesOnlyTheRecipientsOwnReference(t *testing.T) {
	const (
		subject = "canary-subject-ann@example.org"
		refA    = "CANARY-REF-A-7781"
		refB    = "CANARY-REF-B-9912"
		value   = "Canary Street 1"
	)
	rcvA, rcvB := newReceiver(t, ok), newReceiver(t, ok)
	n, err := webhook.New(webhook.Endpoints{
		"acme":   {URL: rcvA.URL, Secret: mustSecret(t, secretA)},
		"globex": {URL: rcvB.URL, Secret: mustSecret(t, secretB)},
	}, webhook.WithInsecureHTTP())
	if err != nil {
		t.Fatal(err)
	}
	// What the engine has: the subject's disclosures, with the references.
	disclosures := gdpr.DisclosuresFunc(func(_ context.Context, s gdpr.SubjectID) ([]gdpr.Disclosure, error) {
		if s != subject {
			t.Fatalf("disclosures of another subject")
		}
		return []gdpr.Disclosure{
			{Recipient: "acme", Kind: gdpr.Processor, Reference: refA},
			{Recipient: "globex", Kind: gdpr.ThirdParty, Reference: refB},
		}, nil
	})
	ds, _ := disclosures.Disclosures(t.Context(), subject)
	for _, kind := range []gdpr.RequestKind{gdpr.KindRectification, gdpr.KindErasure, gdpr.KindRestriction} {
		for _, d := range ds {
			rn := erasure.RecipientNotice{ID: "req-1-" + d.Recipient, Kind: kind, Request: "req-1", Recipient: d,
				Fields: []string{"crm.street"}, Ground: erasure.GroundUnlawful, At: t0}
			if err := n.NotifyRecipient(t.Context(), rn); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(r *receiver, own, other string) {
		for _, d := range r.deliveries() {
			body := string(d.body)
			noLeak(t, "payload", body, subject, "ann", "example.org", value, other)
			if strings.Count(body, own) != 1 {
				t.Errorf("payload %s: want the recipient's own reference once", body)
			}
			for k, vs := range d.header {
				noLeak(t, "header "+k, strings.Join(vs, " "), subject, own, other)
			}
			// Nothing but the documented keys.
			var p struct {
				Type, Timestamp string
				Data            map[string]any
			}
			if err := json.Unmarshal(d.body, &p); err != nil {
				t.Fatal(err)
			}
			for k := range p.Data {
				if !slices.Contains([]string{"id", "request", "kind", "article", "reference", "fields", "ground", "purposes", "at"}, k) {
					t.Errorf("payload key %q", k)
				}
			}
		}
	}
	check(rcvA, refA, refB)
	check(rcvB, refB, refA)
}

func TestRecipientDownThenUp(t *testing.T) {
	const down = 3
	rcv := newReceiver(t, func(n int) int {
		if n <= down {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	u, _ := url.Parse(rcv.URL + "/canary-path-token?token=canary-query-token")
	u.User = url.UserPassword("canary-user", "canary-pass")
	now := t0
	n, err := webhook.New(webhook.Endpoints{"acme": {URL: u.String(), Secret: mustSecret(t, secretA)}},
		webhook.WithInsecureHTTP(), webhook.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	rn := notice(gdpr.KindErasure, "acme", "CANARY-REF-7781")
	// The engine retries the step with backoff: each call is one attempt.
	for i := range down + 1 {
		now = t0.Add(time.Duration(i) * 7 * time.Second)
		err := n.NotifyRecipient(t.Context(), rn)
		if i < down {
			var se *webhook.StatusError
			var we *webhook.Error
			switch {
			case err == nil:
				t.Fatalf("attempt %d: delivered while the recipient answers 503", i+1)
			case !errors.Is(err, webhook.ErrDelivery) || errors.Is(err, erasure.ErrImpossible):
				t.Errorf("attempt %d: %v, want ErrDelivery and not ErrImpossible", i+1, err)
			case !errors.As(err, &se) || se.Code != 503:
				t.Errorf("attempt %d: no *StatusError 503 in %v", i+1, err)
			case !errors.As(err, &we) || we.Op != "notify":
				t.Errorf("attempt %d: not an *Error of Op notify: %v", i+1, err)
			}
			if want := "webhook notify: delivery failed: " + strings.TrimSuffix(rcv.URL, "/") + ": status 503"; err.Error() != want {
				t.Errorf("text %q, want %q", err, want)
			}
			noLeak(t, "error", err.Error(), "canary", "token", "CANARY-REF", "echo")
			continue
		}
		if err != nil {
			t.Fatalf("attempt %d, recipient up: %v", i+1, err)
		}
	}
	got := rcv.deliveries()
	if len(got) != down+1 {
		t.Fatalf("%d deliveries, want %d", len(got), down+1)
	}
	v, err := webhook.NewVerifier([]webhook.Secret{mustSecret(t, secretA)}, webhook.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range got {
		if id := d.header.Get("webhook-id"); id != rn.ID {
			t.Errorf("attempt %d: webhook-id %q, want %q on every attempt", i+1, id, rn.ID)
		}
		if ts, want := d.header.Get("webhook-timestamp"), t0.Add(time.Duration(i)*7*time.Second).Unix(); ts != strconv.FormatInt(want, 10) {
			t.Errorf("attempt %d: webhook-timestamp %s, want the attempt's own %d", i+1, ts, want)
		}
		if !slices.Equal(d.body, got[0].body) {
			t.Errorf("attempt %d: another body", i+1)
		}
		if d.user != "canary-user" || d.pass != "canary-pass" || d.url.Query().Get("token") != "canary-query-token" {
			t.Errorf("attempt %d: userinfo or query not sent: %q %v", i+1, d.user, d.url)
		}
	}
	// The recipient processes the last attempt once.
	last := got[len(got)-1]
	if _, err := v.Verify(t.Context(), last.header, last.body); err != nil {
		t.Fatal(err)
	}
}

func TestDeliveryFailures(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release) // before Close, which waits for the handler
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	tlsServer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsServer.Close()

	s := webhook.GenerateSecret // each endpoint its own
	n, err := webhook.New(webhook.Endpoints{
		"slow":     {URL: slow.URL + "/?token=canary-query", Secret: s()},
		"redirect": {URL: redirect.URL, Secret: s()},
		"closed":   {URL: closedURL + "/?token=canary-query", Secret: s()},
		"tls":      {URL: tlsServer.URL + "/?token=canary-query", Secret: s()},
		"plain":    {URL: strings.Replace(plain.URL, "http:", "https:", 1) + "/?token=canary-query", Secret: s()},
	}, webhook.WithInsecureHTTP(), webhook.WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"slow": "no answer in time", "redirect": "status 307", "closed": "connection failed",
		"tls": "TLS certificate not accepted", "plain": "request failed",
	} {
		err := n.NotifyRecipient(t.Context(), notice(gdpr.KindErasure, name, "CANARY-REF"))
		if !errors.Is(err, webhook.ErrDelivery) || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%s: %v, want ErrDelivery ending %q", name, err, want)
		}
		if err != nil {
			noLeak(t, name+" error", err.Error(), "canary", "CANARY", "elsewhere")
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := n.NotifyRecipient(ctx, notice(gdpr.KindErasure, "slow", "r")); !errors.Is(err, context.Canceled) || !errors.Is(err, webhook.ErrDelivery) {
		t.Errorf("cancelled: %v, want ErrDelivery wrapping context.Canceled", err)
	}
	// The endpoint's own client, with its CA: accepted.
	n2, err := webhook.New(webhook.Endpoints{"tls": {URL: tlsServer.URL, Secret: s()}}, webhook.WithClient(tlsServer.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if err := n2.NotifyRecipient(t.Context(), notice(gdpr.KindErasure, "tls", "r")); err != nil {
		t.Errorf("https with the server's CA: %v", err)
	}
}

func TestImpossible(t *testing.T) {
	rcv := newReceiver(t, ok)
	n, err := webhook.New(webhook.Endpoints{"acme": {URL: rcv.URL, Secret: mustSecret(t, secretA)}}, webhook.WithInsecureHTTP())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rn    erasure.RecipientNotice
		field string
		text  string
	}{
		{notice(gdpr.KindErasure, "Initech Payroll", "CANARY-REF-1"), "Recipient", "no webhook endpoint for this recipient"},
		{notice(gdpr.KindErasure, "acme", ""), "Recipient.Reference", "no reference of the recipient's for the subject"},
		// JSON would carry "C-\xff" and "C-\xfe" as one reference, "C-\uFFFD".
		{notice(gdpr.KindErasure, "acme", "CANARY-REF-\xff"), "Recipient.Reference", "the recipient's reference for the subject is not valid UTF-8"},
		{notice(gdpr.KindErasure, "acme", "CANARY-REF-\xfe"), "Recipient.Reference", "the recipient's reference for the subject is not valid UTF-8"},
	} {
		err := n.NotifyRecipient(t.Context(), c.rn)
		var we *webhook.Error
		if !errors.Is(err, erasure.ErrImpossible) || errors.Is(err, webhook.ErrDelivery) || !errors.As(err, &we) || we.Field != c.field {
			t.Errorf("%v: want erasure.ErrImpossible with Field %q", err, c.field)
			continue
		}
		if !strings.HasSuffix(err.Error(), c.text) {
			t.Errorf("text %q, want the reason %q", err, c.text)
		}
		noLeak(t, "error", err.Error(), "CANARY", "Initech")
	}
	if len(rcv.deliveries()) != 0 {
		t.Error("an impossible notice was sent")
	}
}

func TestNotifyRefusesBadNotices(t *testing.T) {
	n, err := webhook.New(webhook.Endpoints{"acme": {URL: "https://hooks.example.org/x", Secret: mustSecret(t, secretA)}})
	if err != nil {
		t.Fatal(err)
	}
	good := notice(gdpr.KindErasure, "acme", "CANARY-REF")
	for field, mut := range map[string]func(*erasure.RecipientNotice){
		"ID":      func(n *erasure.RecipientNotice) { n.ID = "" },
		"ID ":     func(n *erasure.RecipientNotice) { n.ID = "a b" },
		"ID\n":    func(n *erasure.RecipientNotice) { n.ID = "a\nwebhook-id: x" },
		"Request": func(n *erasure.RecipientNotice) { n.Request = "" },
		"At":      func(n *erasure.RecipientNotice) { n.At = time.Time{} },
		"At ":     func(n *erasure.RecipientNotice) { n.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"Kind":    func(n *erasure.RecipientNotice) { n.Kind = gdpr.KindAccess },
		"Kind ":   func(n *erasure.RecipientNotice) { n.Kind = "ann@example.org" },
		"Ground":  func(n *erasure.RecipientNotice) { n.Kind, n.Ground = gdpr.KindRestriction, "ann@example.org" },
		// encoding/json would write U+FFFD for the bad byte, silently.
		"Request ":      func(n *erasure.RecipientNotice) { n.Request = "r-\xff" },
		"Categories[1]": func(n *erasure.RecipientNotice) { n.Categories = []string{"orders", "ann\xff"} },
		"Fields[0]":     func(n *erasure.RecipientNotice) { n.Kind, n.Fields = gdpr.KindRectification, []string{"crm.\xfe"} },
		"Purposes[0]":   func(n *erasure.RecipientNotice) { n.Kind, n.Purposes = gdpr.KindRestriction, []gdpr.Purpose{"ann\xc3"} },
	} {
		rn := good
		mut(&rn)
		err := n.NotifyRecipient(t.Context(), rn)
		var we *webhook.Error
		if !errors.Is(err, webhook.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) || !errors.As(err, &we) || we.Field != strings.TrimSpace(field) || we.Op != "notify" {
			t.Errorf("%q: %v, want ErrInvalid with Field %q", field, err, strings.TrimSpace(field))
			continue
		}
		noLeak(t, "error", err.Error(), "CANARY", "ann@", "\xff", "\xfe", "\xc3")
	}
	//lint:ignore SA1012 a nil context is what is tested
	if err := n.NotifyRecipient(nil, good); !errors.Is(err, webhook.ErrInvalid) {
		t.Errorf("nil context: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	s := mustSecret(t, secretA)
	good := webhook.Endpoint{URL: "https://hooks.example.org/x", Secret: s}
	for _, c := range []struct {
		eps   webhook.Endpoints
		opts  []webhook.Option
		field string
	}{
		{nil, nil, "Endpoints"},
		{webhook.Endpoints{}, nil, "Endpoints"},
		{webhook.Endpoints{"acme": {URL: "http://canary-user:canary-pass@hooks.example.org/x?token=canary-query", Secret: s}}, nil, `Endpoints["acme"].URL`},
		{webhook.Endpoints{"acme": {URL: "ftp://hooks.example.org/x?token=canary-query", Secret: s}}, nil, `Endpoints["acme"].URL`},
		{webhook.Endpoints{"acme": {URL: "hooks.example.org/x?token=canary-query", Secret: s}}, nil, `Endpoints["acme"].URL`},
		{webhook.Endpoints{"acme": {URL: "https://canary-user:canary%zz@hooks.example.org/?token=canary-query", Secret: s}}, nil, `Endpoints["acme"].URL`},
		{webhook.Endpoints{"acme": {URL: "https:///canary-path", Secret: s}}, nil, `Endpoints["acme"].URL`},
		{webhook.Endpoints{"acme": {URL: "https://hooks.example.org/x#canary", Secret: s}}, nil, `Endpoints["acme"].URL`},
		{webhook.Endpoints{"acme": {URL: ""}}, nil, `Endpoints["acme"].URL`},
		{webhook.Endpoints{"acme": {URL: good.URL}}, nil, `Endpoints["acme"].Secret`},
		{webhook.Endpoints{"acme": {URL: good.URL, Secret: s, Previous: []webhook.Secret{s, {}}}}, nil, `Endpoints["acme"].Previous[1]`},
		{webhook.Endpoints{"": good}, nil, `Endpoints[""]`},
		{webhook.Endpoints{"ann@example.org": {URL: "http://x.example/?token=canary-query", Secret: s}}, nil, `Endpoints[(value not shown)].URL`},
		// One key on two endpoints: either recipient could forge the
		// other's notices. The same key parsed twice is the same key.
		{webhook.Endpoints{"acme": good, "bolt": {URL: "https://b.example/", Secret: s}}, nil, `Endpoints["bolt"].Secret`},
		{webhook.Endpoints{"acme": good, "bolt": {URL: "https://b.example/", Secret: mustSecret(t, secretA)}}, nil, `Endpoints["bolt"].Secret`},
		{webhook.Endpoints{"acme": good, "bolt": {URL: "https://b.example/", Secret: mustSecret(t, secretB), Previous: []webhook.Secret{mustSecret(t, secretOld), s}}}, nil, `Endpoints["bolt"].Previous[1]`},
		{webhook.Endpoints{"acme": {URL: good.URL, Secret: mustSecret(t, secretB), Previous: []webhook.Secret{s}}, "bolt": {URL: "https://b.example/", Secret: s}}, nil, `Endpoints["bolt"].Secret`},
		{webhook.Endpoints{"acme": good}, []webhook.Option{webhook.WithClient(nil)}, "WithClient"},
		{webhook.Endpoints{"acme": good}, []webhook.Option{webhook.WithTimeout(0)}, "WithTimeout"},
		{webhook.Endpoints{"acme": good}, []webhook.Option{webhook.WithClock(nil)}, "WithClock"},
		{webhook.Endpoints{"acme": good}, []webhook.Option{webhook.WithTolerance(time.Minute)}, "WithTolerance"},
		{webhook.Endpoints{"acme": good}, []webhook.Option{webhook.WithSeen(webhook.NewMemSeen(1))}, "WithSeen"},
		{webhook.Endpoints{"acme": good}, []webhook.Option{nil}, "opts"},
	} {
		n, err := webhook.New(c.eps, c.opts...)
		var we *webhook.Error
		if n != nil || !errors.As(err, &we) || we.Op != "new" || we.Field != c.field || !errors.Is(err, webhook.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("New(%v): %v, want an *Error of Op new, Field %s, wrapping ErrInvalid", c.eps, err, c.field)
			continue
		}
		noLeak(t, "error", err.Error(), "canary", "ann@")
	}
	// Each endpoint with its own keys is accepted, a key listed twice on
	// one endpoint too.
	if _, err := webhook.New(webhook.Endpoints{"acme": {URL: good.URL, Secret: s, Previous: []webhook.Secret{s}}, "bolt": {URL: "https://b.example/", Secret: mustSecret(t, secretB)}}); err != nil {
		t.Errorf("New of two endpoints with their own secrets: %v", err)
	}
	// http is refused unless allowed, also for loopback.
	if _, err := webhook.New(webhook.Endpoints{"acme": {URL: "http://127.0.0.1:8080/", Secret: s}}); !errors.Is(err, webhook.ErrInvalid) {
		t.Errorf("http without WithInsecureHTTP: %v", err)
	}
	if _, err := webhook.New(webhook.Endpoints{"acme": {URL: "http://127.0.0.1:8080/", Secret: s}}, webhook.WithInsecureHTTP()); err != nil {
		t.Errorf("http with WithInsecureHTTP: %v", err)
	}
	// The caller's client is copied, not changed.
	c := &http.Client{}
	if _, err := webhook.New(webhook.Endpoints{"acme": good}, webhook.WithClient(c)); err != nil || c.CheckRedirect != nil {
		t.Errorf("WithClient changed the caller's client (%v)", err)
	}
}
