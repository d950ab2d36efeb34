package pgbouncer_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
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
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/erasuretest"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// modes are the pgx query exec modes a host may use behind PgBouncer in
// transaction mode; the conformance suites run in each.
var modes = []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol}

// forEachMode runs fn as a subtest per mode, each with a PgBouncer and a
// new database of its own. fn's newStore gives each call (one per suite
// subtest) a new connection pool through that PgBouncer and a table
// prefix no other call uses, so every subtest has empty tables of its own
// without the cost of a database per subtest.
func forEachMode(t *testing.T, fn func(t *testing.T, open func(t *testing.T) (*sql.DB, string))) {
	for _, mode := range modes {
		t.Run(modeName(mode), func(t *testing.T) {
			b := testdb.StartPgBouncer(t)
			name := b.CreateDatabase(t)
			var n atomic.Int64
			fn(t, func(t *testing.T) (*sql.DB, string) {
				return b.Open(t, name, mode), fmt.Sprintf("t%d_", n.Add(1))
			})
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
	t.Parallel()
	forEachMode(t, func(t *testing.T, open func(*testing.T) (*sql.DB, string)) {
		// Two Stores on two pools through the PgBouncer, to the same
		// database and tables, as two instances of a host would have.
		consenttest.RunStoreTests(t, func(t *testing.T) (consent.Store, consent.Store) {
			db, prefix := open(t)
			db2, _ := open(t) // another pool; its prefix is not used
			s, err := sqlconsent.New(db, sqldialect.Postgres, sqlconsent.WithTablePrefix(prefix))
			s = migrated(t, s, err)
			t.Cleanup(func() { s.Close() })
			other, err := sqlconsent.New(db2, sqldialect.Postgres, sqlconsent.WithTablePrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
			return s, other
		})
	})
}

func TestKeysStore(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, open func(*testing.T) (*sql.DB, string)) {
		keystest.RunStoreTests(t, func(t *testing.T) (s, other crypto.Store) {
			db, prefix := open(t)
			a, err := sqlkeys.New(db, sqldialect.Postgres, sqlkeys.WithTablePrefix(prefix))
			a = migrated(t, a, err)
			t.Cleanup(func() { a.Close() })
			// A second pool through the same PgBouncer, as another process.
			db2, _ := open(t)
			b, err := sqlkeys.New(db2, sqldialect.Postgres, sqlkeys.WithTablePrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return a, b
		})
	})
}

func TestAuditStore(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, open func(*testing.T) (*sql.DB, string)) {
		audittest.RunStoreTests(t, func(t *testing.T) (audit.Store, audit.Store) {
			// Two pools through the PgBouncer on one database, as two
			// processes: the second's own prefix goes unused.
			db, prefix := open(t)
			other, _ := open(t)
			s, err := sqlaudit.New(db, sqldialect.Postgres, sqlaudit.WithTablePrefix(prefix))
			s = migrated(t, s, err)
			t.Cleanup(func() { s.Close() })
			o, err := sqlaudit.New(other, sqldialect.Postgres, sqlaudit.WithTablePrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { o.Close() })
			return s, o
		})
	})
}

// erasurePair returns two handles on one prefix's erasure tables through
// the PgBouncer, on two pools, as two processes: the first migrated, the
// second's own prefix unused.
func erasurePair[S interface {
	Migrate(context.Context) error
	Close() error
}](t *testing.T, open func(*testing.T) (*sql.DB, string), newStore func(*sql.DB, sqldialect.Dialect, ...sqlerasure.Option) (S, error)) (S, S) {
	t.Helper()
	db, prefix := open(t)
	db2, _ := open(t)
	s, err := newStore(db, sqldialect.Postgres, sqlerasure.WithTablePrefix(prefix))
	s = migrated(t, s, err)
	t.Cleanup(func() { s.Close() })
	o, err := newStore(db2, sqldialect.Postgres, sqlerasure.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return s, o
}

func TestErasureStore(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, open func(*testing.T) (*sql.DB, string)) {
		erasuretest.RunStoreTests(t, func(t *testing.T) (erasure.Store, erasure.Store) {
			return erasurePair(t, open, sqlerasure.New)
		})
	})
}

func TestErasureCodeStore(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, open func(*testing.T) (*sql.DB, string)) {
		erasuretest.RunCodeStoreTests(t, func(t *testing.T) (erasure.CodeStore, erasure.CodeStore) {
			return erasurePair(t, open, sqlerasure.NewCodeStore)
		})
	})
}

func TestErasureJournal(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, open func(*testing.T) (*sql.DB, string)) {
		erasuretest.RunJournalTests(t, func(t *testing.T) (erasure.Journal, erasure.Journal) {
			return erasurePair(t, open, sqlerasure.NewJournal)
		})
	})
}
