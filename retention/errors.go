package retention

import (
	"context"
	"errors"
	"strconv"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Sentinel errors, for errors.Is. The ones that stand for a shared
// condition wrap the root package's sentinel too: errors.Is(err,
// gdpr.ErrNotFound) holds for ErrNotFound, errors.Is(err, gdpr.ErrInvalid)
// for ErrNoPolicy.
var (
	// ErrInvalid wraps every rejection of bad input (an option, a policy,
	// a hold, a batch); nothing was written.
	ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)
	// ErrUnknownCategory: a policy, target or hold names a data category
	// the Register does not declare. It wraps ErrInvalid.
	ErrUnknownCategory = errs.Sentinel("unknown data category", ErrInvalid)
	// ErrNoPolicy: a data category has no retention policy where one is
	// needed: a target sweeps it, or the Register keeps it with a
	// retention rule that has no Period, so code must give one. It wraps
	// ErrInvalid.
	ErrNoPolicy = errs.Sentinel("no retention policy for the data category", ErrInvalid)
	// ErrNotFound: no hold of that ID.
	ErrNotFound = errs.Sentinel("not found", gdpr.ErrNotFound)
	// ErrExists: a hold of that ID exists already, with other contents.
	// It wraps gdpr.ErrConflict.
	ErrExists = errs.Sentinel("exists already", gdpr.ErrConflict)
	// ErrLeased: another sweeper of the same name holds the sweep lease
	// and has not let it expire; this one swept nothing. It wraps
	// gdpr.ErrConflict.
	ErrLeased = errs.Sentinel("another sweeper holds the lease", gdpr.ErrConflict)
	// ErrLeaseLost: the sweeper's lease expired and another sweeper took
	// it over; the sweeper stopped and wrote nothing more. It wraps
	// gdpr.ErrConflict.
	ErrLeaseLost = errs.Sentinel("lease lost", gdpr.ErrConflict)
	// ErrTarget: a target's Deleter failed; the *Error names the target.
	// The sweep stopped there; its checkpoint keeps what was done, and
	// the next sweep resumes from it. It wraps the Deleter's error.
	ErrTarget = errs.Sentinel("target failed", nil)
	// ErrNotRecorded: the Recorder failed, so what needed an audit event
	// was not done (a target not begun, a hold not placed). It wraps the
	// Recorder's error.
	ErrNotRecorded = errs.Sentinel("the audit event was not recorded", nil)
)

// Error is the typed error of this package and of its stores, for
// errors.As: the operation, the option, input field or target at fault,
// and the cause. Its text never holds a personal-data value: hold IDs,
// category and target names and option names only.
type Error struct {
	Op    string // the operation, e.g. "sweep", "place", or "new" for constructors and their options
	Field string // the option, input field or target at fault, if any
	Err   error  // the cause; wraps one of the sentinels above
}

// Error returns "retention <op>: <field>: <cause>", with no personal data.
func (e *Error) Error() string { return errs.Text("retention", e.Op, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func because(sentinel error, detail string, cause error) error {
	return errs.Because(sentinel, detail, cause)
}

func invalid(field, detail string) error {
	return errs.At(field, because(ErrInvalid, detail, nil))
}

// wrap makes err an *Error of op, lifting the field of an errs.At.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	// Only an *Error at the top passes as it is: one deeper down (a
	// Deleter's own) is the cause of this one.
	if _, ok := err.(*Error); ok {
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

func checkCtx(op string, ctx context.Context) error {
	if ctx == nil {
		return &Error{Op: op, Field: "ctx", Err: errNilContext}
	}
	return nil
}

func show(s string) string { return errs.Show(s) }

func at(field string, err error) error { return errs.At(field, err) }

// atIndex returns err, about a field of element i of list, as about
// "list[i].field".
func atIndex(list string, i int, err error) error {
	field := list + "[" + strconv.Itoa(i) + "]"
	var fe *errs.FieldError
	if errors.As(err, &fe) {
		return errs.At(field+"."+fe.Field, fe.Err)
	}
	return errs.At(field, err)
}

func itoa(i int) string { return strconv.Itoa(i) }
