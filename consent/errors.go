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
	// ErrStaleNotice: consent was asked under a notice version that a
	// material version has replaced; ask again with the current text.
	ErrStaleNotice = fmt.Errorf("%w: notice version replaced by a material one", ErrInvalid)
	// ErrNotOverridable: OverrideObjection on a purpose whose objection
	// cannot be overridden (consent, contract…, or direct marketing, Art. 21(3)).
	ErrNotOverridable = fmt.Errorf("%w: objection cannot be overridden", ErrInvalid)
	// ErrInvalidToken: a confirmation or unsubscribe token is malformed,
	// unknown, forged or for another key. It says no more than that. It
	// wraps ErrInvalid.
	ErrInvalidToken = fmt.Errorf("%w: invalid token", ErrInvalid)
	// ErrInvalidReceipt: a receipt is malformed, signed by another key, or
	// altered. It says no more than that. It wraps ErrInvalid.
	ErrInvalidReceipt = fmt.Errorf("%w: invalid receipt", ErrInvalid)
	// ErrTokenExpired: a genuine token came back after its time to live. It
	// wraps ErrInvalid.
	ErrTokenExpired = fmt.Errorf("%w: token expired", ErrInvalid)
	// ErrTokenUsed: a confirmation token that was already used came back. It
	// wraps ErrConflict.
	ErrTokenUsed = fmt.Errorf("%w: token already used", ErrConflict)
	// ErrSuperseded: a confirmation token came back after the subject had
	// withdrawn, refused or objected since the request; the old link must not
	// bring consent back (a mail scanner may have followed it). It wraps
	// ErrConflict.
	ErrSuperseded = fmt.Errorf("%w: request superseded by a later choice", ErrConflict)
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

// Error returns "consent <op>: <field>: <cause>", with no personal data.
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
