// Package jws signs and verifies the compact JSON Web Signatures (RFC 7515)
// of the module's receipts — consent receipts and erasure receipts — with
// EdDSA over Ed25519 (RFC 8037), written once for both.
package jws

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// ErrInvalid is every refusal of Verify: it says no more than that the
// token is not a valid signature of one of the keys.
var ErrInvalid = errors.New("invalid JWS")

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid"`
}

// KeyID returns the "kid" of a public key: the unpadded base64url of the
// first 8 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(h[:8])
}

// Sign returns the compact JWS of the JSON encoding of payload, signed by
// signer (an Ed25519 key), with header {"alg":"EdDSA","typ":"JWT","kid":kid}.
func Sign(signer crypto.Signer, kid string, payload any) (string, error) {
	h, err := json.Marshal(header{Alg: "EdDSA", Typ: "JWT", Kid: kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sig, err := signer.Sign(rand.Reader, []byte(input), crypto.Hash(0))
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// Verify checks token, of at most maxLen bytes, against keys (the one
// whose KeyID is the header's kid) and decodes its payload into v, strictly
// (StrictJSON). It returns the kid. Anything wrong — the shape, padding,
// another algorithm, an unknown key, the signature, the payload's JSON —
// is ErrInvalid. The signature is checked before the payload is read.
func Verify(token string, maxLen int, keys []ed25519.PublicKey, v any) (kid string, err error) {
	if len(token) > maxLen || strings.Count(token, ".") != 2 {
		return "", ErrInvalid
	}
	parts := strings.SplitN(token, ".", 3)
	hb, err1 := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(sig) != ed25519.SignatureSize {
		return "", ErrInvalid
	}
	var h header
	if err := StrictJSON(hb, &h); err != nil || h.Alg != "EdDSA" {
		return "", ErrInvalid
	}
	var key ed25519.PublicKey
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && KeyID(k) == h.Kid {
			key = k
			break
		}
	}
	if key == nil || !ed25519.Verify(key, []byte(parts[0]+"."+parts[1]), sig) {
		return "", ErrInvalid
	}
	if err := StrictJSON(pb, v); err != nil {
		return "", ErrInvalid
	}
	return h.Kid, nil
}

// StrictJSON decodes exactly one JSON value from b into v, refusing
// unknown fields and trailing data.
func StrictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}
