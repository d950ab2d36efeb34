package kit_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestKeyringGuard restricts a subject's processing (Art. 18(1)(a)) through
// the kit's engine, run by Run, on every database. Once the restriction
// request is completed, the Keyring refuses to decrypt that subject's data
// (crypto.ErrRestricted, which is gdpr.ErrRestricted), for a support
// purpose and for none, while another subject's data still decrypt, and a
// caller that claims a ground of Art. 18(2) (legal claims) still reads it.
// Every decryption is on the trail, linked to its subject: the refused
// ones denied, the others a success, each with its actor, purpose, field
// and category, the one for legal claims saying so; and the restriction is lifted by a
// lift request, after which the Keyring decrypts again.
func TestKeyringGuard(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := context.Background()
		// A lift needs a Notifier: the subject is told first (Art. 18(3)).
		told := erasure.NotifierFunc(func(context.Context, erasure.Notice) error { return nil })
		k, l := openKit(t, db, d, testKeys(t), kit.WithNotifier(told))
		startRun(t, k)
		s, other := subject("restricted"), subject("free")
		ct, otherCT := encrypt(t, k, s), encrypt(t, k, other)
		support := gdpr.WithActor(gdpr.WithPurpose(ctx, "account"), gdpr.Staff("support-7"))

		// Before the restriction both read.
		if _, err := k.Keyring().Decrypt(support, s, emailField, ct); err != nil {
			t.Fatalf("Decrypt before the restriction: %v", err)
		}

		r := waitClosed(t, k, l, submit(t, k, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundAccuracy}).ID)
		if r.State != erasure.StateCompleted {
			t.Fatalf("restriction request %s; steps %+v", r.State, r.Steps)
		}
		if xs, err := k.Engine().Restrictions(ctx, s); err != nil || len(xs) == 0 {
			t.Fatalf("Restrictions: %d, %v", len(xs), err)
		}

		for name, c := range map[string]context.Context{"support": support, "no purpose": ctx} {
			p, err := k.Keyring().Decrypt(c, s, emailField, ct)
			if !errors.Is(err, crypto.ErrRestricted) || !errors.Is(err, gdpr.ErrRestricted) {
				t.Errorf("Decrypt of the restricted subject (%s): %q, %v; want crypto.ErrRestricted", name, p, err)
			}
			if p != nil {
				t.Errorf("a refused Decrypt returned %d bytes", len(p))
			}
		}
		if p, err := k.Keyring().Decrypt(support, other, emailField, otherCT); err != nil || string(p) != string(other)+"@example.org" {
			t.Errorf("Decrypt of another subject while the first is restricted: %q, %v", p, err)
		}
		claims := gdpr.WithAllowance(support, gdpr.AllowLegalClaims)
		if p, err := k.Keyring().Decrypt(claims, s, emailField, ct); err != nil || string(p) != string(s)+"@example.org" {
			t.Errorf("Decrypt of the restricted subject for legal claims (Art. 18(2)): %q, %v", p, err)
		}

		// The trail answers "who read my data", refusals included.
		decrypts := func(s gdpr.SubjectID) []string {
			var out []string
			for _, e := range entriesOf(t, k, s) {
				if e.Action == "crypto.decrypt" {
					out = append(out, string(e.Outcome))
				}
			}
			return out
		}
		if got, want := decrypts(s), []string{"success", "denied", "denied", "success"}; !slices.Equal(got, want) {
			t.Errorf("the restricted subject's decrypt entries: %v, want %v", got, want)
		}
		if got, want := decrypts(other), []string{"success"}; !slices.Equal(got, want) {
			t.Errorf("the other subject's decrypt entries: %v, want %v", got, want)
		}
		var staff []audit.Entry
		for _, e := range entriesOf(t, k, s) {
			if e.Action == "crypto.decrypt" && e.Actor.Kind == gdpr.ActorStaff {
				staff = append(staff, e)
			}
		}
		var outcomes []string
		for _, e := range staff {
			outcomes = append(outcomes, string(e.Outcome))
			if e.Resource != "profiles.email" || e.Purpose != "account" || !slices.Equal(e.Categories, []string{"contact"}) {
				t.Errorf("a decrypt entry names %q for %q, categories %v; want profiles.email, account, [contact]", e.Resource, e.Purpose, e.Categories)
			}
		}
		if want := []string{"success", "denied", "success"}; !slices.Equal(outcomes, want) {
			t.Errorf("the staff member's decrypts of the restricted subject: %v, want %v", outcomes, want)
		}
		if n := len(staff); n > 0 && staff[n-1].Attrs["allowance"] != string(gdpr.AllowLegalClaims) {
			t.Errorf("the decrypt for legal claims does not say so: %v", staff[n-1].Attrs)
		}

		// The lift: the Keyring decrypts again.
		lift := waitClosed(t, k, l, submit(t, k, erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: s}).ID)
		if lift.State != erasure.StateCompleted {
			t.Fatalf("lift %s; steps %+v", lift.State, lift.Steps)
		}
		stop := time.Now().Add(maxWait)
		for {
			_, err := k.Keyring().Decrypt(support, s, emailField, ct)
			if err == nil {
				break
			}
			if !errors.Is(err, crypto.ErrRestricted) || time.Now().After(stop) {
				t.Fatalf("Decrypt after the lift: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		verifyTrail(t, k)
	})
}
