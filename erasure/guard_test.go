package erasure_test

import (
	"errors"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/gdprtest"
)

// TestGuardRefusesDecryption plugs Engine.Guard into a Keyring: a
// restricted subject's fields do not decrypt, but under a ground of
// Art. 18(2), which both the Keyring's and the Engine's events record.
func TestGuardRefusesDecryption(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithRestrictionCache(0))
	ctx := t.Context()
	kek, err := crypto.EphemeralKEK("guard-test")
	if err != nil {
		t.Fatal(err)
	}
	events := new(gdprtest.Recorder)
	keys, err := crypto.New(ctx, memkeys.New(), kek, crypto.WithGuard(e.Guard), crypto.WithRecorder(events), crypto.WithDecryptAudit())
	if err != nil {
		t.Fatal(err)
	}
	const s = gdpr.SubjectID("gus@example.org")
	field := crypto.Field{Table: "users", Column: "address", Category: "contact"}
	ct, err := keys.Encrypt(ctx, s, field, []byte("1 Main St"))
	if err != nil {
		t.Fatal(err)
	}
	support := gdpr.WithPurpose(ctx, "support")
	if pt, err := keys.Decrypt(support, s, field, ct); err != nil || string(pt) != "1 Main St" {
		t.Fatalf("before the restriction: %q %v", pt, err)
	}
	r := submitOK(t, e, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundAccuracy})
	settle(t, f, e, r.ID)

	_, err = keys.Decrypt(support, s, field, ct)
	if !errors.Is(err, crypto.ErrRestricted) || !errors.Is(err, gdpr.ErrRestricted) {
		t.Fatalf("restricted subject decrypted: %v", err)
	}
	claims := gdpr.WithAllowance(support, gdpr.AllowLegalClaims)
	if pt, err := keys.Decrypt(claims, s, field, ct); err != nil || string(pt) != "1 Main St" {
		t.Fatalf("under Art. 18(2) legal claims: %q %v", pt, err)
	}
	var sawDenied, sawAllowed bool
	for _, ev := range events.ByAction("crypto.decrypt") {
		switch {
		case ev.Outcome == gdpr.Denied:
			sawDenied = true
		case ev.Attrs["allowance"] == string(gdpr.AllowLegalClaims):
			sawAllowed = true
		}
	}
	if !sawDenied || !sawAllowed {
		t.Errorf("keyring events: denied %v, allowed with its ground %v", sawDenied, sawAllowed)
	}
	if evs := f.events.ByAction("erasure.restriction.allowed"); len(evs) != 1 || evs[0].Purpose != "support" {
		t.Errorf("engine events: %+v", evs)
	}
	// Encryption (storage) is never refused.
	if _, err := keys.Encrypt(support, s, field, []byte("2 Side St")); err != nil {
		t.Errorf("storage of a restricted subject's data: %v", err)
	}
}
