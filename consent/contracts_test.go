package consent_test

import (
	"context"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/gdprtest"
)

// contractNotice is the notice the conformance fixtures' consents are
// given under.
var contractNotice = consent.Notice{ID: "contracts-newsletter", Version: 1, TextHash: consent.HashText("May we send you our newsletter?")}

// newContractLedger returns a Ledger over store with a recording audit
// trail, and the notice published. A t.Cleanup checks that no audit event
// carries a canary that seed planted outside its Subject.
func newContractLedger(t *testing.T, store consent.Store) (*consent.Ledger, func(context.Context, gdpr.SubjectID, string) error) {
	t.Helper()
	rec := new(gdprtest.Recorder)
	l, err := consent.New(store, consent.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Publish(t.Context(), contractNotice); err != nil {
		t.Fatal(err)
	}
	var canaries []string
	t.Cleanup(func() {
		if leaked := rec.Leaks(canaries...); len(leaked) > 0 {
			t.Errorf("%d audit events carry the canary planted in a consent's evidence, e.g. %s; want none", len(leaked), leaked[0].Action)
		}
	})
	// seed gives a consent and then withdraws it, with the canary in the
	// evidence of both (a Locator and an attribute may hold free text), so
	// the subject has two events, one of each kind the ledger erases.
	seed := func(ctx context.Context, subject gdpr.SubjectID, canary string) error {
		canaries = append(canaries, canary)
		if _, err := l.Give(ctx, consent.Choice{Subject: subject, Purpose: "newsletter",
			Notice:   consent.NoticeRef{ID: contractNotice.ID, Version: contractNotice.Version},
			Evidence: consent.Evidence{IPPrefix: "192.0.2.0/24", UserAgent: "Firefox/Linux", Locator: canary}}); err != nil {
			return err
		}
		_, err := l.Withdraw(ctx, consent.Choice{Subject: subject, Purpose: "newsletter",
			Evidence: consent.Evidence{Locator: "/account/consents", Attrs: map[string]string{"ref": canary}}})
		return err
	}
	return l, seed
}

// runLedgerContracts runs gdprtest's Eraser and Exporter suites on a
// *consent.Ledger over the stores newStore makes, one fresh store per
// check.
func runLedgerContracts(t *testing.T, newStore func(t *testing.T) consent.Store) {
	t.Run("Eraser", func(t *testing.T) {
		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
			l, seed := newContractLedger(t, newStore(t))
			// No Present: the Ledger is also a gdpr.Exporter, and the
			// suite sees through its export whether the events are gone.
			return gdprtest.EraserFixture{Eraser: l, Seed: seed}
		})
	})
	t.Run("Exporter", func(t *testing.T) {
		gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
			l, seed := newContractLedger(t, newStore(t))
			return gdprtest.ExporterFixture{Exporter: l, Seed: seed}
		})
	})
}

// The Ledger passes the root contracts' conformance suites, as a
// gdpr.Eraser and a gdpr.Exporter, over memconsent. (integration/consent
// runs them over sqlconsent on every database.)
func TestLedgerContracts(t *testing.T) {
	runLedgerContracts(t, func(*testing.T) consent.Store { return memconsent.New() })
}
