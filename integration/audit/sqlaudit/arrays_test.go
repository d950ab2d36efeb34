package sqlaudit_test

import (
	"testing"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/pgarray"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestArrayBinding: on pgx the stores bind Go slices to their array
// placeholders; behind a wrapper that hides the driver, literals.
func TestArrayBinding(t *testing.T) {
	if !pgarray.For(testdb.Open(t, sqldialect.Postgres).Driver()).Native() {
		t.Error("pgx's driver is not bound natively")
	}
	if pgarray.For(testdb.OpenPostgresWrapped(t).Driver()).Native() {
		t.Error("a wrapped driver is bound natively")
	}
}

// TestConformanceLiteralArrays runs the conformance suite on PostgreSQL
// with array literals (the driver hidden behind a wrapper), the path
// every PostgreSQL driver but pgx takes; TestConformance covers pgx's
// native arrays.
func TestConformanceLiteralArrays(t *testing.T) {
	audittest.RunStoreTests(t, func(t *testing.T) (audit.Store, audit.Store) {
		db := testdb.OpenPostgresWrapped(t)
		s := testdb.Migrated(t, sqldialect.Postgres, db, sqlaudit.New)
		other, err := sqlaudit.New(db, sqldialect.Postgres)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		return s, other
	})
}
