package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Endpoint is where one recipient takes its notices: a URL and the secret
// the deliveries are signed with.
//
// An Endpoint prints its URL as scheme and host only and its secrets
// masked, under every fmt verb, in a log/slog record and in JSON
// (MarshalJSON): the userinfo, path and query of a webhook URL may hold a
// token.
type Endpoint struct {
	// URL is the endpoint, https:// (http:// only with WithInsecureHTTP).
	// Userinfo, if any, is sent as HTTP Basic authentication.
	URL string
	// Secret signs every delivery; required. Unique per endpoint, as the
	// spec asks.
	Secret Secret
	// Previous are secrets being rotated out: each delivery is signed
	// with them too, their signatures listed after the Secret's in the
	// webhook-signature header, until the recipient verifies with the new
	// Secret alone and the host drops them.
	Previous []Secret
}

// String returns "webhook.Endpoint(<scheme>://<host>)".
func (e Endpoint) String() string { return "webhook.Endpoint(" + redact(e.URL) + ")" }

// Format prints String whatever the verb.
func (e Endpoint) Format(f fmt.State, verb rune) { mask(f, verb, e.String(), e.String()) }

// LogValue returns String, for log/slog.
func (e Endpoint) LogValue() slog.Value { return slog.StringValue(e.String()) }

// MarshalJSON writes the Endpoint masked, as it prints: the URL as scheme
// and host only, each secret as "[secret]",
// {"URL":"https://hooks.example.org","Secret":"[secret]","Previous":["[secret]"]}.
// It is for logs and diagnostics; there is no UnmarshalJSON, and a host's
// configuration holds the URL and ParseSecret's input apart.
func (e Endpoint) MarshalJSON() ([]byte, error) {
	type masked struct {
		URL      string
		Secret   string
		Previous []string `json:",omitempty"`
	}
	m := masked{URL: redact(e.URL)}
	if !e.Secret.IsZero() {
		m.Secret = e.Secret.String()
	}
	for range e.Previous {
		m.Previous = append(m.Previous, "[secret]")
	}
	return json.Marshal(m)
}

// Endpoints maps a recipient's name (gdpr.Disclosure.Recipient, as the
// Register names it) to its endpoint.
type Endpoints map[string]Endpoint

// Notifier delivers the engine's Art. 19 notices to the recipients' webhook
// endpoints, signed in the Standard Webhooks scheme. It is an
// erasure.RecipientNotifier, for erasure.WithRecipients, and is safe for
// concurrent use.
//
// Each NotifyRecipient is one attempt: one POST, no retry of its own. The
// request engine records the outcome and retries a failed step with
// exponential backoff and jitter (erasure.WithRetry), and each retry is
// a new attempt under the same webhook-id, signed with a new
// webhook-timestamp.
//
// A Notifier prints as "webhook.Notifier(<n> endpoints)" under every fmt
// verb, a Notifier value (*n) too; its state is held behind a pointer, so
// that where fmt cannot call Format (a Notifier in an unexported field)
// it prints an address, never a URL or a key.
type Notifier struct {
	s sealed[notifierState] // see sealed: fmt prints no URL or key of it
}

// notifierState is a Notifier's configuration, set by New and its options.
type notifierState struct {
	endpoints map[string]endpoint
	client    *http.Client
	timeout   time.Duration
	now       func() time.Time
	insecure  bool
}

// endpoint is an Endpoint checked by New.
type endpoint struct {
	url     string // as given
	show    string // scheme://host, for errors
	secrets []Secret
}

var _ erasure.RecipientNotifier = (*Notifier)(nil)

