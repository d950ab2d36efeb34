package consent_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

// Benchmarks. Each runs its raw baseline in the same process, so the ratio
// is what counts; see BENCHMARKS.md for the figures and the command.
//
//	go test -run '^$' -bench 'Decision|Append' -benchmem ./consent/
//
// PostgreSQL and MySQL sub-benchmarks run when GDPR_TEST_POSTGRES_DSN and
// GDPR_TEST_MYSQL_DSN are set.

type benchKey struct {
	s gdpr.SubjectID
	p gdpr.Purpose
}

var benchPurposes = []gdpr.Purpose{"newsletter", "analytics", "ads"}

type benchLedger struct {
	l       *consent.Ledger
	queries []consent.Query
	now     *atomic.Int64
}

// newBenchLedger fills store with subjects × purposes, each with a
// withdrawal by SMS after an all-channel consent, so Decide for e-mail
// passes over one event before it finds its answer.
func newBenchLedger(b *testing.B, store consent.Store, subjects int) *benchLedger {
	b.Helper()
	ctx := context.Background()
	now := &atomic.Int64{}
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
	clock := func() time.Time { return time.UnixMicro(now.Add(1)).UTC() }
	l, err := consent.New(store, consent.WithClock(clock))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := l.Publish(ctx, consent.Notice{ID: "n", Version: 1, TextHash: consent.HashText("n"), Material: true}); err != nil {
		b.Fatal(err)
	}
	var qs []consent.Query
	for i := range subjects {
		s := gdpr.SubjectID(fmt.Sprintf("subject-%06d", i))
		for _, p := range benchPurposes {
			c := consent.Choice{Subject: s, Purpose: p, Notice: consent.NoticeRef{ID: "n", Version: 1},
				Evidence: consent.Evidence{IPPrefix: "192.0.2.0/24", UserAgent: "Firefox/Linux"}}
			if _, err := l.Give(ctx, c); err != nil {
				b.Fatal(err)
			}
			if _, err := l.Withdraw(ctx, consent.Choice{Subject: s, Purpose: p, Contact: consent.SMS}); err != nil {
				b.Fatal(err)
			}
			qs = append(qs, consent.Query{Subject: s, Purpose: p, Contact: consent.Email})
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
	return &benchLedger{l: l, queries: qs, now: now}
}

func (bl *benchLedger) run(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d, err := bl.l.Decide(ctx, bl.queries[i%len(bl.queries)])
		if err != nil || !d.Allowed {
			b.Fatalf("Decide = %+v, %v; want allowed", d, err)
		}
		i++
	}
}

func BenchmarkDecision(b *testing.B) {
	const memSubjects = 10_000
	// The baseline: the answer already computed, in a plain map.
	b.Run("map-baseline", func(b *testing.B) {
		m := make(map[benchKey]consent.Event, memSubjects*len(benchPurposes))
		var keys []benchKey
		for i := range memSubjects {
			s := gdpr.SubjectID(fmt.Sprintf("subject-%06d", i))
			for _, p := range benchPurposes {
				k := benchKey{s, p}
				m[k] = consent.Event{Kind: consent.Given, Subject: s, Purpose: p}
				keys = append(keys, k)
			}
		}
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			e, ok := m[keys[i%len(keys)]]
			if !ok || e.Kind != consent.Given {
				b.Fatal("miss")
			}
			i++
		}
	})
	b.Run("memconsent", func(b *testing.B) {
		newBenchLedger(b, memconsent.New(), memSubjects).run(b)
	})
	for _, d := range testdb.All() {
		b.Run(d.String(), func(b *testing.B) {
			if !testdb.Available(d) {
				b.Skipf("no DSN for %s", d.String())
			}
			store, db := benchSQLStore(b, d)
			bl := newBenchLedger(b, store, 1_000)
			b.Run("ledger", bl.run)
			// The SQL baseline: the cheapest query there is on the same
			// table, one row by primary key, so the ratio is the cost of
			// the decision query and the Ledger over a round trip.
			b.Run("raw-pk-select", func(b *testing.B) {
				evs, err := store.Events(context.Background(), bl.queries[0].Subject, "")
				if err != nil || len(evs) == 0 {
					b.Fatal(err)
				}
				q := dialect.Of(d).Rebind("SELECT kind FROM gdpr_consent_events WHERE seq = ?")
				b.ReportAllocs()
				for b.Loop() {
					var kind string
					if err := db.QueryRowContext(context.Background(), q, evs[0].Seq).Scan(&kind); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func benchSQLStore(b *testing.B, d sqldialect.Dialect) (consent.Store, *sql.DB) {
	db := testdb.Open(b, d)
	s, err := sqlconsent.New(db, d)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s, db
}

func BenchmarkAppend(b *testing.B) {
	stores := map[string]func(b *testing.B) consent.Store{
		"memconsent": func(*testing.B) consent.Store { return memconsent.New() },
	}
	for _, d := range testdb.All() {
		stores[d.String()] = func(b *testing.B) consent.Store {
			if !testdb.Available(d) {
				b.Skipf("no DSN for %s", d.String())
			}
			s, _ := benchSQLStore(b, d)
			return s
		}
	}
	// The baseline: an event appended to a slice in a map under a mutex.
	b.Run("map-baseline", func(b *testing.B) {
		var mu sync.Mutex
		m := map[benchKey][]consent.Event{}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := benchKey{gdpr.SubjectID(fmt.Sprintf("s-%d", i%1000)), "newsletter"}
			mu.Lock()
			m[k] = append(m[k], consent.Event{Subject: k.s, Purpose: k.p, Kind: consent.Given})
			mu.Unlock()
			i++
		}
	})
	for _, name := range []string{"memconsent", "sqlite", "postgres", "mysql"} {
		b.Run(name, func(b *testing.B) {
			bl := newBenchLedger(b, stores[name](b), 0)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c := consent.Choice{Subject: gdpr.SubjectID(fmt.Sprintf("s-%d", i%1000)), Purpose: "newsletter",
					Notice: consent.NoticeRef{ID: "n", Version: 1}, Evidence: consent.Evidence{IPPrefix: "192.0.2.0/24"}}
				if _, err := bl.l.Give(ctx, c); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
