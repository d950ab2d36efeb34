package sqlretention_test

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// storeT0 is the races' clock: a fixed UTC instant.
var storeT0 = time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC)

// storePools is how many instances of a host race: Stores on separate
// connection pools (*sql.DB) to one database.
const storePools = 8

// storeTTL is the races' lease time.
const storeTTL = 10 * time.Minute

// raceStores returns storePools Stores on one fresh database, each on
// its own *sql.DB, the first migrated, and that first *sql.DB. Each pool
// holds a few connections open and idle (warm), so that the racing calls
// start together instead of one connection's set-up after another's.
func raceStores(t *testing.T, d sqldialect.Dialect) ([]*sqlretention.Store, *sql.DB) {
	t.Helper()
	db := testdb.Open(t, d)
	out := []*sqlretention.Store{testdb.Migrated(t, d, db, sqlretention.New)}
	dbs := []*sql.DB{db}
	for len(out) < storePools {
		other := testdb.Reopen(t, d, db)
		s, err := sqlretention.New(other, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out, dbs = append(out, s), append(dbs, other)
	}
	for _, p := range dbs {
		warmPool(t, p, 2)
	}
	return out, db
}

// warmPool opens n connections of db at once and returns them to its
// idle pool.
func warmPool(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	db.SetMaxIdleConns(n + 2)
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingContext(t.Context()); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		c.Close()
	}
}

// raceOn runs fn(g, store) in len(ss) goroutines released at once,
// goroutine g on store g, and returns their errors.
func raceOn(ss []*sqlretention.Store, fn func(g int, s *sqlretention.Store) error) []error {
	errs := make([]error, len(ss))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[g] = fn(g, s)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// onlyOne returns the index of the only nil error, failing t unless
// exactly one is nil and every other wraps want.
func onlyOne(t *testing.T, what string, errs []error, want error) int {
	t.Helper()
	winner := -1
	for g, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%s: stores %d and %d both succeeded; want exactly one", what, winner, g)
		case err == nil:
			winner = g
		case !errors.Is(err, want):
			t.Errorf("%s: store %d: %v; want an error wrapping %v", what, g, err, want)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: none of %d succeeded; want exactly one", what, len(errs))
	}
	return winner
}

// TestAcquireSweepRaceAcrossPools: Stores on separate pools race for one
// sweep's lease, round after round: exactly one takes it, the others are
// ErrLeased; a SaveSweep of a loser (with the lease it would have had)
// or of a lease taken over is ErrLeaseLost, and the holder's checkpoint
// survives the takeover.
func TestAcquireSweepRaceAcrossPools(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ss, _ := raceStores(t, d)
		ctx := t.Context()
		for round := range 6 {
			name := fmt.Sprintf("nightly-%d", round)
			leases := make([]retention.Lease, len(ss))
			errs := raceOn(ss, func(g int, s *sqlretention.Store) error {
				var err error
				leases[g], err = s.AcquireSweep(ctx, name, fmt.Sprintf("host-%d", g), storeT0, storeTTL)
				return err
			})
			w := onlyOne(t, fmt.Sprintf("round %d: %d concurrent AcquireSweeps of one name on %d pools", round, len(ss), len(ss)), errs, retention.ErrLeased)
			held := leases[w]
			if held.Name != name || held.Owner != fmt.Sprintf("host-%d", w) || len(held.Token) < 16 || !held.Until.Equal(storeT0.Add(storeTTL)) {
				t.Errorf("round %d: the winner's lease %+v", round, held)
			}
			sw := retention.Sweep{Name: name, ID: fmt.Sprintf("sweep-%d", round), Started: storeT0,
				Targets: []retention.TargetSweep{{Target: "orders", Category: "orders", Action: retention.Delete, Cursor: "c1", Acted: 5}}}

			// The losers save at once, each with a lease of its own
			// making (the name, a token that is not the winner's), and
			// the winner saves too: only the winner's is kept.
			errs = raceOn(ss, func(g int, s *sqlretention.Store) error {
				l := held
				if g != w {
					l.Token = fmt.Sprintf("%032x", g)
				}
				mine := sw
				mine.ID = fmt.Sprintf("sweep-%d-by-%d", round, g)
				return s.SaveSweep(ctx, l, mine, storeT0.Add(time.Minute), storeT0.Add(storeTTL+time.Minute))
			})
			if got := onlyOne(t, fmt.Sprintf("round %d: concurrent SaveSweeps of the holder and the losers", round), errs, retention.ErrLeaseLost); got != w {
				t.Errorf("round %d: store %d's SaveSweep succeeded; want the holder's, %d", round, got, w)
			}
			last, err := ss[(w+1)%len(ss)].LastSweep(ctx, name)
			if err != nil || last.ID != fmt.Sprintf("sweep-%d-by-%d", round, w) {
				t.Errorf("round %d: LastSweep on another pool: %q, %v; want the holder's checkpoint", round, last.ID, err)
			}

			// After the lease lapses, the stores race to take it over:
			// one does, and the old holder's lease is lost.
			later := storeT0.Add(2*storeTTL + time.Minute)
			errs = raceOn(ss, func(g int, s *sqlretention.Store) error {
				var err error
				leases[g], err = s.AcquireSweep(ctx, name, fmt.Sprintf("host-%d", g), later, storeTTL)
				return err
			})
			w2 := onlyOne(t, fmt.Sprintf("round %d: %d concurrent takeovers of a lapsed lease", round, len(ss)), errs, retention.ErrLeased)
			if leases[w2].Token == held.Token {
				t.Errorf("round %d: the takeover kept the old token", round)
			}
			errs = raceOn(ss, func(g int, s *sqlretention.Store) error {
				return s.SaveSweep(ctx, held, sw, later, later.Add(storeTTL))
			})
			for g, err := range errs {
				if !errors.Is(err, retention.ErrLeaseLost) {
					t.Errorf("round %d: store %d's SaveSweep of the lease taken over: %v; want ErrLeaseLost", round, g, err)
				}
			}
			if last, err := ss[w2].LastSweep(ctx, name); err != nil || last.ID != fmt.Sprintf("sweep-%d-by-%d", round, w) {
				t.Errorf("round %d: LastSweep after the takeover: %q, %v; want the checkpoint kept", round, last.ID, err)
			}
			// The old holder's release changes nothing; the new one's
			// frees the lease at once.
			if err := ss[w].ReleaseSweep(ctx, held); err != nil {
				t.Fatal(err)
			}
			if _, err := ss[w].AcquireSweep(ctx, name, "host-x", later, storeTTL); !errors.Is(err, retention.ErrLeased) {
				t.Errorf("round %d: AcquireSweep after a stale release: %v; want ErrLeased", round, err)
			}
			if err := ss[w2].ReleaseSweep(ctx, leases[w2]); err != nil {
				t.Fatal(err)
			}
			if _, err := ss[w].AcquireSweep(ctx, name, "host-x", later, storeTTL); err != nil {
				t.Errorf("round %d: AcquireSweep after the holder's release: %v; want the lease", round, err)
			}
		}
	})
}

