package consent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gdprkit/gdpr"
)

// Consent receipts. A receipt is a record of one consent event that the
// subject can keep, in the structure of the Kantara Initiative Consent
// Receipt Specification 1.1 (the basis of ISO/IEC TS 27560), with a few
// extension fields that tie it to the ledger (x-event-kind, x-notice-*). It
// is signed by the controller as a compact JWS (RFC 7515) with EdDSA
// (Ed25519, RFC 8037), so anyone holding the controller's public key can
// later verify that the controller issued it, unchanged.

// ReceiptVersion is the value of Receipt.Version this package writes and accepts.
const ReceiptVersion = "KI-CR-v1.1.0"

// Controller identifies the controller on a receipt (Kantara piiControllers).
type Controller struct {
	Name     string `json:"piiController"`
	OnBehalf bool   `json:"onBehalf"`
	Contact  string `json:"contact"`
	Address  string `json:"address,omitempty"`
	Email    string `json:"email"`
	Phone    string `json:"phone,omitempty"`
	URL      string `json:"piiControllerUrl,omitempty"`
}

// Receipt is a Kantara Consent Receipt 1.1.
type Receipt struct {
	Version          string       `json:"version"`
	Jurisdiction     string       `json:"jurisdiction"`
	ConsentTimestamp int64        `json:"consentTimestamp"`
	CollectionMethod string       `json:"collectionMethod"`
	ConsentReceiptID string       `json:"consentReceiptID"`
	PublicKey        string       `json:"publicKey,omitempty"`
	Language         string       `json:"language,omitempty"`
	PIIPrincipalID   string       `json:"piiPrincipalId"`
	PIIControllers   []Controller `json:"piiControllers"`
	PolicyURL        string       `json:"policyUrl"`
	Services         []Service    `json:"services"`
	Sensitive        bool         `json:"sensitive"`
	SPICat           []string     `json:"spiCat"`

	// Extensions tying the receipt to the ledger.
	EventKind     Kind   `json:"x-event-kind"`
	NoticeID      string `json:"x-notice-id,omitempty"`
	NoticeVersion int    `json:"x-notice-version,omitempty"`
	NoticeHash    string `json:"x-notice-sha256,omitempty"`
	Contact       string `json:"x-contact,omitempty"`
	Expires       int64  `json:"x-expires,omitempty"`
}

// Service is a Kantara service with its purposes.
type Service struct {
	Service  string           `json:"service"`
	Purposes []ReceiptPurpose `json:"purposes"`
}

// ReceiptPurpose is a Kantara purpose entry.
type ReceiptPurpose struct {
	Purpose              string   `json:"purpose"`
	PurposeCategory      []string `json:"purposeCategory"`
	ConsentType          string   `json:"consentType"`
	PIICategory          []string `json:"piiCategory"`
	PrimaryPurpose       bool     `json:"primaryPurpose"`
	Termination          string   `json:"termination"`
	ThirdPartyDisclosure bool     `json:"thirdPartyDisclosure"`
	ThirdPartyName       string   `json:"thirdPartyName,omitempty"`
}

type receiptConfig struct {
	signer       crypto.Signer
	pub          ed25519.PublicKey
	kid          string
	controller   Controller
	jurisdiction string
}

func newReceiptConfig(s crypto.Signer, c Controller, jurisdiction string) (*receiptConfig, error) {
	if s == nil {
		return nil, because(ErrInvalid, "nil signer", nil)
	}
	if k, ok := s.(ed25519.PrivateKey); ok && len(k) != ed25519.PrivateKeySize {
		return nil, because(ErrInvalid, "signer is not an Ed25519 private key of 64 bytes", nil)
	}
	pub, ok := publicKey(s).(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return nil, because(ErrInvalid, "signer must hold an Ed25519 key", nil)
	}
	if c.Name == "" || (c.Email == "" && c.Contact == "") {
		return nil, because(ErrInvalid, "controller needs a name and a contact", nil)
	}
	if jurisdiction == "" {
		jurisdiction = "EU"
	}
	return &receiptConfig{signer: s, pub: bytes.Clone(pub), kid: KeyID(pub), controller: c, jurisdiction: jurisdiction}, nil
}

// publicKey returns s.Public(), or nil if it panics, as a nil pointer of a
// type that implements crypto.Signer may.
func publicKey(s crypto.Signer) (pub crypto.PublicKey) {
	defer func() {
		if recover() != nil {
			pub = nil
		}
	}()
	return s.Public()
}

// KeyID returns the JWS "kid" for a public key: the unpadded base64url of
// the first 8 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(h[:8])
}

