package crypto_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// FuzzDecrypt feeds arbitrary bytes to Decrypt: it must never panic, and
// never succeed on anything but a genuine ciphertext.
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
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{crypto.FormatV1})
	f.Add(append([]byte{crypto.FormatV1}, bytes.Repeat([]byte{0}, 40)...))
	f.Add(good[:len(good)-1])
	f.Fuzz(func(t *testing.T, ct []byte) {
		p, err := k.Decrypt(ctx, "s", email, ct)
		if err != nil {
			if !errors.Is(err, crypto.ErrDecrypt) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !bytes.Equal(ct, good) || string(p) != "value" {
			t.Fatalf("a forged ciphertext decrypted to %q", p)
		}
	})
}