// TestPlaceHoldRaceAcrossPools: Stores on separate pools place one hold
// ID at once. With other contents each, exactly one is stored and the
// others are ErrExists, and the categories table holds the winner's
// categories alone. With the same contents, every one succeeds.
func TestPlaceHoldRaceAcrossPools(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ss, db := raceStores(t, d)
		ctx := t.Context()
		for round := range 6 {
			id := fmt.Sprintf("case-%d", round)
			hold := func(g int) retention.Hold {
				return retention.Hold{ID: id, Subject: gdpr.SubjectID(fmt.Sprintf("subject-%d", g)),
					Categories: []string{fmt.Sprintf("cat-%d", g), "shared"},
					Reason:     "claim pending", PlacedBy: gdpr.Staff("legal"), Placed: storeT0}
			}
			errs := raceOn(ss, func(g int, s *sqlretention.Store) error { return s.PlaceHold(ctx, hold(g)) })
			w := onlyOne(t, fmt.Sprintf("round %d: %d concurrent PlaceHolds of one ID, other contents", round, len(ss)), errs, retention.ErrExists)
			got, err := ss[(w+3)%len(ss)].GetHold(ctx, id)
			if err != nil || got.Subject != hold(w).Subject || !slices.Equal(got.Categories, hold(w).Categories) {
				t.Errorf("round %d: GetHold: %v, %v; want the winner's hold", round, got.Categories, err)
			}
			var cats []string
			rows, err := db.QueryContext(ctx, "SELECT category FROM gdpr_retention_hold_cats WHERE hold_id = '"+id+"' ORDER BY category")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var c string
				if err := rows.Scan(&c); err != nil {
					t.Fatal(err)
				}
				cats = append(cats, c)
			}
			rows.Close()
			if want := []string{fmt.Sprintf("cat-%d", w), "shared"}; !slices.Equal(cats, want) {
				t.Errorf("round %d: the categories table holds %q; want the winner's %q", round, cats, want)
			}

			same := fmt.Sprintf("retry-%d", round)
			errs = raceOn(ss, func(g int, s *sqlretention.Store) error {
				h := hold(0)
				h.ID = same
				return s.PlaceHold(ctx, h)
			})
			for g, err := range errs {
				if err != nil {
					t.Errorf("round %d: store %d's PlaceHold of the same hold as the others: %v; want nil (a retry)", round, g, err)
				}
			}
		}
		// Releases at once, each at its own instant: one is kept, and
		// every caller gets the hold as stored afterwards (the first to
		// commit its own release, the others that one).
		got := make([]retention.Hold, len(ss))
		errs := raceOn(ss, func(g int, s *sqlretention.Store) error {
			var err error
			got[g], err = s.ReleaseHold(ctx, "case-0", storeT0.Add(time.Duration(g+1)*time.Minute), gdpr.Staff(fmt.Sprintf("staff-%d", g)))
			return err
		})
		for g, err := range errs {
			if err != nil {
				t.Fatalf("ReleaseHold %d: %v", g, err)
			}
		}
		final, err := ss[0].GetHold(ctx, "case-0")
		if err != nil {
			t.Fatal(err)
		}
		w := -1
		for g := range ss {
			if final.Released.Equal(storeT0.Add(time.Duration(g+1)*time.Minute)) && final.ReleasedBy == gdpr.Staff(fmt.Sprintf("staff-%d", g)) {
				w = g
			}
		}
		if w < 0 {
			t.Errorf("the stored release %v by %s is none of the racers'", final.Released, final.ReleasedBy.Kind)
		}
		for g, h := range got {
			if !h.Released.Equal(final.Released) || h.ReleasedBy != final.ReleasedBy {
				t.Errorf("ReleaseHold %d returned release %v; want the one stored, %v", g, h.Released, final.Released)
			}
		}
	})
}
