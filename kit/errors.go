package kit

import (
	"errors"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// ErrInvalid wraps every rejection of Open's arguments and options; Open
// opened nothing. It wraps gdpr.ErrInvalid. Errors of the packages Open
// wires (a migration that failed, a key store made with another KEK) come
// as they are, inside an *Error naming the part.
var ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)

// Error is the typed error of Open, for errors.As: the part that failed to
// open ("consent", "keys", "audit", "requests", "exports", "retention") or
// the option at fault, and the cause. Its text holds no personal data and
// no secret.
type Error struct {
	Op    string // "open", or "run"
	Field string // the part or option at fault, if any
	Err   error  // the cause
}

// Error returns "kit <op>: <field>: <cause>".
func (e *Error) Error() string { return errs.Text("kit", e.Op, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func invalid(field, detail string) error {
	return &Error{Op: "open", Field: field, Err: errs.Because(ErrInvalid, detail, nil)}
}

// part wraps the error of one part of Open.
func part(name string, err error) error {
	if err == nil {
		return nil
	}
	var ke *Error
	if errors.As(err, &ke) && ke.Op == "open" {
		return err
	}
	return &Error{Op: "open", Field: name, Err: err}
}
