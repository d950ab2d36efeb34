package sqlretention_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/retentiontest"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestStoreThroughPgBouncer runs the suite through a PgBouncer in
// transaction mode, in both pgx query exec modes a host may use behind
// it, each subtest on tables of a prefix of its own; and the lease race
// on several pools through it. The Store keeps no session state.
func TestStoreThroughPgBouncer(t *testing.T) {
	t.Parallel()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			b := testdb.StartPgBouncer(t)
			name := b.CreateDatabase(t)
			var n atomic.Int64
			open := func(t *testing.T, prefix string) *sqlretention.Store {
				s, err := sqlretention.New(b.Open(t, name, mode), sqldialect.Postgres, sqlretention.WithTablePrefix(prefix))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			retentiontest.RunStoreTests(t, func(t *testing.T) (s, other retention.Store) {
				prefix := fmt.Sprintf("t%d_", n.Add(1))
				first := open(t, prefix)
				if err := first.Migrate(t.Context()); err != nil {
					t.Fatalf("Migrate through PgBouncer: %v", err)
				}
				return first, open(t, prefix)
			})
			t.Run("AcquireSweepRaceOnPools", func(t *testing.T) {
				prefix := fmt.Sprintf("t%d_", n.Add(1))
				var ss []*sqlretention.Store
				for range storePools {
					ss = append(ss, open(t, prefix))
				}
				if err := ss[0].Migrate(t.Context()); err != nil {
					t.Fatal(err)
				}
				leases := make([]retention.Lease, len(ss))
				errs := raceOn(ss, func(g int, s *sqlretention.Store) error {
					var err error
					leases[g], err = s.AcquireSweep(t.Context(), "nightly", fmt.Sprintf("host-%d", g), storeT0, storeTTL)
					return err
				})
				w := onlyOne(t, "concurrent AcquireSweeps through PgBouncer", errs, retention.ErrLeased)
				errs = raceOn(ss, func(g int, s *sqlretention.Store) error {
					l := leases[w]
					if g != w {
						l.Token = fmt.Sprintf("%032x", g)
					}
					return s.SaveSweep(t.Context(), l, retention.Sweep{Name: "nightly", ID: "s"}, storeT0, storeT0.Add(storeTTL))
				})
				if got := onlyOne(t, "concurrent SaveSweeps through PgBouncer", errs, retention.ErrLeaseLost); got != w {
					t.Errorf("store %d's SaveSweep succeeded; want the holder's, %d", got, w)
				}
			})
		})
	}
}
