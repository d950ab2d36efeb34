package gdprhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
)

// StatusClientClosedRequest is the status Status gives a cancelled
// context: 499, which nginx introduced for a client that closed its
// connection before the answer, and which grpc-gateway gives gRPC's
// Canceled. It is not in the IANA registry.
const StatusClientClosedRequest = 499

// Status returns the HTTP status code of err:
//
//	nil                                        200 OK
//	*http.MaxBytesError, multipart.ErrMessageTooLarge
//	                                           413 Content Too Large
//	context.DeadlineExceeded                   503 Service Unavailable
//	context.Canceled                           499 (StatusClientClosedRequest)
//	gdpr.ErrShredded                           410 Gone
//	gdpr.ErrRestricted                         403 Forbidden
//	gdpr.ErrNotFound                           404 Not Found
//	gdpr.ErrConflict                           409 Conflict
//	gdpr.ErrInvalid                            400 Bad Request
//	anything else                              500 Internal Server Error
//
// The first line of the table that matches (by errors.Is, or errors.As
// for *http.MaxBytesError) decides, so an error that wraps two of them
// takes the earlier: a body over its limit is 413 whatever the parser
// made of it, and a subject whose key is shredded is gone (410) even
// where the store also reports the record not found.
//
// A deadline is 503 rather than 504: 504 Gateway Timeout says that an
// upstream server did not answer a server acting as a gateway, while a
// context deadline is this server's own budget for the request running
// out (a database that did not answer in time, a timeout the host set);
// 503 is what http.TimeoutHandler answers in that case, and what clients
// and proxies retry. A cancelled context almost always means the client
// went away (net/http cancels a request's context when its connection
// closes): nobody reads the answer, and 499 keeps such requests out of
// the 5xx that page an operator. (http.Server.Shutdown does not cancel
// the contexts of requests in flight.)
//
// Packages of the module whose own sentinels wrap none of the root's (an
// export download link used up, a retention lease held elsewhere) are
// 500 here: map them before calling Status, or answer with Problem.
func Status(err error) int {
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &tooLarge), errors.Is(err, multipart.ErrMessageTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return StatusClientClosedRequest
	case errors.Is(err, gdpr.ErrShredded):
		return http.StatusGone
	case errors.Is(err, gdpr.ErrRestricted):
		return http.StatusForbidden
	case errors.Is(err, gdpr.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, gdpr.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, gdpr.ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// Error answers r with the status of err (Status) by Problem. A nil err
// is answered 500, as an error of unknown cause: a caller that reached
// Error meant to fail.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	if err != nil {
		status = Status(err)
	}
	Problem(w, r, status, err)
}

// Problem answers r with status and an RFC 9457 problem details object
// (Content-Type application/problem+json):
//
//	{"type":"about:blank","title":"Not Found","status":404,"detail":"consent confirm: …"}
//
// The title is http.StatusText(status). A 4xx carries err's text as its
// detail (none for a nil err); a 5xx carries no detail at all, and no
// error text, stack trace or other internal state ever goes into one. A
// status outside 400 to 599 is answered as 500.
//
// The detail is the text of err as it is, cut to 512 bytes, with control
// characters replaced: the errors of this module carry no personal data
// and no request input by contract (see the root package's "Personal
// data in errors and logs"), but an error of the host's that quotes what
// the client sent would be echoed back. Pass Problem such errors only
// when that is safe, or pass an error of the module's.
//
// When r's Accept header prefers text/html to application/problem+json
// and application/json (a browser's does; no Accept header, or */*,
// does not), the same is answered as a minimal HTML page instead, with no
// script or style, and with a Content-Security-Policy of "default-src
// 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
// unless the answer has one already. Either way Problem sets
// Content-Type, X-Content-Type-Options: nosniff, Cache-Control: no-store
// and Vary: Accept, and deletes Content-Length, as http.Error does. A
// HEAD gets the headers alone (net/http drops the body).
func Problem(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	p := problem{Type: "about:blank", Title: statusText(status), Status: status}
	if status < 500 && err != nil {
		p.Detail = detail(err.Error())
	}
	h := w.Header()
	h.Del("Content-Length")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept")
	var body []byte
	if PrefersHTML(r) {
		var b bytes.Buffer
		_ = problemPage.Execute(&b, p) // a fixed template over strings: it cannot fail
		body = b.Bytes()
		h.Set("Content-Type", "text/html; charset=utf-8")
		if h.Get("Content-Security-Policy") == "" {
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		}
	} else {
		body, _ = json.Marshal(p) // strings and an int: it cannot fail
		body = append(body, '\n')
		h.Set("Content-Type", "application/problem+json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// problem is an RFC 9457 problem details object.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func statusText(status int) string {
	if status == StatusClientClosedRequest {
		return "Client Closed Request"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	if status < 500 {
		return http.StatusText(http.StatusBadRequest)
	}
	return http.StatusText(http.StatusInternalServerError)
}

// maxDetail is the longest detail Problem writes, in bytes.
const maxDetail = 512

// detail returns s as valid UTF-8 without control characters, cut to
// maxDetail bytes on a character boundary.
func detail(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

var problemPage = template.Must(template.New("problem").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>{{.Status}} {{.Title}}</title>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{with .Detail}}<p>{{.}}</p>
{{end}}</main>
</body>
</html>
`))
