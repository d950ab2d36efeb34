package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
)

type messageKey struct{}

// FromContext returns the Message a Verifier's Handler accepted, from the
// context of the request it passes on.
func FromContext(ctx context.Context) (Message, bool) {
	m, ok := ctx.Value(messageKey{}).(Message)
	return m, ok
}

// Handler returns a handler that verifies each delivery (Verify) before
// next sees it: next gets the request with its body unread (the bytes
// verified) and the Message in its context (FromContext). The answers it
// gives itself, with nothing in the body but the status text:
//
//	405 Method Not Allowed    not a POST
//	413 Content Too Large     a body larger than WithMaxBody
//	400 Bad Request           malformed headers or payload (ErrInvalid)
//	401 Unauthorized          no matching signature, or a stale timestamp (ErrSignature, ErrStale)
//	409 Conflict              the ID was accepted and is being processed (ErrReplayed)
//	200 OK                    the ID was processed already (ErrDuplicate): next is not called
//	503 Service Unavailable   the SeenStore failed (ErrSeenFull, or the store's error),
//	                          with Retry-After: 5 (seconds)
//
// If next answers with a 2xx (or writes nothing), the ID's claim is marked
// Done, so that the sender's retry of a delivery whose answer it did not
// get is acknowledged; if next answers otherwise, or panics, the claim is
// dropped (Forget), so that the retry is taken. If Done fails (a shared
// SeenStore unreachable), the claim is dropped too, and nothing is logged:
// a retry is then processed again — the host's processing of an ID is
// idempotent anyway — rather than refused with 409 until the window ends.
// The claims last the tolerance window; for exactly-once beyond it, a host
// keeps its own record of the IDs it processed (the idempotency key).
//
// A next that hijacks the connection (http.Hijacker, reached through
// http.ResponseController) answers the sender itself, unseen by the
// Handler: unless it wrote a status first, its claim is marked Done as for
// a 2xx. Such a next should answer a failure with a status before it
// hijacks, or call Forget itself.
func (vv *Verifier) Handler(next http.Handler) http.Handler {
	v := vv.s.get()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			answer(w, http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(v.maxBody)+1))
		if err != nil {
			answer(w, http.StatusBadRequest)
			return
		}
		if len(body) > v.maxBody {
			answer(w, http.StatusRequestEntityTooLarge)
			return
		}
		m, err := vv.Verify(r.Context(), r.Header, body)
		if err != nil {
			code := status(err)
			if code == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", retryAfter)
			}
			answer(w, code)
			return
		}
		ok := false
		rec := &recorder{ResponseWriter: w}
		defer func() {
			ctx := context.WithoutCancel(r.Context())
			if ok && v.seen.Done(ctx, m.ID) == nil {
				return
			}
			_ = v.seen.Forget(ctx, m.ID) // no Done: let a retry be taken
		}()
		r = r.WithContext(context.WithValue(r.Context(), messageKey{}, m))
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(rec, r)
		ok = rec.code == 0 || rec.code >= 200 && rec.code <= 299
	})
}

// retryAfter is the Retry-After of a 503, in seconds: a SeenStore that
// is full frees room as claims expire, one that is unreachable may be back.
const retryAfter = "5"

// status maps Verify's errors to the Handler's answers.
func status(err error) int {
	switch {
	case errors.Is(err, ErrDuplicate):
		return http.StatusOK
	case errors.Is(err, ErrSignature), errors.Is(err, ErrStale):
		return http.StatusUnauthorized
	case errors.Is(err, ErrReplayed):
		return http.StatusConflict
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusServiceUnavailable
}

func answer(w http.ResponseWriter, code int) { http.Error(w, http.StatusText(code), code) }

// recorder notes the status next answered with.
type recorder struct {
	http.ResponseWriter
	code int
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 { // 1xx answers are informational
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer beneath.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
