package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// raceConfig is the size of a race on one database.
type raceConfig struct {
	// erasures is the number of erasure requests, in -short mode too:
	// CI runs the full count.
	erasures int
	// workers is WithWorkers of each Engine; its pool has workers+3
	// connections.
	workers int
	// lease is WithLease of each Engine.
	lease time.Duration
}

// raceConfigFor returns the race of dialect d. PostgreSQL and MariaDB take
// 10,000 erasures with a 15 s lease, renewed every 5 s by the heartbeats:
// with other packages' database tests beside it on a 2-core machine, store
// calls of 5 to 7 s were seen, and a 5 s lease lapsed (a step then runs
// twice, which is correct but not the exactly-once asserted here).
// SQLite has one writer, so its race is the queue for the database's write
// lock, and more requests only queue longer (and modernc.org/sqlite, Go
// code, runs under the race detector too): it takes 1,000 erasures, two
// workers per Engine and the default 30 s lease. Its busy handler lets a
// waiting writer starve for seconds under contention (2.6 s measured with
// four workers per Engine, up to 10 s under the race detector on a loaded
// machine), long enough for a 5 s lease to lapse and be taken over and the
// step it covered to run twice: correct (Erasers are idempotent), but not
// the exactly-once this test asserts.
func raceConfigFor(d sqldialect.Dialect) raceConfig {
	if d == sqldialect.SQLite {
		return raceConfig{erasures: 1_000, workers: 2, lease: 30 * time.Second}
	}
	return raceConfig{erasures: 10_000, workers: 6, lease: 15 * time.Second}
}

// raceDeadline bounds the wait for the requests to close.
const raceDeadline = 5 * time.Minute

// TestEnginesRace races Engines, each on a connection pool of its own (as
// separate processes), over one sqlerasure schema: two Engines start on
// 10,000 erasure requests submitted in advance (1,000 on SQLite), and
// once half the requests are closed two more join, so the second half is
// raced by four. Every twentieth subject also has an access request and
// every hundredth a portability request, each with a handler, so those
// subjects have two or three open requests at once. Every request must
// complete exactly once (completed, one completion notice, one completed
// transition, each step done in one attempt), none may be lost, each
// target must succeed exactly once per subject and each handler once per
// subject, all four Engines must have worked, and no subject may be in
// two workers at once: every target and handler call goes through one
// tracker that counts overlapping calls per subject.
func TestEnginesRace(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		raceEngines(t, d, raceConfigFor(d))
	})
}

func raceSubject(i int) gdpr.SubjectID { return gdpr.SubjectID(fmt.Sprintf("race-subject-%05d", i)) }

// raceKinds returns the kinds of request subject i makes.
func raceKinds(i int) []gdpr.RequestKind {
	ks := []gdpr.RequestKind{gdpr.KindErasure}
	if i%20 == 0 {
		ks = append(ks, gdpr.KindAccess)
	}
	if i%100 == 0 {
		ks = append(ks, gdpr.KindPortability)
	}
	return ks
}

// wantsCall reports whether the counter named name is called for subject i.
func wantsCall(name string, i int) bool {
	switch name {
	case "access":
		return i%20 == 0
	case "portability":
		return i%100 == 0
	}
	return true
}

