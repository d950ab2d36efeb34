package sqlexport_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/exporttest"
	"github.com/gdprkit/gdpr/export/sqlexport"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

var t0 = time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC)

// pools are how many instances of a host race: Stores on separate
// connection pools (*sql.DB) to one database.
const pools = 4

// racers is how many goroutines race, racers/pools on each pool.
const racers = 16

// stores returns pools Stores on one fresh database, each on its own
// *sql.DB, the first migrated, and that first *sql.DB. Each pool holds
// racers/pools connections open and idle (warm), so that the racing
// calls start together instead of one connection's set-up after
// another's.
func stores(t *testing.T, d sqldialect.Dialect) ([]*sqlexport.Store, *sql.DB) {
	t.Helper()
	db := testdb.Open(t, d)
	out := []*sqlexport.Store{testdb.Migrated(t, d, db, sqlexport.New)}
	dbs := []*sql.DB{db}
	for len(out) < pools {
		other := testdb.Reopen(t, d, db)
		s, err := sqlexport.New(other, d)
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
	return out, db
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
// on store g % pools, and returns their errors.
func race(n int, ss []*sqlexport.Store, fn func(g int, s *sqlexport.Store) error) []error {
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

func hash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func clone(d export.Delivery) export.Delivery {
	d.Parts = append([]export.DeliveryPart(nil), d.Parts...)
	for i := range d.Parts {
		d.Parts[i].TokenHash = bytes.Clone(d.Parts[i].TokenHash)
	}
	return d
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

// TestClaimRaceAcrossPools: Stores on separate pools claim one token at
// once, round after round: exactly one claim of each part succeeds, and
// the stored Downloaded is the winner's.
func TestClaimRaceAcrossPools(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ss, _ := stores(t, d)
		ctx := t.Context()
		const n, rounds = racers, 8
		for round := range rounds {
			del := exporttest.NewDelivery("subject-race", t0, 3)
			if err := ss[0].Create(ctx, clone(del)); err != nil {
				t.Fatal(err)
			}
			part := round % 3
			now := func(g int) time.Time { return t0.Add(time.Duration(g+1) * time.Second) }
			got := make([]export.Delivery, n)
			errs := race(n, ss, func(g int, s *sqlexport.Store) error {
				var err error
				got[g], _, err = s.Claim(ctx, bytes.Clone(del.Parts[part].TokenHash), now(g))
				return err
			})
			w := one(t, fmt.Sprintf("round %d: %d concurrent Claims of one part on %d pools", round, n, pools), errs, export.ErrNotFound)
			if len(got[w].Parts) != 3 || !got[w].Parts[part].Downloaded.Equal(now(w)) {
				t.Errorf("round %d: the winner's delivery: %d parts, Downloaded %v; want 3, %v", round, len(got[w].Parts), got[w].Parts[part].Downloaded, now(w))
			}
			// Every pool sees the one claim.
			for i, s := range ss {
				g, err := s.Get(ctx, del.ID)
				if err != nil {
					t.Fatal(err)
				}
				for j, p := range g.Parts {
					if (j == part) != !p.Downloaded.IsZero() || (j == part && !p.Downloaded.Equal(now(w))) {
						t.Errorf("round %d, pool %d: part %d Downloaded %v; want only part %d, at the winner's now", round, i, j, p.Downloaded, part)
					}
				}
			}
		}
	})
}

// TestCreateCollisionAcrossPools: Stores on separate pools create
// deliveries that share a token hash at once: exactly one is stored,
// every other is ErrConflict with nothing of it stored. Deliveries whose
// hashes collide in opposite orders do not deadlock.
func TestCreateCollisionAcrossPools(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ss, _ := stores(t, d)
		ctx := t.Context()
		const n, rounds = racers, 6
		for round := range rounds {
			a, b := hash(), hash()
			cands := make([]export.Delivery, n)
			for g := range cands {
				cands[g] = exporttest.NewDelivery(gdpr.SubjectID(fmt.Sprintf("subject-%d-%d", round, g)), t0, 4)
				// Two shared hashes, in either order, at other places.
				x, y := a, b
				if g%2 == 1 {
					x, y = b, a
				}
				cands[g].Parts[g%4].TokenHash = bytes.Clone(x)
				cands[g].Parts[(g+1+round%3)%4].TokenHash = bytes.Clone(y)
				if g%4 == (g+1+round%3)%4 {
					t.Fatal("test bug")
				}
			}
			errs := race(n, ss, func(g int, s *sqlexport.Store) error { return s.Create(ctx, clone(cands[g])) })
			w := one(t, fmt.Sprintf("round %d: %d concurrent Creates sharing token hashes on %d pools", round, n, pools), errs, export.ErrConflict)
			for g, c := range cands {
				got, err := ss[(g+1)%pools].Get(ctx, c.ID)
				if g == w {
					if err != nil || len(got.Parts) != 4 {
						t.Errorf("round %d: the winner's delivery: %d parts, %v", round, len(got.Parts), err)
					}
					continue
				}
				if !errors.Is(err, export.ErrNotFound) {
					t.Errorf("round %d: loser %d's delivery: %v; want ErrNotFound (nothing of it stored)", round, g, err)
				}
				for i, p := range c.Parts {
					if bytes.Equal(p.TokenHash, a) || bytes.Equal(p.TokenHash, b) {
						continue
					}
					if _, _, err := ss[0].Claim(ctx, p.TokenHash, t0.Add(time.Second)); !errors.Is(err, export.ErrNotFound) {
						t.Errorf("round %d: loser %d's own part %d claimed: %v; want ErrNotFound", round, g, i, err)
					}
				}
			}
		}
		// The same ID from every pool at once: one.
		id := exporttest.NewID()
		errs := race(n, ss, func(g int, s *sqlexport.Store) error {
			c := exporttest.NewDelivery("subject-id", t0, 1+g%3)
			c.ID = id
			return s.Create(ctx, c)
		})
		one(t, "concurrent Creates of one ID", errs, export.ErrConflict)
	})
}

