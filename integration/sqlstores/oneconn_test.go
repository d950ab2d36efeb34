package sqlstores_test

import (
	"database/sql"
	"testing"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/breachtest"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/consenttest"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/keystest"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/erasuretest"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/exporttest"
	"github.com/gdprkit/gdpr/export/sqlexport"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/retentiontest"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestOnePooledConnection runs every SQL store's conformance suite on a
// pool of one connection (db.SetMaxOpenConns(1)), as SQLite hosts often
// configure it, on SQLite and MySQL, where the stores prepare their
// statements. Regression: a statement first used inside a transaction
// was prepared on the database, which waited for a second connection
// for ever, so every store hung on its first transaction.
func TestOnePooledConnection(t *testing.T) {
	t.Parallel()
	for _, d := range []sqldialect.Dialect{sqldialect.SQLite, sqldialect.MySQL} {
		t.Run(d.String(), func(t *testing.T) {
			if !testdb.Available(d) {
				testdb.Open(t, d) // skips, or fails in CI
			}
			open := func(t *testing.T) (db1, db2 *sqlDB) {
				db := testdb.Open(t, d)
				db.SetMaxOpenConns(1)
				other := testdb.Reopen(t, d, db)
				other.SetMaxOpenConns(1)
				return db, other
			}
			t.Run("consent", func(t *testing.T) {
				consenttest.RunStoreTests(t, func(t *testing.T) (s, other consent.Store) {
					a, b := open(t)
					return testdb.Migrated(t, d, a, sqlconsent.New), reopened(t, d, b, sqlconsent.New)
				})
			})
			t.Run("keys", func(t *testing.T) {
				keystest.RunStoreTests(t, func(t *testing.T) (s, other crypto.Store) {
					a, b := open(t)
					return testdb.Migrated(t, d, a, sqlkeys.New), reopened(t, d, b, sqlkeys.New)
				})
			})
			t.Run("audit", func(t *testing.T) {
				audittest.RunStoreTests(t, func(t *testing.T) (s, other audit.Store) {
					a, b := open(t)
					return testdb.Migrated(t, d, a, sqlaudit.New), reopened(t, d, b, sqlaudit.New)
				})
			})
			t.Run("erasure", func(t *testing.T) {
				erasuretest.RunStoreTests(t, func(t *testing.T) (s, other erasure.Store) {
					a, b := open(t)
					return testdb.Migrated(t, d, a, sqlerasure.New), reopened(t, d, b, sqlerasure.New)
				})
			})
			t.Run("export", func(t *testing.T) {
				exporttest.RunStoreTests(t, func(t *testing.T) export.Store {
					a, _ := open(t)
					return testdb.Migrated(t, d, a, sqlexport.New)
				})
			})
			t.Run("retention", func(t *testing.T) {
				retentiontest.RunStoreTests(t, func(t *testing.T) (s, other retention.Store) {
					a, b := open(t)
					return testdb.Migrated(t, d, a, sqlretention.New), reopened(t, d, b, sqlretention.New)
				})
			})
			t.Run("breach", func(t *testing.T) {
				breachtest.RunStoreTests(t, func(t *testing.T) (s, other breach.Store) {
					a, b := open(t)
					return testdb.Migrated(t, d, a, sqlbreach.New), reopened(t, d, b, sqlbreach.New)
				})
			})
		})
	}
}

type sqlDB = sql.DB

// reopened is a store over db, which a first store migrated.
func reopened[S testdb.Store](t *testing.T, d sqldialect.Dialect, db *sql.DB, open testdb.Opener[S]) S {
	t.Helper()
	s, err := open(db, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
