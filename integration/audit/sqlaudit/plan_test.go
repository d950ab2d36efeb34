package sqlaudit_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The fixture of the plan test: planEntries entries over planSubjects
// subjects and planActors actors, entry g of subject g % planSubjects and
// actor "staff:<g % planActors>", at g ms after the epoch.
const (
	planEntries  = 100_000
	planSubjects = 5000
	planActors   = 50
	planBatch    = 10_000 // entries per Append
)

func planSubject(n int) []byte {
	s := sha256.Sum256(binary.BigEndian.AppendUint32(nil, uint32(n)))
	return s[:]
}

func planActor(n int) []byte { return []byte(fmt.Sprintf("staff:%d", n)) }

func planTime(g int) time.Time { return time.UnixMicro(int64(g) * 1000).UTC() }

// planLog keeps the plans that auto_explain sends a connection as notices.
type planLog struct {
	mu    sync.Mutex
	plans []string
}

func (l *planLog) notice(_ *pgconn.PgConn, n *pgconn.Notice) {
	// auto_explain's message: "duration: 0.123 ms  plan:\nQuery Text: …\n<plan>".
	if !strings.Contains(n.Message, "plan:\n") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.plans = append(l.plans, n.Message)
}

// take returns the plans received since the last take.
func (l *planLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.plans
	l.plans = nil
	return p
}

var (
	indexScan = regexp.MustCompile(`(?:Index Scan|Index Only Scan)(?: Backward)? using (\w+) on|Bitmap Index Scan on (\w+)`)
	seqScan   = regexp.MustCompile(`Seq Scan on (\w+)`)
)

// planBody drops the header and the "Query Text:" line of an auto_explain
// message, leaving the plan.
func planBody(msg string) string {
	lines := strings.Split(msg, "\n")
	var out []string
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "Query Text:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// indexesScanned returns the indexes a plan scans, sorted and without
// repeats.
func indexesScanned(plan string) []string {
	var out []string
	for _, m := range indexScan.FindAllStringSubmatch(plan, -1) {
		out = append(out, m[1]+m[2])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestPostgresGenericPlansUseTheQueryIndexes checks that the Store's
// subject and actor queries, planned generically (as PostgreSQL does after
// a few runs of a prepared statement, and here from the first with
// plan_cache_mode = force_generic_plan), walk their own index rather than
// the primary key: on a rare subject or actor a walk of the primary key
// reads the table. It runs Store.Query itself, on connections that load
// auto_explain and get every plan back as a notice: pgx's default
// statement cache prepares the Store's statements on each connection, so
// what is checked is the plan the Store's own statement gets.
func TestPostgresGenericPlansUseTheQueryIndexes(t *testing.T) {
	cfg := testdb.PostgresConfig(t) // skips without the DSN, fails under CI
	ctx := t.Context()

	// The fixture goes in through a plain pool, with the public API.
	plain := stdlib.OpenDB(*cfg.Copy())
	t.Cleanup(func() { plain.Close() })
	if _, err := plain.ExecContext(ctx, "LOAD 'auto_explain'"); err != nil {
		t.Fatalf("this test needs PostgreSQL's auto_explain module (in its contrib, loaded by a superuser): %v", err)
	}
	w, err := sqlaudit.New(plain, sqldialect.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for lo := 0; lo < planEntries; lo += planBatch {
		es := make([]audit.StoredEntry, planBatch)
		for i := range es {
			g := lo + i
			es[i] = audit.StoredEntry{
				Time:    planTime(g),
				Subject: planSubject(g % planSubjects),
				Actor:   planActor(g % planActors),
				Body:    binary.BigEndian.AppendUint32([]byte{1}, uint32(g)),
			}
		}
		if _, err := audittest.Append(ctx, w, es...); err != nil {
			t.Fatalf("append entries %d…: %v", lo, err)
		}
	}
	// The statistics the planner costs the generic plans with.
	if _, err := plain.ExecContext(ctx, "ANALYZE gdpr_audit_entries"); err != nil {
		t.Fatal(err)
	}
	t.Logf("fixture: %d entries in %v", planEntries, time.Since(start).Round(time.Millisecond))

	// The Store under test reads through connections that explain every
	// statement they run, with generic plans.
	var log planLog
	ecfg := cfg.Copy()
	for k, v := range map[string]string{
		"session_preload_libraries":     "auto_explain",
		"auto_explain.log_min_duration": "0",
		"auto_explain.log_format":       "text",
		"client_min_messages":           "log",
		"plan_cache_mode":               "force_generic_plan",
	} {
		ecfg.RuntimeParams[k] = v
	}
	ecfg.OnNotice = log.notice
	db := stdlib.OpenDB(*ecfg)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1) // so the calls below reuse one prepared statement
	s, err := sqlaudit.New(db, sqldialect.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	const (
		table = "gdpr_audit_entries"
		pkey  = table + "_pkey"
	)
	for _, c := range []struct {
		name  string
		f     audit.StoreFilter
		want  int // entries returned
		index string
	}{
		{"subject", audit.StoreFilter{Subject: planSubject(7), Limit: 100},
			planEntries / planSubjects, table + "_subject"},
		{"actor", audit.StoreFilter{Actor: planActor(7), Limit: 100},
			100, table + "_actor"},
		{"actor from an index", audit.StoreFilter{Actor: planActor(7), From: planEntries - 1000, Limit: 100},
			1000 / planActors, table + "_actor"},
		{"subject and time", audit.StoreFilter{Subject: planSubject(7), Since: planTime(planEntries / 2), Limit: 100},
			planEntries / planSubjects / 2, table + "_subject"},
		// Every entry of subject 7 has actor 7 (planSubjects is a
		// multiple of planActors).
		{"subject and actor", audit.StoreFilter{Subject: planSubject(7), Actor: planActor(7), Limit: 100},
			planEntries / planSubjects, table + "_subject"},
	} {
		t.Run(c.name, func(t *testing.T) {
			log.take()
			// Several runs of the one prepared statement: PostgreSQL
			// would plan the sixth generically even without
			// force_generic_plan.
			const runs = 6
			for range runs {
				es, err := s.Query(ctx, c.f)
				if err != nil {
					t.Fatal(err)
				}
				if len(es) != c.want {
					t.Fatalf("Query returned %d entries; want %d", len(es), c.want)
				}
			}
			plans := log.take()
			if len(plans) != runs {
				t.Fatalf("%d plans from auto_explain for %d queries:\n%s", len(plans), runs, strings.Join(plans, "\n\n"))
			}
			for _, msg := range plans {
				plan := planBody(msg)
				if !strings.Contains(plan, "$1") && !strings.Contains(plan, "$2") {
					t.Fatalf("not a generic plan (no parameters in it):\n%s", msg)
				}
				if m := seqScan.FindStringSubmatch(plan); m != nil {
					t.Fatalf("the plan reads all of %s:\n%s", m[1], msg)
				}
				if got := indexesScanned(plan); !slices.Equal(got, []string{c.index}) {
					t.Fatalf("the plan scans %v; want %s alone (not %s):\n%s", got, c.index, pkey, msg)
				}
			}
			t.Logf("%s", plans[len(plans)-1])
		})
	}
}
