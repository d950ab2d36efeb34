package webhook

import (
	"net/http"
	"time"

	"github.com/gdprkit/gdpr/internal/errs"
)

// Option configures a Notifier in New or a Verifier in NewVerifier. The
// set of options is closed: only the WithX functions of this package make
// one. Each option says which of the two it configures; New and
// NewVerifier check each option's argument and refuse a bad one, or one
// meant for the other, with an *Error whose Field is the option's name
// (e.g. "WithTimeout"), wrapping ErrInvalid.
type Option interface {
	notifier(*notifierState) error
	verifier(*verifierState) error
}

type option struct {
	name string
	n    func(*notifierState) error // nil: not an option of New
	v    func(*verifierState) error // nil: not an option of NewVerifier
}

func (o option) notifier(n *notifierState) error {
	if o.n == nil {
		return errs.At(o.name, invalidf("an option of NewVerifier, not of New"))
	}
	if err := o.n(n); err != nil {
		return errs.At(o.name, err)
	}
	return nil
}

func (o option) verifier(v *verifierState) error {
	if o.v == nil {
		return errs.At(o.name, invalidf("an option of New, not of NewVerifier"))
	}
	if err := o.v(v); err != nil {
		return errs.At(o.name, err)
	}
	return nil
}

// Defaults.
const (
	// DefaultTimeout bounds one delivery, from the request's start to the
	// end of its response's headers: the spec recommends 15 to 30 s.
	DefaultTimeout = 15 * time.Second
	// DefaultTolerance is how far a delivery's webhook-timestamp may lie
	// from the Verifier's clock, either way.
	DefaultTolerance = 5 * time.Minute
	// DefaultMaxBody is the largest body a Verifier accepts, in bytes.
	// The spec recommends payloads under 20 kB; a notice is well under 1.
	DefaultMaxBody = 256 << 10
	// DefaultSeenCapacity is how many unexpired IDs the default MemSeen
	// of a Verifier holds.
	DefaultSeenCapacity = 1 << 16
)

// WithClient sets the HTTP client of a Notifier's deliveries, e.g. one
// whose Transport goes through an egress proxy that keeps webhooks out of
// internal networks (SSRF; see the package doc), or one with a pinned
// root CA. The client is copied and the copy never follows a redirect
// (CheckRedirect is replaced): a 3xx is a failed delivery. Its own Timeout
// applies beside WithTimeout. Default: a client on
// http.DefaultTransport. For New; nil is an error.
func WithClient(c *http.Client) Option {
	return option{name: "WithClient", n: func(n *notifierState) error {
		if c == nil {
			return invalidf("nil client")
		}
		cc := *c
		n.client = &cc
		return nil
	}}
}

// WithTimeout bounds each delivery: the request, the endpoint's answer
// and the bounded read of its body. A delivery not done in time is an
// ErrDelivery error, which the engine retries. Default: DefaultTimeout
// (15 s). For New; it must be positive.
func WithTimeout(d time.Duration) Option {
	return option{name: "WithTimeout", n: func(n *notifierState) error {
		if d <= 0 {
			return invalidf("non-positive timeout")
		}
		n.timeout = d
		return nil
	}}
}

// WithInsecureHTTP lets endpoints use plain http:// URLs, which New
// refuses otherwise: a notice then travels in clear, its recipient's
// reference for the subject with it (the signature keeps it from being
// altered, not from being read). For tests against httptest.NewServer
// and for networks the host trusts, never across the internet. Default:
// https only. For New.
func WithInsecureHTTP() Option {
	return option{name: "WithInsecureHTTP", n: func(n *notifierState) error {
		n.insecure = true
		return nil
	}}
}

// WithClock sets the source of the current time: for a Notifier, the
// webhook-timestamp of each attempt; for a Verifier, the time the
// tolerance is measured from and seen IDs expire by. Default: time.Now.
// For New and NewVerifier; nil is an error.
func WithClock(now func() time.Time) Option {
	set := func(dst *func() time.Time) error {
		if now == nil {
			return invalidf("nil clock")
		}
		*dst = now
		return nil
	}
	return option{name: "WithClock",
		n: func(n *notifierState) error { return set(&n.now) },
		v: func(v *verifierState) error { return set(&v.now) },
	}
}

// WithTolerance sets how far a delivery's webhook-timestamp may lie from
// the Verifier's clock, in the past or in the future, and so how long an
// accepted ID is remembered against replays. Default: DefaultTolerance
// (5 minutes). For NewVerifier; from 1 second to 24 hours.
func WithTolerance(d time.Duration) Option {
	return option{name: "WithTolerance", v: func(v *verifierState) error {
		if d < time.Second || d > 24*time.Hour {
			return invalidf("tolerance out of 1s..24h")
		}
		v.tolerance = d
		return nil
	}}
}

// WithSeen sets where a Verifier remembers the IDs of accepted deliveries
// against replays: a store shared by every instance of the host (see
// SeenStore), where one instance's memory is not enough. Default: a
// MemSeen of DefaultSeenCapacity IDs, for this Verifier alone. For
// NewVerifier; nil is an error.
func WithSeen(s SeenStore) Option {
	return option{name: "WithSeen", v: func(v *verifierState) error {
		if s == nil {
			return invalidf("nil seen store")
		}
		v.seen = s
		return nil
	}}
}

// WithMaxBody sets the largest body a Verifier accepts, in bytes; its
// Handler reads no more than that. Default: DefaultMaxBody (256 KiB). For
// NewVerifier; from 1 KiB to 64 MiB.
func WithMaxBody(n int) Option {
	return option{name: "WithMaxBody", v: func(v *verifierState) error {
		if n < 1<<10 || n > 64<<20 {
			return invalidf("maximum body out of 1 KiB..64 MiB")
		}
		v.maxBody = n
		return nil
	}}
}
