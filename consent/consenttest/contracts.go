package consenttest

import (
	"context"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/gdprtest"
)

// contractNotice is the notice the contract fixtures' consents are given
// under.
var contractNotice = consent.Notice{ID: "contracts-newsletter", Version: 1, TextHash: consent.HashText("May we send you our newsletter?")}

// RunLedgerContracts runs gdprtest's Eraser and Exporter suites on a
// *consent.Ledger over the stores newStore makes, as RunStoreTests calls
// it: two handles on one fresh storage. The Ledger under test is over s;
// a second Ledger over other, as a second instance of the host, says
// whether a subject's events are still there, so an erasure must hold for
// every instance. Each subject is seeded with a consent given and then
// withdrawn (the ledger holds no free text to plant the suites' canary
// in), and no audit event may carry the canary outside its Subject.
func RunLedgerContracts(t *testing.T, newStore func(t *testing.T) (s, other consent.Store)) {
	t.Run("Eraser", func(t *testing.T) {
		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
			s, other := newStore(t)
			l, seed := contractLedger(t, s, true)
			witness, _ := contractLedger(t, other, false)
			return gdprtest.EraserFixture{Eraser: l, Seed: seed, Present: gdprtest.ExportsAny(witness)}
		})
	})
	t.Run("Exporter", func(t *testing.T) {
		gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
			s, _ := newStore(t)
			l, seed := contractLedger(t, s, true)
			return gdprtest.ExporterFixture{Exporter: l, Seed: seed}
		})
	})
}

// contractLedger returns a Ledger over store with a recording audit trail
// (the notice published when publish), and the suites' Seed. A t.Cleanup
// checks that no audit event carries a canary outside its Subject.
func contractLedger(t *testing.T, store consent.Store, publish bool) (*consent.Ledger, func(context.Context, gdpr.SubjectID, string) error) {
	t.Helper()
	rec := new(gdprtest.Recorder)
	l, err := consent.New(store, consent.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	if publish {
		if _, err := l.Publish(t.Context(), contractNotice); err != nil {
			t.Fatal(err)
		}
	}
	var canaries []string
	t.Cleanup(func() {
		if leaked := rec.Leaks(canaries...); len(leaked) > 0 {
			t.Errorf("%d audit events carry the canary planted in a consent's evidence, e.g. %s; want none", len(leaked), leaked[0].Action)
		}
	})
	// seed gives a consent and then withdraws it, so the subject has two
	// events, one of each kind the ledger erases. The ledger holds no free
	// text (Evidence refuses values that look like personal data, as the
	// canary does), so the canary is not stored; it is still looked for in
	// every audit event.
	seed := func(ctx context.Context, subject gdpr.SubjectID, canary string) error {
		canaries = append(canaries, canary)
		if _, err := l.Give(ctx, consent.Choice{Subject: subject, Purpose: "newsletter",
			Notice:   consent.NoticeRef{ID: contractNotice.ID, Version: contractNotice.Version},
			Evidence: consent.Evidence{IPPrefix: "192.0.2.0/24", UserAgent: "Firefox/Linux", Locator: "/signup"}}); err != nil {
			return err
		}
		_, err := l.Withdraw(ctx, consent.Choice{Subject: subject, Purpose: "newsletter",
			Evidence: consent.Evidence{Locator: "/account/consents", Attrs: map[string]string{"ref": "settings"}}})
		return err
	}
	return l, seed
}
