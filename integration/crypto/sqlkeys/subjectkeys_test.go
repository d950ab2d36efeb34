package sqlkeys_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// storeOnly hides every optional interface of a Store: a Keyring over it
// reads one Get per subject (and no tombstone time).
type storeOnly struct{ crypto.Store }

// withTombstones hides BatchGetter alone: one Get per subject, and a
// Tombstone per shredded one.
type withTombstones struct {
	crypto.Store
	tr crypto.TombstoneReader
}

func (s withTombstones) Tombstone(ctx context.Context, ref string) (time.Time, error) {
	return s.tr.Tombstone(ctx, ref)
}

// clock is a clock the test sets.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// countRefs returns the number of Refs s holds, live or shredded.
func countRefs(t *testing.T, s crypto.Store) int {
	t.Helper()
	n, after := 0, ""
	for {
		refs, err := s.Refs(t.Context(), after, 1000)
		if err != nil {
			t.Fatalf("Refs: %v", err)
		}
		n += len(refs)
		if len(refs) < 1000 {
			return n
		}
		after = refs[len(refs)-1]
	}
}

// SubjectKeys over sqlkeys, on every database: 1,300 subjects in one call
// (more than one statement of GetMany reads on any database: 1,000 Refs
// on PostgreSQL, 256 elsewhere), 400 with a key, a quarter of those
// shredded, the rest never seen, asked in an interleaved order with
// repeats. Every answer is the one the per-subject path (Get, Tombstone)
// gives, nothing is created, and a Rewrap under a new KEK shows in the KEK
// and Since of every live key.
func TestSubjectKeys(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		testSubjectKeys(t, newStore(t, d, db))
	})
}

// TestSubjectKeysLiteralArrays is TestSubjectKeys on PostgreSQL with the
// array of GetMany bound as a literal (the driver hidden behind a
// wrapper), the path of every PostgreSQL driver but pgx.
func TestSubjectKeysLiteralArrays(t *testing.T) {
	testSubjectKeys(t, newStore(t, sqldialect.Postgres, testdb.OpenPostgresWrapped(t)))
}

