// Package sqlexport_test runs export/sqlexport on PostgreSQL,
// MySQL/MariaDB and SQLite: the export.Store conformance suite, races
// between Stores on separate connection pools, as several instances of
// a host have, and the canary checks of what the tables hold.
package sqlexport_test

import (
	"testing"

	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/exporttest"
	"github.com/gdprkit/gdpr/export/sqlexport"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestStoreConformance runs the export.Store suite on every database, a
// fresh one per subtest.
func TestStoreConformance(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		exporttest.RunStoreTests(t, func(t *testing.T) export.Store {
			return testdb.Migrated(t, d, testdb.Open(t, d), sqlexport.New)
		})
	})
}

// TestStoreConformanceSecondPool runs the suite through a Store on a
// second connection pool of a database a first Store migrated, as a
// second instance of the host would use it (on SQLite its transactions
// begin deferred, with no _txlock=immediate).
func TestStoreConformanceSecondPool(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		exporttest.RunStoreTests(t, func(t *testing.T) export.Store {
			_, other := testdb.Pair(t, d, sqlexport.New)
			return other
		})
	})
}
