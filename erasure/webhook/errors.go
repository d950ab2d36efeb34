package webhook

import (
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Sentinel errors, for errors.Is. Those that stand for a shared condition
// wrap the root package's sentinel too: errors.Is(err, gdpr.ErrInvalid)
// holds for ErrInvalid, ErrSignature and ErrStale, errors.Is(err,
// gdpr.ErrConflict) for ErrReplayed and ErrDuplicate. A recipient that cannot be told is
// refused with erasure.ErrImpossible (errors.Is(err, erasure.ErrImpossible)),
// which the request engine records instead of retrying.
var (
	// ErrInvalid wraps every rejection of bad input: an option or
	// endpoint refused by New or NewVerifier, a malformed secret, a
	// notice the Notifier cannot encode, a delivery whose headers or body
	// are malformed. Nothing was sent or accepted.
	ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)
	// ErrSignature: no signature of the delivery matches any of the
	// Verifier's secrets. It says no more than that. It wraps ErrInvalid.
	ErrSignature = errs.Sentinel("no matching signature", ErrInvalid)
	// ErrStale: the delivery's webhook-timestamp lies further from the
	// Verifier's clock than the tolerance, in the past or in the future.
	// It wraps ErrInvalid.
	ErrStale = errs.Sentinel("timestamp outside the tolerance", ErrInvalid)
	// ErrReplayed: a delivery with this webhook-id was accepted already
	// within the tolerance window, and is still being processed (or its
	// processing stopped without Forget). It wraps gdpr.ErrConflict.
	ErrReplayed = errs.Sentinel("message already received", gdpr.ErrConflict)
	// ErrDuplicate: a delivery with this webhook-id was accepted and
	// processed already (Verifier.Done) within the tolerance window: the
	// sender did not learn of it and tries again. Acknowledge it with a
	// 2xx and do not process it again (Handler does so). It wraps
	// ErrReplayed.
	ErrDuplicate = errs.Sentinel("message already processed", ErrReplayed)
	// ErrSeenFull: a MemSeen holds as many unexpired IDs as it may; the
	// delivery was not accepted and may be sent again later.
	ErrSeenFull = errs.Sentinel("seen-set full", nil)
	// ErrDelivery: the recipient's endpoint did not take the notice: it
	// answered with a status other than 2xx (a *StatusError is in the
	// chain), or did not answer in time, or could not be reached. The
	// request engine retries the step with backoff.
	ErrDelivery = errs.Sentinel("delivery failed", nil)
)

// Error is the typed error of this package, for errors.As: the operation,
// the input field, header or option at fault, and the cause. Its text
// never holds a secret, a recipient's reference for a subject, or an
// endpoint URL's userinfo, path or query: endpoints are named by scheme
// and host only.
type Error struct {
	Op    string // "new", "new verifier", "notify", "verify", "done", "forget", "parse secret", "claim"
	Field string // the option, endpoint, header or notice field at fault, if any, e.g. "WithTimeout", `Endpoints["acme"].URL`, "webhook-timestamp"
	Err   error  // the cause; wraps one of the sentinels above, or erasure.ErrImpossible
}

// Error returns "webhook <op>: <field>: <cause>".
func (e *Error) Error() string { return errs.Text("webhook", e.Op, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// StatusError is in the chain of an ErrDelivery error when the endpoint
// answered with a status other than 2xx. Redirects are not followed: a
// 3xx is a failure too, as the Standard Webhooks spec recommends.
type StatusError struct {
	Code int // the HTTP status code
}

// Error returns "status <code>".
func (e *StatusError) Error() string { return fmt.Sprintf("status %d", e.Code) }

func because(sentinel error, detail string, cause error) error {
	return errs.Because(sentinel, detail, cause)
}

func invalidf(format string, args ...any) error {
	return because(ErrInvalid, fmt.Sprintf(format, args...), nil)
}

// fail returns an *Error of op about field.
func fail(op, field string, err error) *Error { return &Error{Op: op, Field: field, Err: err} }

// wrap returns err as an *Error of op, lifting an errs.FieldError's field;
// an *Error is returned as it is.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var we *Error
	if errors.As(err, &we) {
		return err
	}
	e := &Error{Op: op, Err: err}
	var fe *errs.FieldError
	if errors.As(err, &fe) {
		e.Field, e.Err = fe.Field, fe.Err
	}
	return e
}

var errNilContext = because(ErrInvalid, "nil context", nil)