func raceEngines(t *testing.T, d sqldialect.Dialect, cfg raceConfig) {
	const first, total = 2, 4
	ctx := context.Background()
	db := open(t, d, 4)
	store := newStore(t, d, db)
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tr := newTracker()
	// The subjects with more than one request take a little longer in
	// each call, so that two of their requests would overlap if anything
	// let them run at once.
	slow := func(s gdpr.SubjectID) time.Duration {
		var i int
		fmt.Sscanf(string(s), "race-subject-%d", &i)
		if len(raceKinds(i)) > 1 {
			return time.Millisecond
		}
		return 0
	}
	targets := []*counter{newCounter("profile", tr), newCounter("orders", tr)}
	for _, c := range targets {
		c.sleep = slow
	}
	access, portability := newCounter("access", tr), newCounter("portability", tr)
	access.sleep, portability.sleep = slow, slow
	note := newNotices()
	engines := make([]*erasure.Engine, total)
	stores := make([]*countingStore, total)
	for k := range engines {
		p := pool(testdb.Reopen(t, d, db), cfg.workers+3)
		stores[k] = &countingStore{Store: newStore(t, d, p)}
		engines[k] = newEngine(t, stores[k],
			erasure.WithTargets(targetsOf(targets...)...),
			erasure.WithHandler(gdpr.KindAccess, access), erasure.WithHandler(gdpr.KindPortability, portability),
			erasure.WithNotifier(note),
			erasure.WithWorkers(cfg.workers), erasure.WithPoll(10*time.Millisecond), erasure.WithLease(cfg.lease),
			erasure.WithWorkerID(fmt.Sprintf("engine-%d", k)))
	}
	erasures := cfg.erasures

	// Submit everything in advance, from every Engine.
	start := time.Now()
	type sub struct {
		i    int
		kind gdpr.RequestKind
	}
	var subs []sub
	for i := range erasures {
		for _, k := range raceKinds(i) {
			subs = append(subs, sub{i, k})
		}
	}
	ids := make([]string, len(subs))
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Bool
	for g := range 4 * total {
		e := engines[g%total]
		wg.Go(func() {
			for {
				j := int(next.Add(1) - 1)
				if j >= len(subs) || failed.Load() {
					return
				}
				r, created, err := e.Submit(ctx, erasure.Submission{Kind: subs[j].kind, Subject: raceSubject(subs[j].i)})
				if err != nil || !created {
					failed.Store(true)
					t.Errorf("Submit %d: created %v, %v", j, created, err)
					return
				}
				ids[j] = r.ID
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	submitted := time.Since(start)

	// Progress is counted in the process, from the Updates that close a
	// request, so that polling costs the database nothing; the store is
	// read in full at the end.
	closed := func() (n int64) {
		for _, s := range stores {
			n += s.closed.Load()
		}
		return n
	}
	start = time.Now()
	stopFirst := runEngines(engines[:first]...)
	half := int64(len(subs) / 2)
	waitFor(t, store, half, raceDeadline, closed)
	firstHalf := time.Since(start)
	before := make([]int64, first)
	for k := range before {
		before[k] = stores[k].updates.Load()
	}
	start = time.Now()
	stopRest := runEngines(engines[first:]...)
	waitFor(t, store, int64(len(subs)), raceDeadline, closed)
	secondHalf := time.Since(start)
	stopFirst()
	stopRest()
	t.Logf("%d requests (%d erasures), %d workers per Engine: submitted in %v; the first half closed by %d Engines in %v (%.0f requests/s), the rest by %d in %v (%.0f requests/s)",
		len(subs), erasures, cfg.workers, submitted.Round(time.Millisecond),
		first, firstHalf.Round(time.Millisecond), float64(half)/firstHalf.Seconds(),
		total, secondHalf.Round(time.Millisecond), float64(int64(len(subs))-half)/secondHalf.Seconds())
	for k := range before {
		if stores[k].updates.Load() == before[k] {
			t.Errorf("engine %d did no work once the others joined", k)
		}
	}
	for k := first; k < total; k++ {
		if stores[k].updates.Load() == 0 {
			t.Errorf("engine %d, which joined, did no work", k)
		}
	}

	var writes int64
	for k, s := range stores {
		writes += s.writes()
		for _, e := range s.errors() {
			t.Logf("engine %d: store errors: %s", k, e)
		}
		t.Logf("engine %d: slowest store calls: %s", k, s.slow())
	}
	t.Logf("%.2f store writes per request", float64(writes)/float64(len(subs)))

	// Every request once, none lost, each closed once.
	all := allRequests(t, ctx, store)
	if len(all) != len(subs) {
		t.Errorf("%d requests stored, %d submitted", len(all), len(subs))
	}
	byID := make(map[string]erasure.Request, len(all))
	for _, r := range all {
		byID[r.ID] = r
	}
	bad := 0
	for j, id := range ids {
		r, ok := byID[id]
		problem := ""
		switch {
		case !ok:
			problem = "lost"
		case r.State != erasure.StateCompleted:
			problem = "state " + string(r.State)
		case r.Kind != subs[j].kind:
			problem = "kind " + string(r.Kind)
		case r.Subject != "":
			problem = "keeps its subject"
		case note.count(id) != 1:
			problem = fmt.Sprintf("%d completion notices", note.count(id))
		}
		if problem == "" {
			completions := 0
			for _, h := range r.History {
				if h.Event == "completed" {
					completions++
				}
			}
			want := 2
			if r.Kind != gdpr.KindErasure {
				want = 1
			}
			if completions != 1 {
				problem = fmt.Sprintf("%d completed transitions", completions)
			} else if len(r.Steps) != want {
				problem = fmt.Sprintf("%d steps", len(r.Steps))
			}
			for _, s := range r.Steps {
				if problem == "" && (!s.Outcome.Done() || s.Attempts != 1) {
					problem = fmt.Sprintf("step %s: %s after %d attempts", s.Target, s.Outcome, s.Attempts)
				}
			}
		}
		if problem != "" {
			if bad++; bad <= 10 {
				t.Errorf("request %s (%s, subject %d): %s", id, subs[j].kind, subs[j].i, problem)
			}
		}
	}
	if bad > 10 {
		t.Errorf("… and %d more requests", bad-10)
	}

	// Each target and handler once per subject.
	for _, c := range append(targets, access, portability) {
		got := c.successes()
		wrong := 0
		want := 0
		for i := range erasures {
			if !wantsCall(c.name, i) {
				continue
			}
			want++
			if k := got[raceSubject(i)]; k != 1 {
				if wrong++; wrong <= 5 {
					t.Errorf("%s succeeded %d times for subject %d, want once", c.name, k, i)
				}
			}
		}
		if len(got) != want {
			t.Errorf("%s was called for %d subjects, want %d", c.name, len(got), want)
		}
		if c.calls.Load() != int64(want) {
			t.Errorf("%s was called %d times for %d subjects", c.name, c.calls.Load(), want)
		}
	}
	tr.check(t)
	if n := countRows(t, db, "gdpr_erasure_leases"); n != 0 {
		t.Errorf("%d leases left after every Run returned", n)
	}
}

// TestKilledEngineTakenOver kills an Engine mid-request: while one of its
// targets blocks (mid-step), or while the completion notice is being sent
// (at-close: the steps and the journal entry are written, the closing
// write is not). Its pool is closed first, as a dead process's
// connections are, so it can neither write nor release its lease, then
// its Run is cancelled. The lease stays on record until it expires; then
// an Engine on another pool takes the request over and completes it. The
// steps done before the kill are not done again, every target succeeds
// once for the subject, and the journal holds one entry for the request;
// the notice interrupted by the kill is sent again (Notifier's contract:
// a notice may come twice). The requests of other subjects, queued behind
// the victim's, complete once each too.
func TestKilledEngineTakenOver(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		for _, at := range []string{"mid-step", "at-close"} {
			t.Run(at, func(t *testing.T) { killAndTakeOver(t, d, at == "at-close") })
		}
	})
}

func killAndTakeOver(t *testing.T, d sqldialect.Dialect, atClose bool) {
	ctx := context.Background()
	db := open(t, d, 4)
	if err := newStore(t, d, db).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	journal := testdb.Migrated(t, d, testdb.Open(t, d), sqlerasure.NewJournal)
	const victim = gdpr.SubjectID("victim@example.org")
	const lease = 2 * time.Second
	tr := newTracker()
	t1, t2, t3 := newCounter("t1", tr), newCounter("t2", tr), newCounter("t3", tr)
	entered := make(chan struct{})
	var blocked atomic.Bool
	// block blocks the first call for the victim until the Engine is
	// killed.
	block := func(ctx context.Context, s gdpr.SubjectID) error {
		if s != victim || !blocked.CompareAndSwap(false, true) {
			return nil
		}
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	}
	var notified sync.Map // request ID → *atomic.Int32
	note := erasure.NotifierFunc(func(ctx context.Context, n erasure.Notice) error {
		if atClose {
			if err := block(ctx, n.Request.Subject); err != nil {
				return err
			}
		}
		c, _ := notified.LoadOrStore(n.Request.ID, new(atomic.Int32))
		c.(*atomic.Int32).Add(1)
		return nil
	})
	if !atClose {
		t2.hook = block
	}
	newE := func(p *sql.DB, id string, workers int) *erasure.Engine {
		return newEngine(t, newStore(t, d, p), erasure.WithTargets(targetsOf(t1, t2, t3)...),
			erasure.WithJournal(journal), erasure.WithNotifier(note),
			erasure.WithWorkers(workers), erasure.WithPoll(10*time.Millisecond), erasure.WithLease(lease), erasure.WithWorkerID(id))
	}
	// The killed Engine has one worker, so the victim's request is the
	// only one in its hands; the others queue behind it.
	poolA, poolB := pool(testdb.Reopen(t, d, db), 6), pool(testdb.Reopen(t, d, db), 6)
	a, b := newE(poolA, "engine-a", 1), newE(poolB, "engine-b", 3)

	ids := map[gdpr.SubjectID]string{}
	subjects := []gdpr.SubjectID{victim}
	for i := range 30 {
		subjects = append(subjects, gdpr.SubjectID(fmt.Sprintf("bystander-%02d", i)))
	}
	for _, s := range subjects {
		r, _, err := a.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: s})
		if err != nil {
			t.Fatal(err)
		}
		ids[s] = r.ID
	}
	runCtx, kill := context.WithCancel(ctx)
	ranA := make(chan struct{})
	go func() { defer close(ranA); _ = a.Run(runCtx) }()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		kill()
		t.Fatal("the victim's blocking call was not reached in 30 s")
	}
	// Let a heartbeat or two pass: the lease is renewed while the call
	// blocks.
	time.Sleep(lease / 2)
	// The kill: the pool goes first, so nothing more reaches the
	// database, then the process's work stops.
	poolA.Close()
	kill()
	select {
	case <-ranA:
	case <-time.After(30 * time.Second):
		t.Fatal("the killed Engine's Run did not return in 30 s")
	}
	killed := time.Now()

	ref := a.SubjectRef(victim)
	var owner string
	var untilUS int64
	q := rebind(d, "SELECT owner, until_us FROM gdpr_erasure_leases WHERE subject_ref = ?")
	if err := db.QueryRowContext(ctx, q, ref).Scan(&owner, &untilUS); err != nil {
		t.Fatalf("the killed Engine's lease on the victim is not on record: %v", err)
	}
	until := time.UnixMicro(untilUS)
	if owner != "engine-a" || until.Before(killed.Add(-lease)) {
		t.Fatalf("lease after the kill: owner %s until %v", owner, until)
	}
	mid, err := b.Get(ctx, ids[victim])
	if err != nil {
		t.Fatal(err)
	}
	doneBefore := 1 // mid-step: t1 is done, t2 blocked
	if atClose {
		doneBefore = 3
	}
	if mid.State != erasure.StateInProgress || len(mid.Steps) != 3 {
		t.Fatalf("the victim's request at the kill: %s, steps %+v", mid.State, mid.Steps)
	}
	for i, st := range mid.Steps {
		if st.Outcome.Done() != (i < doneBefore) {
			t.Fatalf("the victim's request at the kill: step %d %+v; want %d steps done", i, st, doneBefore)
		}
	}
	journalled := func() int {
		es, err := journal.Match(ctx, []string{ref})
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	if want := map[bool]int{false: 0, true: 1}[atClose]; journalled() != want {
		t.Fatalf("%d journal entries for the victim at the kill, want %d", journalled(), want)
	}

	stopB := runEngines(b)
	waitClosed(t, newStore(t, d, db), int64(len(subjects)), time.Minute)
	stopB()

	done, err := b.Get(ctx, ids[victim])
	if err != nil {
		t.Fatal(err)
	}
	if done.State != erasure.StateCompleted {
		t.Fatalf("the victim's request: %s, steps %+v", done.State, done.Steps)
	}
	for i, st := range done.Steps {
		if i < doneBefore && (!st.At.Equal(mid.Steps[i].At) || st.Attempts != 1) {
			t.Errorf("step %s, done before the kill, was written again: %+v, was %+v", st.Target, st, mid.Steps[i])
		}
		if i >= doneBefore && st.At.Before(until) {
			t.Errorf("step %s was done at %v, before the killed Engine's lease expired at %v", st.Target, st.At, until)
		}
	}
	if closedAt := done.Closed; closedAt.Before(until) {
		t.Errorf("closed at %v, before the killed Engine's lease expired at %v", closedAt, until)
	}
	for _, c := range []*counter{t1, t2, t3} {
		for _, s := range subjects {
			if k := c.succeeded(s); k != 1 {
				t.Errorf("%s succeeded %d times for %s, want once", c.name, k, s)
			}
		}
	}
	if n, want := t2.calls.Load(), int64(len(subjects))+map[bool]int64{false: 1, true: 0}[atClose]; n != want {
		t.Errorf("t2 was called %d times, want %d", n, want)
	}
	if n := journalled(); n != 1 {
		t.Errorf("%d journal entries for the victim's erasure, want 1", n)
	}
	for _, s := range subjects {
		r, err := b.Get(ctx, ids[s])
		if err != nil || r.State != erasure.StateCompleted {
			t.Errorf("%s: %s, %v", s, r.State, err)
		}
		c, _ := notified.Load(ids[s])
		if c == nil || c.(*atomic.Int32).Load() != 1 {
			t.Errorf("%s: completion notices %v, want 1 sent (the killed one is not counted)", s, c)
		}
	}
	tr.check(t)
	if n := countRows(t, db, "gdpr_erasure_leases"); n != 0 {
		t.Errorf("%d leases left", n)
	}
}

// TestTrackerCountsOverlaps checks the race test's own guard: two calls
// for one subject at once are one overlap; calls one after another, or
// for two subjects, are none.
func TestTrackerCountsOverlaps(t *testing.T) {
	tr := newTracker()
	tr.enter("a")()
	leaveA := tr.enter("a")
	leaveB := tr.enter("b")
	if tr.overlaps.Load() != 0 {
		t.Fatalf("%d overlaps for calls one after another or for two subjects", tr.overlaps.Load())
	}
	tr.enter("a")()
	leaveA()
	leaveB()
	if tr.overlaps.Load() != 1 {
		t.Fatalf("%d overlaps for two calls for one subject at once, want 1", tr.overlaps.Load())
	}
}
