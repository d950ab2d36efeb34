package gdprhttp

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/internal/errs"
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
// consent stands, and logged as an error (WithLogger).
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
type ConfirmHandler struct {
	ledger *consent.Ledger
	s      settings
}

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
	const op = "new_confirm_handler"
	if ledger == nil {
		return nil, wrap(op, errs.At("ledger", invalid("nil ledger", nil)))
	}
	s, err := newSettings(opts)
	if err != nil {
		return nil, wrap(op, err)
	}
	if s.tmpl != nil {
		if err := checkTemplate(s.tmpl, handlerConfirm); err != nil {
			return nil, wrap(op, errs.At("WithTemplate", err))
		}
	}
	return &ConfirmHandler{ledger: ledger, s: s}, nil
}

// ServeHTTP answers a GET, HEAD or POST of a confirmation link; see
// ConfirmHandler.
func (h *ConfirmHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setLinkHeaders(w)
	page := func(kind PageKind, status int) {
		h.s.render(w, r, newPage(handlerConfirm, kind, status))
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", allow)
		page(PageError, http.StatusMethodNotAllowed)
		return
	}
	token, ok := linkToken(r.URL.RawQuery)
	if ok {
		_, _, err := consent.ParseConfirmationToken(token)
		ok = err == nil
	}
	if !ok {
		page(PageInvalidLink, http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPost {
		page(PageConfirm, http.StatusOK)
		return
	}
	if _, err := readForm(w, r); err != nil {
		page(PageError, formStatus(err))
		return
	}
	e, err := h.ledger.Confirm(r.Context(), token, h.s.evidence(r))
	switch {
	case err == nil:
		page(PageConfirmed, http.StatusOK)
	case errors.Is(err, consent.ErrInvalidToken):
		page(PageInvalidLink, http.StatusBadRequest)
	case errors.Is(err, consent.ErrTokenExpired):
		page(PageExpiredLink, http.StatusGone)
	case errors.Is(err, consent.ErrTokenUsed):
		page(PageUsedLink, http.StatusGone)
	case errors.Is(err, consent.ErrSuperseded), errors.Is(err, consent.ErrStaleNotice):
		page(PageOutdatedLink, http.StatusGone)
	case e.ID != "":
		h.s.logger.LogAttrs(r.Context(), slog.LevelError, "gdprhttp: confirmation recorded; what follows it failed",
			slog.String("route", r.Pattern), slog.String("event", e.ID), slog.String("error", err.Error()))
		page(PageConfirmed, http.StatusOK)
	default:
		page(PageError, h.s.fail(r, "gdprhttp: confirmation failed", err))
	}
}
