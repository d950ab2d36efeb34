package consent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/jws"
)

// Consent receipts. A receipt is a record of one consent given that the
// subject can keep, in the structure of the Kantara Initiative Consent
// Receipt Specification 1.1.0 (2018-02-20; the basis of ISO/IEC TS 27560),
// with a few extension fields that tie it to the ledger (x-event-kind,
// x-notice-*). It is signed by the controller as a compact JWS (RFC 7515)
// with EdDSA (Ed25519, RFC 8037), so anyone holding the controller's public
// key can later verify that the controller issued it, unchanged.
//
// The specification defines a consent receipt as a "record of authority
// granted by a PII Principal to a PII Controller for processing of the
// Principal's PII", and has no field for a withdrawal, a refusal or an
// objection: only a Given event gets a receipt. Every field it requires is
// filled in, and VerifyReceipt refuses a receipt that lacks one: version,
// jurisdiction, consentTimestamp, collectionMethod, consentReceiptID,
// piiPrincipalId, piiControllers (each with piiController, contact,
// address, email and phone), policyUrl, services (each with service and
// purposes, each purpose with consentType, purposeCategory, piiCategory,
// termination and thirdPartyDisclosure, and thirdPartyName when that is
// true), sensitive and spiCat.

// ReceiptVersion is the value of Receipt.Version this package writes and accepts.
const ReceiptVersion = "KI-CR-v1.1.0"

// The values of ReceiptPurpose.ConsentType, which the specification
// defines as "the type of the consent used by the PII Controller as their
// authority to collect, use or disclose PII" and leaves as a non-empty
// string. The ledger writes how the consent on record was given, in the
// terms of the W3C Data Privacy Vocabulary that LawfulBasis.DPV uses.
const (
	// ConsentTypeExplicit: explicit consent, the condition of
	// Art. 9(2)(a) GDPR (also asked by Art. 22(2)(c) and 49(1)(a)), given
	// by an express statement (dpv:ExplicitlyExpressedConsent). Written
	// for a consent whose basis is gdpr.ExplicitConsent.
	ConsentTypeExplicit = "EXPLICIT"
	// ConsentTypeExpressed: consent of Art. 4(11) GDPR, "a statement or a
	// clear affirmative action" (dpv:ExpressedConsent), not explicit in the
	// sense of Art. 9(2)(a). Written for a consent whose basis is
	// gdpr.Consent. (Implied consent is not consent under the GDPR, so the
	// ledger never writes "IMPLIED".)
	ConsentTypeExpressed = "EXPRESSED"
)

// Controller identifies the controller on a receipt: an entry of Kantara
// piiControllers. The specification requires of it a name (piiController),
// a contact (the name of the person or office to contact), a postal address,
// an e-mail address and a telephone number; onBehalf and piiControllerUrl
// are optional. Validate checks them.
type Controller struct {
	// Name is the controller's name (piiController); required.
	Name string `json:"piiController"`
	// OnBehalf is true for a processor acting on behalf of a controller.
	OnBehalf bool `json:"onBehalf"`
	// Contact names the person or office to contact about consent
	// ("Data Protection Officer"); required.
	Contact string `json:"contact"`
	// Address is the controller's postal address; required.
	Address PostalAddress `json:"address"`
	// Email is the e-mail address to contact about consent; required.
	Email string `json:"email"`
	// Phone is the telephone number to contact about consent; required.
	Phone string `json:"phone"`
	// URL is a web address of the controller (piiControllerUrl); optional,
	// an absolute http or https URL when set.
	URL string `json:"piiControllerUrl,omitempty"`
	// PolicyURL is the controller's privacy policy, the receipt's
	// policyUrl (which the specification requires) when the notice the
	// consent was given under was published without a URL. It is not part
	// of piiControllers. WithReceipts requires it: an absolute http or
	// https URL.
	PolicyURL string `json:"-"`
}

