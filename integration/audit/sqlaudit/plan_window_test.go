package sqlaudit_test

import (
	"encoding/binary"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

var rowsRemoved = regexp.MustCompile(`Rows Removed by Filter: (\d+)`)

// windowActors is how many staff accounts share the window test's trail:
// few, so that one actor's entries are a tenth of it, as in a support
// team, where the planner prefers a walk of the primary key.
const windowActors = 10

// windowEntries is the size of the window test's trail. The plan that
// walked the primary key from entry 0 was the planner's choice for
// BenchmarkAffected's million-entry trail; this smaller one (and one of a
// million made here) gets a bitmap scan of the actor index instead, so
// the test guards the bound without reproducing that choice.
const windowEntries = 100_000

// TestPostgresWindowPagesStartAtFrom: a page of an actor's entries in a
// time window that holds the whole trail, from the middle of the trail
// (a breach search's later pages), reads about the rows of that page,
// not the trail from its start. The custom plan PostgreSQL picked for it
// on a million-entry trail walked the primary key filtered by actor and
// time; before the From bound was also written plainly, that walk began
// at entry 0, and a search of 100,000 entries of the 1,000,000-entry
// trail took 7.2 s instead of 0.4 s (BenchmarkAffected in
// integration/breach/affected, part=trail.Search).
func TestPostgresWindowPagesStartAtFrom(t *testing.T) {
	cfg := testdb.PostgresConfig(t)
	ctx := t.Context()
	plain := stdlib.OpenDB(*cfg.Copy())
	t.Cleanup(func() { plain.Close() })
	if _, err := plain.ExecContext(ctx, "LOAD 'auto_explain'"); err != nil {
		t.Fatalf("this test needs PostgreSQL's auto_explain module: %v", err)
	}
	w, err := sqlaudit.New(plain, sqldialect.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < windowEntries; lo += planBatch {
		es := make([]audit.StoredEntry, planBatch)
		for i := range es {
			g := lo + i
			// Times not in index order: eight writers' streams
			// interleave in a trail, as in BenchmarkAffected.
			es[i] = audit.StoredEntry{Time: planTime((g%8)*(windowEntries/8) + g/8), Subject: planSubject(g % planSubjects),
				Actor: planActor(g % windowActors), Body: binary.BigEndian.AppendUint32([]byte{1}, uint32(g))}
		}
		if _, err := audittest.Append(ctx, w, es...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := plain.ExecContext(ctx, "ANALYZE gdpr_audit_entries"); err != nil {
		t.Fatal(err)
	}
	var log planLog
	ecfg := cfg.Copy()
	for k, v := range map[string]string{
		"session_preload_libraries":     "auto_explain",
		"auto_explain.log_min_duration": "0",
		"auto_explain.log_analyze":      "on",
		"auto_explain.log_format":       "text",
		"client_min_messages":           "log",
	} {
		ecfg.RuntimeParams[k] = v
	}
	ecfg.OnNotice = log.notice
	db := stdlib.OpenDB(*ecfg)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	s, err := sqlaudit.New(db, sqldialect.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const limit = 100
	f := audit.StoreFilter{Actor: planActor(7), Since: planTime(0), Until: planTime(windowEntries), From: windowEntries / 2, Limit: limit}
	log.take()
	for range 3 {
		es, err := s.Query(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != limit || es[0].Index < windowEntries/2 {
			t.Fatalf("Query returned %d entries from %d", len(es), es[0].Index)
		}
	}
	plans := log.take()
	if len(plans) == 0 {
		t.Fatal("no plan from auto_explain")
	}
	// The page's own rows: limit entries of one actor in planActors.
	bound := 2 * limit * windowActors
	for _, msg := range plans {
		removed := 0
		for _, m := range rowsRemoved.FindAllStringSubmatch(msg, -1) {
			n, _ := strconv.Atoi(m[1])
			removed += n
		}
		if removed > bound {
			t.Fatalf("the page read %d rows it did not return (want at most %d): it did not start at From\n%s", removed, bound, planBody(msg))
		}
	}
	t.Logf("%s", strings.TrimSpace(planBody(plans[len(plans)-1])))
}
