package sqlaudit_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
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
func BenchmarkLogAppend(b *testing.B) {
	const writers, feeders, subjects = 8, 32, 2000
	for _, d := range testdb.All() {
		b.Run(d.String(), func(b *testing.B) {
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
							err := l.Record(ctx, gdpr.Event{Actor: gdpr.Staff(fmt.Sprint("agent-", g)), Action: "crypto.decrypt",
								Subject: gdpr.SubjectID(fmt.Sprint("subject-", i%subjects)), Purpose: "support",
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
		})
	}
}

func mustRoot(t testing.TB, bodies [][]byte) tlog.Hash {
	t.Helper()
	h, err := audittest.Root(bodies)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
