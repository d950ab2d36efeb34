package retention_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/gdprtest"
	"github.com/gdprkit/gdpr/internal/clock"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/memretention"
)

var ctx = context.Background()

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// fixture is a Sweeper over one Table of category "logins" whose rows
// are kept one month from collection.
type fixture struct {
	clock  *clock.Fake
	store  *memretention.Store
	table  *memretention.Table
	rec    *gdprtest.Recorder
	holds  *retention.Holds
	sweep  *retention.Sweeper
	policy retention.Policy
}

func newFixture(t *testing.T, extra ...retention.Option) *fixture {
	t.Helper()
	f := &fixture{clock: clock.NewFake(day(2025, 3, 1)), store: memretention.New(),
		table: memretention.NewTable(retention.FromCollection), rec: &gdprtest.Recorder{},
		policy: retention.Policy{Category: "logins", Period: gdpr.Period{Months: 1}}}
	opts := append([]retention.Option{
		retention.WithPolicies(f.policy),
		retention.WithTargets(retention.Target{Name: "logins", Category: "logins", Deleter: f.table}),
		retention.WithClock(f.clock.Now), retention.WithRecorder(f.rec), retention.WithBatchSize(10),
	}, extra...)
	var err error
	if f.sweep, err = retention.NewSweeper(f.store, opts...); err != nil {
		t.Fatal(err)
	}
	if f.holds, err = retention.NewHolds(f.store, retention.WithClock(f.clock.Now), retention.WithRecorder(f.rec)); err != nil {
		t.Fatal(err)
	}
	return f
}

// fill adds n rows a day apart from start, of subjects s0…s(k-1) in turn.
func (f *fixture) fill(start time.Time, n, k int) {
	for i := 0; i < n; i++ {
		f.table.Put(memretention.Row{Key: fmt.Sprintf("r%05d", i), Subject: gdpr.SubjectID(fmt.Sprintf("s%d", i%k)),
			Time: start.Add(time.Duration(i) * 7 * time.Hour)})
	}
}

// expired returns the keys of the rows the policy has expired at now,
// and of those held by a hold on a subject in held.
func (f *fixture) expired(now time.Time, held ...gdpr.SubjectID) (gone, kept map[string]bool) {
	gone, kept = map[string]bool{}, map[string]bool{}
	for _, r := range f.table.Rows() {
		if f.policy.Expiry(r.Time).After(now) {
			continue
		}
		isHeld := false
		for _, h := range held {
			isHeld = isHeld || r.Subject == h
		}
		if isHeld {
			kept[r.Key] = true
		} else {
			gone[r.Key] = true
		}
	}
	return gone, kept
}

func (f *fixture) check(t *testing.T, gone, kept map[string]bool) {
	t.Helper()
	now := f.clock.Now()
	left := map[string]bool{}
	for _, r := range f.table.Rows() {
		left[r.Key] = true
		if gone[r.Key] {
			t.Errorf("row %s (of %s) expired at %s and is not held, but survived", r.Key, r.Time, now)
		}
	}
	for k := range kept {
		if !left[k] {
			t.Errorf("row %s was held, but was swept", k)
		}
	}
}

