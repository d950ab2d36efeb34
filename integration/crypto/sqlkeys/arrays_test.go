package sqlkeys_test

import (
	"testing"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/keystest"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestConformanceLiteralArrays runs the conformance suite on PostgreSQL
// with array literals (the driver hidden behind a wrapper), the path
// every PostgreSQL driver but pgx takes; TestConformance covers pgx's
// native arrays (UpdateMany binds them).
func TestConformanceLiteralArrays(t *testing.T) {
	keystest.RunStoreTests(t, func(t *testing.T) (crypto.Store, crypto.Store) {
		db := testdb.OpenPostgresWrapped(t)
		return testdb.Migrated(t, sqldialect.Postgres, db, sqlkeys.New), otherStore(t, sqldialect.Postgres, db)
	})
}
