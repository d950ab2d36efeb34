package consent_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

// validController has every field the Kantara Consent Receipt
// Specification 1.1 requires of a PII controller, and the ledger's
// PolicyURL.
func validController() consent.Controller {
	return consent.Controller{
		Name:      "Example Ltd",
		Contact:   "Data Protection Officer",
		Address:   consent.PostalAddress{StreetAddress: "1 Example Street", PostalCode: "10115", Locality: "Berlin", Country: "DE"},
		Email:     "privacy@example.com",
		Phone:     "+49 30 1234567",
		PolicyURL: "https://example.com/privacy",
	}
}

// TestWithReceiptsRefusesIncompleteController: the specification requires
// piiController, contact, address (an object: street address and country),
// email and phone. Before issue 9 a name and an e-mail address were enough.
func TestWithReceiptsRefusesIncompleteController(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	const personal = "ann.smith@example.org"
	for name, mod := range map[string]func(*consent.Controller){
		"no name":             func(c *consent.Controller) { c.Name = " " },
		"no contact":          func(c *consent.Controller) { c.Contact = "" },
		"no address":          func(c *consent.Controller) { c.Address = consent.PostalAddress{} },
		"no street":           func(c *consent.Controller) { c.Address.StreetAddress = "" },
		"no country":          func(c *consent.Controller) { c.Address.Country = "" },
		"country not a code":  func(c *consent.Controller) { c.Address.Country = "Germany" },
		"no email":            func(c *consent.Controller) { c.Email = "" },
		"email not an e-mail": func(c *consent.Controller) { c.Email = "Ann Smith" },
		"no phone":            func(c *consent.Controller) { c.Phone = "" },
		"phone without digit": func(c *consent.Controller) { c.Phone = personal },
		"URL not a URL":       func(c *consent.Controller) { c.URL = personal },
		"no policy URL":       func(c *consent.Controller) { c.PolicyURL = "" },
		"policy URL relative": func(c *consent.Controller) { c.PolicyURL = "/privacy" },
		"control character":   func(c *consent.Controller) { c.Contact = "DPO\n" + personal },
	} {
		t.Run(name, func(t *testing.T) {
			c := validController()
			mod(&c)
			l, err := consent.New(memconsent.New(), consent.WithReceipts(priv, c, "EU"))
			var ce *consent.Error
			if l != nil || !errors.Is(err, consent.ErrInvalid) || !errors.As(err, &ce) || ce.Field != "WithReceipts" {
				t.Fatalf("New = %v, %v; want ErrInvalid for WithReceipts", l, err)
			}
			if strings.Contains(err.Error(), personal) || strings.Contains(err.Error(), "Ann Smith") || strings.Contains(err.Error(), "Germany") {
				t.Errorf("error %q quotes the rejected value", err)
			}
		})
	}
	if _, err := consent.New(memconsent.New(), consent.WithReceipts(priv, validController(), "EU")); err != nil {
		t.Fatalf("a complete controller: %v", err)
	}
}

// TestReceiptOnlyForConsentGiven: a consent receipt is a "record of
// authority granted"; the specification has no receipt for a withdrawal,
// refusal, expiry or objection. Before issue 9 each got one.
func TestReceiptOnlyForConsentGiven(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	f := newFixture(t, consent.WithReceipts(priv, validController(), "EU"))
	c := f.choice("ola")
	stops := map[string]consent.Event{
		"withdrawn": mustOK(f.l.Withdraw(f.ctx, c)),
		"refused":   mustOK(f.l.Refuse(f.ctx, c)),
		"objected":  mustOK(f.l.Object(f.ctx, c)),
		"expired":   mustOK(f.l.Expire(f.ctx, c)),
	}
	for kind, e := range stops {
		if _, jws, err := f.l.Receipt(f.ctx, e.ID); !errors.Is(err, consent.ErrInvalid) || jws != "" {
			t.Errorf("Receipt of a %s event: %q, %v; want ErrInvalid and no receipt", kind, jws, err)
		}
	}
	g := mustOK(f.l.Give(f.ctx, c))
	if _, _, err := f.l.Receipt(f.ctx, g.ID); err != nil {
		t.Fatalf("Receipt of a consent given: %v", err)
	}
}

