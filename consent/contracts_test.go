package consent_test

import (
	"testing"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/consenttest"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

// The Ledger passes the root contracts' conformance suites, as a
// gdpr.Eraser and a gdpr.Exporter, over memconsent. (integration/consent
// runs them over sqlconsent on every database.)
func TestLedgerContracts(t *testing.T) {
	consenttest.RunLedgerContracts(t, func(*testing.T) (consent.Store, consent.Store) {
		s := memconsent.New()
		return s, s
	})
}
