package sqlaudit_test

import (
	"testing"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestLogConformance runs gdprtest's Eraser and Exporter suites against an
// *audit.Log over sqlaudit, on every database, each check on a fresh one,
// with a second Log on a second pool (as another instance of the service)
// saying whether a subject's entries can still be found.
func TestLogConformance(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		audittest.RunLogContracts(t, func(t *testing.T) (audit.Store, audit.Store) {
			return testdb.Pair(t, d, sqlaudit.New)
		})
	})
}
