package crypto

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// KEK is a key-encryption key: it wraps (encrypts) the subjects' keysets
// before they reach the Store. In production it lives in a KMS or an HSM and
// never leaves it; the Keyring calls it only when a subject's keyset is
// created, rotated, or loaded into the cache, never per field.
//
// Any Tink AEAD will do. With a cloud KMS, through Tink's KMS extensions
// (the module itself imports no cloud SDK; checked against
// tink-go-awskms/v3 v3.0.0, tink-go-gcpkms/v2 v2.4.0, tink-go-hcvault/v2
// v2.5.0):
//
//	// AWS KMS: github.com/tink-crypto/tink-go-awskms/v3/integration/awskms
//	a, err := awskms.NewAEADWithContext(ctx, "arn:aws:kms:eu-west-1:111122223333:key/…")
//	kek := crypto.NewKEKWithContext("aws-2026-01", a)
//
//	// Google Cloud KMS: github.com/tink-crypto/tink-go-gcpkms/v2/integration/gcpkms
//	const uri = "gcp-kms://projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k"
//	client, err := gcpkms.NewClient(ctx, uri)
//	a, err := client.GetAEAD(uri)
//	kek := crypto.NewKEK("gcp-2026-01", a)
//
//	// HashiCorp Vault transit: github.com/tink-crypto/tink-go-hcvault/v2/integration/hcvault
//	client, err := hcvault.NewClient("hcvault://vault.internal:8200/", tlsConfig, token)
//	a, err := client.GetAEAD("hcvault://vault.internal:8200/transit/keys/gdpr")
//	kek := crypto.NewKEK("vault-2026-01", a)
//
// Do not use Tink's KMS envelope AEAD for fields: it calls the KMS on every
// encryption and decryption. Here the KMS wraps one small keyset per
// subject, and the cache keeps unwrapped primitives.
//
// A KEK prints as crypto.KEK{ID: "<id>"} under every fmt verb: its AEAD,
// which may hold key bytes (EphemeralKEK, a local keyset), never prints.
type KEK struct {
	// ID names the key; it is stored with every record it wraps, so KEK
	// rotation knows what to rewrap. Choose a new ID for a new key.
	ID   string
	aead tink.AEADWithContext
}

// NewKEK returns a KEK named id over a Tink AEAD (a KMS client's AEAD, or a
// local keyset's).
func NewKEK(id string, a tink.AEAD) KEK {
	if a == nil {
		return KEK{ID: id}
	}
	if c, ok := a.(tink.AEADWithContext); ok {
		return KEK{ID: id, aead: c}
	}
	return KEK{ID: id, aead: ctxAEAD{a}}
}

// NewKEKWithContext returns a KEK named id over a context-taking Tink AEAD,
// so that a KMS call honours the caller's deadline.
func NewKEKWithContext(id string, a tink.AEADWithContext) KEK { return KEK{ID: id, aead: a} }

// EphemeralKEK returns a KEK whose key is made now and lives only in this
// process's memory: for tests and demos. Everything it wraps is lost when
// the process ends.
func EphemeralKEK(id string) (KEK, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return KEK{}, &Error{Op: "ephemeral_kek", Err: err}
	}
	a, err := aead.New(h)
	if err != nil {
		return KEK{}, &Error{Op: "ephemeral_kek", Err: err}
	}
	return NewKEK(id, a), nil
}

// valid checks a KEK given to New or WithPreviousKEKs: an AEAD, and an ID
// of 1 to 128 bytes.
func (k KEK) valid() error {
	if k.aead == nil {
		return because(ErrInvalid, "KEK without an AEAD", nil)
	}
	if k.ID == "" || len(k.ID) > 128 {
		return because(ErrInvalid, "KEK ID must be 1 to 128 bytes", nil)
	}
	return nil
}

// String returns crypto.KEK{ID: "<id>"}.
func (k KEK) String() string { return "crypto.KEK{ID: " + strconv.Quote(k.ID) + "}" }

// GoString returns the same as String, for %#v.
func (k KEK) GoString() string { return k.String() }

// Format prints String under every verb, so that no verb (%v, %+v, %#v,
// %s, %x, %q, …) reaches the AEAD and its key.
func (k KEK) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

type ctxAEAD struct{ a tink.AEAD }

func (c ctxAEAD) EncryptWithContext(_ context.Context, p, ad []byte) ([]byte, error) {
	return c.a.Encrypt(p, ad)
}

func (c ctxAEAD) DecryptWithContext(_ context.Context, ct, ad []byte) ([]byte, error) {
	return c.a.Decrypt(ct, ad)
}
