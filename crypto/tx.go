package crypto

import (
	"context"
	"fmt"
	"io"

	"github.com/gdprkit/gdpr"
)

// In returns the Keyring's field operations through tx, a view of its Store
// in the caller's own database transaction (sqlkeys' Store.Tx), so that a
// key created for a new subject (or scope) commits or rolls back with the
// host's row that holds the ciphertext:
//
//	tx, _ := db.BeginTx(ctx, nil)
//	ct, err := ring.In(keys.Tx(tx)).Encrypt(ctx, "user-42", email, []byte("ann@example.org"))
//	… INSERT the row with ct in tx …
//	err = tx.Commit()
//
// On SQLite, which has one writer at a time, this is how to encrypt for a
// new subject inside a write transaction at all: a plain Encrypt creates
// the key on another connection, which waits for the transaction's write
// lock until the busy timeout expires and then fails. On PostgreSQL and
// MySQL a plain Encrypt works there too, but its key is committed at once
// and outlives a rollback of the host's transaction.
//
// tx must be a view of the Keyring's own Store (the same table, in a
// transaction), and is used by one goroutine at a time, as the transaction
// is. Its Get must not return a live record that a Shred which has
// returned destroyed, whatever the transaction's snapshot (sqlkeys' view
// reads a live key with a locking read): so no call through the view that
// starts after Shred returned uses the key. In(nil) returns a TxKeyring whose every call fails with ErrInvalid
// (Field "store").
func (k *Keyring) In(tx Store) *TxKeyring { return &TxKeyring{k: k, tx: tx} }

// TxKeyring is a Keyring's Encrypt, Decrypt, EncryptScope and DecryptScope
// through a transaction's view of its Store (see Keyring.In). Each works
// and fails as the Keyring's method of the same name, but for where keys
// come from:
//
//   - a key in the Keyring's cache (one it read or made through its own
//     Store, so committed) is used as it is;
//   - any other key is read, or created on first use, through tx, and is
//     never put in the cache, whether it was created or only read: if the
//     host rolls back, a key created in tx never existed, and a cached copy
//     of it would go on encrypting data that nothing can decrypt once the
//     cache entry expires. So each such call reads the Store (and calls
//     the KEK) again, until the key reaches the cache through the Keyring
//     after the commit.
//
// A key created through tx is audited as crypto.key_created with
// Attrs["transaction"] = "caller": the event is recorded when the key is
// made, before the host commits, and stands even if the host rolls back.
// Shred, Rotate, Revive and the rest are the Keyring's alone; their
// semantics do not change.
//
// A TxKeyring prints as crypto.TxKeyring{kek: "<KEK ID>"} under every fmt
// verb.
type TxKeyring struct {
	k  *Keyring
	tx Store
}

// check refuses a nil Keyring or tx for op.
func (t *TxKeyring) check(op string) error {
	if t == nil || t.k == nil {
		return wrap(op, invalidf("keyring", "nil Keyring"))
	}
	if t.tx == nil {
		return wrap(op, invalidf("store", "nil Store"))
	}
	return nil
}

// Encrypt encrypts plaintext for subject's field f as Keyring.Encrypt
// does, creating the subject's keyset through the transaction's Store on
// first use.
func (t *TxKeyring) Encrypt(ctx context.Context, subject gdpr.SubjectID, f Field, plaintext []byte) ([]byte, error) {
	if err := t.check("encrypt"); err != nil {
		return nil, err
	}
	return t.k.encrypt(ctx, "encrypt", owner{subject: subject}, f, plaintext, t.tx)
}

// Decrypt decrypts a ciphertext of subject's field f as Keyring.Decrypt
// does (the Guard and decrypt auditing included), reading a key the cache
// does not hold through the transaction's Store: so it opens what Encrypt
// wrote in the same transaction.
func (t *TxKeyring) Decrypt(ctx context.Context, subject gdpr.SubjectID, f Field, ciphertext []byte) ([]byte, error) {
	if err := t.check("decrypt"); err != nil {
		return nil, err
	}
	return t.k.decrypt(ctx, "decrypt", owner{subject: subject}, f, ciphertext, t.tx)
}

// EncryptScope encrypts plaintext for field f of scope as
// Keyring.EncryptScope does, creating the scope's keyset through the
// transaction's Store on first use.
func (t *TxKeyring) EncryptScope(ctx context.Context, scope Scope, f Field, plaintext []byte) ([]byte, error) {
	if err := t.check("encrypt_scope"); err != nil {
		return nil, err
	}
	return t.k.encrypt(ctx, "encrypt_scope", owner{scope: scope, isScope: true}, f, plaintext, t.tx)
}

// DecryptScope decrypts a ciphertext of field f of scope as
// Keyring.DecryptScope does, reading a key the cache does not hold through
// the transaction's Store.
func (t *TxKeyring) DecryptScope(ctx context.Context, scope Scope, f Field, ciphertext []byte) ([]byte, error) {
	if err := t.check("decrypt_scope"); err != nil {
		return nil, err
	}
	return t.k.decrypt(ctx, "decrypt_scope", owner{scope: scope, isScope: true}, f, ciphertext, t.tx)
}

// String returns crypto.TxKeyring{kek: "<KEK ID>"}: no key prints.
func (t *TxKeyring) String() string {
	if t == nil || t.k == nil {
		return "(*crypto.TxKeyring)(nil)"
	}
	return "crypto.TxKeyring" + t.k.String()[len("crypto.Keyring"):]
}

// GoString returns the same as String, for %#v.
func (t *TxKeyring) GoString() string { return t.String() }

// Format prints String under every verb (%v, %+v, %#v, %s, %x, %q, …).
func (t *TxKeyring) Format(f fmt.State, _ rune) { io.WriteString(f, t.String()) }