// PostalAddress is the physical address of a controller, "in the
// specification's shape": a JSON object with the properties of
// schema.org's PostalAddress, as the specification's own example shows
// ({"streetAddress": …, "addressCountry": …}).
type PostalAddress struct {
	// StreetAddress is the street and number, or a post office box;
	// required.
	StreetAddress string `json:"streetAddress"`
	// PostOfficeBoxNumber, optional.
	PostOfficeBoxNumber string `json:"postOfficeBoxNumber,omitempty"`
	// PostalCode, optional.
	PostalCode string `json:"postalCode,omitempty"`
	// Locality is the town or city (addressLocality), optional.
	Locality string `json:"addressLocality,omitempty"`
	// Region (addressRegion), optional.
	Region string `json:"addressRegion,omitempty"`
	// Country is the ISO 3166-1 alpha-2 code, e.g. "DE" (addressCountry);
	// required.
	Country string `json:"addressCountry"`
}

// Validate checks that c has every field the Kantara Consent Receipt
// Specification 1.1 requires of a PII controller: a name, a contact, a
// postal address with a street address and an ISO 3166-1 alpha-2 country,
// an e-mail address and a telephone number, each printable text of at most
// 256 bytes, and, when set, an absolute http or https URL. The error wraps
// ErrInvalid and names the missing or malformed field, never its value.
// It does not check PolicyURL, which is the ledger's, not the specification's.
func (c Controller) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"piiController", c.Name}, {"contact", c.Contact}, {"address.streetAddress", c.Address.StreetAddress},
		{"email", c.Email}, {"phone", c.Phone},
	} {
		if strings.TrimSpace(f.v) == "" {
			return because(ErrInvalid, fmt.Sprintf("controller without %s, which the consent receipt specification requires", f.name), nil)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"piiController", c.Name}, {"contact", c.Contact}, {"email", c.Email}, {"phone", c.Phone}, {"piiControllerUrl", c.URL},
		{"address.streetAddress", c.Address.StreetAddress}, {"address.postOfficeBoxNumber", c.Address.PostOfficeBoxNumber},
		{"address.postalCode", c.Address.PostalCode}, {"address.addressLocality", c.Address.Locality},
		{"address.addressRegion", c.Address.Region},
	} {
		if f.v != "" && validKey(f.v, maxLocator) != nil {
			return because(ErrInvalid, fmt.Sprintf("controller %s is not printable text of at most %d bytes", f.name, maxLocator), nil)
		}
	}
	if !isCountryCode(c.Address.Country) {
		return because(ErrInvalid, "controller address.addressCountry is not an ISO 3166-1 alpha-2 code such as \"DE\"", nil)
	}
	if local, domain, ok := strings.Cut(c.Email, "@"); !ok || local == "" || !strings.Contains(domain, ".") ||
		strings.ContainsAny(c.Email, " <>,;") || strings.Count(c.Email, "@") != 1 {
		return because(ErrInvalid, "controller email is not an e-mail address", nil)
	}
	if !strings.ContainsAny(c.Phone, "0123456789") {
		return because(ErrInvalid, "controller phone has no digit", nil)
	}
	if c.URL != "" && !isWebURL(c.URL) {
		return because(ErrInvalid, "controller piiControllerUrl is not an absolute http or https URL", nil)
	}
	return nil
}

func isCountryCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && validKey(s, 2048) == nil
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
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !isWebURL(c.PolicyURL) {
		return nil, because(ErrInvalid, "controller PolicyURL is not an absolute http or https URL (a receipt's policyUrl when its notice has no URL)", nil)
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
func KeyID(pub ed25519.PublicKey) string { return jws.KeyID(pub) }

// Receipt builds and signs the consent receipt of a Given event. A receipt
// proves that the consent was given, not that it still holds: a later
// withdrawal ends it, and History and Decide show that. The Kantara
// specification's receipt records authority granted, so a withdrawal,
// refusal, expiry, objection, override, soft opt-in or pending request gets
// none (ErrInvalid): show the subject their History instead.
//
// The receipt names the subject (piiPrincipalId) in clear, since it is the
// subject's own record: hand it to them only. Its consentType says how the
// consent was given (ConsentTypeExplicit, ConsentTypeExpressed); its
// policyUrl is the URL of the notice shown, or the controller's PolicyURL
// when the notice has none. It returns the receipt and its compact JWS, the
// form to hand to the subject. Errors: ErrNotFound for an unknown event,
// ErrInvalid for an event that is not a Given consent or a Ledger without
// WithReceipts.
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
	switch e.Kind {
	case Given:
	case Pending:
		return Receipt{}, "", wrap(op, invalidf("event", "a pending consent has no receipt until it is confirmed"))
	default:
		return Receipt{}, "", wrap(op, invalidf("event", "a %s event grants no consent: a consent receipt records consent given", e.Kind))
	}
	n, err := l.Notice(ctx, e.Notice.ID, e.Notice.Version)
	if err != nil {
		return Receipt{}, "", wrap(op, err)
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
	r.PolicyURL, r.Language = n.URL, n.Language
	if r.PolicyURL == "" {
		r.PolicyURL = rc.controller.PolicyURL
	}
	p := ReceiptPurpose{
		Purpose: string(e.Purpose), PurposeCategory: []string{}, ConsentType: consentType(e.Basis),
		PIICategory: []string{}, PrimaryPurpose: true, Termination: termination,
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

// termination says how a consent ends (the receipt's termination); an
// expiry, when there is one, is in x-expires.
const termination = "Withdraw at any time, as easily as given (Art. 7(3) GDPR)."

// consentType is the receipt's consentType for a consent of basis b.
func consentType(b gdpr.LawfulBasis) string {
	if b == gdpr.ExplicitConsent {
		return ConsentTypeExplicit
	}
	return ConsentTypeExpressed
}

func joinName(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

func signReceipt(rc *receiptConfig, r Receipt) (string, error) {
	token, err := jws.Sign(rc.signer, rc.kid, r)
	if err != nil {
		return "", fmt.Errorf("signing receipt: %w", err)
	}
	return token, nil
}

// maxReceiptLen bounds the receipts VerifyReceipt reads.
const maxReceiptLen = 64 << 10

// VerifyReceipt checks a receipt's JWS against the controller's public
// keys (the current one and any retired ones) and returns the receipt.
// Anything wrong — malformed, another algorithm, an unknown key, a bad
// signature, a payload that is not a version 1.1 receipt with every field
// the specification requires (see Receipt), or the record of anything but
// a consent given — gives ErrInvalidReceipt.
func VerifyReceipt(jws string, keys ...ed25519.PublicKey) (Receipt, error) {
	r, err := verifyReceipt(jws, keys)
	return r, wrap("verify_receipt", err)
}

func verifyReceipt(token string, keys []ed25519.PublicKey) (Receipt, error) {
	var r Receipt
	if _, err := jws.Verify(token, maxReceiptLen, keys, &r); err != nil || !r.complete() {
		return Receipt{}, ErrInvalidReceipt
	}
	return r, nil
}

// complete reports whether r has every field the specification requires,
// and records a consent given.
func (r Receipt) complete() bool {
	if r.Version != ReceiptVersion || r.Jurisdiction == "" || r.ConsentTimestamp < 0 || r.CollectionMethod == "" ||
		r.ConsentReceiptID == "" || r.PIIPrincipalID == "" || len(r.PIIControllers) == 0 || r.PolicyURL == "" ||
		len(r.Services) == 0 || r.SPICat == nil || r.EventKind != Given {
		return false
	}
	for _, c := range r.PIIControllers {
		if c.Validate() != nil {
			return false
		}
	}
	for _, s := range r.Services {
		if s.Service == "" || len(s.Purposes) == 0 {
			return false
		}
		for _, p := range s.Purposes {
			if p.ConsentType == "" || p.PurposeCategory == nil || p.PIICategory == nil || p.Termination == "" ||
				(p.ThirdPartyDisclosure && p.ThirdPartyName == "") {
				return false
			}
		}
	}
	return true
}