// TestClaimDeleteRace: claims of every part race the delivery's Delete
// from other pools. A claim that succeeds returns the whole delivery;
// afterwards nothing of it is left in either table.
func TestClaimDeleteRace(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ss, db := stores(t, d)
		ctx := t.Context()
		for round := range 6 {
			del := exporttest.NewDelivery("subject-delete", t0, racers/2)
			if err := ss[0].Create(ctx, clone(del)); err != nil {
				t.Fatal(err)
			}
			errs := race(racers, ss, func(g int, s *sqlexport.Store) error {
				if g%2 == 1 {
					return s.Delete(ctx, del.ID)
				}
				got, i, err := s.Claim(ctx, del.Parts[g/2].TokenHash, t0.Add(time.Second))
				if err == nil && (len(got.Parts) != racers/2 || i != g/2 || got.ID != del.ID) {
					return fmt.Errorf("claimed part %d of a delivery of %d parts, index %d", g/2, len(got.Parts), i)
				}
				if errors.Is(err, export.ErrNotFound) {
					return nil
				}
				return err
			})
			for g, err := range errs {
				if err != nil {
					t.Errorf("round %d, goroutine %d: %v", round, g, err)
				}
			}
			for _, table := range []string{"gdpr_export_deliveries", "gdpr_export_parts"} {
				var n int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("round %d: %d rows left in %s after Delete; want none", round, n, table)
				}
			}
		}
	})
}

// TestSubjectGoneWithDelete: the subject is stored as given while its
// delivery exists (for Deliverer.EraseSubject), and no column of any
// row holds it, or a token hash, once the delivery is deleted.
func TestSubjectGoneWithDelete(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		s := testdb.Migrated(t, d, db, sqlexport.New)
		const canary gdpr.SubjectID = "CANARY-ann@example.org"
		del := exporttest.NewDelivery(canary, t0, 2)
		keep := exporttest.NewDelivery("subject-other", t0, 1)
		for _, x := range []export.Delivery{del, keep} {
			if err := s.Create(ctx, clone(x)); err != nil {
				t.Fatal(err)
			}
		}
		if ds, err := s.List(ctx, export.DeliveryFilter{Subject: canary}); err != nil || len(ds) != 1 || ds[0].Subject != canary {
			t.Fatalf("List{Subject}: %d deliveries, %v; want the one, its subject as given", len(ds), err)
		}
		if _, _, err := s.Claim(ctx, del.Parts[0].TokenHash, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, del.ID); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"gdpr_export_deliveries", "gdpr_export_parts"} {
			rows, err := db.QueryContext(ctx, "SELECT * FROM "+table)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			n := 0
			for rows.Next() {
				n++
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for i, v := range vals {
					var b []byte
					switch v := v.(type) {
					case []byte:
						b = v
					case string:
						b = []byte(v)
					}
					if bytes.Contains(b, []byte(canary)) || strings.Contains(string(b), del.ID) {
						t.Errorf("%s.%s still holds the deleted delivery's subject or ID", table, cols[i])
					}
					for _, p := range del.Parts {
						if bytes.Contains(b, p.TokenHash) {
							t.Errorf("%s.%s still holds a deleted part's token hash", table, cols[i])
						}
					}
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			if n != 1 {
				t.Errorf("%s holds %d rows; want the other delivery's one", table, n)
			}
		}
	})
}
