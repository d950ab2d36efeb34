package crypto_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// plainAEAD is a KEK AEAD that "wraps" by copying, so a test can plant the
// Keyring's own keys in the Store. It is a value holding key bytes of its
// own, as a local AEAD would.
type plainAEAD struct{ key []byte }

func (a plainAEAD) Encrypt(p, _ []byte) ([]byte, error) { return bytes.Clone(p), nil }
func (a plainAEAD) Decrypt(c, _ []byte) ([]byte, error) { return bytes.Clone(c), nil }

// needles returns the forms in which fmt can print b: as text (%s, %q,
// %v of a string), hex (%x, %X), decimal bytes (%v of a []byte) and Go
// syntax (%#v of a []byte), each of the first 8 bytes.
func needles(b []byte) []string {
	b = b[:8]
	dec := fmt.Sprint(b)
	gos := fmt.Sprintf("%#v", b)
	return []string{
		string(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
		dec[1 : len(dec)-1],              // "80 76 65 …"
		gos[len("[]byte{") : len(gos)-1], // "0x50, 0x4c, …"
	}
}

// Nothing secret prints under any fmt verb: a Keyring's Ref and index
// keys, a BlindIndex's key, a KEK's AEAD.
func TestNothingSecretPrints(t *testing.T) {
	ctx := context.Background()
	refKey := []byte("PLANTED-REF-KEY-0123456789abcdef")
	idxKey := []byte("PLANTED-IDX-KEY-0123456789abcdef")
	kekKey := []byte("PLANTED-KEK-KEY-0123456789abcdef")
	store := memkeys.New()
	now := time.Now()
	for ref, key := range map[string][]byte{"meta/ref-key": refKey, "meta/blind-index-key": idxKey} {
		if err := store.Create(ctx, crypto.Record{Ref: ref, Wrapped: key, KEK: "plain", Version: 1, Created: now, Updated: now}); err != nil {
			t.Fatal(err)
		}
	}
	kek := crypto.NewKEK("plain", plainAEAD{key: kekKey})
	k, err := crypto.New(ctx, store, kek, crypto.WithPreviousKEKs(crypto.NewKEK("older", plainAEAD{key: kekKey})))
	if err != nil {
		t.Fatal(err)
	}
	// The planted keys are in use: the Ref is the HMAC under refKey.
	if _, err := k.Encrypt(ctx, "alice", email, []byte("x")); err != nil {
		t.Fatal(err)
	}
	idx, err := k.BlindIndex(email)
	if err != nil {
		t.Fatal(err)
	}
	type holder struct { // exported fields: fmt calls their methods
		K *crypto.Keyring
		B *crypto.BlindIndex
		E crypto.KEK
	}
	values := map[string]any{"*Keyring": k, "*BlindIndex": idx, "KEK": kek, "struct": holder{k, idx, kek}, "[]any": []any{k, idx, kek}}
	var secrets []string
	for _, key := range [][]byte{refKey, idxKey, kekKey} {
		secrets = append(secrets, needles(key)...)
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "%T %v"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s printed with %s holds key bytes (%q): %s", name, verb, s, out)
				}
			}
		}
	}
	if got := fmt.Sprint(k); got != `crypto.Keyring{kek: "plain"}` {
		t.Errorf("Keyring prints %q", got)
	}
	if got := fmt.Sprintf("%#v", kek); got != `crypto.KEK{ID: "plain"}` {
		t.Errorf("KEK prints %q", got)
	}
	if got := fmt.Sprintf("%+v", idx); got != "crypto.BlindIndex{size: 16}" {
		t.Errorf("BlindIndex prints %q", got)
	}
}