// New returns a Notifier for the recipients of endpoints (copied; at least
// one). Options: WithClient, WithTimeout, WithInsecureHTTP, WithClock.
// A bad endpoint or option is an *Error of Op "new", wrapping ErrInvalid,
// whose Field names it: `Endpoints["acme"].URL`, `Endpoints["acme"].Secret`,
// "WithTimeout". A secret (current or Previous) on two endpoints is
// refused, the Field naming the second in the order of their names: its
// recipient could sign notices the other would take for the
// controller's. A recipient's name is quoted in a Field only if it looks
// like a name, not like an address or a number.
func New(endpoints Endpoints, opts ...Option) (*Notifier, error) {
	n := &notifierState{timeout: DefaultTimeout, now: time.Now, endpoints: map[string]endpoint{}}
	for _, o := range opts {
		if o == nil {
			return nil, fail("new", "opts", invalidf("nil option"))
		}
		if err := o.notifier(n); err != nil {
			return nil, wrap("new", err)
		}
	}
	if len(endpoints) == 0 {
		return nil, fail("new", "Endpoints", invalidf("no endpoint"))
	}
	names := make([]string, 0, len(endpoints))
	for name := range endpoints {
		names = append(names, name)
	}
	sort.Strings(names)          // the first bad one is always the same
	owner := map[string]string{} // a key → the first endpoint that has it
	for _, name := range names {
		if name == "" {
			return nil, fail("new", `Endpoints[""]`, invalidf("a recipient needs a name"))
		}
		ep, err := n.check(endpoints[name])
		if err != nil {
			field := "Endpoints[" + showName(name) + "]"
			var fe *errs.FieldError
			if errors.As(err, &fe) {
				field += "." + fe.Field
				err = fe.Err
			}
			return nil, fail("new", field, err)
		}
		// One key on two endpoints lets either recipient sign notices
		// the other would take as the controller's.
		for i, sec := range ep.secrets {
			k := string(sec.bytes())
			if other, ok := owner[k]; ok && other != name {
				field := "Endpoints[" + showName(name) + "].Secret"
				if i > 0 {
					field = fmt.Sprintf("Endpoints[%s].Previous[%d]", showName(name), i-1)
				}
				return nil, fail("new", field, invalidf("the secret of another endpoint, Endpoints[%s]; each endpoint needs its own", showName(other)))
			}
			owner[k] = name
		}
		n.endpoints[name] = ep
	}
	if n.client == nil {
		n.client = &http.Client{}
	}
	n.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Notifier{s: seal(n)}, nil
}

// check validates one endpoint; its error is marked with the Endpoint's
// field at fault.
func (n *notifierState) check(e Endpoint) (endpoint, error) {
	u, err := url.Parse(e.URL)
	switch {
	case e.URL == "":
		return endpoint{}, errs.At("URL", invalidf("no URL"))
	case err != nil: // its text would quote the URL
		return endpoint{}, errs.At("URL", invalidf("the URL does not parse"))
	case u.Scheme == "http" && !n.insecure:
		return endpoint{}, errs.At("URL", invalidf("http:// without WithInsecureHTTP; use https://"))
	case u.Scheme != "https" && u.Scheme != "http":
		return endpoint{}, errs.At("URL", invalidf("not an https:// URL"))
	case u.Host == "" || u.Hostname() == "":
		return endpoint{}, errs.At("URL", invalidf("no host"))
	case u.Fragment != "" || strings.Contains(e.URL, "#"):
		return endpoint{}, errs.At("URL", invalidf("a fragment is never sent"))
	case e.Secret.IsZero():
		return endpoint{}, errs.At("Secret", invalidf("zero secret"))
	}
	ep := endpoint{url: e.URL, show: u.Scheme + "://" + u.Host, secrets: []Secret{e.Secret}}
	for i, s := range e.Previous {
		if s.IsZero() {
			return endpoint{}, errs.At(fmt.Sprintf("Previous[%d]", i), invalidf("zero secret"))
		}
		ep.secrets = append(ep.secrets, s)
	}
	return ep, nil
}

// maxDrain is how much of an answer's body a Notifier reads (and
// discards) so that the connection can be reused; the rest is not read.
const maxDrain = 64 << 10

