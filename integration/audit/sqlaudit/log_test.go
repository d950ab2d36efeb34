package sqlaudit_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

// logKeys are the signing and pseudonym keys every Log of one test shares,
// as the instances of one service do.
type logKeys struct {
	skey   string
	key    []byte
	anchor *audit.FileAnchor
}

func newLogKeys(t testing.TB) *logKeys {
	skey, _, err := audit.GenerateKey("sqlaudit.test/log")
	if err != nil {
		t.Fatal(err)
	}
	k := &logKeys{skey: skey, key: make([]byte, 32), anchor: &audit.FileAnchor{Dir: t.TempDir()}}
	rand.Read(k.key)
	return k
}

func (k *logKeys) open(t testing.TB, s audit.Store, opts ...audit.Option) *audit.Log {
	t.Helper()
	signer, verifier, err := audit.NewSigner(k.skey)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]audit.Option{audit.WithAnchor(k.anchor), audit.WithCheckpoints(100, time.Hour)}, opts...)
	l, err := audit.New(context.Background(), s, k.key, signer, verifier, opts...)
	if err != nil {
		t.Fatalf("audit.New: %v", err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

// TestManyLogsOneTree runs four Logs on four connection pools, as four
// processes would, each with eight goroutines recording at once, then
// checks that there is one tree with every entry once, that every
// checkpoint the instances signed is consistent with it, and that queries
// find each subject's entries.
func TestManyLogsOneTree(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		keys := newLogKeys(t)
		first := newStore(t, d, db)
		const instances, goroutines, each = 4, 8, 12
		logs := make([]*audit.Log, instances)
		for i := range logs {
			s := first
			if i > 0 {
				var err error
				if s, err = sqlaudit.New(testdb.Reopen(t, d, db), d); err != nil {
					t.Fatal(err)
				}
			}
			logs[i] = keys.open(t, s, audit.WithMaxBatch(16))
		}
		var wg sync.WaitGroup
		for i, l := range logs {
			for g := range goroutines {
				wg.Go(func() {
					for n := range each {
						err := l.Record(ctx, gdpr.Event{Actor: gdpr.Staff(fmt.Sprint("agent-", g)), Action: "crypto.decrypt",
							Subject: gdpr.SubjectID(fmt.Sprint("subject-", n%3)), Resource: fmt.Sprintf("r/%d/%d/%d", i, g, n), Outcome: gdpr.Success})
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
		}
		wg.Wait()
		for _, l := range logs {
			if err := l.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
		const total = instances * goroutines * each
		check := keys.open(t, first)
		rep, err := check.Verify(ctx, audit.VerifyOptions{})
		if err != nil {
			t.Fatalf("Verify: %v %v", err, rep.Problems)
		}
		if rep.Size != total || rep.Entries != total {
			t.Fatalf("size %d, %d entries; want %d", rep.Size, rep.Entries, total)
		}
		seen := map[string]bool{}
		var bodies [][]byte
		for from := int64(0); from < total; from += 100 {
			ses, err := first.Entries(ctx, from, 100)
			if err != nil {
				t.Fatal(err)
			}
			for k, se := range ses {
				if se.Index != from+int64(k) {
					t.Fatalf("index %d at position %d", se.Index, from+int64(k))
				}
				var e audit.Entry
				if err := e.UnmarshalBinary(se.Body); err != nil {
					t.Fatal(err)
				}
				if seen[e.Resource] {
					t.Fatalf("%s recorded twice", e.Resource)
				}
				seen[e.Resource] = true
				bodies = append(bodies, se.Body)
			}
		}
		if len(seen) != total {
			t.Fatalf("%d distinct entries, want %d", len(seen), total)
		}
		if root := mustRoot(t, bodies); root != rep.Root {
			t.Fatal("the root differs from tlog's over the stored bodies in index order")
		}
		// Every instance signed checkpoints; the anchor's latest is the
		// final tree, and each instance's Close checkpoint is consistent.
		b, err := keys.anchor.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, verifier, _ := audit.NewSigner(keys.skey)
		cp, err := audit.OpenCheckpoint(b, "sqlaudit.test/log", verifier)
		if err != nil || cp.Size != total || cp.Root != rep.Root {
			t.Fatalf("anchored checkpoint %v, %v; want the final tree", cp, err)
		}
		var n int
		for f := (audit.Filter{Subject: "subject-1", Limit: 50}); ; {
			es, err := check.Entries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			n += len(es)
			if len(es) < f.Limit {
				break
			}
			f.From = es[len(es)-1].Index + 1
		}
		if n != instances*goroutines*4 {
			t.Fatalf("subject-1 has %d entries, want %d", n, instances*goroutines*4)
		}
	})
}

// TestNewSubjectsSaltsInTheBatch runs two Logs on two pools, as two
// processes, recording at once for subjects neither has met: each new
// salt is created in the transaction of the batch that first names the
// subject, and the two agree on one salt per subject (every entry of a
// subject is found by one query). A batch that fails leaves no salt
// behind.
func TestNewSubjectsSaltsInTheBatch(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		keys := newLogKeys(t)
		first := newStore(t, d, db)
		second, err := sqlaudit.New(testdb.Reopen(t, d, db), d)
		if err != nil {
			t.Fatal(err)
		}
		salts := func() int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM gdpr_audit_salts").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		const subjects, goroutines, each = 6, 6, 8
		logs := []*audit.Log{keys.open(t, first, audit.WithMaxBatch(8)), keys.open(t, second, audit.WithMaxBatch(8))}
		var wg sync.WaitGroup
		for i, l := range logs {
			for g := range goroutines {
				wg.Go(func() {
					for n := range each {
						err := l.Record(ctx, gdpr.Event{Actor: gdpr.Staff("agent"), Action: "crypto.decrypt",
							Subject: gdpr.SubjectID(fmt.Sprint("new-", (g+n)%subjects)), Resource: fmt.Sprintf("r/%d/%d/%d", i, g, n), Outcome: gdpr.Success})
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
		}
		wg.Wait()
		for _, l := range logs {
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := salts(); n != subjects+1 {
			t.Fatalf("%d salts for %d subjects and one staff member", n, subjects)
		}
		check := keys.open(t, first)
		var total int
		for k := range subjects {
			es, err := check.Entries(ctx, audit.Filter{Subject: gdpr.SubjectID(fmt.Sprint("new-", k)), Limit: audit.MaxPage})
			if err != nil {
				t.Fatal(err)
			}
			total += len(es)
		}
		if want := len(logs) * goroutines * each; total != want {
			t.Fatalf("the subjects' queries find %d entries of %d: some were written with another salt", total, want)
		}
		if rep, err := check.Verify(ctx, audit.VerifyOptions{}); err != nil {
			t.Fatalf("Verify: %v %v", err, rep.Problems)
		}

		// A batch the store refuses, after its salts were created in the
		// transaction, leaves none.
		before := salts()
		failing := keys.open(t, &refusingStore{Store: second})
		if err := failing.Record(ctx, gdpr.Event{Actor: gdpr.Staff("agent-new"), Action: "crypto.decrypt",
			Subject: "never-stored", Outcome: gdpr.Success}); !errors.Is(err, audit.ErrConflict) {
			t.Fatalf("Record through a refused batch = %v; want ErrConflict", err)
		}
		if n := salts(); n != before {
			t.Fatalf("a refused batch left %d salts behind", n-before)
		}
		if es, err := check.Entries(ctx, audit.Filter{Subject: "never-stored"}); err != nil || len(es) != 0 {
			t.Fatalf("Entries of the refused batch's subject = %d, %v", len(es), err)
		}
	})
}

// refusingStore hands its Store a batch with a hash missing, which the
// Store refuses with ErrConflict, after fn ran (and created its salts).
type refusingStore struct{ audit.Store }

func (s *refusingStore) Append(ctx context.Context, fn audit.AppendFunc) error {
	return s.Store.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		b, err := fn(h, r)
		if err == nil && b != nil {
			b.Hashes = b.Hashes[:len(b.Hashes)-1]
		}
		return b, err
	})
}

// TestAppendTxWithTheHostsChange records inside the host's transaction:
// rolled back, neither the change nor the entry exists; committed, both do.
func TestAppendTxWithTheHostsChange(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		s := newStore(t, d, db)
		l := newLogKeys(t).open(t, s)
		if _, err := db.ExecContext(ctx, "CREATE TABLE notes (id INTEGER PRIMARY KEY, v VARCHAR(10))"); err != nil {
			t.Fatal(err)
		}
		for i, commit := range []bool{false, true} {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, dialect.Of(d).Rebind("INSERT INTO notes (id, v) VALUES (?, ?)"), i, "x"); err != nil {
				t.Fatal(err)
			}
			_, err = l.AppendTx(ctx, s.Tx(tx), gdpr.Event{Actor: gdpr.Staff("agent"), Action: "note.created",
				Subject: gdpr.SubjectID(fmt.Sprint("new-subject-", i)), Resource: fmt.Sprint("notes/", i), Outcome: gdpr.Success})
			if err != nil {
				t.Fatal(err)
			}
			if commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		// Then the group commit goes on from the committed head.
		if err := l.Record(ctx, gdpr.Event{Actor: gdpr.System("x"), Action: "a.b", Outcome: gdpr.Success}); err != nil {
			t.Fatal(err)
		}
		es, err := l.Entries(ctx, audit.Filter{})
		if err != nil || len(es) != 2 || es[0].Resource != "notes/1" {
			t.Fatalf("entries after one rollback and one commit: %+v, %v", es, err)
		}
		if got, _ := l.Entries(ctx, audit.Filter{Subject: "new-subject-0"}); len(got) != 0 {
			t.Fatal("the rolled-back entry is found")
		}
		if got, _ := l.Entries(ctx, audit.Filter{Subject: "new-subject-1"}); len(got) != 1 {
			t.Fatal("the committed entry is not found by its subject")
		}
		if _, err := l.Verify(ctx, audit.VerifyOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkLogAppend measures the whole Log on each database: 8 writers,
// each a Log on its own connection pool (as 8 processes), each fed by 32
// goroutines calling Record, so the group commit batches.
//
//	go test -run '^$' -bench LogAppend -benchtime 20000x ./audit/sqlaudit/
//
// The sub-benchmark new_subjects=1in8 makes every eighth event name a
// subject never seen before, whose salt the Log creates in the batch's
// own transaction.
func BenchmarkLogAppend(b *testing.B) {
	for _, d := range testdb.All() {
		b.Run(d.String(), func(b *testing.B) { benchLogAppend(b, d, 0) })
		b.Run(d.String()+"_new_subjects=1in8", func(b *testing.B) { benchLogAppend(b, d, 8) })
	}
}

// benchLogAppend runs BenchmarkLogAppend's shape on d; with newEvery > 0,
// every newEvery-th event names a subject never seen before.
func benchLogAppend(b *testing.B, d sqldialect.Dialect, newEvery int64) {
	const writers, feeders, subjects = 8, 32, 2000
	if !testdb.Available(d) {
		b.Skipf("%s: no DSN set (see integration/testdb)", d.String())
	}
	ctx := context.Background()
	db := testdb.Open(b, d)
	keys := newLogKeys(b)
	newStore(b, d, db) // migrates
	logs := make([]*audit.Log, writers)
	for i := range logs {
		pool := db
		if i > 0 {
			pool = testdb.Reopen(b, d, db)
		}
		pool.SetMaxOpenConns(4)
		s, _ := sqlaudit.New(pool, d)
		logs[i] = keys.open(b, s, audit.WithCheckpoints(10_000, 10*time.Second))
	}
	// A running service has met most of its subjects and staff:
	// their salts exist. Creating one is a write of its own.
	var warm []gdpr.Event
	for k := range subjects {
		warm = append(warm, gdpr.Event{Actor: gdpr.Staff(fmt.Sprint("agent-", k%feeders)), Action: "warm.up",
			Subject: gdpr.SubjectID(fmt.Sprint("subject-", k)), Outcome: gdpr.Success})
	}
	for _, l := range logs {
		if _, err := l.Append(ctx, warm...); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	run := rand.Text() // new subjects are new in every run
	if path := os.Getenv("GDPR_BENCH_CPUPROFILE"); path != "" {
		// The profile of the measured phase alone, without the warm-up.
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	start := time.Now()
	for w, l := range logs {
		for g := range feeders {
			wg.Go(func() {
				for {
					i := n.Add(1)
					if i > int64(b.N) {
						return
					}
					subject := fmt.Sprint("subject-", i%subjects)
					if newEvery > 0 && i%newEvery == 0 {
						subject = fmt.Sprint("new-", run, "-", i)
					}
					err := l.Record(ctx, gdpr.Event{Actor: gdpr.Staff(fmt.Sprint("agent-", g)), Action: "crypto.decrypt",
						Subject: gdpr.SubjectID(subject), Purpose: "support",
						Resource: fmt.Sprintf("profiles/%d/%d", w, i), Outcome: gdpr.Success})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}

func mustRoot(t testing.TB, bodies [][]byte) tlog.Hash {
	t.Helper()
	h, err := audittest.Root(bodies)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
