// Package crypto encrypts personal-data fields with one key per data
// subject, so that erasing a subject is destroying one key
// (crypto-shredding): every ciphertext of theirs, in every table and every
// backup of the host's database, becomes unreadable at once.
//
// It serves Art. 5(1)(f) and 32 (confidentiality: a leaked table or backup
// gives away nothing without the keys), Art. 25 (data protection by design)
// and Art. 17 (erasure that reaches backups the controller cannot edit).
//
// # Keys
//
// A Keyring holds, per subject, a Tink keyset of AES-256-GCM keys, created
// on first use and stored in a Store wrapped by a key-encryption key (KEK):
// a local Tink keyset in development, a cloud KMS or an HSM in production
// (see KEK for AWS KMS, Cloud KMS and Vault). The wrapped keyset's associated
// data names its record, so a wrapped key moved to another subject does not
// open. The Store never holds a subject ID: records are keyed by a Ref, an
// HMAC of the subject ID under a key the KEK wraps, so a copy of the Store
// without the KEK reveals neither keys nor who has them.
//
// Unwrapped primitives are cached (WithCache; 10,000 subjects for 5 minutes
// by default), so a field operation costs one AES-GCM operation and the KMS
// is called once per subject per TTL, not per field.
//
// # Fields
//
// Encrypt(ctx, subject, Field{Table, Column, Row}, plaintext) returns
// FormatV1 followed by Tink's ciphertext. The associated data binds the
// subject, table, column and (optionally) row, so a ciphertext copied to
// another subject, table, column or row does not decrypt. Decrypt never
// creates a key; its failures are ErrDecrypt, which says nothing about why,
// or ErrShredded once the subject's key is gone.
//
// Blind indexes (BlindIndex) let a host look up rows by an encrypted value
// (a user by e-mail address); their doc says what they leak.
//
// # Erasure, restriction and rotation
//
// Shred destroys a subject's keyset and leaves a tombstone holding only the
// Ref and the time; no get-or-create path makes a new key for them after it
// (Revive is the explicit step for a returning subject). The Keyring is a
// gdpr.Eraser. A Guard consulted before every decryption refuses it for a
// restricted subject (Art. 18). Rotate gives a subject a new primary key
// (Reencrypt moves old values to it); Rewrap rotates the KEK over the whole
// Store, resumably, beside live traffic.
//
// # Storage
//
// memkeys keeps records in memory (the fake for tests); sqlkeys in
// PostgreSQL, MySQL/MariaDB or SQLite. A host's own Store passes
// keystest.RunStoreTests.
//
// # Errors
//
// Methods return *Error (Op and cause, for errors.As) wrapping ErrInvalid,
// ErrNotFound, ErrConflict, ErrShredded, ErrRestricted (which wrap the root
// package's sentinels) or ErrDecrypt. No error carries a subject ID, a
// plaintext or key material.
//
// # Testing
//
// Use memkeys.New() and EphemeralKEK in a host's tests: a real Keyring, with
// nothing to set up. Passwords are hashed by the subpackage crypto/password.
package crypto
