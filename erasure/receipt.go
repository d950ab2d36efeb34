package erasure

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
)

// Erasure receipts. A receipt tells the subject, in a form anyone can check
// offline with the controller's public key, what became of their request:
// the targets, each one's outcome and count, the exemptions with their
// grounds of Art. 17(3) and until when, and the times. It is a compact JWS
// (RFC 7515) signed with EdDSA (Ed25519, RFC 8037), as the consent
// package's receipts are. It holds no subject ID: the request ID ties it
// to the subject's own copy of their request.

// ReceiptType is the value of Receipt.Type this package writes and accepts.
const ReceiptType = "gdprkit-dsar-receipt-v1"

// Receipt is the signed statement of a closed request.
type Receipt struct {
	Type      string           `json:"typ"`
	Issuer    string           `json:"iss"` // the key ID
	IssuedAt  int64            `json:"iat"` // Unix seconds
	Request   string           `json:"request"`
	Kind      gdpr.RequestKind `json:"kind"`
	State     State            `json:"state"`
	Received  time.Time        `json:"received"`
	Due       time.Time        `json:"due"`
	Extended  bool             `json:"extended"`
	Closed    time.Time        `json:"closed"`
	Steps     []ReceiptStep    `json:"steps"`
	Exempt    []gdpr.Exemption `json:"exemptions,omitempty"`
	Rejection RejectReason     `json:"rejection,omitempty"`
}

// ReceiptStep is one target's part on a receipt.
type ReceiptStep struct {
	Target  string    `json:"target"`
	Outcome Outcome   `json:"outcome"`
	Count   int64     `json:"count"`
	At      time.Time `json:"at"`
}

// KeyID returns the ID under which a receipt names the public key pub: the
// first 8 bytes of its SHA-256, base64url.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(h[:8])
}

type jwsHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid"`
}

// Receipt returns the signed receipt of a closed request (WithReceiptKey):
// completed, completed with exemptions or rejected. An open or cancelled
// request has none (ErrIllegalTransition); without a receipt key the
// error wraps ErrInvalid.
func (e *Engine) Receipt(ctx context.Context, id string) (string, error) {
	const op = "receipt"
	if err := checkCtx(op, ctx); err != nil {
		return "", err
	}
	if e.receiptKey == nil {
		return "", wrap(op, invalidf("WithReceiptKey", "the Engine has no receipt key"))
	}
	r, err := e.store.Get(ctx, id)
	if err != nil {
		return "", wrap(op, err)
	}
	switch r.State {
	case StateCompleted, StateCompletedWithExemptions, StateRejected:
	default:
		return "", wrap(op, refuse(ErrIllegalTransition, "id", "only a completed or rejected request has a receipt"))
	}
	pub := e.receiptKey.Public().(ed25519.PublicKey)
	rc := Receipt{
		Type: ReceiptType, Issuer: KeyID(pub), IssuedAt: e.now().Unix(),
		Request: r.ID, Kind: r.Kind, State: r.State, Received: r.Received.UTC(), Due: r.Deadline.Due.UTC(),
		Extended: r.Deadline.Extended, Closed: r.Closed.UTC(), Exempt: r.Exemptions(), Rejection: r.Rejection,
		Steps: []ReceiptStep{},
	}
	for _, s := range r.Steps {
		rc.Steps = append(rc.Steps, ReceiptStep{Target: s.Target, Outcome: s.Outcome, Count: s.Count, At: s.At.UTC()})
	}
	h, _ := json.Marshal(jwsHeader{Alg: "EdDSA", Typ: "JWT", Kid: rc.Issuer})
	p, err := json.Marshal(rc)
	if err != nil {
		return "", wrap(op, err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sig := ed25519.Sign(e.receiptKey, []byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// maxReceiptLen bounds the receipts VerifyReceipt reads.
const maxReceiptLen = 256 << 10

// VerifyReceipt checks a receipt against the controller's public keys (the
// current one and any retired ones) and returns it. Anything wrong —
// malformed, another algorithm, an unknown key, a bad signature, a payload
// that is not a whole receipt of this version — gives ErrInvalidReceipt,
// which says no more.
func VerifyReceipt(jws string, keys ...ed25519.PublicKey) (Receipt, error) {
	r, err := verifyReceipt(jws, keys)
	return r, wrap("verify_receipt", err)
}

func verifyReceipt(jws string, keys []ed25519.PublicKey) (Receipt, error) {
	if len(jws) > maxReceiptLen || strings.Count(jws, ".") != 2 {
		return Receipt{}, ErrInvalidReceipt
	}
	parts := strings.SplitN(jws, ".", 3)
	hb, err1 := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(sig) != ed25519.SignatureSize {
		return Receipt{}, ErrInvalidReceipt
	}
	var h jwsHeader
	if err := strictJSON(hb, &h); err != nil || h.Alg != "EdDSA" {
		return Receipt{}, ErrInvalidReceipt
	}
	var key ed25519.PublicKey
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && KeyID(k) == h.Kid {
			key = k
			break
		}
	}
	if key == nil || !ed25519.Verify(key, []byte(parts[0]+"."+parts[1]), sig) {
		return Receipt{}, ErrInvalidReceipt
	}
	var r Receipt
	if err := strictJSON(pb, &r); err != nil || !r.complete(h.Kid) {
		return Receipt{}, ErrInvalidReceipt
	}
	return r, nil
}

func (r Receipt) complete(kid string) bool {
	if r.Type != ReceiptType || r.Issuer != kid || r.Request == "" || r.Kind.Validate() != nil || r.Received.IsZero() ||
		r.Closed.IsZero() || r.Steps == nil {
		return false
	}
	switch r.State {
	case StateCompleted, StateCompletedWithExemptions, StateRejected:
	default:
		return false
	}
	if (r.State == StateRejected) != r.Rejection.Valid() {
		return false
	}
	for _, s := range r.Steps {
		if s.Target == "" || !s.Outcome.Done() || s.Count < 0 {
			return false
		}
	}
	for _, x := range r.Exempt {
		if x.Validate() != nil {
			return false
		}
	}
	return true
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return ErrInvalidReceipt
	}
	return nil
}
