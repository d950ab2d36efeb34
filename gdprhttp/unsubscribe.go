package gdprhttp

import (
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/internal/errs"
)

// UnsubscribeHandler serves the unsubscribe links of bulk messages
// (RFC 8058 one-click included) over a consent.Ledger: withdrawal as
// easy as giving (Art. 7(3)), and the objection to direct marketing
// (Art. 21(2)–(3)) on the occasion of each message (ePrivacy Directive
// Art. 13(2)). The link is UnsubscribeURL's: the token of
// Ledger.UnsubscribeToken in the query parameter TokenParam.
//
// A GET or HEAD changes nothing: it answers a page (PageUnsubscribe)
// whose button POSTs List-Unsubscribe=One-Click to the same URL. Mail
// security scanners and link previews fetch every link of a message, so
// an unsubscribe on GET would unsubscribe people who never asked. The
// Ledger is not called on a GET: the page is answered for any token of
// the right shape, and one of another shape gets PageInvalidLink (400).
//
// A POST whose body is List-Unsubscribe=One-Click, as
// application/x-www-form-urlencoded or multipart/form-data (RFC 8058
// §3.1), calls Ledger.Unsubscribe with the token and evidence of the
// request (see ConfirmHandler for what it holds) and answers
// PageUnsubscribed (200). This is the mail provider's one-click POST
// and the page's own button alike. Unsubscribing again is harmless: the
// same page answers. An unknown, forged or malformed token is
// PageInvalidLink (400), an expired one PageExpiredLink (410); a POST
// without that body is PageError 400, one over MaxBodyBytes 413, one in
// another encoding 415; another method is PageError 405 with an Allow
// header. Nothing is written to the Ledger then. A failure of the
// Ledger's is PageError 500 (503 when a deadline ran out), logged
// (WithLogger); a withdrawal the Ledger recorded but whose audit record
// failed is answered PageUnsubscribed, since the stop stands and the
// Ledger drains the record later (consent.Ledger.DrainAudit), and
// logged as a warning.
//
// Every answer carries Cache-Control: no-store, Referrer-Policy:
// no-referrer, X-Content-Type-Options: nosniff and, unless it has one
// already, X-Frame-Options: DENY; the default pages also a strict
// Content-Security-Policy unless the answer has one already. No page,
// error or log line holds the token.
//
// # Cross-origin protection
//
// The one-click POST comes from the mail provider, not from a page of
// the host's: with no session cookie, no CSRF token of the host's, and,
// when a webmail client sends it from the reader's browser, an Origin or
// Sec-Fetch-Site that is not the host's. Exempt the handler's POST from
// every CSRF and cross-origin check, e.g. with Go's
// http.CrossOriginProtection:
//
//	cop := http.NewCrossOriginProtection()
//	cop.AddInsecureBypassPattern("POST /unsubscribe")
//
// That is safe here, and only here: the token is the authority (it names
// the subject, purpose and channel, sealed under the host's key, so no
// one forges one or changes what it says), not the browser's cookies,
// so a cross-site request cannot borrow the subject's session to do
// anything; and the action is idempotent and only ever stops processing
// (a withdrawal or an objection), so a replayed or forced request does
// no harm the token's holder could not do with one click. The
// ConfirmHandler's POST, which gives consent, must stay protected.
//
// An UnsubscribeHandler is safe for concurrent use.
type UnsubscribeHandler struct{ l link }

// NewUnsubscribeHandler returns the handler of unsubscribe links over
// ledger, which needs an Unsubscriber (consent.WithUnsubscriber). Mount
// it for GET and POST on the path of UnsubscribeURL's base:
//
//	mux.Handle("/unsubscribe", h) // answers 405 to other methods itself
//
// Options: WithTemplate, WithLogger, WithClientIPHeader. A nil ledger, a
// nil option or an option's bad argument is an *OpError wrapping
// ErrInvalid.
func NewUnsubscribeHandler(ledger *consent.Ledger, opts ...Option) (*UnsubscribeHandler, error) {
	l, err := newLink("new_unsubscribe_handler", ledger, opts, link{
		handler: handlerUnsubscribe, prompt: PageUnsubscribe, done: PageUnsubscribed, name: "unsubscribe",
		valid: func(string) bool { return true }, // linkToken checked its shape; the Ledger opens it
		act: func(l *link, r *http.Request, token string, form url.Values) (consent.Event, error) {
			if !isOneClick(form) {
				return consent.Event{}, errNotOneClick
			}
			return l.ledger.Unsubscribe(r.Context(), token, l.s.evidence(r))
		},
		refused: func(error) (PageKind, int, bool) { return "", 0, false },
	})
	if err != nil {
		return nil, err
	}
	return &UnsubscribeHandler{l}, nil
}

