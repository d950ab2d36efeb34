package consent_test

import (
	"testing"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/consenttest"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The Ledger over sqlconsent passes the root contracts' conformance
// suites, as a gdpr.Eraser and a gdpr.Exporter, on every database, as it
// does over memconsent: the subject IDs the suites pick (one a prefix of
// another, one differing only in case or by a trailing space) must be kept
// apart by the SQL schema's keys too, and an erasure must hold for a
// second instance on another pool.
func TestLedgerContracts(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		consenttest.RunLedgerContracts(t, func(t *testing.T) (consent.Store, consent.Store) {
			return testdb.Pair(t, d, sqlconsent.New)
		})
	})
}
