package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Sentinel errors, for errors.Is. ErrInvalid, ErrNotFound and ErrConflict
// wrap the root package's sentinels of the same names, so errors.Is(err,
// gdpr.ErrInvalid) holds too; ErrTampered and ErrClosed have no root
// counterpart.
var (
	// ErrInvalid: bad input (an event without an action, an attribute that
	// is too long, a malformed entry or checkpoint, a nil context, a nil or
	// out-of-range option); nothing was written.
	ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)
	// ErrNotFound: the entry, salt or checkpoint asked for does not exist.
	ErrNotFound = errs.Sentinel("not found", gdpr.ErrNotFound)
	// ErrConflict: another writer appended first (a batch that does not
	// start at the head, an index already stored); nothing was written.
	ErrConflict = errs.Sentinel("conflict", gdpr.ErrConflict)
	// ErrTampered: the log does not match its hashes, its checkpoints or
	// its anchor: an entry was altered, removed, inserted or reordered,
	// or the log was cut short.
	ErrTampered = errs.Sentinel("log tampered with", nil)
	// ErrClosed: the Log was closed.
	ErrClosed = errs.Sentinel("log closed", nil)
)

// Error is the typed error of this package, for errors.As, as io/fs's
// PathError: the operation, the argument or option concerned, and the
// cause. Its text never holds a subject ID, a rejected value or an entry's
// content: operation and field names, indexes and sizes only.
type Error struct {
	// Op is the operation, e.g. "new", "record", "verify", "checkpoint";
	// a Store names its own ("append", "query", …).
	Op string
	// Field names the argument or option at fault, e.g. "ctx", "key",
	// "WithClock", "Limit"; empty when the fault is not one argument's.
	Field string
	// Err is the cause; it wraps one of the sentinels above, or is a
	// Store's or an Anchor's error, or a context's.
	Err error
}

// Error returns "audit <op>: <field>: <cause>", leaving out an empty op or
// field. A cause that is itself an *Error (a Store's, under a Log
// operation) is not named "audit" twice: "audit record: append: memaudit:
// conflict: …".
func (e *Error) Error() string {
	cause := e.Err
	if in, ok := cause.(*Error); ok {
		cause = nested{in}
	}
	return errs.Text("audit", e.Op, e.Field, cause)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// nested is an *Error shown under another one, without the package name.
type nested struct{ e *Error }

func (n nested) Error() string { return strings.TrimPrefix(n.e.Error(), "audit ") }

// wrap returns err under op: an *Error of this package that names no
// operation yet (made by invalid) gets op; any other error becomes the
// cause of a new *Error. wrap(op, nil) is nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok && e.Op == "" {
		c := *e
		c.Op = op
		return &c
	}
	return &Error{Op: op, Err: err}
}

// invalid returns an error wrapping ErrInvalid about field, with a reason
// that names no value; wrap gives it its operation.
func invalid(field, reason string) error {
	return &Error{Field: field, Err: fmt.Errorf("%w: %s", ErrInvalid, reason)}
}

// errNilContext is the cause of every error about a nil context.
var errNilContext = fmt.Errorf("%w: nil context", ErrInvalid)

// checkCtx returns the error of op for a nil ctx, and nil otherwise.
func checkCtx(ctx context.Context, op string) error {
	if ctx == nil {
		return &Error{Op: op, Field: "ctx", Err: errNilContext}
	}
	return nil
}
