// Package gdprhttp holds the HTTP pieces every host of the module needs:
// the status and body of an error, the Global Privacy Control signal,
// the one-click unsubscribe of bulk messages and the double opt-in
// confirmation link, each over the standard library's net/http.
//
// What it serves:
//
//	piece                     law and specifications
//	Status, Error, Problem    RFC 9457 problem details; RFC 9110 content negotiation
//	GPC                       Global Privacy Control; Art. 21(5) (objection by automated means)
//	UnsubscribeHandler        Art. 7(3) (withdrawal as easy as giving), Art. 21(2)–(3)
//	UnsubscribeURL, …Header   (objection to direct marketing), ePrivacy Directive
//	                          2002/58/EC Art. 13 (an opt-out on the occasion of each
//	                          message); RFC 8058 one-click, RFC 2369 List-Unsubscribe
//	ConfirmHandler            Art. 7(1) (consent that can be shown), double opt-in
//
// It imports the standard library, the root package gdpr and consent
// only: the handlers work over a *consent.Ledger, and none of the
// module's other packages is needed to use them.
//
// # Errors as answers
//
// Status maps an error to its HTTP status by the root package's
// sentinels (gdpr.ErrInvalid 400, ErrRestricted 403, ErrNotFound 404,
// ErrConflict 409, ErrShredded 410), a body over its limit (413) and the
// ends of a context (a deadline 503, a cancellation 499). Error and
// Problem write the answer as an RFC 9457 application/problem+json
// object, or a minimal HTML page for a browser (PrefersHTML), with a
// detail for a 4xx and nothing of the error for a 5xx. The module's
// error texts carry no personal data and no request input; give Error a
// host's own error only if its text carries none either.
//
// # Links in messages
//
// An unsubscribe link (UnsubscribeURL, and the List-Unsubscribe and
// List-Unsubscribe-Post fields of UnsubscribeHeader) and a confirmation
// link carry their token in the query, as TokenParam. Both handlers
// answer a GET with a page and a button and act only on the POST: mail
// security scanners and link previews fetch every link of a message,
// and must neither unsubscribe nor confirm anybody. Both refuse other
// methods (405, with Allow), bodies over MaxBodyBytes (413, read no
// further) and bodies that are not forms (415); a malformed, forged or
// unknown token is a 400 page and a genuine expired one a 410, with no
// token in the page, in an error or in a log line, and nothing written
// to the Ledger. Every answer is Cache-Control: no-store and
// Referrer-Policy: no-referrer, since the token is in the URL.
//
// The one-click POST comes from the mail provider without a cookie or an
// Origin of the host's: exempt its path from cross-origin and CSRF
// protection (UnsubscribeHandler says why that is safe). The
// confirmation's POST, which gives consent, comes from the subject's
// browser and stays protected.
//
// # Pages
//
// The handlers' pages are html/template documents in English, with no
// script and no style at all, so the strictest Content-Security-Policy
// holds (the default pages set "default-src 'none'; form-action 'self';
// frame-ancestors 'none'; base-uri 'none'" when the answer has no policy
// yet). A host gives its own, for its brand and language, with
// WithTemplate: one template, executed with a Page whose Kind says what
// it is for; the constructor executes it for every kind of page first,
// so a broken template fails at start-up.
//
// # Errors
//
// The constructors and UnsubscribeURL and UnsubscribeHeader return an
// *OpError (Op, Field, cause) wrapping ErrInvalid, which wraps
// gdpr.ErrInvalid: a nil Ledger, a nil option, an option's bad
// argument, a base URL that is not https (http is allowed for a loopback
// host alone: localhost, names under .localhost, 127.0.0.0/8 and ::1),
// a token that is not one. The text reads "gdprhttp <op>: <field>:
// <cause>" and never holds a token or a URL. The handlers return no
// errors: they answer them, as above.
//
// The module's sentinels that wrap none of the root's are 500 by
// Status; a host (or a package that wires the module for one) maps the
// ones its routes can return before calling it, and answers with
// Problem.
//
// # Testing
//
// The handlers are plain http.Handlers: drive them with
// net/http/httptest over a consent.Ledger on memconsent.New(), with
// consent.WithClock to move time past a token's expiry, as this
// package's examples do. The tests beside the code cover every answer
// above with hostile input (oversized and malformed bodies, wrong
// methods, forged, garbled and expired tokens, HTML and SQL
// metacharacters in the token, prefetching GETs, a one-click POST with
// no cookie and no Origin) and check that the Ledger's store saw no
// write on every refused request; fuzz targets cover the form, token,
// Accept and proxy-header parsers.
package gdprhttp
