package consent_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/consenttest"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The stale-subject ledger of issue 15: staleSubjects subjects, each with
// a consent to the newsletter under version 1 of notice "terms"; one in
// ten (i%10 == 3) gave it again under version 2, so it is a candidate
// that is not stale. Version 2 is material: the others are stale.

const staleSubjects = 100_000

func staleSubj(i int) gdpr.SubjectID { return gdpr.SubjectID(fmt.Sprintf("subj-%07d", i)) }

var staleClock = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// staleNow is the clock of the Ledgers of these tests: staleClock plus a
// microsecond per call, shared, so a Ledger made after a notice was
// published sees it.
var staleNow atomic.Int64

func init() { staleNow.Store(staleClock.UnixMicro()) }

// staleLedger is a Ledger over store on the staleNow clock.
func staleLedger(tb testing.TB, store consent.Store) *consent.Ledger {
	tb.Helper()
	l, err := consent.New(store, consent.WithClock(func() time.Time { return time.UnixMicro(staleNow.Add(1)).UTC() }))
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func publishTerms(tb testing.TB, l *consent.Ledger, v int) {
	tb.Helper()
	if _, err := l.Publish(context.Background(), consent.Notice{ID: "terms", Version: v, TextHash: consent.HashText(fmt.Sprint("terms ", v)), Material: true}); err != nil {
		tb.Fatal(err)
	}
}

func termsChoice(s gdpr.SubjectID, v int) consent.Choice {
	return consent.Choice{Subject: s, Purpose: "newsletter", Notice: consent.NoticeRef{ID: "terms", Version: v},
		Evidence: consent.Evidence{IPPrefix: "192.0.2.0/24", UserAgent: "Firefox/Linux"}}
}

// fillStaleMem makes the ledger in memory, through the Store.
func fillStaleMem(tb testing.TB, n int) (*memconsent.Store, *consent.Ledger) {
	tb.Helper()
	ctx := context.Background()
	s := memconsent.New()
	l := staleLedger(tb, s)
	publishTerms(tb, l, 1)
	for i := range n {
		for v := 1; v <= 1+btoi(i%10 == 3); v++ {
			e := consenttest.NewEvent(staleSubj(i), "newsletter", consent.Given, staleClock)
			e.Notice = consent.NoticeRef{ID: "terms", Version: v, TextHash: consent.HashText("terms")}
			if err := s.Append(ctx, e); err != nil {
				tb.Fatal(err)
			}
		}
	}
	publishTerms(tb, l, 2)
	return s, l
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fillStaleSQL makes the ledger in db server-side, from a consent the
// Ledger itself recorded (subject tmpl-given, stale as well): a copy of its
// row per subject, and a second under version 2 for one in ten.
func fillStaleSQL(tb testing.TB, d sqldialect.Dialect, db *sql.DB, l *consent.Ledger, n int) {
	tb.Helper()
	ctx := context.Background()
	publishTerms(tb, l, 1)
	if _, err := l.Give(ctx, termsChoice("tmpl-given", 1)); err != nil {
		tb.Fatal(err)
	}
	var series, subj, id string
	switch d {
	case sqldialect.Postgres:
		series = "generate_series(0, $1 - 1) AS g(i)"
		subj, id = "'subj-' || lpad(g.i::text, 7, '0')", "'fill-' || g.i || '-' || "
	case sqldialect.SQLite:
		series = "(WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i + 1 < ?) SELECT i FROM r) AS g"
		subj, id = "printf('subj-%07d', g.i)", "'fill-' || g.i || '-' || "
	default:
		tb.Fatalf("no fill for %v", d)
	}
	cols := "id, subject, purpose, contact, kind, at_us, actor_kind, actor_id, notice_id, notice_version, notice_hash, method, channel, evidence, expires_us, basis, confirms, token_hash"
	for v := 1; v <= 2; v++ {
		where := ""
		if v == 2 {
			where = " AND g.i % 10 = 3"
		}
		q := "INSERT INTO gdpr_consent_events (" + cols + ") SELECT " + id + fmt.Sprint(v) + ", " + subj +
			", e.purpose, e.contact, e.kind, e.at_us, e.actor_kind, e.actor_id, e.notice_id, " + fmt.Sprint(v) +
			", e.notice_hash, e.method, e.channel, e.evidence, e.expires_us, e.basis, e.confirms, e.token_hash FROM gdpr_consent_events e, " +
			series + " WHERE e.subject = 'tmpl-given'" + where + " ORDER BY g.i"
		if _, err := db.ExecContext(ctx, q, n); err != nil {
			tb.Fatalf("fill: %v", err)
		}
	}
	publishTerms(tb, l, 2)
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
}

// checkStalePage checks a page against the ledger's rule: every subject but
// tmpl-given is subj-<i> with i%10 != 3.
func checkStalePage(tb testing.TB, page []gdpr.SubjectID) {
	tb.Helper()
	for _, s := range page {
		var i int
		if _, err := fmt.Sscanf(string(s), "subj-%d", &i); err == nil && i%10 == 3 {
			tb.Fatalf("StaleSubjects returned %s, who consented again under version 2", s)
		}
	}
}

// countingStore counts the Store's read calls: each is one statement on
// sqlconsent.
type countingStore struct {
	consent.Store
	calls atomic.Int64
}

func (c *countingStore) Events(ctx context.Context, s gdpr.SubjectID, p gdpr.Purpose) ([]consent.Event, error) {
	c.calls.Add(1)
	return c.Store.Events(ctx, s, p)
}

func (c *countingStore) Notices(ctx context.Context, id string) ([]consent.Notice, error) {
	c.calls.Add(1)
	return c.Store.Notices(ctx, id)
}

func (c *countingStore) StaleSubjects(ctx context.Context, q consent.StaleQuery) ([]gdpr.SubjectID, error) {
	c.calls.Add(1)
	return c.Store.StaleSubjects(ctx, q)
}

func (c *countingStore) StaleEvents(ctx context.Context, q consent.StaleQuery) ([]consent.Event, error) {
	c.calls.Add(1)
	return c.Store.(consent.StaleEventer).StaleEvents(ctx, q)
}

// BenchmarkStaleSubjects pages the ledger of 100,000 subjects with pages
// of 1000, each op one page from one of 100 cursors across the ledger,
// against its baseline in the same run: the candidate list of the page
// alone (on SQL the raw query that lists the page's subjects, on
// memconsent Store.StaleSubjects).
//
//	go test -run '^$' -bench StaleSubjects -benchtime 20x -count 3 ./consent/
//
// calls/op is the Store calls (statements, on SQL) per page.
func BenchmarkStaleSubjects(b *testing.B) {
	const page = 1000
	cursor := func(i int) gdpr.SubjectID { return staleSubj((i%100)*(staleSubjects/100) + 7) }
	ledger := func(b *testing.B, cs *countingStore, l *consent.Ledger) {
		ctx := context.Background()
		cs.calls.Store(0)
		i := 0
		for b.Loop() {
			p, err := l.StaleSubjects(ctx, "terms", cursor(i), page)
			if err != nil || len(p) != page {
				b.Fatalf("StaleSubjects = %d subjects, %v; want %d", len(p), err, page)
			}
			i++
		}
		checkStalePage(b, mustPage(b, l, cursor(0), page))
		b.ReportMetric(float64(cs.calls.Load())/float64(i), "calls/op")
	}
	b.Run("memconsent", func(b *testing.B) {
		s, _ := fillStaleMem(b, staleSubjects)
		cs := &countingStore{Store: s}
		l := staleLedger(b, cs)
		b.Run("ledger", func(b *testing.B) { ledger(b, cs, l) })
		b.Run("store-candidates-baseline", func(b *testing.B) {
			ctx := context.Background()
			i := 0
			for b.Loop() {
				c, err := s.StaleSubjects(ctx, consent.StaleQuery{Notice: "terms", Version: 2, After: cursor(i), Limit: page})
				if err != nil || len(c) != page {
					b.Fatal(err)
				}
				i++
			}
		})
	})
	for _, d := range []sqldialect.Dialect{sqldialect.SQLite, sqldialect.Postgres} {
		b.Run(d.String(), func(b *testing.B) {
			if !testdb.Available(d) {
				b.Skipf("no DSN for %s", d.String())
			}
			store, db := benchSQLStore(b, d)
			cs := &countingStore{Store: store}
			l := staleLedger(b, cs)
			fillStaleSQL(b, d, db, l, staleSubjects)
			b.Run("ledger", func(b *testing.B) { ledger(b, cs, l) })
			b.Run("raw-candidates-baseline", func(b *testing.B) {
				ctx := context.Background()
				q := dialect.Of(d).Rebind("SELECT DISTINCT subject FROM gdpr_consent_events WHERE notice_id = ? AND kind = 'given' AND notice_version < ? AND subject > ? ORDER BY subject LIMIT ?")
				st, err := db.PrepareContext(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				i := 0
				for b.Loop() {
					rows, err := st.QueryContext(ctx, "terms", 2, string(cursor(i)), page)
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for rows.Next() {
						var s string
						if err := rows.Scan(&s); err != nil {
							b.Fatal(err)
						}
						n++
					}
					rows.Close()
					if rows.Err() != nil || n != page {
						b.Fatalf("%d rows, %v", n, rows.Err())
					}
					i++
				}
			})
		})
	}
}

func mustPage(tb testing.TB, l *consent.Ledger, after gdpr.SubjectID, limit int) []gdpr.SubjectID {
	tb.Helper()
	p, err := l.StaleSubjects(context.Background(), "terms", after, limit)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestStaleSubjectsPagesTheLedger pages a ledger of 5,000 subjects on
// every database with pages of 700, and checks the pages against the
// ledger's rule and against memconsent's, and the Store calls per page.
func TestStaleSubjectsPagesTheLedger(t *testing.T) {
	const n, limit = 5000, 700
	_, ml := fillStaleMem(t, n)
	want := pageAll(t, ml, limit, nil)
	if len(want) != n-n/10 {
		t.Fatalf("memconsent paged %d stale subjects; want %d", len(want), n-n/10)
	}
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		if d == sqldialect.MySQL {
			// The fill is server-side SQL for PostgreSQL and SQLite;
			// MySQL pages a ledger made through the Ledger.
			s, _ := staleStore(t, d)
			cs := &countingStore{Store: s}
			l := staleLedger(t, cs)
			publishTerms(t, l, 1)
			for i := range 300 {
				mustOKT(t, l, termsChoice(staleSubj(i), 1))
			}
			publishTerms(t, l, 2)
			for i := 3; i < 300; i += 10 {
				mustOKT(t, l, termsChoice(staleSubj(i), 2))
			}
			got := pageAll(t, l, 70, cs)
			if len(got) != 270 {
				t.Errorf("paged %d stale subjects; want 270", len(got))
			}
			checkStalePage(t, got)
			return
		}
		s, db := staleStore(t, d)
		cs := &countingStore{Store: s}
		l := staleLedger(t, cs)
		fillStaleSQL(t, d, db, l, n)
		got := pageAll(t, l, limit, cs)
		// tmpl-given sorts after every subj-…: stale, and the last.
		if len(got) != len(want)+1 || got[len(got)-1] != "tmpl-given" || !slices.Equal(got[:len(want)], want) {
			t.Errorf("paged %d stale subjects; want memconsent's %d and tmpl-given", len(got), len(want))
		}
	})
}

// pageAll pages StaleSubjects to the end and checks, when cs is set, that
// no page made more than 3 Store calls: the notice's versions, a batch of
// limit candidates (9 in 10 stale here) and one sized by their share.
func pageAll(t *testing.T, l *consent.Ledger, limit int, cs *countingStore) []gdpr.SubjectID {
	t.Helper()
	var all []gdpr.SubjectID
	var after gdpr.SubjectID
	for {
		if cs != nil {
			cs.calls.Store(0)
		}
		p := mustPage(t, l, after, limit)
		if cs != nil {
			if c := cs.calls.Load(); c > 3 {
				t.Errorf("a page of %d made %d Store calls; want 3 at most", limit, c)
			}
		}
		if len(p) == 0 {
			return all
		}
		checkStalePage(t, p)
		all = append(all, p...)
		after = p[len(p)-1]
	}
}

func mustOKT(t *testing.T, l *consent.Ledger, c consent.Choice) {
	t.Helper()
	if _, err := l.Give(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// staleStore is a migrated Store on a new database of d, and the database.
func staleStore(t *testing.T, d sqldialect.Dialect) (*sqlconsent.Store, *sql.DB) {
	t.Helper()
	db := testdb.Open(t, d)
	return testdb.Migrated(t, d, db, sqlconsent.New), db
}

// planNotices keeps the plans auto_explain sends as notices.
type planNotices struct {
	mu    sync.Mutex
	plans []string
}

func (p *planNotices) notice(_ *pgconn.PgConn, n *pgconn.Notice) {
	if strings.Contains(n.Message, "plan:\n") {
		p.mu.Lock()
		p.plans = append(p.plans, n.Message)
		p.mu.Unlock()
	}
}

func (p *planNotices) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.plans
	p.plans = nil
	return out
}

var seqScanEvents = regexp.MustCompile(`Seq Scan on gdpr_consent_events`)

// TestPostgresStaleSubjectsPlans pages a ledger of 100,000 subjects on
// PostgreSQL through connections that send every statement's plan back
// (auto_explain), with custom and then generic plans (plan_cache_mode), as
// the server plans a prepared statement after a few runs: a page runs two
// or three statements, the notice's versions and StaleEvents once or twice
// (9 in 10 candidates are stale), and none reads the events table
// sequentially.
func TestPostgresStaleSubjectsPlans(t *testing.T) {
	cfg := testdb.PostgresConfig(t)
	ctx := t.Context()
	plain := stdlib.OpenDB(*cfg.Copy())
	t.Cleanup(func() { plain.Close() })
	if _, err := plain.ExecContext(ctx, "LOAD 'auto_explain'"); err != nil {
		t.Skipf("this test needs PostgreSQL's auto_explain module: %v", err)
	}
	w, err := sqlconsent.New(plain, sqldialect.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	fillStaleSQL(t, sqldialect.Postgres, plain, staleLedger(t, w), staleSubjects)

	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		t.Run(mode, func(t *testing.T) {
			var log planNotices
			ecfg := cfg.Copy()
			for k, v := range map[string]string{
				"session_preload_libraries":     "auto_explain",
				"auto_explain.log_min_duration": "0",
				"auto_explain.log_format":       "text",
				"client_min_messages":           "log",
				"plan_cache_mode":               mode,
			} {
				ecfg.RuntimeParams[k] = v
			}
			ecfg.OnNotice = log.notice
			db := stdlib.OpenDB(*ecfg)
			t.Cleanup(func() { db.Close() })
			db.SetMaxOpenConns(1)
			s, err := sqlconsent.New(db, sqldialect.Postgres)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			l := staleLedger(t, s)
			for _, c := range []struct {
				after gdpr.SubjectID
				limit int
			}{{"", 100}, {staleSubj(staleSubjects / 2), 1000}, {staleSubj(staleSubjects - 50), 100}, {"", 10000}} {
				for range 6 { // the sixth run of a prepared statement may be planned generically
					log.take()
					p := mustPage(t, l, c.after, c.limit)
					checkStalePage(t, p)
					plans := log.take()
					if len(plans) < 2 || len(plans) > 3 {
						t.Errorf("a page of %d after %q ran %d statements; want 2 or 3 (the notice, StaleEvents once or twice)", c.limit, c.after, len(plans))
					}
					for _, pl := range plans {
						if seqScanEvents.MatchString(pl) {
							t.Errorf("a page of %d reads the events table sequentially:\n%s", c.limit, pl)
						}
					}
					if len(plans) >= 2 && c.limit == 1000 && mode == "force_generic_plan" && testing.Verbose() {
						t.Logf("plan of StaleEvents:\n%s", plans[1])
					}
				}
			}
		})
	}
}
