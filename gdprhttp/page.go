package gdprhttp

import (
	"bytes"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strconv"
)

// PageKind says what a page of a handler is for.
type PageKind string

// The kinds of page. The handler of each (Page.Handler) and the status
// it is answered with are given; a ConfirmHandler's pages and an
// UnsubscribeHandler's share the kinds of a link that failed.
const (
	// PageUnsubscribe asks, on a GET of an unsubscribe link, for the
	// button that unsubscribes (Page.Form). 200.
	PageUnsubscribe PageKind = "unsubscribe"
	// PageUnsubscribed: the POST unsubscribed. 200.
	PageUnsubscribed PageKind = "unsubscribed"
	// PageConfirm asks, on a GET of a confirmation link, for the button
	// that confirms (Page.Form). 200.
	PageConfirm PageKind = "confirm"
	// PageConfirmed: the POST confirmed the consent. 200.
	PageConfirmed PageKind = "confirmed"
	// PageInvalidLink: the link's token is missing, malformed, forged or
	// unknown (consent.ErrInvalidToken). 400.
	PageInvalidLink PageKind = "invalid_link"
	// PageExpiredLink: the link's token is genuine and has expired
	// (consent.ErrTokenExpired). 410.
	PageExpiredLink PageKind = "expired_link"
	// PageUsedLink: the confirmation link was used already
	// (consent.ErrTokenUsed). ConfirmHandler only. 410.
	PageUsedLink PageKind = "used_link"
	// PageOutdatedLink: the confirmation link no longer applies: the
	// subject withdrew, refused or objected since they asked
	// (consent.ErrSuperseded), or a material new version of the notice
	// was published since (consent.ErrStaleNotice). ConfirmHandler only.
	// 410.
	PageOutdatedLink PageKind = "outdated_link"
	// PageError: any other answer that is not a success: a method other
	// than GET, HEAD and POST (405), a body over MaxBodyBytes (413) or in
	// another encoding than a form's (415), an unsubscribe POST without
	// List-Unsubscribe=One-Click or a form that does not parse (400), a
	// failure of the server's (500, 503). Page.Status says which.
	PageError PageKind = "error"
)

// Page is what a handler's template is executed with (WithTemplate). It
// holds no token, no subject and nothing else from the request: the
// token stays in the page's URL, where the form's POST takes it from.
type Page struct {
	// Handler is "unsubscribe" or "confirm": which handler answers.
	Handler string
	// Kind says what the page is for.
	Kind PageKind
	// Status is the HTTP status of the answer.
	Status int
	// Lang, Title and Message are the package's English texts for the
	// page; a host's template may use them, or write its own for each
	// Kind (and Status, for PageError).
	Lang, Title, Message string
	// Form, when it is not nil, is the form the page must show for the
	// subject to go on: <form method="post"> with no action attribute (so
	// it posts to the page's own URL, with its query and the token in
	// it), a hidden input for each of Fields and a submit button labelled
	// Button. Without it the POST does nothing.
	Form *Form
}

// Form is the POST a page asks for. See Page.Form.
type Form struct {
	// Fields are the hidden inputs, in order: for an unsubscribe,
	// List-Unsubscribe=One-Click, the body RFC 8058 prescribes.
	Fields []Field
	// Button is the label of the submit button.
	Button string
}

// Field is a hidden input of a Form.
type Field struct{ Name, Value string }

