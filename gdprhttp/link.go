package gdprhttp

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/internal/errs"
)

// link is what a ConfirmHandler and an UnsubscribeHandler share: a link
// from a message whose GET shows a page with a button and whose POST
// acts on the Ledger with the link's token.
type link struct {
	ledger  *consent.Ledger
	s       settings
	handler string   // handlerConfirm or handlerUnsubscribe
	prompt  PageKind // a GET's page
	done    PageKind // a POST's page when the Ledger acted
	name    string   // for log lines: "confirmation", "unsubscribe"
	// valid reports whether a token is of the link's form, with no lookup.
	valid func(token string) bool
	// act calls the Ledger; a non-nil error with ok false refuses the
	// form before the Ledger is called.
	act func(l *link, r *http.Request, token string, form url.Values) (consent.Event, error)
	// refused maps the Ledger's refusals (beyond ErrInvalidToken and
	// ErrTokenExpired, which every link has) to their pages.
	refused func(err error) (PageKind, int, bool)
}

// errNotOneClick is a one-click POST without its body.
var errNotOneClick = errors.New("gdprhttp: not a one-click body")

// newLink checks a constructor's arguments and returns the link.
func newLink(op string, ledger *consent.Ledger, opts []Option, l link) (link, error) {
	if ledger == nil {
		return link{}, wrap(op, errs.At("ledger", invalid("nil ledger", nil)))
	}
	s, err := newSettings(opts)
	if err != nil {
		return link{}, wrap(op, err)
	}
	if s.tmpl != nil {
		if err := checkTemplate(s.tmpl, l.handler); err != nil {
			return link{}, wrap(op, errs.At("WithTemplate", err))
		}
	}
	l.ledger, l.s = ledger, s
	return l, nil
}

// serve answers a GET, HEAD or POST of the link.
func (l *link) serve(w http.ResponseWriter, r *http.Request) {
	setLinkHeaders(w)
	page := func(kind PageKind, status int) {
		l.s.render(w, r, newPage(l.handler, kind, status))
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", allow)
		page(PageError, http.StatusMethodNotAllowed)
		return
	}
	token, ok := linkToken(r.URL.RawQuery)
	if !ok || !l.valid(token) {
		page(PageInvalidLink, http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPost {
		page(l.prompt, http.StatusOK)
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		page(PageError, formStatus(err))
		return
	}
	e, err := l.act(l, r, token, form)
	if kind, status, ok := l.refused(err); ok {
		page(kind, status)
		return
	}
	switch {
	case err == nil:
		page(l.done, http.StatusOK)
	case errors.Is(err, errNotOneClick):
		page(PageError, http.StatusBadRequest)
	case errors.Is(err, consent.ErrInvalidToken):
		page(PageInvalidLink, http.StatusBadRequest)
	case errors.Is(err, consent.ErrTokenExpired):
		page(PageExpiredLink, http.StatusGone)
	case e.ID != "":
		// The Ledger recorded the event and what follows it failed (its
		// audit record, which Ledger.DrainAudit makes later): the choice
		// stands, and the subject is told so.
		l.s.logger.LogAttrs(r.Context(), slog.LevelWarn, "gdprhttp: "+l.name+" recorded; what follows it failed",
			slog.String("route", r.Pattern), slog.String("event", e.ID), slog.String("error", err.Error()))
		page(l.done, http.StatusOK)
	default:
		page(PageError, l.s.fail(r, "gdprhttp: "+l.name+" failed", err))
	}
}

// allow is the Allow header of a 405.
const allow = "GET, HEAD, POST"

// fail logs err, a failure of the Ledger's that is not the client's,
// and returns its status: 503 or 499 for a context that ended, else 500
// (a bad input the Ledger refused here, such as a Ledger without an
// Unsubscriber, is the host's configuration, not the client's).
func (s *settings) fail(r *http.Request, msg string, err error) int {
	status := http.StatusInternalServerError
	if st := Status(err); st == http.StatusServiceUnavailable || st == StatusClientClosedRequest {
		status = st
	}
	if status != StatusClientClosedRequest {
		s.logger.LogAttrs(r.Context(), slog.LevelError, msg,
			slog.String("route", r.Pattern), slog.Int("status", status), slog.String("error", err.Error()))
	}
	return status
}
