// Package engine_test runs the request engine (erasure.Engine) on the SQL
// store (sqlerasure) of every database: several Engines, each on a
// connection pool of its own as separate processes would be, racing over
// one schema; an Engine killed mid-request and taken over; restore and
// replay; a canary scan of every erasure table for the subject ID; and the
// throughput benchmark of BENCHMARKS.md.
package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

// subjectKey keys the Engines' SubjectRefs: the same on every Engine of a
// test, as on every instance of a host.
var subjectKey = []byte("integration-engine-subject-key-0123456789")

// tracker sees every call into a target or a handler, of every Engine of a
// test (they share the process), and counts the times two calls for one
// subject overlapped: the Engine runs a subject's requests one at a time,
// and a request's steps one after another, so any overlap is a bug.
type tracker struct {
	mu       sync.Mutex
	active   map[gdpr.SubjectID]int
	overlaps atomic.Int64
	example  atomic.Value // a subject that overlapped, for the failure message
}

func newTracker() *tracker { return &tracker{active: map[gdpr.SubjectID]int{}} }

// enter marks a call for s as running until the returned func is called.
func (tr *tracker) enter(s gdpr.SubjectID) (leave func()) {
	tr.mu.Lock()
	tr.active[s]++
	if tr.active[s] > 1 {
		tr.overlaps.Add(1)
		tr.example.Store(string(s))
	}
	tr.mu.Unlock()
	return func() {
		tr.mu.Lock()
		tr.active[s]--
		tr.mu.Unlock()
	}
}

func (tr *tracker) check(t testing.TB) {
	t.Helper()
	if n := tr.overlaps.Load(); n != 0 {
		t.Errorf("one subject was in two workers at once %d times (e.g. %v)", n, tr.example.Load())
	}
}

// counter is a no-op target (an Eraser) or handler (a RequestHandler)
// that counts its successful calls per subject. hook, if set, runs first
// and may block or fail the call.
type counter struct {
	name string
	tr   *tracker
	hook func(ctx context.Context, s gdpr.SubjectID) error
	// sleep, if set, says how long a call for s takes.
	sleep func(s gdpr.SubjectID) time.Duration

	mu    sync.Mutex
	ok    map[gdpr.SubjectID]int
	calls atomic.Int64
}

func newCounter(name string, tr *tracker) *counter {
	return &counter{name: name, tr: tr, ok: map[gdpr.SubjectID]int{}}
}

func (c *counter) call(ctx context.Context, s gdpr.SubjectID) error {
	c.calls.Add(1)
	if c.tr != nil {
		defer c.tr.enter(s)()
	}
	if c.sleep != nil {
		if d := c.sleep(s); d > 0 {
			time.Sleep(d)
		}
	}
	if c.hook != nil {
		if err := c.hook(ctx, s); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.ok[s]++
	c.mu.Unlock()
	return nil
}

func (c *counter) EraseSubject(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	if err := c.call(ctx, s); err != nil {
		return gdpr.ErasureReport{}, err
	}
	return gdpr.ErasureReport{Erased: 1}, nil
}

func (c *counter) HandleRequest(ctx context.Context, r gdpr.Request) (gdpr.RequestResult, error) {
	if err := c.call(ctx, r.Subject); err != nil {
		return gdpr.RequestResult{}, err
	}
	return gdpr.RequestResult{Records: 1, Reference: c.name + "-done"}, nil
}

// succeeded returns how many calls for s succeeded.
func (c *counter) succeeded(s gdpr.SubjectID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ok[s]
}

// successes returns a copy of the success counts.
func (c *counter) successes() map[gdpr.SubjectID]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[gdpr.SubjectID]int, len(c.ok))
	for k, v := range c.ok {
		m[k] = v
	}
	return m
}

// notices counts the completion notices per request: a request that
// completes once is announced once (no crash in between).
type notices struct {
	mu        sync.Mutex
	completed map[string]int
}

func newNotices() *notices { return &notices{completed: map[string]int{}} }

func (n *notices) Notify(_ context.Context, no erasure.Notice) error {
	if no.Type == erasure.NoticeCompleted {
		n.mu.Lock()
		n.completed[no.Request.ID]++
		n.mu.Unlock()
	}
	return nil
}