// defaultTemplate is the package's page: plain HTML, no script, no style.
var defaultTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>{{.Title}}</title>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{with .Form}}<form method="post">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit">{{.Button}}</button>
</form>
{{end}}</main>
</body>
</html>
`))

// defaultCSP is the Content-Security-Policy of the default pages, set
// when the answer has none: nothing loads, and the one form posts to
// the page's own origin.
const defaultCSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// oneClick is the body of an RFC 8058 one-click unsubscribe POST.
var oneClick = Field{Name: "List-Unsubscribe", Value: "One-Click"}

const (
	handlerUnsubscribe = "unsubscribe"
	handlerConfirm     = "confirm"
)

// newPage returns the page of kind for handler, with its English texts.
func newPage(handler string, kind PageKind, status int) Page {
	p := Page{Handler: handler, Kind: kind, Status: status, Lang: "en"}
	switch kind {
	case PageUnsubscribe:
		p.Title = "Unsubscribe"
		p.Message = "Press the button to stop receiving these messages."
		p.Form = &Form{Fields: []Field{oneClick}, Button: "Unsubscribe"}
	case PageUnsubscribed:
		p.Title = "You are unsubscribed"
		p.Message = "You will receive no more of these messages."
	case PageConfirm:
		p.Title = "Confirm your subscription"
		p.Message = "Press the button to confirm that you want these messages. If you did not ask for them, close this page: nothing happens without the button."
		p.Form = &Form{Button: "Confirm"}
	case PageConfirmed:
		p.Title = "Subscription confirmed"
		p.Message = "Thank you: your subscription is confirmed. You can withdraw your consent at any time, as easily as you gave it."
	case PageInvalidLink:
		p.Title = "This link is not valid"
		p.Message = "Check that the whole link was copied from the message."
	case PageExpiredLink:
		p.Title = "This link has expired"
		if handler == handlerConfirm {
			p.Message = "Sign up again to receive a new confirmation link."
		} else {
			p.Message = "Use the link in a more recent message, or contact us to unsubscribe."
		}
	case PageUsedLink:
		p.Title = "This link was used already"
		p.Message = "A confirmation link works once."
	case PageOutdatedLink:
		p.Title = "This link no longer applies"
		p.Message = "Something changed since it was sent. Sign up again if you want these messages."
	default:
		p.Title = statusText(status)
		p.Message = errorMessage(status)
	}
	return p
}

// errorMessage is the English text of a PageError.
func errorMessage(status int) string {
	switch status {
	case http.StatusMethodNotAllowed:
		return "This address answers GET and POST only."
	case http.StatusRequestEntityTooLarge:
		return "The request was too large."
	case http.StatusUnsupportedMediaType:
		return "The request was not sent as a form."
	case http.StatusBadRequest:
		return "The request could not be understood."
	case StatusClientClosedRequest:
		return "The request was cancelled."
	}
	return "Something went wrong on our side. Please try again later."
}

// samplePages are the pages the constructor executes a host's template
// with, one of every kind and status a handler answers.
func samplePages(handler string) []Page {
	var ps []Page
	add := func(k PageKind, status int) { ps = append(ps, newPage(handler, k, status)) }
	if handler == handlerUnsubscribe {
		add(PageUnsubscribe, http.StatusOK)
		add(PageUnsubscribed, http.StatusOK)
	} else {
		add(PageConfirm, http.StatusOK)
		add(PageConfirmed, http.StatusOK)
		add(PageUsedLink, http.StatusGone)
		add(PageOutdatedLink, http.StatusGone)
	}
	add(PageInvalidLink, http.StatusBadRequest)
	add(PageExpiredLink, http.StatusGone)
	for _, st := range []int{400, 405, 413, 415, StatusClientClosedRequest, 500, 503} {
		add(PageError, st)
	}
	return ps
}

// checkTemplate executes t with every page of handler.
func checkTemplate(t *template.Template, handler string) error {
	for _, p := range samplePages(handler) {
		if err := t.Execute(io.Discard, p); err != nil {
			return invalid("the template fails for page kind "+string(p.Kind)+" status "+strconv.Itoa(p.Status), err)
		}
	}
	return nil
}

// setLinkHeaders sets the headers of every answer of a handler: the
// token is in the URL, so nothing may be cached or sent on as a
// Referer.
func setLinkHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("X-Frame-Options") == "" {
		h.Set("X-Frame-Options", "DENY")
	}
}

// render writes p through the handler's template.
func (s *settings) render(w http.ResponseWriter, r *http.Request, p Page) {
	t := s.tmpl
	if t == nil {
		t = defaultTemplate
	}
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		// The constructor executed the template with every page; it
		// fails now only by something of the host's (a func it calls).
		s.logger.LogAttrs(r.Context(), slog.LevelError, "gdprhttp: page template failed",
			slog.String("handler", p.Handler), slog.String("route", r.Pattern), slog.String("error", err.Error()))
		Problem(w, r, http.StatusInternalServerError, nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if s.tmpl == nil && h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", defaultCSP)
	}
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(p.Status)
	_, _ = w.Write(b.Bytes())
}
