package password

import (
	"fmt"

	"github.com/gdprkit/gdpr"
)

// Sentinel errors, for errors.Is. All four wrap gdpr.ErrInvalid: each is a
// refusal of the input, never a failure of the system.
var (
	// ErrMalformed: a stored hash is not one this package can verify (not
	// PHC argon2id nor bcrypt, bad base64, version other than 19, parameters
	// outside the bounds that Verify accepts, ...).
	ErrMalformed = fmt.Errorf("password: malformed hash: %w", gdpr.ErrInvalid)
	// ErrTooLong: the password is longer than MaxLength bytes.
	ErrTooLong = fmt.Errorf("password: password too long: %w", gdpr.ErrInvalid)
	// ErrEmpty: the password is empty.
	ErrEmpty = fmt.Errorf("password: password empty: %w", gdpr.ErrInvalid)
	// ErrParams: the Params given to NewHasher are outside its bounds.
	ErrParams = fmt.Errorf("password: parameters out of bounds: %w", gdpr.ErrInvalid)
)

// Error is the typed error of this package, for errors.As: the operation and
// the cause. Its text never holds a password or any part of a hash: fixed
// reasons and parameter names only.
type Error struct {
	Op  string // "hash", "verify" or "new hasher"
	Err error  // the cause; wraps one of the sentinels above
}

// Error returns "password <op>: <cause>".
func (e *Error) Error() string { return "password " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// reasonError adds a fixed reason to a sentinel. The reason is always a
// constant string of this package, never derived from the input.
type reasonError struct {
	sentinel error
	reason   string
}

func (e *reasonError) Error() string { return e.sentinel.Error() + " (" + e.reason + ")" }
func (e *reasonError) Unwrap() error { return e.sentinel }

func malformed(reason string) error { return &reasonError{ErrMalformed, reason} }
