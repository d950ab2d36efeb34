package crypto

import (
	"context"
	"unicode/utf8"
)

// Scope names a key that belongs to a thing, not to a person: a support
// ticket, an uploaded file, an integration's credentials. Values encrypted
// for a scope become unreadable, all at once, when the scope is shredded:
// the temporary site credentials a customer shares in ticket 4711 are
// encrypted with EncryptScope(ctx, "ticket/4711", …) and destroyed with
// ShredScope(ctx, "ticket/4711") when the ticket closes, whatever number of
// copies the host's tables and backups hold.
//
// A scope is not a data subject: its audit events carry no Subject (no
// audit pseudonym is minted for a non-person) and name the scope in
// Attrs["scope"] instead, in clear. So a Scope is an identifier of the
// host's choosing, like a Resource: a ticket or record ID, never personal
// data (not an e-mail address). It is 1 to 255 bytes of UTF-8 without
// control characters (C0, DEL or C1), as an audit log holds an attribute
// value.
//
// Scopes share the Keyring's Store with subjects, under Refs of a separate
// HMAC domain, so no scope's key is ever a subject's, even for the same
// string; their ciphertexts' associated data has a domain of its own too.
// They are cached, rewrapped by Rewrap and shredded like subjects' keys,
// leave tombstones the same way (no new key for a shredded scope), and
// are not consulted by the Guard, which judges subjects. A subject's data
// that belongs to them (their address) stays under their own key, so that
// their erasure reaches it; use a scope for what the controller must
// destroy on its own schedule.
type Scope string

// maxScopeLen is the longest scope name, in bytes.
const maxScopeLen = 255

// Validate reports whether s is usable: 1 to 255 bytes of UTF-8 without
// control characters (C0, DEL or C1: what an audit log refuses in
// Attrs["scope"]). The error wraps ErrInvalid and does not contain the
// value.
func (s Scope) Validate() error {
	switch {
	case s == "":
		return because(ErrInvalid, "empty scope", nil)
	case len(s) > maxScopeLen:
		return because(ErrInvalid, "scope longer than 255 bytes", nil)
	case !utf8.ValidString(string(s)):
		return because(ErrInvalid, "scope is not valid UTF-8", nil)
	case !printable(string(s)):
		return because(ErrInvalid, "scope contains a control character", nil)
	}
	return nil
}

func (s Scope) validate() error {
	if err := s.Validate(); err != nil {
		return at("scope", err)
	}
	return nil
}

// ScopeRef returns the Store key of scope: the lower-case hex HMAC-SHA256
// of its name under the Keyring's Ref key, in a domain of its own, so it
// never equals the Ref of a subject.
func (k *Keyring) ScopeRef(scope Scope) string { return k.ref(owner{scope: scope, isScope: true}) }

// EncryptScope encrypts plaintext for field f of scope, creating the
// scope's keyset on first use. Errors as Encrypt, with Field "scope" for an
// invalid scope.
func (k *Keyring) EncryptScope(ctx context.Context, scope Scope, f Field, plaintext []byte) ([]byte, error) {
	return k.encrypt(ctx, "encrypt_scope", owner{scope: scope, isScope: true}, f, plaintext, nil)
}

// DecryptScope decrypts a ciphertext of field f of scope. It never creates
// a key. Errors as Decrypt: ErrShredded once the scope is shredded,
// ErrDecrypt for any ciphertext that does not open (among them a subject's
// ciphertext presented as a scope's), saying nothing about which. The
// Guard is not consulted. With WithDecryptAudit, each call records one
// event without a Subject.
func (k *Keyring) DecryptScope(ctx context.Context, scope Scope, f Field, ciphertext []byte) ([]byte, error) {
	return k.decrypt(ctx, "decrypt_scope", owner{scope: scope, isScope: true}, f, ciphertext, nil)
}

// ShredScope destroys scope's keyset and leaves a tombstone, as Shred does
// for a subject: every ciphertext of the scope becomes unreadable, and
// EncryptScope and DecryptScope return ErrShredded from then on. It is
// idempotent, and shredding a scope that never had a key leaves a
// tombstone too.
func (k *Keyring) ShredScope(ctx context.Context, scope Scope) error {
	_, err := k.shred(ctx, "shred_scope", owner{scope: scope, isScope: true})
	return err
}
