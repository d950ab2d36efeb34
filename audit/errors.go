package audit

import (
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr"
)

// Sentinel errors, for errors.Is. ErrInvalid, ErrNotFound and ErrConflict
// wrap the root package's sentinels of the same names.
var (
	// ErrInvalid: bad input (an event without an action, an attribute that
	// is too long, a malformed entry or checkpoint); nothing was written.
	ErrInvalid = fmt.Errorf("audit: %w", gdpr.ErrInvalid)
	// ErrNotFound: the entry, salt or checkpoint asked for does not exist.
	ErrNotFound = fmt.Errorf("audit: %w", gdpr.ErrNotFound)
	// ErrConflict: another writer appended first (a batch that does not
	// start at the head, an index already stored); nothing was written.
	ErrConflict = fmt.Errorf("audit: %w", gdpr.ErrConflict)
	// ErrTampered: the log does not match its hashes, its checkpoints or
	// its anchor: an entry was altered, removed, inserted or reordered,
	// or the log was cut short.
	ErrTampered = errors.New("audit: log tampered with")
	// ErrClosed: the Log was closed.
	ErrClosed = errors.New("audit: log closed")
)

// Error is the typed error of this package, for errors.As: the operation and
// the cause. Its text never holds a subject ID or an entry's content:
// operation names, indexes and sizes only.
type Error struct {
	Op  string // e.g. "record", "verify", "checkpoint"
	Err error  // the cause; wraps one of the sentinels above, or a store's error
}

// Error returns "audit <op>: <cause>".
func (e *Error) Error() string { return "audit " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Err: err}
}
