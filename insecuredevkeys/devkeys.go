// Package insecuredevkeys keeps a development key set in one file, in
// clear, so that a program under development (the quickstart, a host's
// local set-up) can restart against its own database: the same KEK opens
// the keys it wrapped, the same pseudonym key finds the audit trail's
// subjects, the same signing key continues the trail's checkpoints, the
// same receipt and unsubscribe keys verify what was sent before.
//
// It is INSECURE by design, as its name says (after tink's
// insecurecleartextkeyset): whoever reads the file holds every key. Never
// use it in production, where the KEK lives in a KMS and the other keys in
// a secret store. Load refuses a file that others than its owner may read.
//
//	keys, err := insecuredevkeys.Load(".dev/gdpr-keys.json") // made on first use, mode 0600
//	keyring, err := crypto.New(ctx, keyStore, keys.KEK())
//	signer, verifier, err := keys.AuditSigner()
//	trail, err := audit.New(ctx, auditStore, keys.PseudonymKey(), signer, verifier)
//
// # File
//
// A JSON object: a warning, "version": 1, the KEK as a Tink keyset in
// Tink's JSON form (one AES-256-GCM key), the audit signing key as a
// sumdb/note private key, and 32-byte pseudonym, receipt (an Ed25519 seed)
// and unsubscribe keys in base64. Load is strict: an unknown field, a
// missing key or a key of the wrong size is an error wrapping ErrInvalid
// that names the field and never its value.
package insecuredevkeys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
	"golang.org/x/mod/sumdb/note"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/internal/errs"
)

// KEKID is the ID of the development KEK, stored with every record it
// wraps: a production KEK has another ID, so nothing wrapped by this one
// is taken for production's.
const KEKID = "insecure-dev-kek"

// AuditKeyName is the key name of the audit signing key (and of its
// checkpoints' signatures).
const AuditKeyName = "insecure-dev.gdpr/audit"

// ErrInvalid: the file is malformed, or readable by others than its owner.
var ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)

// Error is the package's typed error: the operation, the file's field at
// fault, the cause. It never holds key material.
type Error struct {
	Op    string // "load"
	Field string // e.g. "pseudonym_key"
	Err   error
}

