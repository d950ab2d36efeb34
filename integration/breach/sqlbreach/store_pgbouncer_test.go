package sqlbreach_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/breachtest"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestStoreThroughPgBouncer runs the suite through a PgBouncer in
// transaction mode, in both pgx query exec modes a host may use behind
// it, each subtest on tables of a prefix of its own; and the claim and
// append races on several pools through it. The Store keeps no session
// state.
func TestStoreThroughPgBouncer(t *testing.T) {
	t.Parallel()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			b := testdb.StartPgBouncer(t)
			name := b.CreateDatabase(t)
			var n atomic.Int64
			open := func(t *testing.T, prefix string) *sqlbreach.Store {
				s, err := sqlbreach.New(b.Open(t, name, mode), sqldialect.Postgres, sqlbreach.WithTablePrefix(prefix))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			breachtest.RunStoreTests(t, func(t *testing.T) (s, other breach.Store) {
				prefix := fmt.Sprintf("t%d_", n.Add(1))
				first := open(t, prefix)
				if err := first.Migrate(t.Context()); err != nil {
					t.Fatalf("Migrate through PgBouncer: %v", err)
				}
				return first, open(t, prefix)
			})
			t.Run("RacesOnPools", func(t *testing.T) {
				prefix := fmt.Sprintf("t%d_", n.Add(1))
				var ss []*sqlbreach.Store
				for range pools {
					ss = append(ss, open(t, prefix))
				}
				if err := ss[0].Migrate(t.Context()); err != nil {
					t.Fatal(err)
				}
				id := breachtest.NewID()
				errs := race(racers, ss, func(g int, s *sqlbreach.Store) error { return s.Append(t.Context(), breachtest.Event(id, 1)) })
				one(t, "concurrent Appends of Seq 1 through PgBouncer", errs, breach.ErrConflict)
				errs = race(racers, ss, func(g int, s *sqlbreach.Store) error { return s.Append(t.Context(), breachtest.Event(id, 2)) })
				one(t, "concurrent Appends of Seq 2 through PgBouncer", errs, breach.ErrConflict)
				w := claimRace(t, "concurrent Claims through PgBouncer", ss, breach.Notice{Breach: id, Ref: breachtest.Ref(1), Time: t0, Outcome: breach.Pending})
				if err := ss[w%pools].Settle(t.Context(), breach.Notice{Breach: id, Ref: breachtest.Ref(1), Time: t0, Outcome: breach.Failed}); err != nil {
					t.Fatal(err)
				}
				claimRace(t, "concurrent Claims of a failed notice through PgBouncer", ss, breach.Notice{Breach: id, Ref: breachtest.Ref(1), Time: t0, Outcome: breach.Pending})
			})
		})
	}
}