// TestReceiptConsentTypeAndFields: consentType says how the consent was
// given (before issue 9 it was always "EXPLICIT"), and the payload holds
// every field the specification requires, in its shape.
func TestReceiptConsentTypeAndFields(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	f := newFixture(t, consent.WithReceipts(priv, validController(), "EU"), consent.WithRegister(testRegister()))
	plain := mustOK(f.l.Give(f.ctx, f.choice("pia")))
	f.publish("coaching-notice", 1, false)
	c := f.choice("pia")
	c.Purpose, c.Notice = "coaching", consent.NoticeRef{ID: "coaching-notice", Version: 1}
	explicit := mustOK(f.l.Give(f.ctx, c))
	for _, tc := range []struct {
		e    consent.Event
		want string
	}{{plain, consent.ConsentTypeExpressed}, {explicit, consent.ConsentTypeExplicit}} {
		r, jws, err := f.l.Receipt(f.ctx, tc.e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Services[0].Purposes[0].ConsentType; got != tc.want {
			t.Errorf("consentType of a %s consent = %q, want %q", tc.e.Basis, got, tc.want)
		}
		if _, err := consent.VerifyReceipt(jws, pub); err != nil {
			t.Fatalf("VerifyReceipt: %v", err)
		}
		var m map[string]any
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(jws, ".")[1])
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID",
			"piiPrincipalId", "piiControllers", "policyUrl", "services", "sensitive", "spiCat"} {
			if _, ok := m[k]; !ok {
				t.Errorf("receipt lacks required field %s", k)
			}
		}
		ctrl := m["piiControllers"].([]any)[0].(map[string]any)
		for _, k := range []string{"piiController", "contact", "address", "email", "phone"} {
			if v, ok := ctrl[k]; !ok || v == "" {
				t.Errorf("piiControllers[0] lacks required field %s", k)
			}
		}
		addr, ok := ctrl["address"].(map[string]any)
		if !ok || addr["streetAddress"] != "1 Example Street" || addr["addressCountry"] != "DE" {
			t.Errorf("piiControllers[0].address = %v; want an object with streetAddress and addressCountry", ctrl["address"])
		}
		if _, ok := ctrl["PolicyURL"]; ok {
			t.Errorf("the controller's PolicyURL leaked into piiControllers")
		}
		p := m["services"].([]any)[0].(map[string]any)["purposes"].([]any)[0].(map[string]any)
		for _, k := range []string{"consentType", "purposeCategory", "piiCategory", "termination", "thirdPartyDisclosure"} {
			if _, ok := p[k]; !ok {
				t.Errorf("purpose lacks required field %s", k)
			}
		}
	}
	// A notice without a URL: policyUrl is the controller's privacy policy.
	mustOK(f.l.Publish(f.ctx, consent.Notice{ID: "bare", Version: 1, TextHash: consent.HashText("bare")}))
	c = f.choice("pia")
	c.Notice = consent.NoticeRef{ID: "bare", Version: 1}
	bare := mustOK(f.l.Give(f.ctx, c))
	if r, _, err := f.l.Receipt(f.ctx, bare.ID); err != nil || r.PolicyURL != "https://example.com/privacy" {
		t.Errorf("receipt under a notice without URL: policyUrl %q, %v", r.PolicyURL, err)
	}
}

// TestVerifyReceiptRefusesIncompleteReceipts: a receipt signed by the
// controller's key but lacking a field the specification requires, or
// recording anything but a consent given, is not a valid receipt.
func TestVerifyReceiptRefusesIncompleteReceipts(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	f := newFixture(t, consent.WithReceipts(priv, validController(), "EU"))
	r, _, err := f.l.Receipt(f.ctx, mustOK(f.l.Give(f.ctx, f.choice("quin"))).ID)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(r consent.Receipt) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT","kid":"` + consent.KeyID(pub) + `"}`))
		p := base64.RawURLEncoding.EncodeToString(mustOK(json.Marshal(r)))
		return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(h+"."+p)))
	}
	if _, err := consent.VerifyReceipt(sign(r), pub); err != nil {
		t.Fatalf("the genuine receipt, signed again: %v", err)
	}
	for name, mod := range map[string]func(*consent.Receipt){
		"withdrawal":           func(r *consent.Receipt) { r.EventKind = consent.Withdrawn },
		"no phone":             func(r *consent.Receipt) { r.PIIControllers[0].Phone = "" },
		"no address":           func(r *consent.Receipt) { r.PIIControllers[0].Address = consent.PostalAddress{} },
		"no controllers":       func(r *consent.Receipt) { r.PIIControllers = nil },
		"no policy URL":        func(r *consent.Receipt) { r.PolicyURL = "" },
		"no jurisdiction":      func(r *consent.Receipt) { r.Jurisdiction = "" },
		"no collection method": func(r *consent.Receipt) { r.CollectionMethod = "" },
		"no consent type":      func(r *consent.Receipt) { r.Services[0].Purposes[0].ConsentType = "" },
		"no termination":       func(r *consent.Receipt) { r.Services[0].Purposes[0].Termination = "" },
		"third party unnamed":  func(r *consent.Receipt) { r.Services[0].Purposes[0].ThirdPartyDisclosure = true },
		"no spiCat":            func(r *consent.Receipt) { r.SPICat = nil },
	} {
		bad := r
		bad.PIIControllers = append([]consent.Controller(nil), r.PIIControllers...)
		bad.Services = []consent.Service{{Service: r.Services[0].Service, Purposes: append([]consent.ReceiptPurpose(nil), r.Services[0].Purposes...)}}
		mod(&bad)
		if _, err := consent.VerifyReceipt(sign(bad), pub); !errors.Is(err, consent.ErrInvalidReceipt) {
			t.Errorf("%s: VerifyReceipt = %v; want ErrInvalidReceipt", name, err)
		}
	}
}
