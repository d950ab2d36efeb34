// Package webhook tells the recipients of a subject's data of a
// rectification, erasure or restriction (GDPR Art. 19) by webhook, in the
// scheme of the Standard Webhooks specification, version 1.0.0
// (https://www.standardwebhooks.com), and verifies such webhooks on the
// recipient's side.
//
// A Notifier is an erasure.RecipientNotifier: the request engine
// (erasure.WithRecipients) calls it once per recipient of the subject's
// data, each named by a gdpr.Disclosure, and New maps each recipient's
// name to an Endpoint, a URL and a Secret. A Verifier, on the other end,
// checks a delivery's signature, timestamp and ID and returns its
// Message; its Handler does so in front of an http.Handler.
//
// # Payload
//
// A delivery is a POST of JSON in the spec's recommended shape, the type,
// the time of the action and the data:
//
//	{"type":"gdpr.restriction","timestamp":"2026-03-02T09:00:00Z",
//	 "data":{"id":"0190a3b2-…-3","request":"0190a3b2-…","kind":"restriction",
//	         "article":"Art. 18(1)(a)","reference":"C-1042","ground":"accuracy_contested",
//	         "purposes":["newsletter"],"at":"2026-03-02T09:00:00Z"}}
//
// The types are TypeRectification, TypeErasure and TypeRestriction. The
// data (Notice) holds the non-personal facts — the notice's ID, the
// request's ID, the kind and its article, for a rectification the names
// of the fields corrected (never their values), for a restriction its
// ground and purposes, the time — and one piece of personal data, the
// recipient's own reference for the subject (gdpr.Disclosure.Reference),
// by which the recipient finds its record without being told who the
// subject is. No subject ID, no name, no value, no other recipient's
// reference is ever sent. A recipient whose reference is not known, or
// that has no endpoint, cannot be told by webhook: NotifyRecipient returns
// an error wrapping erasure.ErrImpossible, which the engine records as the
// reason the recipient was not notified, and the host tells it by other
// means if it can.
//
// # Delivery and retries
//
// The headers are the spec's: webhook-id is erasure.RecipientNotice.ID,
// the same on every attempt of one notice, so it is the recipient's
// idempotency key; webhook-timestamp is the attempt's time in integer
// Unix seconds; webhook-signature lists one "v1,<base64>" signature per
// secret of the endpoint (two during a rotation, Endpoint.Previous). A
// 2xx answer is a delivery. Any other status (3xx included: redirects are
// not followed), a timeout (WithTimeout, default 15 s) or a network error
// is an error wrapping ErrDelivery. The Notifier does not retry, queue or
// back off: each NotifyRecipient is one attempt, and the request engine
// retries the failed step with exponential backoff and jitter
// (erasure.WithRetry), records each outcome on the request, and alerts a
// person when it gives up. A 410 Gone, which the spec reads as "disable
// the endpoint", is a failure like the others, so that it reaches a person
// through that alert rather than being recorded as impossible on its own.
//
// # Security
//
// Deliveries are signed with HMAC-SHA256 under the endpoint's secret, a
// key of 24 to 64 random bytes, written "whsec_" and base64 (ParseSecret,
// GenerateSecret, Expose); each endpoint should have its own. A Verifier
// accepts a delivery if any v1 signature matches any of its secrets,
// compared in constant time; it refuses a webhook-timestamp further than
// the tolerance (WithTolerance, default 5 minutes) from its clock in
// either direction (ErrStale), and an ID it accepted already within that
// window (claimed until a tolerance and a second past the later of its
// timestamp and the Verifier's clock), kept in a SeenStore: by default a MemSeen of
// DefaultSeenCapacity IDs for this process, or a shared one (WithSeen) for
// a host of several instances. An ID whose message is still being
// processed is refused with ErrReplayed (Handler: 409, and the sender
// tries again later); one whose message was processed (Verifier.Done) with
// ErrDuplicate, which the host acknowledges without processing it again
// (Handler: 200), so that the engine's retry after an answer it never got
// (a timeout, a crash before it recorded the outcome) ends as delivered
// instead of running out of attempts. Verification reads the raw body as
// it came; parse the JSON afterwards, never re-encode it before verifying.
//
// The spec says a webhook-id must not include any '.', since the signed
// content is id.timestamp.body: an ID with a dot and digits could be split
// otherwise, as another ID with another body under the same signature.
// The engine's notice IDs ("<request>-<step>", a UUID and a number) hold
// none. Both sides keep to it: NotifyRecipient refuses a notice ID with a
// '.' (ErrInvalid), and a Verifier accepts only an ID of 1 to 255 bytes of
// printable ASCII without spaces or dots, and only a timestamp in
// canonical decimal, so that what it checks is what was signed.
//
// Endpoints must be https:// unless WithInsecureHTTP is given, which is
// for tests (httptest.NewServer) and networks the host trusts: over http
// the recipient's reference travels in clear. The endpoints come from the
// host's configuration, not from users; a host that lets its partners
// register URLs should send through an egress proxy that refuses internal
// addresses (WithClient), as the spec advises against server-side request
// forgery.
//
// Nothing of a secret or a reference ever reaches fmt, an error or a log
// line: Secret, Reference, Endpoint, Notifier, Verifier and MemSeen print a
// mask under every verb (%v, %+v, %#v, %s, %q, %x); Secret, Reference,
// Endpoint, Notice and Message are slog.LogValuers, so that a
// slog.JSONHandler, which encodes with encoding/json, writes the mask
// too, and an Endpoint's JSON is masked (a Notice's JSON is the payload
// and carries the reference; log a Notice through slog). A Secret, Notifier and
// Verifier hold their keys and URLs behind two pointers, so that in an
// unexported field of a host's struct, where fmt calls no Format method,
// they print as addresses. An Endpoint is a plain struct of the host's
// configuration: its secrets never print, but in an unexported field its
// URL prints as any string does, so keep it in the Notifier, not beside it. Errors name an endpoint
// by scheme and host only, never its userinfo, path or query, which may
// hold a token; the answer's body is read (at most 64 KiB, then
// discarded) only so the connection can be reused, and never quoted.
//
// # Errors
//
// Every error is an *Error with the operation, the option, endpoint,
// header or field at fault, and a cause wrapping one of the sentinels:
// ErrInvalid (which wraps gdpr.ErrInvalid), ErrSignature and ErrStale
// (which wrap ErrInvalid), ErrReplayed (gdpr.ErrConflict) and
// ErrDuplicate (which wraps ErrReplayed), ErrSeenFull,
// ErrDelivery (with a *StatusError in the chain when the endpoint
// answered), or erasure.ErrImpossible. ErrSignature says nothing more
// than that no signature matched.
//
// # Testing
//
// Tests of a host's notices run a Notifier with WithInsecureHTTP against
// an httptest.Server whose handler is a Verifier's Handler, with
// WithClock on both sides to cross the tolerance. This package's tests
// check its signatures with a verifier written from the spec apart from
// the package's own code, and against the spec's published test vector;
// the nested integration module cross-checks them with the official Go
// library of the Standard Webhooks project, both ways. FuzzVerify feeds
// a Verifier unsigned headers and bodies (it accepts only what the spec's
// verifier does); FuzzVerifySigned signs the fuzzed ID, timestamp and
// body inside the target and moves the Verifier's clock, so that the
// tolerance, the payload's checks and the claims of a real MemSeen are
// reached; FuzzDecode feeds the payload decoder alone, and
// FuzzParseSecret the secrets' parser.
package webhook