func testSubjectKeys(t *testing.T, s *sqlkeys.Store) {
	ctx := t.Context()
	t0 := time.Date(2026, time.March, 1, 9, 0, 0, 0, time.UTC)
	c := &clock{now: t0}
	kek1, err := crypto.EphemeralKEK("kek-1")
	if err != nil {
		t.Fatal(err)
	}
	k, err := crypto.New(ctx, s, kek1, crypto.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	const keyed, unknown = 400, 900
	var subjects []gdpr.SubjectID
	index := map[gdpr.SubjectID]int{}
	for i := range keyed + unknown {
		subjects = append(subjects, gdpr.SubjectID(fmt.Sprintf("user-%04d@example.org", i)))
		index[subjects[i]] = i
	}
	field := crypto.Field{Table: "users", Column: "email"}
	for i := range keyed {
		if _, err := k.Encrypt(ctx, subjects[i], field, []byte("x")); err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
	}
	c.set(t0.Add(time.Hour))
	for i := 0; i < keyed; i += 4 {
		if err := k.Shred(ctx, subjects[i]); err != nil {
			t.Fatalf("Shred: %v", err)
		}
	}
	// Interleaved: unknown, keyed, unknown, …, and every tenth again.
	var ask []gdpr.SubjectID
	for i := range unknown {
		ask = append(ask, subjects[keyed+i])
		if i < keyed {
			ask = append(ask, subjects[i])
		}
		if i%10 == 0 {
			ask = append(ask, subjects[i%keyed])
		}
	}
	want := func(sub gdpr.SubjectID, kek string, since time.Time) gdpr.SubjectKey {
		switch i := index[sub]; {
		case i >= keyed:
			return gdpr.SubjectKey{}
		case i%4 == 0:
			return gdpr.SubjectKey{State: gdpr.KeyShredded, Since: t0.Add(time.Hour)}
		}
		return gdpr.SubjectKey{State: gdpr.KeyLive, KEK: kek, Since: since}
	}
	check := func(t *testing.T, what string, k *crypto.Keyring, kek string, since time.Time, tombstones bool) {
		t.Helper()
		before := countRefs(t, s)
		got, err := k.SubjectKeys(ctx, ask)
		if err != nil || len(got) != len(ask) {
			t.Fatalf("%s: SubjectKeys of %d subjects = %d answers, %v", what, len(ask), len(got), err)
		}
		bad := 0
		for i, sub := range ask {
			w := want(sub, kek, since)
			if w.State == gdpr.KeyShredded && !tombstones {
				w.Since = time.Time{}
			}
			if g := got[i]; g.State != w.State || g.KEK != w.KEK || !g.Since.Equal(w.Since) {
				if bad++; bad <= 5 {
					t.Errorf("%s: answer %d: {%s %q %s}; want {%s %q %s}", what, i, g.State, g.KEK, g.Since, w.State, w.KEK, w.Since)
				}
			}
		}
		if bad > 5 {
			t.Errorf("%s: %d answers of %d wrong", what, bad, len(ask))
		}
		if after := countRefs(t, s); after != before {
			t.Errorf("%s: SubjectKeys changed the Refs in the Store from %d to %d; it creates nothing", what, before, after)
		}
	}
	paths := func(t *testing.T, kek crypto.KEK, since time.Time) {
		t.Helper()
		for _, p := range []struct {
			name       string
			store      crypto.Store
			tombstones bool
		}{
			{"GetMany", s, true},
			{"GetAndTombstone", withTombstones{s, s}, true},
			{"Get", storeOnly{s}, false},
		} {
			k, err := crypto.New(ctx, p.store, kek)
			if err != nil {
				t.Fatal(err)
			}
			check(t, p.name, k, kek.ID, since, p.tombstones)
		}
	}
	paths(t, kek1, t0)

	c.set(t0.Add(2 * time.Hour))
	kek2, err := crypto.EphemeralKEK("kek-2")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := crypto.New(ctx, s, kek2, crypto.WithPreviousKEKs(kek1), crypto.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := k2.Rewrap(ctx, "", 0, nil); err != nil || !p.Done || p.Rewrapped != keyed-keyed/4+2 {
		t.Fatalf("Rewrap = %+v, %v; want the %d live keys and the Keyring's own 2 rewrapped", p, err, keyed-keyed/4)
	}
	paths(t, kek2, t0.Add(2*time.Hour))
}

// BenchmarkSubjectKeys compares SubjectKeys of 1,000 subjects (700 with
// a key, 300 shredded, on a Store of 1,000 keys) through GetMany with the
// same call through one Get per subject (and a Tombstone per shredded
// one), the baseline, on every available database.
func BenchmarkSubjectKeys(b *testing.B) {
	for _, d := range testdb.All() {
		b.Run(d.String(), func(b *testing.B) {
			if !testdb.Available(d) {
				b.Skipf("%s: no DSN set (see integration/testdb)", d.String())
			}
			ctx := context.Background()
			s := newStore(b, d, testdb.Open(b, d))
			kek, err := crypto.EphemeralKEK("bench")
			if err != nil {
				b.Fatal(err)
			}
			k, err := crypto.New(ctx, s, kek, crypto.WithCache(0, 0))
			if err != nil {
				b.Fatal(err)
			}
			subjects := make([]gdpr.SubjectID, 1000)
			for i := range subjects {
				subjects[i] = gdpr.SubjectID(fmt.Sprintf("user-%04d", i))
				if _, err := k.Encrypt(ctx, subjects[i], crypto.Field{Table: "t", Column: "c"}, []byte("x")); err != nil {
					b.Fatal(err)
				}
				if i%10 < 3 {
					if err := k.Shred(ctx, subjects[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			for _, p := range []struct {
				name  string
				store crypto.Store
			}{{"GetMany", s}, {"Get", withTombstones{s, s}}} {
				k, err := crypto.New(ctx, p.store, kek)
				if err != nil {
					b.Fatal(err)
				}
				b.Run(p.name, func(b *testing.B) {
					for b.Loop() {
						if _, err := k.SubjectKeys(ctx, subjects); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(subjects)), "ns/subject")
				})
			}
		})
	}
}
