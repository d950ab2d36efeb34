package gdprhttp

import (
	"errors"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// ErrInvalid wraps every rejection of bad input by this package (a nil
// Ledger, an option's argument, a base URL or token given to
// UnsubscribeURL); it wraps gdpr.ErrInvalid. Its text names the condition
// once, without a package prefix: the *OpError around it names the
// package.
var ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)

// OpError is the typed error of this package, for errors.As: the
// operation, the argument or option at fault, and the cause, which wraps
// ErrInvalid. (It is not named Error, as in the module's other packages,
// because the package's Error writes an error answer, as http.Error does.)
// Its text never holds a token, a URL or any other value given: argument
// and option names and fixed reasons only.
type OpError struct {
	// Op is the operation: "new_unsubscribe_handler",
	// "new_confirm_handler", "unsubscribe_url" or "unsubscribe_header".
	Op string
	// Field is the argument or option at fault, e.g. "ledger", "base",
	// "token", "opts" (a nil option) or an option's name such as
	// "WithTemplate".
	Field string
	// Err is the cause; it wraps ErrInvalid.
	Err error
}

// Error returns "gdprhttp <op>: <field>: <cause>", e.g.
// "gdprhttp unsubscribe_url: base: invalid input: not an https URL".
func (e *OpError) Error() string { return errs.Text("gdprhttp", e.Op, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// invalid is ErrInvalid with a fixed detail.
func invalid(detail string, cause error) error { return errs.Because(ErrInvalid, detail, cause) }

// wrap makes err an *OpError of op, lifting the field of an errs.At.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	e := &OpError{Op: op, Err: err}
	var fe *errs.FieldError
	if errors.As(err, &fe) {
		e.Field, e.Err = fe.Field, fe.Err
	}
	return e
}