func TestSweepDeletesExpired(t *testing.T) {
	f := newFixture(t)
	f.fill(day(2024, 12, 1), 400, 7)
	gone, _ := f.expired(f.clock.Now())
	before := f.table.Len()
	sw, err := f.sweep.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, gone, nil)
	if got := before - f.table.Len(); got != len(gone) {
		t.Errorf("%d rows deleted, want the %d expired", got, len(gone))
	}
	ts := sw.Targets[0]
	if ts.Acted != int64(len(gone)) || !ts.Done || ts.Held || sw.Finished.IsZero() || sw.ID == "" {
		t.Errorf("report %+v, want %d acted, done, finished", sw, len(gone))
	}
	if want := day(2025, 2, 1); !ts.Cutoff.Equal(want) {
		t.Errorf("cut-off %s, want %s", ts.Cutoff, want)
	}
	// Nothing expired is left, so a second sweep acts on nothing.
	sw, err = f.sweep.Sweep(ctx)
	if err != nil || sw.Targets[0].Acted != 0 {
		t.Errorf("second sweep: %+v, %v", sw, err)
	}
	// The audit trail: begun and done for each sweep, with the counts.
	ev := f.rec.ByAction("retention.swept")
	if len(ev) != 4 || ev[0].Attrs["stage"] != "begun" || ev[1].Attrs["stage"] != "done" ||
		ev[1].Attrs["acted"] != fmt.Sprint(len(gone)) || ev[1].Attrs["cutoff"] != "2025-02-01T00:00:00Z" ||
		ev[1].Subject != "" || ev[1].Categories[0] != "logins" || ev[1].Outcome != gdpr.Success {
		t.Errorf("events %+v", ev)
	}
	if leaks := f.rec.Leaks("s0", "s1", "r00001"); len(leaks) > 0 {
		t.Errorf("events carry subjects or keys: %+v", leaks)
	}
}

// TestSweepMonthEndsAndLeapYears sweeps once a day through two years and
// checks that every row goes at the first sweep at or after its expiry,
// never before.
func TestSweepMonthEndsAndLeapYears(t *testing.T) {
	for _, p := range []string{"P1M", "P1Y", "P3M", "P1M1D"} {
		t.Run(p, func(t *testing.T) {
			f := newFixture(t)
			per, _ := gdpr.ParsePeriod(p)
			f.policy.Period = per
			var err error
			f.sweep, err = retention.NewSweeper(f.store, retention.WithPolicies(f.policy),
				retention.WithTargets(retention.Target{Name: "logins", Category: "logins", Deleter: f.table}),
				retention.WithClock(f.clock.Now), retention.WithBatchSize(50))
			if err != nil {
				t.Fatal(err)
			}
			// One row at 10:00 and one at 23:59 of every day of 2024 and
			// early 2025, so month ends and 29 February are covered.
			var rows []memretention.Row
			for d := day(2024, 1, 1); d.Before(day(2025, 4, 1)); d = d.AddDate(0, 0, 1) {
				rows = append(rows, memretention.Row{Key: d.Format("20060102") + "a", Subject: "s", Time: d.Add(10 * time.Hour)},
					memretention.Row{Key: d.Format("20060102") + "b", Subject: "s", Time: d.Add(23*time.Hour + 59*time.Minute)})
			}
			f.table.Put(rows...)
			expiry := map[string]time.Time{}
			for _, r := range rows {
				expiry[r.Key] = f.policy.Expiry(r.Time)
			}
			// Sweep at 00:00, 06:00 and 23:59 each day.
			for d := day(2024, 1, 15); d.Before(day(2026, 6, 1)); d = d.AddDate(0, 0, 1) {
				for _, at := range []time.Duration{0, 6 * time.Hour, 23*time.Hour + 59*time.Minute} {
					now := d.Add(at)
					f.clock.Set(now)
					if _, err := f.sweep.Sweep(ctx); err != nil {
						t.Fatal(err)
					}
					for _, r := range rows {
						_, present := f.table.Get(r.Key)
						due := !expiry[r.Key].After(now)
						if present == due {
							t.Fatalf("%s at %s: row of %s (expiry %s) present=%v", p, now, r.Time, expiry[r.Key], present)
						}
					}
				}
			}
			if f.table.Len() != 0 {
				t.Errorf("%d rows left", f.table.Len())
			}
		})
	}
}

