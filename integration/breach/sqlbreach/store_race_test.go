package sqlbreach_test

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/breachtest"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// pools are how many instances of a host race: Stores on separate
// connection pools (*sql.DB) to one database.
const pools = 4

// racers is how many goroutines race, racers/pools on each pool.
const racers = 16

// raceStores returns pools Stores on one fresh database, each on its own
// *sql.DB, the first migrated. Each pool holds racers/pools+1
// connections open and idle (warm), so that the racing calls start
// together instead of one connection's set-up after another's.
func raceStores(t *testing.T, d sqldialect.Dialect) []*sqlbreach.Store {
	t.Helper()
	db := testdb.Open(t, d)
	out := []*sqlbreach.Store{testdb.Migrated(t, d, db, sqlbreach.New)}
	dbs := []*sql.DB{db}
	for len(out) < pools {
		other := testdb.Reopen(t, d, db)
		s, err := sqlbreach.New(other, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out, dbs = append(out, s), append(dbs, other)
	}
	for _, p := range dbs {
		p.SetMaxIdleConns(racers)
		warm(t, p, racers/pools+1)
	}
	return out
}

// warm opens n connections of db at once and returns them to its idle
// pool.
func warm(t *testing.T, db *sql.DB, n int) {
	t.Helper()
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

// race runs fn(g, store) in n goroutines released at once, goroutine g
// on store g % len(ss), and returns their errors.
func race(n int, ss []*sqlbreach.Store, fn func(g int, s *sqlbreach.Store) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[g] = fn(g, ss[g%len(ss)])
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// one returns the index of the only nil error, failing t unless exactly
// one is nil and every other wraps want.
func one(t *testing.T, what string, errs []error, want error) int {
	t.Helper()
	winner := -1
	for g, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%s: goroutines %d and %d both succeeded; want exactly one", what, winner, g)
		case err == nil:
			winner = g
		case !errors.Is(err, want):
			t.Errorf("%s: goroutine %d: %v; want an error wrapping %v", what, g, err, want)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: none of %d succeeded; want exactly one", what, len(errs))
	}
	return winner
}

// errLost is what claimRace makes of a Claim that reported false.
var errLost = errors.New("not claimed")

// claimRace races racers Claims of one notice across ss and returns the
// winner, failing t unless exactly one claimed and none failed.
func claimRace(t *testing.T, what string, ss []*sqlbreach.Store, n breach.Notice) int {
	t.Helper()
	errs := race(racers, ss, func(g int, s *sqlbreach.Store) error {
		ok, err := s.Claim(t.Context(), n, false)
		if err == nil && !ok {
			return errLost
		}
		return err
	})
	return one(t, what, errs, errLost)
}

// TestClaimRaceAcrossPools: Stores on four pools race, round after round,
// to claim one new notice (exactly one wins: a subject is told once);
// the winner settles it Failed and they race to claim it again (exactly
// one); once Sent, none claims it; and the Settles of the losers of a
// race for a Sent notice are ErrConflict.
func TestClaimRaceAcrossPools(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ss := raceStores(t, d)
		ctx := t.Context()
		id := breachtest.NewID()
		if err := ss[0].Append(ctx, breachtest.Event(id, 1)); err != nil {
			t.Fatal(err)
		}
		for round := range 8 {
			r := breachtest.Ref(round)
			n := breach.Notice{Breach: id, Ref: r, Time: t0, Outcome: breach.Pending}
			w := claimRace(t, fmt.Sprintf("round %d: %d concurrent Claims of a new notice on %d pools", round, racers, pools), ss, n)
			if err := ss[w%pools].Settle(ctx, breach.Notice{Breach: id, Ref: r, Time: t0.Add(time.Second), Outcome: breach.Failed}); err != nil {
				t.Fatal(err)
			}
			n.Time = t0.Add(2 * time.Second)
			w = claimRace(t, fmt.Sprintf("round %d: concurrent Claims of a failed notice", round), ss, n)
			if err := ss[w%pools].Settle(ctx, breach.Notice{Breach: id, Ref: r, Time: t0.Add(3 * time.Second), Outcome: breach.Sent}); err != nil {
				t.Fatal(err)
			}
			errs := race(racers, ss, func(g int, s *sqlbreach.Store) error {
				ok, err := s.Claim(ctx, n, false)
				if ok {
					return errors.New("claimed a sent notice")
				}
				return err
			})
			for g, err := range errs {
				if err != nil {
					t.Errorf("round %d: goroutine %d's Claim of a sent notice: %v; want false", round, g, err)
				}
			}
			errs = race(racers, ss, func(g int, s *sqlbreach.Store) error {
				return s.Settle(ctx, breach.Notice{Breach: id, Ref: r, Time: t0.Add(4 * time.Second), Outcome: breach.Failed})
			})
			for g, err := range errs {
				if !errors.Is(err, breach.ErrConflict) {
					t.Errorf("round %d: goroutine %d's Settle of a sent notice: %v; want ErrConflict", round, g, err)
				}
			}
		}
		ns, err := ss[1].Notices(ctx, id, nil, breach.MaxPage)
		if err != nil || len(ns) != 8 {
			t.Fatalf("Notices: %d, %v; want the 8", len(ns), err)
		}
		for _, n := range ns {
			if n.Outcome != breach.Sent || !n.Time.Equal(t0.Add(3*time.Second)) {
				t.Errorf("notice %x: %s at %v; want sent, as the winner settled it", n.Ref, n.Outcome, n.Time)
			}
		}
	})
}

// TestAppendRaceAcrossPools: Stores on four pools race to append one
// event, round after round, the first event of a new breach included:
// exactly one Append succeeds, the others are ErrConflict, and the
// winner's event is the one stored.
func TestAppendRaceAcrossPools(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ss := raceStores(t, d)
		ctx := t.Context()
		id := breachtest.NewID()
		winners := map[int64]int{}
		for seq := int64(1); seq <= 6; seq++ {
			errs := race(racers, ss, func(g int, s *sqlbreach.Store) error {
				ev := breachtest.Event(id, seq)
				ev.Data = fmt.Appendf(nil, `{"writer":%d}`, g)
				return s.Append(ctx, ev)
			})
			winners[seq] = one(t, fmt.Sprintf("%d concurrent Appends of Seq %d on %d pools", racers, seq, pools), errs, breach.ErrConflict)
		}
		evs, err := ss[3].Events(ctx, id)
		if err != nil || len(evs) != 6 {
			t.Fatalf("Events: %d, %v; want 6", len(evs), err)
		}
		for _, ev := range evs {
			if want := fmt.Sprintf(`{"writer":%d}`, winners[ev.Seq]); string(ev.Data) != want {
				t.Errorf("event %d: %s; want the winner's, %s", ev.Seq, ev.Data, want)
			}
		}
		// A gap stays a gap under a race: every Append of Seq 8 is
		// ErrInvalid, and nothing is stored.
		errs := race(racers, ss, func(g int, s *sqlbreach.Store) error { return s.Append(ctx, breachtest.Event(id, 8)) })
		for g, err := range errs {
			if !errors.Is(err, breach.ErrInvalid) {
				t.Errorf("goroutine %d's Append of Seq 8 after 6: %v; want ErrInvalid", g, err)
			}
		}
		if evs, _ := ss[0].Events(ctx, id); len(evs) != 6 {
			t.Errorf("%d events after the refused Appends; want 6", len(evs))
		}
	})
}
