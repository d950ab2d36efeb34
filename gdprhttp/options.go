package gdprhttp

import (
	"html/template"
	"log/slog"
	"net/http"
	"net/textproto"

	"github.com/gdprkit/gdpr/internal/errs"
)

// Option configures an UnsubscribeHandler (NewUnsubscribeHandler) or a
// ConfirmHandler (NewConfirmHandler); every option here applies to
// both. Options are made only by this package's WithX functions; each
// checks its argument in the constructor, which fails with an *OpError
// whose Field is the option's name.
type Option interface{ apply(*settings) error }

type option struct {
	name string
	fn   func(*settings) error
}

func (o option) apply(s *settings) error {
	if err := o.fn(s); err != nil {
		return errs.At(o.name, err)
	}
	return nil
}

type settings struct {
	tmpl     *template.Template // nil for the default pages
	logger   *slog.Logger
	ipHeader string // canonical; "" for RemoteAddr
}

func newSettings(opts []Option) (settings, error) {
	s := settings{logger: slog.Default()}
	for _, o := range opts {
		if o == nil {
			return s, errs.At("opts", invalid("nil option", nil))
		}
		if err := o.apply(&s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// WithTemplate sets the template of the handler's pages, for the host's
// own brand and language: t is executed with a Page for every answer
// (Page.Kind says which), and must write a whole HTML document. The
// constructor executes it once for every kind of page, and refuses it
// (wrapping ErrInvalid) if any fails. Keep to the rules in Page's doc: a
// page that asks for the POST shows Page.Form as a form with method
// "post" and no action, so that it posts to the page's own URL, token
// included; and no inline script or style, so a strict
// Content-Security-Policy holds. The handler sets no
// Content-Security-Policy on pages of t (the host's own, with its
// stylesheets, applies). Default: the package's English pages, which
// need no style or script at all. nil is an error.
func WithTemplate(t *template.Template) Option {
	return option{"WithTemplate", func(s *settings) error {
		if t == nil {
			return invalid("nil template", nil)
		}
		s.tmpl = t
		return nil
	}}
}

// WithLogger sets where the handler logs the failures that are the
// server's (a 5xx, a Recorder that failed after the choice was
// recorded): the message, the route pattern (r.Pattern), the status and
// the error's text, which the module's errors keep free of personal data.
// Never the URL, its query (the token) or a header. Refused requests
// (bad tokens, wrong methods) are not logged: mail scanners and bots
// send many. Default: slog.Default(). nil is an error.
func WithLogger(l *slog.Logger) Option {
	return option{"WithLogger", func(s *settings) error {
		if l == nil {
			return invalid("nil logger", nil)
		}
		s.logger = l
		return nil
	}}
}

// WithClientIPHeader names the header in which the host's own reverse
// proxy passes the client's address, for the network prefix of the
// evidence (consent.Evidence.IPPrefix, truncated by consent.TruncateIP).
// Only the last address in the header's last line is read: the one the
// nearest proxy set or appended; a client can write anything before it.
// "Forwarded" is read as RFC 7239 (the for= of its last element);
// any other name (X-Forwarded-For, X-Real-IP, CF-Connecting-IP…) as a
// comma-separated list of addresses, each optionally with a port, an
// IPv6 address optionally in brackets. A request without the header, or
// whose last entry is not an address (an obfuscated identifier,
// "unknown"), gives evidence without a network: the connection's own
// address is the proxy's, not the subject's.
//
// Name only a header the proxy in front of every instance always
// overwrites or appends to; behind no proxy, do not use this option.
// Default: the address of r.RemoteAddr. The name must be a valid header
// field name.
func WithClientIPHeader(name string) Option {
	return option{"WithClientIPHeader", func(s *settings) error {
		if !isToken(name) {
			return invalid("not a header field name", nil)
		}
		s.ipHeader = textproto.CanonicalMIMEHeaderKey(name)
		if s.ipHeader == http.CanonicalHeaderKey("Host") {
			return invalid("the Host header holds no client address", nil)
		}
		return nil
	}}
}