// NotifyRecipient delivers n to its recipient's endpoint: one POST of the
// payload (see the package doc), with the headers webhook-id (n.ID),
// webhook-timestamp (now) and webhook-signature (one v1 signature per
// secret of the endpoint). A 2xx answer is a delivery; any other status
// (redirects are not followed), a timeout, a network or TLS error is an
// error wrapping ErrDelivery, which the engine retries.
//
// A recipient with no endpoint, or with no Reference for the subject, or
// one that is not valid UTF-8 (JSON cannot carry it as it is), is
// refused with an error wrapping erasure.ErrImpossible, saying which (and
// never quoting the reference): the engine records the recipient as not notified, and does not
// try again. A notice that cannot be encoded (no ID, an ID with a '.', no
// time, a kind other than rectification, erasure and restriction, a
// request ID, field, category or purpose that is not valid UTF-8, which
// encoding/json would rewrite) is an error wrapping ErrInvalid. Every error is an *Error of Op "notify"; its text names the
// endpoint by scheme and host only, and never holds a reference.
func (nn *Notifier) NotifyRecipient(ctx context.Context, rn erasure.RecipientNotice) error {
	n := nn.s.get()
	if ctx == nil {
		return fail("notify", "ctx", errNilContext)
	}
	body, err := encode(rn)
	if err != nil {
		return wrap("notify", err)
	}
	ep, ok := n.endpoints[rn.Recipient.Recipient]
	if !ok {
		return fail("notify", "Recipient", because(erasure.ErrImpossible, "no webhook endpoint for this recipient", nil))
	}
	if rn.Recipient.Reference == "" {
		return fail("notify", "Recipient.Reference", because(erasure.ErrImpossible, "no reference of the recipient's for the subject", nil))
	}
	if !utf8.ValidString(rn.Recipient.Reference) {
		// JSON would carry it as another reference (U+FFFD for each bad
		// byte), perhaps another subject's: it cannot be sent as it is.
		return fail("notify", "Recipient.Reference", because(erasure.ErrImpossible, "the recipient's reference for the subject is not valid UTF-8", nil))
	}
	return n.deliver(ctx, ep, rn.ID, body)
}

// deliver makes one attempt.
func (n *notifierState) deliver(ctx context.Context, ep endpoint, id string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	ts := strconv.AppendInt(nil, n.now().Unix(), 10)
	sig := make([]byte, 0, len(ep.secrets)*48)
	for i, s := range ep.secrets {
		if i > 0 {
			sig = append(sig, ' ')
		}
		sig = appendSignature(sig, s.mac(), id, ts, body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil { // not reached: New parsed the URL
		return fail("notify", "", because(ErrDelivery, ep.show+": the request could not be made", nil))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gdprkit-webhook/1")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, string(ts))
	req.Header.Set(HeaderSignature, string(sig))
	resp, err := n.client.Do(req)
	if err != nil {
		return fail("notify", "", because(ErrDelivery, ep.show+": "+n.why(ctx, err), unwrapURL(err)))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &StatusError{Code: resp.StatusCode}
		return fail("notify", "", because(ErrDelivery, ep.show+": "+se.Error(), se))
	}
	return nil
}

// why describes a failed request without quoting the URL (the text of a
// *url.Error holds it, query and all).
func (n *notifierState) why(ctx context.Context, err error) string {
	var (
		ne   net.Error
		cve  *tls.CertificateVerificationError
		uae  x509.UnknownAuthorityError
		hne  x509.HostnameError
		rhe  tls.RecordHeaderError
		derr *net.DNSError
		oerr *net.OpError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne):
		return "TLS certificate not accepted"
	case errors.As(err, &rhe):
		return "not a TLS server"
	case errors.As(err, &derr) && !derr.IsTimeout:
		return "host not found"
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "no answer in time"
	case errors.As(err, &oerr) && oerr.Op == "dial":
		return "connection failed"
	}
	return "request failed"
}

// unwrapURL returns the cause inside a *url.Error, without the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// String returns "webhook.Notifier(<n> endpoints)"; no URL or secret is
// printed.
func (n Notifier) String() string {
	k := 0
	if s := n.s.get(); s != nil {
		k = len(s.endpoints)
	}
	return fmt.Sprintf("webhook.Notifier(%d endpoints)", k)
}

// Format prints String whatever the verb, so that no secret reaches fmt.
func (n Notifier) Format(f fmt.State, verb rune) { mask(f, verb, n.String(), n.String()) }

// redact returns the scheme and host of raw, or "(URL not shown)".
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(URL not shown)"
	}
	return u.Scheme + "://" + u.Host
}

// showName quotes a recipient's name for an error if it reads as the
// name of an organisation: at most 64 bytes of letters, digits, spaces
// and . , & ' ( ) - _ /, without '@' and without a run of 9 digits (an
// account or telephone number). Otherwise it is not shown.
func showName(s string) string {
	if s == "" || len(s) > 64 {
		return errs.NotShown
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			if digits++; digits >= 9 {
				return errs.NotShown
			}
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', strings.IndexByte(" .,&'()-_/", c) >= 0:
		default:
			return errs.NotShown
		}
		if c != '-' && c != '.' && c != ' ' {
			digits = 0
		}
	}
	return strconv.Quote(s)
}
