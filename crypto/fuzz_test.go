package crypto_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// FuzzDecrypt feeds arbitrary bytes to Decrypt and DecryptScope: they must
// never panic, and never succeed on anything but a genuine ciphertext of
// that subject or scope.
func FuzzDecrypt(f *testing.F) {
	ctx := context.Background()
	kek, err := crypto.EphemeralKEK("fuzz")
	if err != nil {
		f.Fatal(err)
	}
	k, err := crypto.New(ctx, memkeys.New(), kek)
	if err != nil {
		f.Fatal(err)
	}
	good, err := k.Encrypt(ctx, "s", email, []byte("value"))
	if err != nil {
		f.Fatal(err)
	}
	scoped, err := k.EncryptScope(ctx, "s", email, []byte("scoped"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(scoped)
	f.Add([]byte{})
	f.Add([]byte{crypto.FormatV1})
	f.Add(append([]byte{crypto.FormatV1}, bytes.Repeat([]byte{0}, 40)...))
	f.Add(good[:len(good)-1])
	f.Fuzz(func(t *testing.T, ct []byte) {
		for _, c := range []struct {
			name    string
			decrypt func() ([]byte, error)
			genuine []byte
			value   string
		}{
			{"Decrypt", func() ([]byte, error) { return k.Decrypt(ctx, "s", email, ct) }, good, "value"},
			{"DecryptScope", func() ([]byte, error) { return k.DecryptScope(ctx, "s", email, ct) }, scoped, "scoped"},
		} {
			p, err := c.decrypt()
			if err != nil {
				if !errors.Is(err, crypto.ErrDecrypt) {
					t.Fatalf("%s: unexpected error %v", c.name, err)
				}
				continue
			}
			if !bytes.Equal(ct, c.genuine) || string(p) != c.value {
				t.Fatalf("%s: a forged ciphertext decrypted to %q", c.name, p)
			}
		}
	})
}
