package crypto

import (
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr"
)

// Sentinel errors, for errors.Is. ErrNotFound, ErrConflict, ErrShredded and
// ErrInvalid wrap the root package's sentinels of the same names.
var (
	// ErrInvalid: bad input (an empty subject, an unknown ciphertext
	// version, a bad option); nothing was written.
	ErrInvalid = fmt.Errorf("crypto: %w", gdpr.ErrInvalid)
	// ErrNotFound: no key is stored for the subject (or the record asked for).
	ErrNotFound = fmt.Errorf("crypto: %w", gdpr.ErrNotFound)
	// ErrConflict: a concurrent writer won (a key was created or rotated
	// meanwhile).
	ErrConflict = fmt.Errorf("crypto: %w", gdpr.ErrConflict)
	// ErrShredded: the subject's key was destroyed. Their ciphertexts, in
	// every table and every backup, can no longer be decrypted, and no key
	// is created for them again unless Keyring.Revive is called.
	ErrShredded = fmt.Errorf("crypto: %w", gdpr.ErrShredded)
	// ErrDecrypt: a ciphertext did not decrypt. It says nothing about why
	// (wrong subject, wrong field, altered bytes, a rotated-out key): an
	// attacker learns nothing from the difference.
	ErrDecrypt = errors.New("crypto: decryption failed")
	// ErrRestricted: the Guard refused decryption (processing of the
	// subject's data is restricted, Art. 18). It wraps gdpr.ErrRestricted.
	ErrRestricted = fmt.Errorf("crypto: %w", gdpr.ErrRestricted)
)

// Error is the typed error of this package, for errors.As: the operation and
// the cause. Its text never holds a subject ID, a plaintext or key material:
// operation names, field contexts and Refs only.
type Error struct {
	Op  string // e.g. "encrypt", "shred", "rewrap"
	Err error  // the cause; wraps one of the sentinels above
}

// Error returns "crypto <op>: <cause>".
func (e *Error) Error() string { return "crypto " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
