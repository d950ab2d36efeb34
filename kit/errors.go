package kit

import (
	"errors"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// ErrInvalid wraps every rejection of Open's arguments, keys and options,
// which Open checks before it touches the database: a refused Open
// created no table and left nothing running. It wraps gdpr.ErrInvalid.
// Errors of the packages Open wires (a migration that failed, a key store
// made with another KEK, a package's own option passed through With…
// Options that it refuses) come as they are, inside an *Error naming the
// part; Open stops what it had started then too.
var ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)

// Error is the typed error of Open and Run, for errors.As: the argument
// at fault ("ctx", "db", "d", "reg", "opts"), the key ("Keys.KEK",
// "Keys.AuditSigner", "Keys.AuditVerifier", "Keys.PseudonymKey",
// "Keys.SubjectKey", "Keys.ReceiptKey", "Keys.UnsubscribeSecrets"), the
// option ("WithTablePrefix", "WithTargets", …) or the part that failed
// ("consent", "keys", "audit", "requests", "exports", "retention"), and
// the cause. Its text holds no personal data and no secret.
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
