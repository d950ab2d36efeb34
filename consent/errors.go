package consent

import (
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr"
)

// Sentinel errors. Each is matched with errors.Is; the ones that stand for a
// shared condition wrap the root package's sentinel too, so
// errors.Is(err, gdpr.ErrNotFound) holds for ErrUnknownNotice.
var (
	// ErrInvalid wraps every rejection of bad input; nothing was written.
	ErrInvalid = fmt.Errorf("consent: %w", gdpr.ErrInvalid)
	// ErrNotFound: the event, notice or subject asked for is not in the ledger.
	ErrNotFound = fmt.Errorf("consent: %w", gdpr.ErrNotFound)
	// ErrConflict: the event ID exists already, a notice version was published
	// twice, or a pending consent was confirmed twice.
	ErrConflict = fmt.Errorf("consent: %w", gdpr.ErrConflict)
	// ErrUnknownPurpose: the purpose is not in the Register given to the Ledger.
	ErrUnknownPurpose = fmt.Errorf("%w: unknown purpose", ErrInvalid)
	// ErrUnknownNotice: the notice or version referenced was never published.
	ErrUnknownNotice = fmt.Errorf("%w: unknown notice version", ErrInvalid)
	// ErrNotConsentBased: consent was recorded for a purpose the Register
	// rests on another lawful basis; asking for consent there misleads the subject.
	ErrNotConsentBased = fmt.Errorf("%w: purpose does not rest on consent", ErrInvalid)
	// ErrInvalidToken: a confirmation, unsubscribe or receipt token is
	// malformed, unknown, forged or for another key. It says no more than that.
	ErrInvalidToken = errors.New("consent: invalid token")
	// ErrTokenExpired: a genuine confirmation token came back after its time to live.
	ErrTokenExpired = errors.New("consent: token expired")
	// ErrTokenUsed: a confirmation token that was already used came back.
	ErrTokenUsed = errors.New("consent: token already used")
)

// Error is the typed error of this package, for errors.As: the operation,
// the field at fault when the input was bad, and the cause. Its text never
// holds a personal-data value: IDs of notices and purposes, field names and
// kinds only.
type Error struct {
	Op    string // the Ledger or Store method, e.g. "give"
	Field string // the input field at fault, if any
	Err   error  // the cause; wraps one of the sentinels above
}

func (e *Error) Error() string {
	s := "consent"
	if e.Op != "" {
		s += " " + e.Op
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func invalid(field string, cause error) error {
	return &fieldError{field: field, err: fmt.Errorf("%w: %s", ErrInvalid, stripInvalid(cause))}
}

func invalidf(field, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)}
}

// stripInvalid drops the "gdpr: invalid input: " prefix of a root error so
// the message does not say it twice.
func stripInvalid(err error) string {
	s := err.Error()
	p := gdpr.ErrInvalid.Error() + ": "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// wrap builds the *Error for op, lifting a field from a validation error.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	e := &Error{Op: op, Err: err}
	var fe *fieldError
	if errors.As(err, &fe) {
		e.Field, e.Err = fe.field, fe.err
	}
	return e
}
