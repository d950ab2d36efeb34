package erasure

import (
	"context"
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Sentinel errors, for errors.Is. The ones that stand for a shared
// condition wrap the root package's sentinel too: errors.Is(err,
// gdpr.ErrNotFound) holds for ErrNotFound, errors.Is(err, gdpr.ErrInvalid)
// for ErrIllegalTransition. Their texts name the condition once; the
// *Error around them names the package and the operation.
var (
	// ErrInvalid wraps every rejection of bad input; nothing was written.
	ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)
	// ErrNotFound: no request (code, journal entry) with that ID.
	ErrNotFound = errs.Sentinel("not found", gdpr.ErrNotFound)
	// ErrConflict: a concurrent writer changed the request first (its
	// Version moved on), or the ID exists already.
	ErrConflict = errs.Sentinel("conflict", gdpr.ErrConflict)
	// ErrIllegalTransition: the request's state does not allow what was
	// asked (cancelling work already started, extending a closed request).
	// Nothing was written. It wraps ErrInvalid.
	ErrIllegalTransition = errs.Sentinel("illegal state transition", ErrInvalid)
	// ErrUnknownKind: a request of a kind the Engine has no handler or no
	// targets for. It wraps ErrInvalid.
	ErrUnknownKind = errs.Sentinel("no handler for this kind of request", ErrInvalid)
	// ErrUnknownField: a rectification names a rectifier or field the
	// Engine does not know (WithRectifiers). It wraps ErrInvalid.
	ErrUnknownField = errs.Sentinel("no rectifier for this field", ErrInvalid)
	// ErrRefused: the intake hook (WithIntake) refused the request. It
	// wraps the hook's error.
	ErrRefused = errs.Sentinel("request refused at intake", nil)
	// ErrLeased: another worker holds the lease on the request's subject
	// and has not let it expire. It wraps ErrConflict.
	ErrLeased = errs.Sentinel("leased by another worker", ErrConflict)
	// ErrLeaseLost: the worker's lease expired and another took it over;
	// the worker stops and writes nothing more. It wraps ErrConflict.
	ErrLeaseLost = errs.Sentinel("lease lost", ErrConflict)
	// ErrInvalidCode: a verification code that is wrong, expired or for
	// another request. It says no more than that. It wraps ErrInvalid.
	ErrInvalidCode = errs.Sentinel("invalid verification code", ErrInvalid)
	// ErrTooManyAttempts: a verification code was tried more often than
	// the limit allows; the code is void. It wraps ErrInvalid.
	ErrTooManyAttempts = errs.Sentinel("too many verification attempts", ErrInvalid)
	// ErrInvalidReceipt: an erasure receipt is malformed, signed by
	// another key, or altered. It says no more than that. It wraps
	// ErrInvalid.
	ErrInvalidReceipt = errs.Sentinel("invalid receipt", ErrInvalid)
	// ErrRestricted: Check refused: processing of the subject's data is
	// restricted (Art. 18) for the purpose, and no ground of Art. 18(2)
	// was given. It wraps gdpr.ErrRestricted.
	ErrRestricted = errs.Sentinel("processing restricted", gdpr.ErrRestricted)
	// ErrObjected: Check refused: the subject objected to processing for
	// the purpose (Art. 21). It wraps ErrRestricted.
	ErrObjected = errs.Sentinel("the subject objected to this processing", ErrRestricted)
	// ErrAbsolute: an objection to direct marketing cannot be overridden
	// (Art. 21(3)). It wraps ErrInvalid.
	ErrAbsolute = errs.Sentinel("an objection to direct marketing is absolute", ErrInvalid)
	// ErrNotify: the Notifier failed to tell the subject; the transition
	// that needed the notice was not made. It wraps the Notifier's error.
	ErrNotify = errs.Sentinel("the subject could not be notified", nil)
)

// Error is the typed error of this package, for errors.As: the operation,
// the input field or option at fault when the input was bad, and the
// cause. Its text never holds a personal-data value: request IDs, kinds,
// states, target names and field names only.
type Error struct {
	Op    string // the Engine method, e.g. "submit", or "new" for New and its options
	Field string // the input field or option at fault, if any, e.g. "kind", "ctx", "WithClock"
	Err   error  // the cause; wraps one of the sentinels above
}

// Error returns "erasure <op>: <field>: <cause>", with no personal data.
func (e *Error) Error() string { return errs.Text("erasure", e.Op, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func because(sentinel error, detail string, cause error) error {
	return errs.Because(sentinel, detail, cause)
}

func invalid(field string, cause error) error {
	return errs.At(field, because(ErrInvalid, errs.StripInvalid(cause, "erasure"), cause))
}

func invalidf(field, format string, args ...any) error {
	return errs.At(field, because(ErrInvalid, fmt.Sprintf(format, args...), nil))
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ee *Error
	if errors.As(err, &ee) {
		return err
	}
	e := &Error{Op: op, Err: err}
	var fe *errs.FieldError
	if errors.As(err, &fe) {
		e.Field, e.Err = fe.Field, fe.Err
	}
	return e
}

// refuse is sentinel with detail, for field.
func refuse(sentinel error, field, detail string) error {
	return errs.At(field, because(sentinel, detail, nil))
}

var errNilContext = because(ErrInvalid, "nil context", nil)

func checkCtx(op string, ctx context.Context) error {
	if ctx == nil {
		return &Error{Op: op, Field: "ctx", Err: errNilContext}
	}
	return nil
}

func show(s string) string { return errs.Show(s) }
