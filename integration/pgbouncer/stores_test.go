package pgbouncer_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/consenttest"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/keystest"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// modes are the pgx query exec modes a host may use behind PgBouncer in
// transaction mode; the conformance suites run in each.
var modes = []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol}

// forEachMode runs fn as a subtest per mode, with a function that opens a
// fresh database through a PgBouncer of the subtest's own.
func forEachMode(t *testing.T, fn func(t *testing.T, open func(t *testing.T) *sql.DB)) {
	for _, mode := range modes {
		t.Run(modeName(mode), func(t *testing.T) {
			b := testdb.StartPgBouncer(t)
			fn(t, func(t *testing.T) *sql.DB { return b.Open(t, b.CreateDatabase(t), mode) })
		})
	}
}

func modeName(m pgx.QueryExecMode) string {
	switch m {
	case pgx.QueryExecModeExec:
		return "exec"
	case pgx.QueryExecModeSimpleProtocol:
		return "simple_protocol"
	}
	return fmt.Sprint(m)
}

func migrated[S interface{ Migrate(context.Context) error }](t *testing.T, s S, err error) S {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate through PgBouncer: %v", err)
	}
	return s
}

func TestConsentStore(t *testing.T) {
	forEachMode(t, func(t *testing.T, open func(*testing.T) *sql.DB) {
		consenttest.RunStoreTests(t, func(t *testing.T) consent.Store {
			s, err := sqlconsent.New(open(t), sqldialect.Postgres)
			s = migrated(t, s, err)
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

func TestKeysStore(t *testing.T) {
	forEachMode(t, func(t *testing.T, open func(*testing.T) *sql.DB) {
		keystest.RunStoreTests(t, func(t *testing.T) crypto.Store {
			s, err := sqlkeys.New(open(t), sqldialect.Postgres)
			s = migrated(t, s, err)
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

func TestAuditStore(t *testing.T) {
	forEachMode(t, func(t *testing.T, open func(*testing.T) *sql.DB) {
		audittest.RunStoreTests(t, func(t *testing.T) audit.Store {
			s, err := sqlaudit.New(open(t), sqldialect.Postgres)
			s = migrated(t, s, err)
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}
