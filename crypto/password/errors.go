package password

import (
	"errors"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Sentinel errors, for errors.Is. All four wrap gdpr.ErrInvalid: each is a
// refusal of the input, never a failure of the system. Their texts name
// the condition once, without a package prefix: the *Error around them
// names the package ("password verify: encoded: malformed hash: not
// argon2id").
var (
	// ErrMalformed: a stored hash is not one this package can verify (not
	// PHC argon2id nor bcrypt, bad base64, version other than 19, parameters
	// outside the bounds that Verify accepts, ...).
	ErrMalformed = errs.Sentinel("malformed hash", gdpr.ErrInvalid)
	// ErrTooLong: the password is longer than MaxLength bytes.
	ErrTooLong = errs.Sentinel("password too long", gdpr.ErrInvalid)
	// ErrEmpty: the password is empty.
	ErrEmpty = errs.Sentinel("password empty", gdpr.ErrInvalid)
	// ErrParams: the Params given to NewHasher are outside its bounds.
	ErrParams = errs.Sentinel("parameters out of bounds", gdpr.ErrInvalid)
)

// Error is the typed error of this package, for errors.As: the operation,
// the input at fault and the cause. Its text never holds a password or any
// part of a hash: fixed reasons and parameter names only.
type Error struct {
	Op    string // "hash", "verify" or "new hasher"
	Field string // "password", "encoded" (the stored hash), or the Params field at fault, e.g. "Memory"
	Err   error  // the cause; wraps one of the sentinels above
}

// Error returns "password <op>: <field>: <cause>", e.g.
// "password verify: encoded: malformed hash: want 5 fields".
func (e *Error) Error() string { return errs.Text("password", e.Op, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// reasonError adds a fixed reason to a sentinel, and names the input at
// fault. The reason is always a constant string of this package, never
// derived from the input.
type reasonError struct {
	sentinel error
	field    string
	reason   string
}

func (e *reasonError) Error() string { return e.sentinel.Error() + ": " + e.reason }
func (e *reasonError) Unwrap() error { return e.sentinel }

func malformed(reason string) error { return &reasonError{ErrMalformed, "encoded", reason} }

// fail returns the *Error of op for err, naming the field a reasonError
// carries, or for ErrEmpty and ErrTooLong the password.
func fail(op string, err error) error {
	e := &Error{Op: op, Err: err}
	var re *reasonError
	switch {
	case errors.As(err, &re):
		e.Field = re.field
	case errors.Is(err, ErrEmpty), errors.Is(err, ErrTooLong):
		e.Field = "password"
	}
	return e
}