func (e *Error) Error() string { return errs.Text("insecuredevkeys", e.Op, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

const warning = "INSECURE development keys, in clear: never use them in production (package github.com/gdprkit/gdpr/insecuredevkeys)"

// file is the JSON form.
type file struct {
	Warning           string          `json:"warning"`
	Version           int             `json:"version"`
	KEK               json.RawMessage `json:"kek_keyset"`
	AuditSignerKey    string          `json:"audit_signer_key"`
	PseudonymKey      []byte          `json:"pseudonym_key"`
	ReceiptSeed       []byte          `json:"receipt_key"`
	UnsubscribeSecret []byte          `json:"unsubscribe_secret"`
}

// Keys is a development key set. It prints as insecuredevkeys.Keys{…}
// under every fmt verb, never a key. It is safe for concurrent use.
type Keys struct {
	kek         tink.AEAD
	skey        string
	pseudonym   []byte
	receipt     ed25519.PrivateKey
	unsubscribe []byte
}

// Format prints the mask whatever the verb.
func (k *Keys) Format(f fmt.State, verb rune) { io.WriteString(f, "insecuredevkeys.Keys{…}") }

// GoString prints the mask.
func (k *Keys) GoString() string { return "insecuredevkeys.Keys{…}" }

// KEK returns the development KEK, named KEKID.
func (k *Keys) KEK() crypto.KEK { return crypto.NewKEK(KEKID, k.kek) }

// AuditSigner returns the signer and verifier of the audit trail's
// checkpoints.
func (k *Keys) AuditSigner() (note.Signer, note.Verifier, error) { return audit.NewSigner(k.skey) }

// PseudonymKey returns a copy of the audit trail's 32-byte pseudonym key.
func (k *Keys) PseudonymKey() []byte { return bytes.Clone(k.pseudonym) }

// ReceiptKey returns the Ed25519 key that signs consent receipts (a
// crypto.Signer, for consent.WithReceipts).
func (k *Keys) ReceiptKey() ed25519.PrivateKey { return bytes.Clone(k.receipt) }

// UnsubscribeSecret returns a copy of the 32-byte secret of unsubscribe
// links (consent.NewUnsubscriber).
func (k *Keys) UnsubscribeSecret() []byte { return bytes.Clone(k.unsubscribe) }

// Load reads the key set at path, or makes a new one there (mode 0600, its
// directory 0700 if missing) when no file exists. Two processes that start
// at once agree on one set: the file is created whole or not at all, and
// the one that loses the race reads the winner's. A file whose mode lets
// others than its owner read or write it is refused.
func Load(path string) (*Keys, error) {
	b, err := readPrivate(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = create(path)
	}
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

func readPrivate(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, &Error{Op: "load", Err: err}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, &Error{Op: "load", Err: fmt.Errorf("%w: the key file is open to others than its owner (want mode 0600)", ErrInvalid)}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Op: "load", Err: err}
	}
	return b, nil
}

// create writes a new key set to a temporary file beside path and links
// it into place, which fails if path appeared meanwhile; then path is
// read, whoever wrote it.
func create(path string) ([]byte, error) {
	b, err := generate()
	if err != nil {
		return nil, &Error{Op: "generate", Err: err}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	tmp, err := os.CreateTemp(dir, ".devkeys-*")
	if err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.Write(b)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Link(tmp.Name(), path)
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, &Error{Op: "create", Err: err}
		}
	} else {
		tmp.Close()
		return nil, &Error{Op: "create", Err: err}
	}
	return readPrivate(path)
}

func generate() ([]byte, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, err
	}
	var ks bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&ks)); err != nil {
		return nil, err
	}
	skey, _, err := note.GenerateKey(rand.Reader, AuditKeyName)
	if err != nil {
		return nil, err
	}
	f := file{Warning: warning, Version: 1, KEK: ks.Bytes(), AuditSignerKey: skey,
		PseudonymKey: random(32), ReceiptSeed: random(ed25519.SeedSize), UnsubscribeSecret: random(32)}
	return json.MarshalIndent(f, "", "  ")
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Parse decodes a key set in the file's form (see the package doc). Its
// errors wrap ErrInvalid, name the field and hold no key material.
func Parse(b []byte) (*Keys, error) {
	bad := func(field, msg string) error {
		return &Error{Op: "parse", Field: field, Err: fmt.Errorf("%w: %s", ErrInvalid, msg)}
	}
	var f file
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return nil, bad("", "not a key set file (malformed JSON or an unknown field)")
	}
	if d.More() {
		return nil, bad("", "trailing data after the key set")
	}
	if f.Version != 1 {
		return nil, bad("version", "unknown version (want 1)")
	}
	if len(f.PseudonymKey) != 32 {
		return nil, bad("pseudonym_key", "want 32 bytes")
	}
	if len(f.ReceiptSeed) != ed25519.SeedSize {
		return nil, bad("receipt_key", "want a 32-byte Ed25519 seed")
	}
	if len(f.UnsubscribeSecret) != 32 {
		return nil, bad("unsubscribe_secret", "want 32 bytes")
	}
	if _, _, err := audit.NewSigner(f.AuditSignerKey); err != nil {
		return nil, bad("audit_signer_key", "not a note signer key")
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(f.KEK)))
	if err != nil {
		return nil, bad("kek_keyset", "not a Tink keyset")
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, bad("kek_keyset", "not an AEAD keyset")
	}
	return &Keys{kek: a, skey: f.AuditSignerKey, pseudonym: f.PseudonymKey,
		receipt: ed25519.NewKeyFromSeed(f.ReceiptSeed), unsubscribe: f.UnsubscribeSecret}, nil
}
