// Package sweep_test runs retention.Sweeper over sqlretention's Store and
// Deleter on PostgreSQL, MySQL/MariaDB and SQLite: sweeps stopped at
// every batch boundary and resumed by another instance, sweepers racing
// on separate pools, connections killed midway, holds honoured.
package sweep_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

var now = time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)

var policy = retention.Policy{Category: "logins", Period: gdpr.Period{Months: 6}}

// table makes a table "logins" of n rows, one every 3 hours back from
// now over two years, of subjects s000…s019, with the index the Deleter
// needs, and returns the keys that the policy has expired at now, split
// into those of subjects in held and the others.
func table(t *testing.T, db *sql.DB, d sqldialect.Dialect, n int, held ...string) (gone, kept map[int64]bool) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE logins (id BIGINT PRIMARY KEY, subject VARCHAR(64) NULL, at_us BIGINT NULL, ip VARCHAR(64) NULL)",
		"CREATE INDEX logins_at ON logins (at_us, id)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	gone, kept = map[int64]bool{}, map[int64]bool{}
	isHeld := map[string]bool{}
	for _, h := range held {
		isHeld[h] = true
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ins := "INSERT INTO logins (id, subject, at_us, ip) VALUES (?, ?, ?, ?)"
	if d == sqldialect.Postgres {
		ins = "INSERT INTO logins (id, subject, at_us, ip) VALUES ($1, $2, $3, $4)"
	}
	for i := 0; i < n; i++ {
		at := now.Add(-time.Duration(i) * 3 * time.Hour)
		s := fmt.Sprintf("s%03d", i%20)
		if _, err := tx.ExecContext(ctx, ins, int64(i), s, at.UnixMicro(), "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if !policy.Expiry(at).After(now) {
			if isHeld[s] {
				kept[int64(i)] = true
			} else {
				gone[int64(i)] = true
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return gone, kept
}

// check fails t unless exactly the rows of gone are missing.
func check(t *testing.T, db *sql.DB, n int, gone map[int64]bool) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT id FROM logins")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	left := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		left[id] = true
		if gone[id] {
			t.Errorf("row %d expired and is not held, but survived", id)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(left) != n-len(gone) {
		t.Errorf("%d rows left, want %d", len(left), n-len(gone))
	}
}

type instance struct {
	store   *sqlretention.Store
	deleter *sqlretention.Deleter
	sweeper *retention.Sweeper
}

// open is one instance of the host: a Store and a Deleter on db, and a
// Sweeper over them.
func open(t *testing.T, db *sql.DB, d sqldialect.Dialect, migrate bool, opts ...retention.Option) instance {
	t.Helper()
	store, err := sqlretention.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if migrate {
		if err := store.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	del, err := sqlretention.NewDeleter(db, d, sqlretention.Table{Name: "logins", Key: "id", Subject: "subject", Time: "at_us",
		TimeUnit: sqlretention.UnixMicros})
	if err != nil {
		t.Fatal(err)
	}
	return instance{store: store, deleter: del, sweeper: sweeper(t, store, del, opts...)}
}

func sweeper(t *testing.T, store retention.Store, d retention.Deleter, opts ...retention.Option) *retention.Sweeper {
	t.Helper()
	s, err := retention.NewSweeper(store, append([]retention.Option{
		retention.WithPolicies(policy),
		retention.WithTargets(retention.Target{Name: "logins", Category: "logins", Deleter: d}),
		retention.WithClock(func() time.Time { return now }), retention.WithBatchSize(100),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSweepResumesOnAnotherInstance stops a sweep after each of its
// first batches, by cancelling its context, and resumes it from a second
// instance on another pool: the same sweep, each expired row deleted
// once, the held subject's rows kept, the counts adding up.
func TestSweepResumesOnAnotherInstance(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		for _, stopAt := range []int{1, 2, 5} {
			t.Run(fmt.Sprint(stopAt), func(t *testing.T) {
				ctx := context.Background()
				db := testdb.Open(t, d)
				const n = 2500
				gone, kept := table(t, db, d, n, "s007")
				sctx, cancel := context.WithCancel(ctx)
				defer cancel()
				batches := 0
				first := open(t, db, d, true, retention.WithProgress(func(retention.Sweep) {
					if batches++; batches == stopAt {
						cancel()
					}
				}))
				h, err := retention.NewHolds(first.store, retention.WithClock(func() time.Time { return now.Add(-time.Hour) }))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := h.Place(ctx, retention.Hold{ID: "case-1", Subject: "s007", Reason: "claim", PlacedBy: gdpr.Staff("legal")}); err != nil {
					t.Fatal(err)
				}
				stopped, err := first.sweeper.Sweep(sctx)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("the first sweep: %v, want context.Canceled", err)
				}
				second := open(t, testdb.Reopen(t, d, db), d, false)
				done, err := second.sweeper.Sweep(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if done.ID != stopped.ID {
					t.Errorf("the second instance began sweep %s instead of resuming %s", done.ID, stopped.ID)
				}
				ts := done.Targets[0]
				if ts.Acted != int64(len(gone)) || ts.HeldRecords != int64(len(kept)) || !ts.Done {
					t.Errorf("report %+v, want %d acted, %d held", ts, len(gone), len(kept))
				}
				check(t, db, n, gone)
				last, err := second.sweeper.LastSweep(ctx)
				if err != nil || last.Finished.IsZero() || last.ID != done.ID {
					t.Errorf("LastSweep %+v, %v", last, err)
				}
			})
		}
	})
}

// slow delays every batch, so that a sweep lasts while others try.
type slow struct{ retention.Deleter }

func (s slow) Expire(ctx context.Context, b retention.Batch) (retention.Result, error) {
	time.Sleep(5 * time.Millisecond)
	return s.Deleter.Expire(ctx, b)
}

// TestSweepersRace starts four instances on separate pools at once: one
// sweeps, the others get ErrLeased and wait; when their turn comes there
// is nothing left, and every row went once.
func TestSweepersRace(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := context.Background()
		db := testdb.Open(t, d)
		const n = 3000
		gone, _ := table(t, db, d, n)
		open(t, db, d, true) // migrates
		const k = 4
		var sweepers []*retention.Sweeper
		for i := 0; i < k; i++ {
			pool := testdb.Reopen(t, d, db)
			in := open(t, pool, d, false)
			sweepers = append(sweepers, sweeper(t, in.store, slow{in.deleter}, retention.WithOwner(fmt.Sprintf("instance-%d", i))))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		acted, won, leased := int64(0), 0, 0
		start := make(chan struct{})
		for _, s := range sweepers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for tries := 0; ; tries++ {
					sw, err := s.Sweep(ctx)
					mu.Lock()
					if err == nil {
						acted += sw.Targets[0].Acted
						won++
						mu.Unlock()
						return
					}
					mu.Unlock()
					if !errors.Is(err, retention.ErrLeased) || tries > 2000 {
						t.Errorf("sweep: %v", err)
						return
					}
					if tries == 0 {
						mu.Lock()
						leased++
						mu.Unlock()
					}
					time.Sleep(10 * time.Millisecond) // wait for the lease
				}
			}()
		}
		close(start)
		wg.Wait()
		if won != k || leased < 1 {
			t.Errorf("%d sweeps ran, %d found the lease taken; want %d and at least one", won, leased, k)
		}
		if acted != int64(len(gone)) {
			t.Errorf("the sweeps acted on %d rows in all, want each of the %d expired once", acted, len(gone))
		}
		check(t, db, n, gone)
	})
}

// TestSweepKilledConnections terminates every connection of the
// sweeper's pool after its second batch, on PostgreSQL: the sweep fails
// or recovers, and the next one leaves exactly the right rows.
func TestSweepKilledConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testdb.PostgresConfig(t) // a fresh schema; skips, or fails in CI, without PostgreSQL
	db := stdlib.OpenDB(*cfg.Copy())
	t.Cleanup(func() { db.Close() })
	const n = 2000
	gone, _ := table(t, db, sqldialect.Postgres, n)
	// The victim pool's connections carry a name of their own, so that
	// only they are terminated, not those of tests running beside.
	victim := cfg.Copy()
	app := "sweep-victim-" + fmt.Sprint(time.Now().UnixNano())
	victim.RuntimeParams["application_name"] = app
	pool := stdlib.OpenDB(*victim)
	t.Cleanup(func() { pool.Close() })
	killed := 0
	batches := 0
	in := open(t, pool, sqldialect.Postgres, true, retention.WithProgress(func(retention.Sweep) {
		if batches++; batches != 2 {
			return
		}
		err := db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1`, app).Scan(&killed)
		if err != nil {
			t.Error(err)
		}
	}))
	_, err := in.sweeper.Sweep(ctx)
	t.Logf("the sweep whose connections were killed: %v (%d terminated)", err, killed)
	if killed == 0 {
		t.Error("no connection was terminated: the test tested nothing")
	}
	again := open(t, stdlib.OpenDB(*cfg.Copy()), sqldialect.Postgres, false)
	if _, err := again.sweeper.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	check(t, db, n, gone)
}