func (n *notices) count(id string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.completed[id]
}

// pool configures a connection pool as a host process would: a bounded
// number of connections, all kept open (database/sql keeps two idle by
// default, and reconnecting per statement would measure the handshake).
func pool(db *sql.DB, n int) *sql.DB {
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db
}

// newStore returns an unmigrated sqlerasure.Store over db, closed when t
// ends.
func newStore(t testing.TB, d sqldialect.Dialect, db *sql.DB) *sqlerasure.Store {
	t.Helper()
	s, err := sqlerasure.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// targetsOf returns the counters as the Engine's targets, in order.
func targetsOf(cs ...*counter) []erasure.Target {
	ts := make([]erasure.Target, len(cs))
	for i, c := range cs {
		ts[i] = erasure.Target{Name: c.name, Eraser: c}
	}
	return ts
}

func newEngine(t testing.TB, store erasure.Store, opts ...erasure.Option) *erasure.Engine {
	t.Helper()
	e, err := erasure.New(store, subjectKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// allRequests returns every request of the store, paging through List.
func allRequests(t testing.TB, ctx context.Context, s erasure.Store) []erasure.Request {
	t.Helper()
	var out []erasure.Request
	f := erasure.Filter{Limit: erasure.MaxLimit}
	for {
		page, err := s.List(ctx, f)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		out = append(out, page...)
		if len(page) < erasure.MaxLimit {
			return out
		}
		f.After = page[len(page)-1].ID
	}
}

// stateCounts returns the store's requests counted by state, for progress
// and failure messages.
func stateCounts(ctx context.Context, s erasure.Store) (map[erasure.State]int64, error) {
	cs, err := s.Count(ctx, erasure.Filter{})
	if err != nil {
		return nil, err
	}
	m := map[erasure.State]int64{}
	for _, c := range cs {
		m[c.State] += c.N
	}
	return m, nil
}

func showCounts(m map[erasure.State]int64) string {
	var parts []string
	for s, n := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", s, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// waitClosed polls the store until want requests are closed, or fails t
// at the deadline with the counts by state.
func waitClosed(t testing.TB, s erasure.Store, want int64, deadline time.Duration) {
	t.Helper()
	waitFor(t, s, want, deadline, func() int64 {
		m, err := stateCounts(context.Background(), s)
		if err != nil {
			t.Fatalf("Count: %v", err)
		}
		return m[erasure.StateCompleted] + m[erasure.StateCompletedWithExemptions] + m[erasure.StateRejected] + m[erasure.StateCancelled]
	})
}

// waitFor polls closed until it reaches want, or fails t at the deadline
// with the store's counts by state. A closed that counts in the process
// (the Updates that closed a request, from countingStore) spares the
// database a query per poll.
func waitFor(t testing.TB, s erasure.Store, want int64, deadline time.Duration, closed func() int64) {
	t.Helper()
	stop := time.Now().Add(deadline)
	for closed() < want {
		if time.Now().After(stop) {
			m, err := stateCounts(context.Background(), s)
			t.Fatalf("after %v, %d of %d requests are closed; stored: %s %v", deadline, closed(), want, showCounts(m), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rebind turns ? placeholders into d's.
func rebind(d sqldialect.Dialect, q string) string { return dialect.Of(d).Rebind(q) }

// countRows returns SELECT COUNT(*) FROM table.
func countRows(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// runEngines runs each Engine's Run in a goroutine until the returned stop
// is called, which cancels them and waits for them to return.
func runEngines(engines ...*erasure.Engine) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Go(func() { _ = e.Run(ctx) })
	}
	return func() { cancel(); wg.Wait() }
}

// countingStore is an erasure.Store that counts the calls that write,
// each one commit on a SQL store: Create, Update, the Acquires that lease
// something, AcquireID, Renew, Release, Delete. Acquires that lease
// nothing (a poll that found nothing due) are counted apart.
//
// It also keeps the errors the Store returned, by method, so that a test
// can say what went wrong beneath the Engine (whose workers drop them).
type countingStore struct {
	erasure.Store
	creates, updates, acquires, emptyAcquires, acquireIDs, renews, releases, deletes atomic.Int64
	// closed counts the Updates that closed a request.
	closed atomic.Int64

	mu      sync.Mutex
	errs    map[string][]error
	slowest map[string]time.Duration
}

// seen keeps err, if any, under method, and the call's duration since
// start if it is the method's slowest, and returns err.
func (c *countingStore) seen(method string, start time.Time, err error) error {
	d := time.Since(start)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slowest == nil {
		c.errs, c.slowest = map[string][]error{}, map[string]time.Duration{}
	}
	if err != nil && !errors.Is(err, context.Canceled) { // a Run stopped mid-call
		c.errs[method] = append(c.errs[method], err)
	}
	c.slowest[method] = max(c.slowest[method], d)
	return err
}

// slow returns the slowest call of each method, as "method max" words.
func (c *countingStore) slow() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for m, d := range c.slowest {
		out = append(out, fmt.Sprintf("%s %v", m, d.Round(time.Millisecond)))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// errors returns the errors seen, as "method: count (first error)" lines.
func (c *countingStore) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for m, es := range c.errs {
		out = append(out, fmt.Sprintf("%s: %d (first: %v)", m, len(es), es[0]))
	}
	sort.Strings(out)
	return out
}

func (c *countingStore) Create(ctx context.Context, r erasure.Request) (erasure.Request, bool, error) {
	c.creates.Add(1)
	start := time.Now()
	got, created, err := c.Store.Create(ctx, r)
	return got, created, c.seen("Create", start, err)
}

func (c *countingStore) Update(ctx context.Context, r erasure.Request, l *erasure.Lease, now time.Time) error {
	c.updates.Add(1)
	start := time.Now()
	err := c.Store.Update(ctx, r, l, now)
	if err == nil && !r.State.Open() {
		c.closed.Add(1)
	}
	return c.seen("Update", start, err)
}

func (c *countingStore) Acquire(ctx context.Context, owner string, now time.Time, ttl time.Duration, n int) ([]erasure.Leased, error) {
	start := time.Now()
	got, err := c.Store.Acquire(ctx, owner, now, ttl, n)
	if len(got) > 0 {
		c.acquires.Add(1)
	} else {
		c.emptyAcquires.Add(1)
	}
	return got, c.seen("Acquire", start, err)
}

func (c *countingStore) AcquireID(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (erasure.Leased, error) {
	c.acquireIDs.Add(1)
	start := time.Now()
	l, err := c.Store.AcquireID(ctx, id, owner, now, ttl)
	return l, c.seen("AcquireID", start, err)
}

func (c *countingStore) Renew(ctx context.Context, l erasure.Lease, now, until time.Time) error {
	c.renews.Add(1)
	start := time.Now()
	return c.seen("Renew", start, c.Store.Renew(ctx, l, now, until))
}

func (c *countingStore) Release(ctx context.Context, l erasure.Lease) error {
	c.releases.Add(1)
	start := time.Now()
	return c.seen("Release", start, c.Store.Release(ctx, l))
}

func (c *countingStore) Delete(ctx context.Context, ids ...string) (int64, error) {
	c.deletes.Add(1)
	start := time.Now()
	n, err := c.Store.Delete(ctx, ids...)
	return n, c.seen("Delete", start, err)
}

// writes returns the number of writing calls, and the parts of it.
func (c *countingStore) writes() int64 {
	return c.creates.Load() + c.updates.Load() + c.acquires.Load() + c.acquireIDs.Load() +
		c.renews.Load() + c.releases.Load() + c.deletes.Load()
}

func (c *countingStore) reset() {
	for _, v := range []*atomic.Int64{&c.creates, &c.updates, &c.acquires, &c.emptyAcquires, &c.acquireIDs, &c.renews, &c.releases, &c.deletes, &c.closed} {
		v.Store(0)
	}
}

var _ erasure.Store = (*countingStore)(nil)

// open returns a fresh database of dialect d and its first pool, bounded
// to n connections.
func open(t testing.TB, d sqldialect.Dialect, n int) *sql.DB {
	t.Helper()
	return pool(testdb.Open(t, d), n)
}
