package fake_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/gdprtest/fake"
)

func register() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{
			ID: "newsletter", Name: "Newsletter", Basis: gdpr.Consent, DirectMarketing: true,
			SubjectCategories: []string{"subscribers"},
			DataCategories:    []gdpr.Category{{ID: "contact", Description: "e-mail address"}},
			Retention:         gdpr.RetentionRule{Description: "until withdrawal"},
		}},
	}
}

// TestKitWiring walks one subject through every component of the Kit and
// checks that each records into the trail and the Recorder.
func TestKitWiring(t *testing.T) {
	ctx := gdpr.WithActor(context.Background(), gdpr.Staff("agent-7"))
	k := fake.New(t, register())

	if _, err := k.Ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText("v1")}); err != nil {
		t.Fatal(err)
	}
	given, err := k.Ledger.Give(ctx, consent.Choice{Subject: "user-1", Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}, Method: consent.MethodCheckbox})
	if err != nil {
		t.Fatal(err)
	}
	if _, jws, err := k.Ledger.Receipt(ctx, given.ID); err != nil || jws == "" {
		t.Fatalf("Receipt: %v", err)
	}
	if _, err := k.Ledger.UnsubscribeToken("user-1", "newsletter", consent.Email, 0); err != nil {
		t.Fatalf("UnsubscribeToken: %v", err)
	}
	f := crypto.Field{Table: "users", Column: "email", Category: "contact"}
	ct, err := k.Keys.Encrypt(ctx, "user-1", f, []byte("ann@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Keys.Decrypt(ctx, "user-1", f, ct); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"consent.given", "crypto.decrypt"} {
		if !slices.Contains(k.Events.Actions(), want) {
			t.Errorf("Recorder saw %v; want %s", k.Events.Actions(), want)
		}
	}
	if leaks := k.Events.Leaks("ann@example.org"); len(leaks) != 0 {
		t.Errorf("an event carries the plaintext: %+v", leaks)
	}
	entries, err := k.Trail.Entries(ctx, audit.Filter{Subject: "user-1"})
	if err != nil || len(entries) < 2 {
		t.Fatalf("the trail has %d entries for the subject, %v; want the consent and the decryption", len(entries), err)
	}
	if _, err := k.Keys.EraseSubject(ctx, "user-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Keys.Decrypt(ctx, "user-1", f, ct); !errors.Is(err, crypto.ErrShredded) {
		t.Fatalf("Decrypt after erasure: %v; want ErrShredded", err)
	}
	if _, err := k.Trail.Verify(ctx, audit.VerifyOptions{}); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestKitsAreIndependent(t *testing.T) {
	a, b := fake.New(t, nil), fake.New(t, nil)
	ctx := context.Background()
	f := crypto.Field{Table: "t", Column: "c"}
	ct, err := a.Keys.Encrypt(ctx, "s", f, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Keys.Decrypt(ctx, "s", f, ct); err == nil {
		t.Fatal("a second Kit decrypts the first's ciphertext: keys are shared")
	}
}
