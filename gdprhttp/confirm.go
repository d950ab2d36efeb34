package gdprhttp

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gdprkit/gdpr/consent"
)

// ConfirmHandler serves the confirmation links of double opt-in over a
// consent.Ledger: the token of Ledger.Request, in the query parameter
// TokenParam ("https://example.com/confirm?t=c1.…"), comes back from
// the subject's mailbox, and its POST makes the consent valid (Art. 7(1):
// the controller can show that the address's owner chose).
//
// A GET or HEAD changes nothing: it answers a page (PageConfirm) whose
// button POSTs to the same URL, for any token of the right form
// (consent.ParseConfirmationToken, no lookup), and PageInvalidLink (400)
// for any other. Mail scanners follow links; a confirmation on GET would
// confirm subscriptions nobody asked for, the very thing double opt-in
// exists to prevent.
//
// A POST (a form body, urlencoded or multipart, of at most MaxBodyBytes,
// or none; its fields are not read) calls Ledger.Confirm with the token
// and evidence of the request, and answers:
//
//	PageConfirmed     200  the consent is given
//	PageInvalidLink   400  consent.ErrInvalidToken: malformed, unknown, forged
//	PageExpiredLink   410  consent.ErrTokenExpired
//	PageUsedLink      410  consent.ErrTokenUsed
//	PageOutdatedLink  410  consent.ErrSuperseded, consent.ErrStaleNotice
//	PageError         405, 413, 415, 500, 503 as for an UnsubscribeHandler
//
// Nothing is written to the Ledger on a refused request. A confirmation
// the Ledger recorded after which something failed (its audit record,
// which the Ledger drains later) is answered PageConfirmed, since the
// consent stands, and logged as a warning (WithLogger).
//
// The evidence (consent.Evidence) holds: the network of the client's
// address, consent.TruncateIP of r.RemoteAddr or of the address in the
// proxy's header (WithClientIPHeader); the browser and OS family of the
// User-Agent (consent.UserAgentFamily); as Locator, the route pattern
// (r.Pattern, set by http.ServeMux) or, when the router set none, the
// method and path ("POST /confirm") if the path is of ASCII letters,
// '/', '-', '_' and '.' alone (else no locator: a path with anything
// else might hold what the Ledger refuses as personal data); and
// "gpc": "1" when the request carries a GPC signal. Never the query.
//
// The POST comes from the subject's own browser, from the handler's own
// page: unlike the one-click unsubscribe, it must stay behind the host's
// cross-origin protection (http.CrossOriginProtection, or a CSRF token
// of the host's own template), or another site could make a visitor's
// browser confirm a subscription with a token it holds.
//
// Headers and pages are as an UnsubscribeHandler's. A ConfirmHandler is
// safe for concurrent use.
type ConfirmHandler struct{ l link }

// NewConfirmHandler returns the handler of confirmation links over
// ledger. Mount it for GET and POST on the path of the links the host
// sends:
//
//	mux.Handle("/confirm", h) // answers 405 to other methods itself
//
// Options: WithTemplate, WithLogger, WithClientIPHeader. A nil ledger, a
// nil option or an option's bad argument is an *OpError wrapping
// ErrInvalid.
func NewConfirmHandler(ledger *consent.Ledger, opts ...Option) (*ConfirmHandler, error) {
	l, err := newLink("new_confirm_handler", ledger, opts, link{
		handler: handlerConfirm, prompt: PageConfirm, done: PageConfirmed, name: "confirmation",
		valid: func(token string) bool {
			_, _, err := consent.ParseConfirmationToken(token)
			return err == nil
		},
		act: func(l *link, r *http.Request, token string, _ url.Values) (consent.Event, error) {
			return l.ledger.Confirm(r.Context(), token, l.s.evidence(r))
		},
		refused: func(err error) (PageKind, int, bool) {
			switch {
			case errors.Is(err, consent.ErrTokenUsed):
				return PageUsedLink, http.StatusGone, true
			case errors.Is(err, consent.ErrSuperseded), errors.Is(err, consent.ErrStaleNotice):
				return PageOutdatedLink, http.StatusGone, true
			}
			return "", 0, false
		},
	})
	if err != nil {
		return nil, err
	}
	return &ConfirmHandler{l}, nil
}

// ServeHTTP answers a GET, HEAD or POST of a confirmation link; see
// ConfirmHandler.
func (h *ConfirmHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.l.serve(w, r) }
