package sqlexport_test

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/exporttest"
	"github.com/gdprkit/gdpr/export/sqlexport"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestThroughPgBouncer runs the suite through a PgBouncer in transaction
// mode, in both pgx query exec modes a host may use behind it, each
// subtest on tables of a prefix of its own; and the claim race on
// several pools through it. The Store keeps no session state.
func TestThroughPgBouncer(t *testing.T) {
	t.Parallel()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			b := testdb.StartPgBouncer(t)
			name := b.CreateDatabase(t)
			var n atomic.Int64
			open := func(t *testing.T, prefix string) *sqlexport.Store {
				s, err := sqlexport.New(b.Open(t, name, mode), sqldialect.Postgres, sqlexport.WithTablePrefix(prefix))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			exporttest.RunStoreTests(t, func(t *testing.T) export.Store {
				s := open(t, fmt.Sprintf("t%d_", n.Add(1)))
				if err := s.Migrate(t.Context()); err != nil {
					t.Fatalf("Migrate through PgBouncer: %v", err)
				}
				return s
			})
			t.Run("ClaimRaceOnPools", func(t *testing.T) {
				prefix := fmt.Sprintf("t%d_", n.Add(1))
				var ss []*sqlexport.Store
				for range pools {
					ss = append(ss, open(t, prefix))
				}
				if err := ss[0].Migrate(t.Context()); err != nil {
					t.Fatal(err)
				}
				del := exporttest.NewDelivery("subject-race", t0, 1)
				if err := ss[1].Create(t.Context(), clone(del)); err != nil {
					t.Fatal(err)
				}
				errs := race(racers, ss, func(g int, s *sqlexport.Store) error {
					_, _, err := s.Claim(t.Context(), bytes.Clone(del.Parts[0].TokenHash), t0.Add(1))
					return err
				})
				one(t, "concurrent Claims through PgBouncer", errs, export.ErrNotFound)
			})
		})
	}
}