// ServeHTTP answers a GET, HEAD or POST of an unsubscribe link; see
// UnsubscribeHandler.
func (h *UnsubscribeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.l.serve(w, r) }

// UnsubscribeURL returns the unsubscribe link of a message: base with
// token as its query parameter TokenParam, e.g.
// "https://example.com/unsubscribe?t=u1.…". The token is one of
// consent.Ledger.UnsubscribeToken. base is the absolute URL of the
// UnsubscribeHandler: https, or http for a loopback host alone
// ("localhost", a name under .localhost, 127.0.0.0/8, ::1) so that tests
// and development work; with no user info and no fragment, a host in
// ASCII (an internationalised name in its IDNA A-label form), and
// other query parameters if it likes, but not TokenParam. Errors are an
// *OpError wrapping ErrInvalid, naming "base" or "token", never their
// values.
func UnsubscribeURL(base, token string) (string, error) {
	u, err := unsubscribeURL(base, token)
	return u, wrap("unsubscribe_url", err)
}

func unsubscribeURL(base, token string) (string, error) {
	if !tokenShape(token) {
		return "", errs.At("token", invalid("not a token (1 to 2048 ASCII letters, digits, '-', '_' and '.')", nil))
	}
	u, err := url.Parse(base)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return "", errs.At("base", invalid("not an absolute URL with a host", nil))
	}
	switch {
	case u.User != nil:
		return "", errs.At("base", invalid("a URL with user info", nil))
	case u.Fragment != "" || u.RawFragment != "" || strings.Contains(base, "#"):
		return "", errs.At("base", invalid("a URL with a fragment", nil))
	case !ascii(u.Host):
		return "", errs.At("base", invalid("a host not in ASCII (use its IDNA A-label form)", nil))
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback(u.Hostname()):
	case u.Scheme == "http":
		return "", errs.At("base", invalid("an http URL of a host that is not loopback: RFC 8058 asks for https", nil))
	default:
		return "", errs.At("base", invalid("not an https URL", nil))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", errs.At("base", invalid("a query that does not parse", nil))
	}
	if q.Has(TokenParam) {
		return "", errs.At("base", invalid("a query that has the token parameter already", nil))
	}
	q.Set(TokenParam, token)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// UnsubscribeHeader returns the two header fields of a bulk message that
// let a mail provider unsubscribe its reader with one click (RFC 8058
// §3.1, RFC 2369 §3.2):
//
//	List-Unsubscribe: <https://example.com/unsubscribe?t=u1.…>
//	List-Unsubscribe-Post: List-Unsubscribe=One-Click
//
// The URL is UnsubscribeURL(base, token), whose rules and errors apply
// (the *OpError's Op is "unsubscribe_header"). Put both fields in the
// message's header and sign both with DKIM (RFC 8058 §3.3 requires a
// valid DKIM signature covering them); a host that also offers a mailto:
// address prepends "<mailto:…>, " to List-Unsubscribe. Put the same URL
// in the message's body as its visible unsubscribe link.
func UnsubscribeHeader(base, token string) (textproto.MIMEHeader, error) {
	u, err := unsubscribeURL(base, token)
	if err != nil {
		return nil, wrap("unsubscribe_header", err)
	}
	return textproto.MIMEHeader{
		"List-Unsubscribe":      {"<" + u + ">"},
		"List-Unsubscribe-Post": {oneClick.Name + "=" + oneClick.Value},
	}, nil
}

// loopback reports whether host is a loopback name or address.
func loopback(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// ascii reports whether s is printable ASCII.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
