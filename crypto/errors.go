package crypto

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Sentinel errors, for errors.Is. ErrInvalid, ErrNotFound, ErrConflict,
// ErrShredded and ErrRestricted wrap the root package's sentinels of the
// same meaning, so errors.Is(err, gdpr.ErrShredded) holds for a
// crypto.ErrShredded too. Their texts name the condition once, without a
// package prefix: the *Error around them names the package
// ("crypto decrypt: key shredded").
var (
	// ErrInvalid: bad input (an empty subject, a field without a table, a
	// bad option, a nil context); nothing was written.
	ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)
	// ErrNotFound: no key is stored for the subject or scope (or the record
	// asked for).
	ErrNotFound = errs.Sentinel("not found", gdpr.ErrNotFound)
	// ErrConflict: a concurrent writer won (a key was created or rotated
	// meanwhile), or a key exists already (Revive of a live subject).
	ErrConflict = errs.Sentinel("conflict", gdpr.ErrConflict)
	// ErrShredded: the subject's (or scope's) key was destroyed. Their
	// ciphertexts, in every table and every backup, can no longer be
	// decrypted, and no key is created for them again unless Keyring.Revive
	// is called.
	ErrShredded = errs.Sentinel("key shredded", gdpr.ErrShredded)
	// ErrDecrypt: a ciphertext did not decrypt. It says nothing about why
	// (wrong subject, wrong field, altered bytes, a rotated-out key): an
	// attacker learns nothing from the difference. It wraps no root
	// sentinel. An *Error whose Field is "kek" wraps it when a stored
	// record, not a caller's ciphertext, did not open: the KEK is wrong or
	// missing (WithPreviousKEKs), or a record was moved to another Ref.
	ErrDecrypt = errs.Sentinel("decryption failed", nil)
	// ErrRestricted: the Guard refused decryption (processing of the
	// subject's data is restricted, Art. 18).
	ErrRestricted = errs.Sentinel("processing restricted", gdpr.ErrRestricted)
)

// Error is the typed error of this package, for errors.As: the operation,
// the input field or option at fault, and the cause. Its text never holds
// a subject ID, a plaintext, key material or a rejected value: operation
// names, field and option names and fixed reasons only.
type Error struct {
	// Op is the operation: the Keyring method in snake case ("encrypt",
	// "decrypt", "encrypt_scope", "shred", "erase", "export", "rotate",
	// "revive", "rewrap", "blind_index", "subject_keys"), "new" for New
	// and its options, or a Store method ("get", "create", …) for errors
	// a Store returns.
	Op string
	// Field is the input field, argument or option at fault, if any: "ctx",
	// "subject", "subjects[i]" (SubjectKeys: the subject at index i),
	// "scope", "field", "actor", "purpose", "kek", "store", "writer",
	// "opts" (a nil option), "keyring" (a nil TxKeyring), "ref", "limit"
	// or "tx" (from a Store), or an option's name such as "WithGuard".
	Field string
	// Err is the cause; it wraps one of the sentinels above, or is a
	// context's error.
	Err error
}

// Error returns "crypto <op>: <field>: <cause>", e.g.
// "crypto new: WithGuard: invalid input: nil guard".
func (e *Error) Error() string { return errs.Text("crypto", e.Op, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// because returns sentinel with a fixed detail, wrapping cause (may be nil).
func because(sentinel error, detail string, cause error) error {
	return errs.Because(sentinel, detail, cause)
}

// invalid is ErrInvalid for field, from a root validation error.
func invalid(field string, cause error) error {
	return errs.At(field, because(ErrInvalid, errs.StripInvalid(cause, "crypto"), cause))
}

// invalidf is ErrInvalid for field with a fixed detail.
func invalidf(field, detail string) error { return errs.At(field, because(ErrInvalid, detail, nil)) }

// at names field as the one at fault for err.
func at(field string, err error) error { return errs.At(field, err) }

// wrap builds the *Error for op, lifting the field of an errs.FieldError (only
// one at the top: a Guard's or Recorder's error is a cause, never a field).
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, Err: err}
	if fe, ok := err.(*errs.FieldError); ok {
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

// errEncrypt is the cause when Tink fails to encrypt (it does not, short
// of a broken random source).
var errEncrypt = errors.New("encryption failed")

// fromStore returns an error of the Store as the Keyring reports it: the
// bare sentinel for the conditions the Keyring documents (the Store's own
// text, which may name a Ref, is not passed on), a context's error as it
// is, and anything else (a database failure) behind "store".
func fromStore(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrShredded):
		return ErrShredded
	case errors.Is(err, ErrNotFound):
		return ErrNotFound
	case errors.Is(err, ErrConflict):
		return ErrConflict
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return &storeError{err}
}

// storeError is a Store's failure: "store get: <cause>" for a Store's
// *Error of Op "get", "store: <cause>" otherwise. It unwraps to the Store's
// error.
type storeError struct{ err error }

func (e *storeError) Unwrap() error { return e.err }
func (e *storeError) Error() string {
	if s, ok := strings.CutPrefix(e.err.Error(), "crypto "); ok {
		return "store " + s
	}
	return "store: " + errs.Trim(e.err.Error(), "crypto")
}

// kekError is a failure of the KEK (a KMS) to wrap: the KMS's own error,
// which names keys and permissions, never a subject.
func kekError(cause error) error {
	if cause == nil {
		return at("kek", errors.New("wrapping failed"))
	}
	return at("kek", fmt.Errorf("wrapping failed: %w", cause))
}
