package breach

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Sentinel errors, for errors.Is. Those that stand for a shared condition
// wrap the root package's sentinel too.
var (
	// ErrInvalid wraps every rejection of bad input (an option, a
	// report, a notification); nothing was written.
	ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)
	// ErrUnknownCategory: a report or scope names a data category the
	// Register does not declare. It wraps ErrInvalid.
	ErrUnknownCategory = errs.Sentinel("unknown data category", ErrInvalid)
	// ErrLate: a notification to the authority made 72 hours or more
	// after the controller became aware, without the reasons for the
	// delay that Art. 33(1) requires. It wraps ErrInvalid.
	ErrLate = errs.Sentinel("late notification", ErrInvalid)
	// ErrNotFound: no breach of that ID.
	ErrNotFound = errs.Sentinel("not found", gdpr.ErrNotFound)
	// ErrConflict: another writer changed the breach first, or it exists
	// already; nothing was written. It wraps gdpr.ErrConflict.
	ErrConflict = errs.Sentinel("conflict", gdpr.ErrConflict)
	// ErrClosed: the breach is closed; nothing more is recorded for it.
	ErrClosed = errs.Sentinel("breach closed", gdpr.ErrConflict)
	// ErrNotRecorded: the Recorder failed, so what needed an audit event
	// was not done. It wraps the Recorder's error.
	ErrNotRecorded = errs.Sentinel("the audit event was not recorded", nil)
	// ErrCorrupt: the events a Store returned for a breach are out of
	// order or do not decode; the Store's data was changed outside the
	// Log. The error names the breach and the event, not their contents.
	ErrCorrupt = errs.Sentinel("stored events do not decode", nil)
	// ErrNoTrail: finding the subjects affected needs a gdpr.Trail
	// (WithTrail).
	ErrNoTrail = errs.Sentinel("no audit trail to search (WithTrail)", nil)
)

// Error is the typed error of this package and of its stores, for
// errors.As: the operation, the input field or option at fault, and the
// cause. Its text never holds a personal-data value.
type Error struct {
	Op    string // the operation, e.g. "record", "notify", or "new"
	Field string // the input field or option at fault, if any
	Err   error  // the cause; wraps one of the sentinels above
}

// Error returns "breach <op>: <field>: <cause>", with no personal data.
func (e *Error) Error() string { return errs.Text("breach", e.Op, e.Field, e.Err) }

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

func jsonValid(b []byte) bool { return json.Valid(b) }
