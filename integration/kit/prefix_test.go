package kit_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestPrefixesKeepKitsApart opens two kits on one database, with the same
// keys, one under the default prefix and one under "beta_", both running,
// and gives the same subject data in each. Neither sees the other's:
// keys (a ciphertext of one does not decrypt in the other), consent,
// audit entries, requests and restrictions. An erasure in one leaves the
// other's data readable and linked, and every table of the database has
// one of the two prefixes.
func TestPrefixesKeepKitsApart(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := context.Background()
		keys := testKeys(t)
		a, la := openKit(t, db, d, keys)
		b, lb := openKit(t, db, d, keys, kit.WithTablePrefix("beta_"))
		startRun(t, a)
		startRun(t, b)
		s, restricted := subject("both"), subject("restricted")

		giveConsent(t, a, s)
		ctA, ctB := encrypt(t, a, s), encrypt(t, b, s)
		rA, rB := encrypt(t, a, restricted), encrypt(t, b, restricted)

		// Keys.
		if _, err := b.Keyring().Decrypt(ctx, s, emailField, ctA); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("the beta_ kit decrypts the default kit's ciphertext: %v, want crypto.ErrDecrypt", err)
		}
		if _, err := a.Keyring().Decrypt(ctx, s, emailField, ctB); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("the default kit decrypts the beta_ kit's ciphertext: %v, want crypto.ErrDecrypt", err)
		}
		// Consent.
		if ok, err := a.Ledger().Allowed(ctx, s, "newsletter"); err != nil || !ok {
			t.Fatalf("the default kit's consent: %v, %v", ok, err)
		}
		if hist, err := b.Ledger().History(ctx, s, ""); err != nil || len(hist) != 0 {
			t.Errorf("the beta_ kit's ledger has %d events of a subject who consented in the other (%v)", len(hist), err)
		}
		// The trails.
		hasAction := func(k *kit.Kit, action string) bool {
			for _, e := range entriesOf(t, k, s) {
				if e.Action == action {
					return true
				}
			}
			return false
		}
		if !hasAction(a, "consent.given") {
			t.Fatal("the default kit's trail has no consent.given for the subject")
		}
		if hasAction(b, "consent.given") {
			t.Error("the beta_ kit's trail has the other kit's consent.given")
		}
		linkedA := len(entriesOf(t, a, s))

		// Requests and restrictions: a restriction in the default kit does
		// not restrict the beta_ kit's decryptions.
		res := waitClosed(t, a, la, submit(t, a, erasure.Submission{Kind: gdpr.KindRestriction, Subject: restricted, Ground: erasure.GroundAccuracy}).ID)
		if res.State != erasure.StateCompleted {
			t.Fatalf("restriction %s", res.State)
		}
		if _, err := a.Keyring().Decrypt(ctx, restricted, emailField, rA); !errors.Is(err, crypto.ErrRestricted) {
			t.Errorf("the default kit decrypts a subject it restricted: %v", err)
		}
		if _, err := b.Keyring().Decrypt(ctx, restricted, emailField, rB); err != nil {
			t.Errorf("the beta_ kit refuses a subject restricted in the other kit only: %v", err)
		}
		if _, err := b.Engine().Get(ctx, res.ID); !errors.Is(err, erasure.ErrNotFound) {
			t.Errorf("the beta_ kit finds the other kit's request: %v, want erasure.ErrNotFound", err)
		}
		if xs, err := b.Engine().Restrictions(ctx, restricted); err != nil || len(xs) != 0 {
			t.Errorf("the beta_ kit has %d restrictions of the subject (%v)", len(xs), err)
		}

		// An erasure in the beta_ kit leaves the default kit's data alone.
		er := waitClosed(t, b, lb, submit(t, b, erasure.Submission{Kind: gdpr.KindErasure, Subject: s}).ID)
		if er.State != erasure.StateCompleted {
			t.Fatalf("erasure in the beta_ kit: %s; steps %+v", er.State, er.Steps)
		}
		if _, err := b.Keyring().Decrypt(ctx, s, emailField, ctB); !errors.Is(err, crypto.ErrShredded) {
			t.Errorf("the beta_ kit after its erasure: %v, want crypto.ErrShredded", err)
		}
		if p, err := a.Keyring().Decrypt(ctx, s, emailField, ctA); err != nil || string(p) != string(s)+"@example.org" {
			t.Errorf("the default kit's field after the other kit's erasure: %q, %v", p, err)
		}
		if ok, err := a.Ledger().Allowed(ctx, s, "newsletter"); err != nil || !ok {
			t.Errorf("the default kit's consent after the other kit's erasure: %v, %v", ok, err)
		}
		if n := len(entriesOf(t, a, s)); n < linkedA {
			t.Errorf("the default kit's trail links %d entries to the subject after the other kit's erasure, %d before", n, linkedA)
		}
		if rs, err := a.Engine().ForSubject(ctx, s, erasure.Filter{}); err != nil || len(rs) != 0 {
			t.Errorf("the default kit has %d requests of the subject erased in the other (%v)", len(rs), err)
		}
		verifyTrail(t, a)
		verifyTrail(t, b)

		// Every table is under one of the two prefixes.
		all := tables(t, d, db)
		def, beta := withPrefix(all, "gdpr_"), withPrefix(all, "beta_")
		if len(def) == 0 || len(def) != len(beta) || len(def)+len(beta) != len(all) {
			t.Errorf("tables: %d under gdpr_, %d under beta_, %d in all: %v", len(def), len(beta), len(all), all)
		}
	})
}
