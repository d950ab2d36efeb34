package consent_test

import (
	"context"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/gdprtest"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The Ledger over sqlconsent passes the root contracts' conformance
// suites, as a gdpr.Eraser and a gdpr.Exporter, on every database, as it
// does over memconsent (consent/contracts_test.go): the subject IDs the
// suites pick (one a prefix of another, one differing only in case or by
// a trailing space) must be kept apart by the SQL schema's keys too.
func TestLedgerContracts(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		newLedger := func(t *testing.T) (*consent.Ledger, func(context.Context, gdpr.SubjectID, string) error) {
			s, err := sqlconsent.New(testdb.Open(t, d), d)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return newContractLedger(t, s)
		}
		t.Run("Eraser", func(t *testing.T) {
			gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
				l, seed := newLedger(t)
				// No Present: the Ledger is also a gdpr.Exporter.
				return gdprtest.EraserFixture{Eraser: l, Seed: seed}
			})
		})
		t.Run("Exporter", func(t *testing.T) {
			gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
				l, seed := newLedger(t)
				return gdprtest.ExporterFixture{Exporter: l, Seed: seed}
			})
		})
	})
}

// contractNotice is the notice the fixtures' consents are given under.
var contractNotice = consent.Notice{ID: "contracts-newsletter", Version: 1, TextHash: consent.HashText("May we send you our newsletter?")}

// newContractLedger returns a Ledger over store with a recording audit
// trail and the notice published, and the suites' Seed: a consent given
// and then withdrawn, with the canary in the evidence of both. A
// t.Cleanup checks that no audit event carries a canary outside its
// Subject.
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
