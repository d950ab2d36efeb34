package jws_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/internal/jws"
)

func TestSignVerify(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	other := ed25519.NewKeyFromSeed([]byte("0123456789abcdef0123456789abcdef")).Public().(ed25519.PublicKey)
	type payload struct {
		A string `json:"a"`
	}
	tok, err := jws.Sign(priv, jws.KeyID(pub), payload{A: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var got payload
	kid, err := jws.Verify(tok, 1<<10, []ed25519.PublicKey{other, pub}, &got)
	if err != nil || got.A != "x" || kid != jws.KeyID(pub) {
		t.Fatalf("Verify: %v %+v %s", err, got, kid)
	}
	parts := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"other key":   "",
		"too long":    tok,
		"altered":     parts[0] + "." + parts[1] + "A." + parts[2],
		"two parts":   parts[0] + "." + parts[1],
		"padded":      parts[0] + "=." + parts[1] + "." + parts[2],
		"unknown key": tok,
	} {
		keys := []ed25519.PublicKey{pub}
		max := 1 << 10
		switch name {
		case "other key", "unknown key":
			keys, bad = []ed25519.PublicKey{other}, tok
		case "too long":
			max = len(tok) - 1
		}
		var p payload
		if _, err := jws.Verify(bad, max, keys, &p); !errors.Is(err, jws.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A payload with an unknown field is refused, even correctly signed.
	tok2, _ := jws.Sign(priv, jws.KeyID(pub), map[string]string{"a": "x", "b": "y"})
	if _, err := jws.Verify(tok2, 1<<10, []ed25519.PublicKey{pub}, &got); !errors.Is(err, jws.ErrInvalid) {
		t.Errorf("unknown field: %v", err)
	}
}