// Receipt builds and signs the receipt of one event of the ledger (a Given
// consent, usually; a withdrawal or refusal gets one too). A receipt proves
// that the event was recorded, not that it still holds: a later withdrawal
// has a receipt of its own. The receipt names the subject (piiPrincipalId)
// in clear, since it is the subject's own record: hand it to them only. It returns the
// receipt and its compact JWS, the form to hand to the subject. Errors:
// ErrNotFound for an unknown event, ErrInvalid for a Pending event or a
// Ledger without WithReceipts.
func (l *Ledger) Receipt(ctx context.Context, eventID string) (Receipt, string, error) {
	const op = "receipt"
	if err := checkCtx(op, ctx); err != nil {
		return Receipt{}, "", err
	}
	rc := l.receipts
	if rc == nil {
		return Receipt{}, "", wrap(op, because(ErrInvalid, "no receipt signer configured (WithReceipts)", nil))
	}
	e, err := l.store.Event(ctx, eventID)
	if err != nil {
		return Receipt{}, "", wrap(op, err)
	}
	if e.Kind == Pending {
		return Receipt{}, "", wrap(op, invalidf("event", "a pending consent has no receipt until it is confirmed"))
	}
	r := Receipt{
		Version: ReceiptVersion, Jurisdiction: rc.jurisdiction, ConsentTimestamp: e.Time.Unix(),
		CollectionMethod: string(e.Method), ConsentReceiptID: e.ID,
		PublicKey:      base64.RawURLEncoding.EncodeToString(rc.pub),
		PIIPrincipalID: string(e.Subject), PIIControllers: []Controller{rc.controller},
		Sensitive: e.Basis == gdpr.ExplicitConsent, SPICat: []string{},
		EventKind: e.Kind, NoticeID: e.Notice.ID, NoticeVersion: e.Notice.Version,
		NoticeHash: e.Notice.TextHash, Contact: string(e.Contact),
	}
	if !e.ExpiresAt.IsZero() {
		r.Expires = e.ExpiresAt.Unix()
	}
	if e.Notice.ID != "" {
		if n, err := l.Notice(ctx, e.Notice.ID, e.Notice.Version); err == nil {
			r.PolicyURL, r.Language = n.URL, n.Language
		}
	}
	p := ReceiptPurpose{
		Purpose: string(e.Purpose), PurposeCategory: []string{}, ConsentType: "EXPLICIT",
		PIICategory: []string{}, PrimaryPurpose: true, Termination: terminations[e.Kind],
	}
	service := string(e.Purpose)
	if l.register != nil {
		if a, ok := l.register.Activity(e.Purpose); ok {
			if a.Name != "" {
				service = a.Name
			}
			if a.Description != "" {
				p.Purpose = a.Description
			}
			p.PurposeCategory = append(p.PurposeCategory, string(a.Purpose))
			for _, c := range a.DataCategories {
				p.PIICategory = append(p.PIICategory, c.ID)
				if c.IsSpecial() {
					r.Sensitive = true
					r.SPICat = append(r.SPICat, string(c.Special))
				}
			}
			for _, rcpt := range a.Recipients {
				if rcpt.Kind != gdpr.Processor {
					p.ThirdPartyDisclosure = true
					p.ThirdPartyName = joinName(p.ThirdPartyName, rcpt.Name)
				}
			}
		}
	}
	r.Services = []Service{{Service: service, Purposes: []ReceiptPurpose{p}}}
	jws, err := signReceipt(rc, r)
	if err != nil {
		return Receipt{}, "", wrap(op, err)
	}
	return r, jws, nil
}

// terminations says, per kind of event, how what it records ends.
var terminations = map[Kind]string{
	Given:      "Withdraw at any time, as easily as given (Art. 7(3) GDPR).",
	Refused:    "No consent was given; you may give it later.",
	Withdrawn:  "Consent withdrawn; processing based on it has stopped.",
	Expired:    "Consent expired; processing based on it has stopped.",
	Objected:   "Objection recorded (Art. 21 GDPR); processing for this purpose has stopped.",
	Overridden: "Objection overridden on compelling legitimate grounds (Art. 21(1) GDPR); you may complain to a supervisory authority.",
}

func joinName(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

type jwsHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid"`
}

func signReceipt(rc *receiptConfig, r Receipt) (string, error) {
	h, err := json.Marshal(jwsHeader{Alg: "EdDSA", Typ: "JWT", Kid: rc.kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sig, err := rc.signer.Sign(rand.Reader, []byte(input), crypto.Hash(0))
	if err != nil {
		return "", fmt.Errorf("signing receipt: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// maxReceiptLen bounds the receipts VerifyReceipt reads.
const maxReceiptLen = 64 << 10

// VerifyReceipt checks a receipt's JWS against the controller's public
// keys (the current one and any retired ones) and returns the receipt.
// Anything wrong — malformed, another algorithm, an unknown key, a bad
// signature, a payload that is not a version 1.1 receipt — gives
// ErrInvalidReceipt.
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
	if err := strictJSON(pb, &r); err != nil || r.Version != ReceiptVersion ||
		r.ConsentReceiptID == "" || r.PIIPrincipalID == "" || len(r.Services) == 0 {
		return Receipt{}, ErrInvalidReceipt
	}
	return r, nil
}

func strictJSON(b []byte, v any) error {
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