func TestSweepSkipsHeld(t *testing.T) {
	f := newFixture(t)
	f.fill(day(2024, 12, 1), 300, 5)
	if _, err := f.holds.Place(ctx, retention.Hold{ID: "case-1", Subject: "s2", Reason: "pending claim", PlacedBy: gdpr.Staff("legal-1")}); err != nil {
		t.Fatal(err)
	}
	// A hold on another category, and one that has ended, hold nothing here.
	if _, err := f.holds.Place(ctx, retention.Hold{ID: "case-2", Subject: "s3", Categories: []string{"invoices"}, Reason: "audit", PlacedBy: gdpr.Staff("legal-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.holds.Place(ctx, retention.Hold{ID: "case-3", Subject: "s4", Reason: "old", PlacedBy: gdpr.Staff("legal-1"), Until: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(2 * time.Hour)
	gone, kept := f.expired(f.clock.Now(), "s2")
	sw, err := f.sweep.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, gone, kept)
	if ts := sw.Targets[0]; ts.HeldRecords != int64(len(kept)) || ts.Acted != int64(len(gone)) {
		t.Errorf("report %+v, want %d acted and %d held", ts, len(gone), len(kept))
	}
	// Released, the hold keeps nothing at the next sweep.
	if _, err := f.holds.Release(ctx, "case-1", gdpr.Staff("legal-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sweep.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for k := range kept {
		if _, ok := f.table.Get(k); ok {
			t.Errorf("row %s survived after its hold was released", k)
		}
	}
}

func TestSweepCategoryHold(t *testing.T) {
	f := newFixture(t)
	f.fill(day(2024, 12, 1), 100, 5)
	if _, err := f.holds.Place(ctx, retention.Hold{ID: "order-7", Categories: []string{"logins"}, Reason: "authority order", PlacedBy: gdpr.Staff("dpo")}); err != nil {
		t.Fatal(err)
	}
	sw, err := f.sweep.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.table.Len() != 100 || !sw.Targets[0].Held || sw.Targets[0].Acted != 0 {
		t.Errorf("a hold on the whole category: %d rows left, report %+v", f.table.Len(), sw.Targets[0])
	}
	if ev := f.rec.ByAction("retention.swept"); len(ev) != 2 || ev[1].Attrs["category_held"] != "true" {
		t.Errorf("events %+v", ev)
	}
}

// TestSweepHoldDuringSweep places a hold after the first batch: the
// next batch respects it.
func TestSweepHoldDuringSweep(t *testing.T) {
	var f *fixture
	var once sync.Once
	var heldAt int64 = -1
	f = newFixture(t, retention.WithProgress(func(sw retention.Sweep) {
		once.Do(func() {
			heldAt = sw.Targets[0].Acted
			if _, err := f.holds.Place(ctx, retention.Hold{ID: "late", Subject: "s1", Reason: "claim filed", PlacedBy: gdpr.Staff("legal")}); err != nil {
				t.Error(err)
			}
		})
	}))
	f.fill(day(2024, 12, 1), 200, 4)
	var s1 []string
	for _, r := range f.table.Rows() {
		if r.Subject == "s1" && !f.policy.Expiry(r.Time).After(f.clock.Now()) {
			s1 = append(s1, r.Key)
		}
	}
	if _, err := f.sweep.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if heldAt < 0 {
		t.Fatal("progress was not called")
	}
	// The first batch (10 rows) ran before the hold; every s1 row after
	// it survives.
	survived := 0
	for _, k := range s1 {
		if _, ok := f.table.Get(k); ok {
			survived++
		}
	}
	if survived < len(s1)-10 || survived == 0 {
		t.Errorf("%d of %d expired rows of the held subject survived; the hold was placed after the first batch of 10", survived, len(s1))
	}
}

// counting wraps a Deleter, counting the records each key was acted on
// and failing (or cancelling) at the batch given.
type counting struct {
	inner  *memretention.Table
	mu     sync.Mutex
	calls  int
	failAt int // fail the call of this number (1-based); 0 never
	cancel context.CancelFunc
	acted  map[string]int
}

func (c *counting) Expire(ctx context.Context, b retention.Batch) (retention.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls == c.failAt {
		if c.cancel != nil {
			c.cancel()
			return retention.Result{}, ctx.Err()
		}
		return retention.Result{}, errors.New("connection reset")
	}
	before := map[string]bool{}
	for _, r := range c.inner.Rows() {
		before[r.Key] = true
	}
	res, err := c.inner.Expire(ctx, b)
	for _, r := range c.inner.Rows() {
		delete(before, r.Key)
	}
	for k := range before {
		c.acted[k]++
	}
	return res, err
}

// TestSweepResumes stops a sweep at every batch boundary, by a failing
// Deleter and by a cancelled context, and checks that the next sweep
// resumes it: the same sweep, every expired row deleted exactly once,
// the counts adding up.
func TestSweepResumes(t *testing.T) {
	for _, mode := range []string{"error", "cancel"} {
		for failAt := 1; failAt <= 8; failAt++ {
			t.Run(fmt.Sprintf("%s/%d", mode, failAt), func(t *testing.T) {
				f := newFixture(t)
				f.fill(day(2024, 12, 1), 200, 3)
				gone, _ := f.expired(f.clock.Now())
				c := &counting{inner: f.table, failAt: failAt, acted: map[string]int{}}
				sw, err := retention.NewSweeper(f.store, retention.WithPolicies(f.policy),
					retention.WithTargets(retention.Target{Name: "logins", Category: "logins", Deleter: c}),
					retention.WithClock(f.clock.Now), retention.WithBatchSize(10), retention.WithRecorder(f.rec))
				if err != nil {
					t.Fatal(err)
				}
				sctx := ctx
				if mode == "cancel" {
					var cancel context.CancelFunc
					sctx, cancel = context.WithCancel(ctx)
					c.cancel = cancel
				}
				first, err := sw.Sweep(sctx)
				if err == nil {
					t.Fatal("the sweep did not stop")
				}
				if mode == "error" && !errors.Is(err, retention.ErrTarget) {
					t.Errorf("error %v, want ErrTarget", err)
				}
				if mode == "cancel" && !errors.Is(err, context.Canceled) {
					t.Errorf("error %v, want context.Canceled", err)
				}
				if strings.Contains(err.Error(), "connection reset") {
					t.Errorf("the deleter's own error text is in the sweep's: %v", err)
				}
				// The lease was released: a new sweep runs at once, and
				// resumes the same sweep.
				f.clock.Add(time.Hour)
				second, err := sw.Sweep(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if second.ID != first.ID || !second.Started.Equal(first.Started) {
					t.Errorf("the second sweep %s did not resume the first %s", second.ID, first.ID)
				}
				f.check(t, gone, nil)
				for k, n := range c.acted {
					if n != 1 {
						t.Errorf("row %s acted on %d times", k, n)
					}
				}
				if len(c.acted) != len(gone) || second.Targets[0].Acted != int64(len(gone)) {
					t.Errorf("%d rows acted on, report says %d, want %d", len(c.acted), second.Targets[0].Acted, len(gone))
				}
				if ev := f.rec.ByAction("retention.swept"); ev[len(ev)-1].Attrs["stage"] != "done" {
					t.Errorf("last event %+v", ev[len(ev)-1])
				}
			})
		}
	}
}

// blocking is a Deleter that waits in its first call until released.
type blocking struct {
	inner   retention.Deleter
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blocking) Expire(ctx context.Context, batch retention.Batch) (retention.Result, error) {
	b.once.Do(func() {
		close(b.started)
		<-b.release
	})
	return b.inner.Expire(ctx, batch)
}

// TestSweepLease runs two sweepers of one name on one store: while the
// first sweeps, the second gets ErrLeased and deletes nothing; then it
// runs.
func TestSweepLease(t *testing.T) {
	f := newFixture(t)
	f.fill(day(2024, 12, 1), 100, 3)
	b := &blocking{inner: f.table, started: make(chan struct{}), release: make(chan struct{})}
	mk := func(d retention.Deleter) *retention.Sweeper {
		s, err := retention.NewSweeper(f.store, retention.WithPolicies(f.policy),
			retention.WithTargets(retention.Target{Name: "logins", Category: "logins", Deleter: d}),
			retention.WithClock(f.clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	one, two := mk(b), mk(f.table)
	done := make(chan error, 1)
	go func() {
		_, err := one.Sweep(ctx)
		done <- err
	}()
	<-b.started
	n := f.table.Len()
	if _, err := two.Sweep(ctx); !errors.Is(err, retention.ErrLeased) || !errors.Is(err, gdpr.ErrConflict) {
		t.Errorf("second sweeper: %v, want ErrLeased", err)
	}
	if f.table.Len() != n {
		t.Error("the second sweeper deleted while the first held the lease")
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := two.Sweep(ctx); err != nil {
		t.Errorf("after the first finished: %v", err)
	}
}

// TestSweepLeaseLost lets the lease lapse midway: the sweeper that lost
// it stops at the next batch with ErrLeaseLost.
func TestSweepLeaseLost(t *testing.T) {
	var f *fixture
	var other *retention.Sweeper
	calls := 0
	f = newFixture(t, retention.WithProgress(func(retention.Sweep) {
		calls++
		if calls == 1 {
			f.clock.Add(2 * time.Minute) // past the lease
			if _, err := f.store.AcquireSweep(ctx, retention.DefaultName, "other", f.clock.Now(), time.Hour); err != nil {
				t.Error(err)
			}
		}
	}))
	_ = other
	f.fill(day(2024, 12, 1), 100, 3)
	_, err := f.sweep.Sweep(ctx)
	if !errors.Is(err, retention.ErrLeaseLost) {
		t.Fatalf("%v, want ErrLeaseLost", err)
	}
	if calls != 1 {
		t.Errorf("%d batches ran, want 1 before the lease was found lost", calls)
	}
}

func TestDryRun(t *testing.T) {
	f := newFixture(t)
	f.fill(day(2024, 12, 1), 300, 5)
	if _, err := f.holds.Place(ctx, retention.Hold{ID: "h", Subject: "s1", Reason: "claim", PlacedBy: gdpr.Staff("l")}); err != nil {
		t.Fatal(err)
	}
	gone, kept := f.expired(f.clock.Now(), "s1")
	f.rec.Reset()
	sw, err := f.sweep.DryRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.table.Len() != 300 || f.rec.Len() != 0 {
		t.Errorf("a dry run changed %d rows and recorded %d events", 300-f.table.Len(), f.rec.Len())
	}
	if ts := sw.Targets[0]; ts.Acted != int64(len(gone)) || ts.HeldRecords != int64(len(kept)) {
		t.Errorf("dry run counted %+v, want %d and %d held", ts, len(gone), len(kept))
	}
	if _, err := f.sweep.LastSweep(ctx); !errors.Is(err, retention.ErrNotFound) {
		t.Errorf("a dry run saved a checkpoint: %v", err)
	}
}

func TestReviewChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.policy.Action = retention.Review
	var err error
	f.sweep, err = retention.NewSweeper(f.store, retention.WithPolicies(f.policy),
		retention.WithTargets(retention.Target{Name: "logins", Category: "logins", Deleter: f.table}),
		retention.WithClock(f.clock.Now), retention.WithRecorder(f.rec))
	if err != nil {
		t.Fatal(err)
	}
	f.fill(day(2024, 12, 1), 100, 3)
	gone, _ := f.expired(f.clock.Now())
	sw, err := f.sweep.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.table.Len() != 100 || sw.Targets[0].Acted != int64(len(gone)) {
		t.Errorf("review: %d rows left, %d counted, want 100 and %d", f.table.Len(), sw.Targets[0].Acted, len(gone))
	}
	if ev := f.rec.ByAction("retention.review_due"); len(ev) != 2 || ev[1].Attrs["acted"] != fmt.Sprint(len(gone)) {
		t.Errorf("events %+v", ev)
	}
}

func TestAnonymise(t *testing.T) {
	f := newFixture(t)
	f.policy = retention.Policy{Category: "logins", Period: gdpr.Period{Months: 1}, Action: retention.Anonymise, Strategy: "drop-ip"}
	f.table.Strategy("drop-ip", func(r memretention.Row) memretention.Row {
		r.Fields["ip"] = nil
		return r
	})
	var err error
	f.sweep, err = retention.NewSweeper(f.store, retention.WithPolicies(f.policy),
		retention.WithTargets(retention.Target{Name: "logins", Category: "logins", Deleter: f.table}),
		retention.WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	f.table.Put(memretention.Row{Key: "old", Subject: "s", Time: day(2025, 1, 1), Fields: map[string]any{"ip": "192.0.2.7", "ok": true}},
		memretention.Row{Key: "new", Subject: "s", Time: day(2025, 2, 20), Fields: map[string]any{"ip": "192.0.2.8"}})
	if _, err := f.sweep.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	old, _ := f.table.Get("old")
	if old.Subject != "" || old.Fields["ip"] != nil || old.Fields["ok"] != true {
		t.Errorf("anonymised row %+v", old)
	}
	if n, _ := f.table.Get("new"); n.Subject != "s" || n.Fields["ip"] != "192.0.2.8" {
		t.Errorf("row not expired was changed: %+v", n)
	}
}

func TestNewSweeperErrors(t *testing.T) {
	store := memretention.New()
	table := memretention.NewTable(retention.FromCollection)
	pol := retention.Policy{Category: "logins", Period: gdpr.Period{Months: 1}}
	tgt := retention.Target{Name: "logins", Category: "logins", Deleter: table}
	reg := &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{ID: "account", Name: "Account", Purpose: "account", Basis: gdpr.Contract,
			SubjectCategories: []string{"users"}, DataCategories: []gdpr.Category{{ID: "logins"}},
			Retention: gdpr.RetentionRule{Description: "until the account is closed"}}},
	}
	for _, c := range []struct {
		name  string
		store retention.Store
		opts  []retention.Option
		want  error
		field string
	}{
		{"nil store", nil, []retention.Option{retention.WithPolicies(pol), retention.WithTargets(tgt)}, retention.ErrInvalid, "store"},
		{"no targets", store, []retention.Option{retention.WithPolicies(pol)}, retention.ErrInvalid, "WithTargets"},
		{"no policy", store, []retention.Option{retention.WithTargets(tgt)}, retention.ErrNoPolicy, "WithTargets"},
		{"register without period", store, []retention.Option{retention.WithRegister(reg), retention.WithTargets(tgt)}, retention.ErrNoPolicy, "policies"},
		{"unknown category", store, []retention.Option{retention.WithRegister(reg), retention.WithPolicies(pol, retention.Policy{Category: "health", Period: gdpr.Period{Years: 1}}), retention.WithTargets(tgt)}, retention.ErrUnknownCategory, "policies"},
		{"target of unknown category", store, []retention.Option{retention.WithRegister(reg), retention.WithPolicies(pol), retention.WithTargets(tgt, retention.Target{Name: "x", Category: "health", Deleter: table})}, retention.ErrUnknownCategory, "WithTargets"},
		{"zero period", store, []retention.Option{retention.WithPolicies(retention.Policy{Category: "logins"}), retention.WithTargets(tgt)}, retention.ErrInvalid, "policies[0].period"},
		{"counts from another event", store, []retention.Option{retention.WithPolicies(retention.Policy{Category: "logins", Period: gdpr.Period{Months: 1}, From: retention.FromLastActivity}), retention.WithTargets(tgt)}, retention.ErrInvalid, "WithTargets"},
		{"target twice", store, []retention.Option{retention.WithPolicies(pol), retention.WithTargets(tgt, tgt)}, retention.ErrInvalid, "WithTargets"},
		{"nil deleter", store, []retention.Option{retention.WithPolicies(pol), retention.WithTargets(retention.Target{Name: "a", Category: "logins"})}, retention.ErrInvalid, "WithTargets"},
		{"nil option", store, []retention.Option{nil}, retention.ErrInvalid, ""},
		{"batch size", store, []retention.Option{retention.WithPolicies(pol), retention.WithTargets(tgt), retention.WithBatchSize(0)}, retention.ErrInvalid, "WithBatchSize"},
		{"nil clock", store, []retention.Option{retention.WithPolicies(pol), retention.WithTargets(tgt), retention.WithClock(nil)}, retention.ErrInvalid, "WithClock"},
	} {
		s, err := retention.NewSweeper(c.store, c.opts...)
		var re *retention.Error
		if s != nil || !errors.Is(err, c.want) || !errors.As(err, &re) || re.Field != c.field || re.Op != "new" {
			t.Errorf("%s: %v, %v; want %v at %q", c.name, s, err, c.want, c.field)
		}
	}
	// An option of NewSweeper given to NewHolds.
	if _, err := retention.NewHolds(store, retention.WithTargets(tgt)); !errors.Is(err, retention.ErrInvalid) {
		t.Errorf("NewHolds(WithTargets): %v", err)
	}
}

// misbehaving returns what its function says.
type misbehaving func(b retention.Batch) retention.Result

func (m misbehaving) Expire(_ context.Context, b retention.Batch) (retention.Result, error) {
	return m(b), nil
}

func TestSweepRefusesBadDeleters(t *testing.T) {
	for name, d := range map[string]misbehaving{
		"over the limit": func(b retention.Batch) retention.Result { return retention.Result{Acted: int64(b.Limit) + 1} },
		"negative":       func(b retention.Batch) retention.Result { return retention.Result{Acted: -1} },
		"no progress":    func(b retention.Batch) retention.Result { return retention.Result{Cursor: b.Cursor} },
		"only held":      func(b retention.Batch) retention.Result { return retention.Result{Held: 3, Cursor: b.Cursor} },
		"binary cursor":  func(b retention.Batch) retention.Result { return retention.Result{Acted: 1, Cursor: "\xff\xfe"} },
		"long cursor": func(b retention.Batch) retention.Result {
			return retention.Result{Cursor: strings.Repeat("x", retention.MaxCursorLen+1)}
		},
	} {
		s, err := retention.NewSweeper(memretention.New(), retention.WithPolicies(retention.Policy{Category: "c", Period: gdpr.Period{Days: 1}}),
			retention.WithTargets(retention.Target{Name: "t", Category: "c", Deleter: d}))
		if err != nil {
			t.Fatal(err)
		}
		var re *retention.Error
		if _, err := s.Sweep(ctx); !errors.Is(err, retention.ErrTarget) || !errors.As(err, &re) || re.Field != "t" {
			t.Errorf("%s: %v, want ErrTarget at the target", name, err)
		}
	}
}

func TestSweepRecorderFailure(t *testing.T) {
	f := newFixture(t)
	f.fill(day(2024, 12, 1), 50, 3)
	f.rec.FailWith(errors.New("audit log down"))
	if _, err := f.sweep.Sweep(ctx); !errors.Is(err, retention.ErrNotRecorded) {
		t.Errorf("%v, want ErrNotRecorded", err)
	}
	if f.table.Len() != 50 {
		t.Errorf("%d rows deleted though the sweep could not be recorded", 50-f.table.Len())
	}
}

func TestNotices(t *testing.T) {
	f := newFixture(t)
	// Rows of 1 to 28 February 2025; on 1 March their P1M ends between
	// 1 and 28 March.
	for d := 1; d <= 28; d++ {
		f.table.Put(memretention.Row{Key: fmt.Sprintf("k%02d", d), Subject: gdpr.SubjectID(fmt.Sprintf("s%02d", d%10)), Time: day(2025, 2, d).Add(9 * time.Hour)})
	}
	f.table.Put(memretention.Row{Key: "expired", Subject: "s99", Time: day(2025, 1, 2)})
	if _, err := f.holds.Place(ctx, retention.Hold{ID: "h", Subject: "s03", Reason: "claim", PlacedBy: gdpr.Staff("l")}); err != nil {
		t.Fatal(err)
	}
	got := map[gdpr.SubjectID]time.Time{}
	var order []gdpr.SubjectID
	for n, err := range f.sweep.Notices(ctx, 7*24*time.Hour) {
		if err != nil {
			t.Fatal(err)
		}
		got[n.Subject] = n.Expires
		order = append(order, n.Subject)
		if n.Target != "logins" || n.Category != "logins" || n.Action != retention.Delete {
			t.Errorf("notice %+v", n)
		}
	}
	// Within 7 days of 1 March: rows whose expiry is at or before 8
	// March, i.e. of 1 to 6 February (expiring 2 to 7 March) — the
	// expiry of 7 February's is 8 March 00:00, within the window too.
	want := map[gdpr.SubjectID]time.Time{"s01": day(2025, 3, 2), "s02": day(2025, 3, 3), "s04": day(2025, 3, 5),
		"s05": day(2025, 3, 6), "s06": day(2025, 3, 7), "s07": day(2025, 3, 8)}
	if len(got) != len(want) {
		t.Errorf("notices %v, want %v", got, want)
	}
	for s, e := range want {
		if !got[s].Equal(e) {
			t.Errorf("%s expires %s, want %s", s, got[s], e)
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Errorf("not in subject order: %v", order)
		}
	}
	if _, ok := got["s03"]; ok {
		t.Error("a held subject was given notice")
	}
	for _, err := range f.sweep.Notices(ctx, 0) {
		if !errors.Is(err, retention.ErrInvalid) {
			t.Errorf("a zero window: %v", err)
		}
	}
}

func TestRun(t *testing.T) {
	f := newFixture(t)
	f.fill(day(2024, 12, 1), 50, 3)
	rctx, cancel := context.WithCancel(ctx)
	var runs atomic.Int32
	err := f.sweep.Run(rctx, time.Second, 200*time.Millisecond, func(sw retention.Sweep, err error) {
		if err != nil {
			t.Error(err)
		}
		if runs.Add(1) == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || runs.Load() != 2 {
		t.Errorf("Run: %v after %d sweeps", err, runs.Load())
	}
	if err := f.sweep.Run(ctx, time.Millisecond, 0, nil); !errors.Is(err, retention.ErrInvalid) {
		t.Errorf("an interval under a second: %v", err)
	}
}

// TestSweepCursorlessDeleter sweeps with a Deleter that keeps no cursor,
// a plain DELETE ... LIMIT: it is done when a batch acts on fewer than
// the limit. Its dry run, which would count the same records forever, is
// refused.
func TestSweepCursorlessDeleter(t *testing.T) {
	f := newFixture(t)
	f.fill(day(2024, 12, 1), 95, 3)
	gone, _ := f.expired(f.clock.Now())
	plain := retention.DeleterFunc(func(ctx context.Context, b retention.Batch) (retention.Result, error) {
		b.Cursor = ""
		res, err := f.table.Expire(ctx, b)
		res.Cursor = ""
		res.Done = res.Acted < int64(b.Limit)
		return res, err
	})
	s, err := retention.NewSweeper(f.store, retention.WithPolicies(f.policy),
		retention.WithTargets(retention.Target{Name: "plain", Category: "logins", Deleter: plain}),
		retention.WithClock(f.clock.Now), retention.WithBatchSize(10))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DryRun(ctx); !errors.Is(err, retention.ErrTarget) {
		t.Errorf("a dry run without a cursor: %v, want ErrTarget", err)
	}
	sw, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, gone, nil)
	if sw.Targets[0].Acted != int64(len(gone)) {
		t.Errorf("acted %d, want %d", sw.Targets[0].Acted, len(gone))
	}
}

// TestNewSweeperChecksStrategies: a policy that anonymises by a
// strategy its target's Deleter does not name fails when the Sweeper is
// made, not at the first sweep.
func TestNewSweeperChecksStrategies(t *testing.T) {
	table := memretention.NewTable(retention.FromCollection)
	table.Strategy("drop-ip", func(r memretention.Row) memretention.Row { return r })
	mk := func(strategy string) error {
		_, err := retention.NewSweeper(memretention.New(),
			retention.WithPolicies(retention.Policy{Category: "logins", Period: gdpr.Period{Months: 1}, Action: retention.Anonymise, Strategy: strategy}),
			retention.WithTargets(retention.Target{Name: "logins", Category: "logins", Deleter: table}))
		return err
	}
	if err := mk("drop-ip"); err != nil {
		t.Errorf("a strategy the table has: %v", err)
	}
	var re *retention.Error
	if err := mk("drop_ip"); !errors.Is(err, retention.ErrInvalid) || !errors.As(err, &re) || re.Field != "WithTargets" {
		t.Errorf("a misspelt strategy: %v, want ErrInvalid at WithTargets", err)
	}
}
