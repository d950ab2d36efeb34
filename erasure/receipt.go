package erasure

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/jws"
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
func KeyID(pub ed25519.PublicKey) string { return jws.KeyID(pub) }

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
	token, err := jws.Sign(e.receiptKey, rc.Issuer, rc)
	return token, wrap(op, err)
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

func verifyReceipt(token string, keys []ed25519.PublicKey) (Receipt, error) {
	var r Receipt
	kid, err := jws.Verify(token, maxReceiptLen, keys, &r)
	if err != nil || !r.complete(kid) {
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
