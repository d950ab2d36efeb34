package consent

import (
	"context"
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Sentinel errors. Each is matched with errors.Is; the ones that stand for a
// shared condition wrap the root package's sentinel too, so
// errors.Is(err, gdpr.ErrNotFound) holds for ErrNotFound and
// errors.Is(err, gdpr.ErrInvalid) for ErrUnknownNotice. Their texts name the
// condition once, without a package prefix: the *Error around them names
// the package ("consent give: purpose: unknown purpose").
var (
	// ErrInvalid wraps every rejection of bad input; nothing was written.
	ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)
	// ErrNotFound: the event, notice or subject asked for is not in the ledger.
	ErrNotFound = errs.Sentinel("not found", gdpr.ErrNotFound)
	// ErrConflict: the event ID exists already, a notice version was
	// published before with other content, or a pending consent was
	// confirmed twice.
	ErrConflict = errs.Sentinel("conflict", gdpr.ErrConflict)
	// ErrUnknownPurpose: the purpose is not in the Register given to the Ledger.
	ErrUnknownPurpose = errs.Sentinel("unknown purpose", ErrInvalid)
	// ErrUnknownNotice: the notice or version referenced was never published.
	ErrUnknownNotice = errs.Sentinel("unknown notice version", ErrInvalid)
	// ErrNotConsentBased: consent was recorded for a purpose the Register
	// rests on another lawful basis; asking for consent there misleads the subject.
	ErrNotConsentBased = errs.Sentinel("purpose does not rest on consent", ErrInvalid)
	// ErrStaleNotice: consent was asked under a notice version that a
	// material version has replaced; ask again with the current text.
	ErrStaleNotice = errs.Sentinel("notice version replaced by a material one", ErrInvalid)
	// ErrNotOverridable: OverrideObjection on a purpose whose objection
	// cannot be overridden (consent, contract…, or direct marketing, Art. 21(3)).
	ErrNotOverridable = errs.Sentinel("objection cannot be overridden", ErrInvalid)
	// ErrInvalidToken: a confirmation or unsubscribe token is malformed,
	// unknown, forged or for another key. It says no more than that. It
	// wraps ErrInvalid.
	ErrInvalidToken = errs.Sentinel("invalid token", ErrInvalid)
	// ErrInvalidReceipt: a receipt is malformed, signed by another key, or
	// altered. It says no more than that. It wraps ErrInvalid.
	ErrInvalidReceipt = errs.Sentinel("invalid receipt", ErrInvalid)
	// ErrTokenExpired: a genuine token came back after its time to live. It
	// wraps ErrInvalid.
	ErrTokenExpired = errs.Sentinel("token expired", ErrInvalid)
	// ErrTokenUsed: a confirmation token that was already used came back. It
	// wraps ErrConflict.
	ErrTokenUsed = errs.Sentinel("token already used", ErrConflict)
	// ErrSuperseded: a confirmation token came back after the subject had
	// withdrawn, refused or objected since the request; the old link must not
	// bring consent back (a mail scanner may have followed it). It wraps
	// ErrConflict.
	ErrSuperseded = errs.Sentinel("request superseded by a later choice", ErrConflict)
)

// Error is the typed error of this package, for errors.As: the operation,
// the input field or option at fault when the input was bad, and the cause.
// Its text never holds a personal-data value: IDs of notices and purposes,
// field names and kinds only, and a rejected value only when it looks like
// a key (lower-case letters, digits, '_', '.', '-'; at most 40 bytes).
type Error struct {
	Op    string // the Ledger method, e.g. "give", or "new" for New and its options
	Field string // the input field or option at fault, if any, e.g. "purpose", "ctx", "WithClock"
	Err   error  // the cause; wraps one of the sentinels above
}

// Error returns "consent <op>: <field>: <cause>", e.g.
// "consent new: WithClock: invalid input: nil clock", with no personal data.
func (e *Error) Error() string { return errs.Text("consent", e.Op, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// because returns sentinel with detail, wrapping cause (which may be nil).
func because(sentinel error, detail string, cause error) error {
	return errs.Because(sentinel, detail, cause)
}

// invalid is ErrInvalid for field, from a root validation error.
func invalid(field string, cause error) error {
	return errs.At(field, because(ErrInvalid, errs.StripInvalid(cause, "consent"), cause))
}

// invalidf is ErrInvalid for field with a formatted detail.
func invalidf(field, format string, args ...any) error {
	return errs.At(field, because(ErrInvalid, fmt.Sprintf(format, args...), nil))
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
	var fe *errs.FieldError
	if errors.As(err, &fe) {
		e.Field, e.Err = fe.Field, fe.Err
	}
	return e
}

// errNilContext is the cause of every refusal of a nil context.
var errNilContext = because(ErrInvalid, "nil context", nil)

// checkCtx refuses a nil context, for op.
func checkCtx(op string, ctx context.Context) error {
	if ctx == nil {
		return &Error{Op: op, Field: "ctx", Err: errNilContext}
	}
	return nil
}

// show quotes a rejected value only when it looks like a key (errs.Show).
func show(s string) string { return errs.Show(s) }
