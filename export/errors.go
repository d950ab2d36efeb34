package export

import (
	"context"
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Sentinel errors, for errors.Is. The ones that stand for a shared
// condition wrap the root package's sentinel too.
var (
	// ErrInvalid wraps every rejection of bad input (an option, a
	// request, a record a source wrote); nothing was written.
	ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)
	// ErrNotFound: no delivery, part or blob of that ID or token. A
	// token that was used or has expired is reported as ErrNotFound too,
	// so a caller learns nothing about tokens it does not hold.
	ErrNotFound = errs.Sentinel("not found", gdpr.ErrNotFound)
	// ErrConflict: a delivery with that ID, or a part with that token
	// hash, exists already; or a blob of that name is being written.
	ErrConflict = errs.Sentinel("conflict", gdpr.ErrConflict)
	// ErrSpent: a download failed after its token was spent; the part
	// is deleted, and the subject must ask for a new copy.
	ErrSpent = errs.Sentinel("the download link is used up", nil)
	// ErrSource: a source failed while the bundle was written; the
	// bundle is incomplete and must not be used. The *Error names the
	// source. It wraps the source's error.
	ErrSource = errs.Sentinel("source failed", nil)
	// ErrBundle: the reader rejected a bundle: no or a malformed
	// manifest, a bad signature, a wrong hash or size, a file missing
	// from the archive or not in the manifest, a path outside the
	// archive, a part out of order, or a size or compression ratio over
	// the reader's limits. It says what was wrong, never a value.
	ErrBundle = errs.Sentinel("invalid bundle", nil)
	// ErrSignature: the manifest's signature does not verify under any
	// trusted key. It wraps ErrBundle.
	ErrSignature = errs.Sentinel("manifest signature does not verify", ErrBundle)
	// ErrTooLarge: a bundle over the reader's limits of size, entries or
	// compression ratio (a decompression bomb). It wraps ErrBundle.
	ErrTooLarge = errs.Sentinel("bundle over the reader's limits", ErrBundle)
)

// Error is the typed error of this package, for errors.As: the
// operation, the option, input field, source or file at fault, and the
// cause. Its text never holds a personal-data value.
type Error struct {
	Op    string // the operation, e.g. "write", "open", "download", or "new" for New and its options
	Field string // the option, input field, source name or archive path at fault, if any
	Err   error  // the cause; wraps one of the sentinels above
}

// Error returns "export <op>: <field>: <cause>", with no personal data.
func (e *Error) Error() string { return errs.Text("export", e.Op, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func because(sentinel error, detail string, cause error) error {
	return errs.Because(sentinel, detail, cause)
}

func invalid(field string, cause error) error {
	return errs.At(field, because(ErrInvalid, errs.StripInvalid(cause, "export"), cause))
}

func bundleErr(path, format string, args ...any) error {
	return errs.At(path, because(ErrBundle, fmt.Sprintf(format, args...), nil))
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ee *Error
	if errors.As(err, &ee) {
		return err
	}
	e := &Error{Op: op, Err: err}
	var fe *errs.FieldError
	if errors.As(err, &fe) {
		e.Field, e.Err = fe.Field, fe.Err
	}
	return e
}

var errNilContext = because(ErrInvalid, "nil context", nil)

func checkCtx(op string, ctx context.Context) error {
	if ctx == nil {
		return &Error{Op: op, Field: "ctx", Err: errNilContext}
	}
	return nil
}

func show(s string) string { return errs.Show(s) }
