package consent_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/consent"
)

func FuzzParseConfirmationToken(f *testing.F) {
	f.Add("c1.AZC2oAAAcACAAAAAAAAAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
	f.Add("c1.")
	f.Add("")
	f.Add("c1." + strings.Repeat("A", 64))
	f.Add("c1." + strings.Repeat("_", 64))
	f.Fuzz(func(t *testing.T, tok string) {
		id, secret, err := consent.ParseConfirmationToken(tok)
		if err != nil {
			if !errors.Is(err, consent.ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
			return
		}
		if len(id) != 36 || len(secret) != 32 {
			t.Fatalf("accepted token gave id %q and a %d-byte secret", id, len(secret))
		}
	})
}

func FuzzUnsubscribeVerify(f *testing.F) {
	u, err := consent.NewUnsubscriber([]byte(strings.Repeat("k", 32)))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := u.Sign(consent.Claims{Subject: "s", Purpose: "p", Contact: consent.Email, Issued: time.Unix(1, 0)})
	f.Add(good)
	f.Add("u1.")
	f.Add("u1." + strings.Repeat("A", 60))
	f.Add(good[:len(good)-3])
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := u.Verify(tok)
		if err != nil {
			if !errors.Is(err, consent.ErrInvalidToken) && !errors.Is(err, consent.ErrTokenExpired) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if c.Subject.Validate() != nil || c.Purpose.Validate() != nil {
			t.Fatalf("accepted token with invalid claims")
		}
	})
}

func FuzzVerifyReceipt(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	f.Add("a.b.c")
	f.Add("..")
	f.Add("eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ.e30." + strings.Repeat("A", 86))
	// A genuine receipt, made through a Ledger, seeds the interesting paths.
	if jws := seedReceipt(f, priv); jws != "" {
		f.Add(jws)
	}
	f.Fuzz(func(t *testing.T, jws string) {
		r, err := consent.VerifyReceipt(jws, pub)
		if err != nil {
			if !errors.Is(err, consent.ErrInvalidReceipt) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if r.Version != consent.ReceiptVersion || r.ConsentReceiptID == "" {
			t.Fatalf("accepted a receipt without version or ID")
		}
		if r.EventKind != consent.Given || len(r.PIIControllers) == 0 || r.PolicyURL == "" || r.SPICat == nil {
			t.Fatalf("accepted a receipt that is not of a consent given, or lacks a field the specification requires: %+v", r)
		}
		for _, c := range r.PIIControllers {
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted a receipt whose controller is incomplete: %v", err)
			}
		}
	})
}

func seedReceipt(f *testing.F, priv ed25519.PrivateKey) string {
	fx := newFixture(f, consent.WithReceipts(priv, validController(), ""))
	g, err := fx.l.Give(fx.ctx, fx.choice("s"))
	if err != nil {
		f.Fatal(err)
	}
	_, jws, err := fx.l.Receipt(fx.ctx, g.ID)
	if err != nil {
		f.Fatal(err)
	}
	return jws
}
