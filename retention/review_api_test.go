package retention_test

// Review of package retention: failing tests for concrete defects found in
// the API review. Each test states the contract it expects.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/memretention"
)

// Cutoff must terminate in every time zone. In a zone whose clocks go
// forward at midnight (America/Havana on 10 March 2024, also Chile,
// Paraguay, Lebanon, Iran until 2022), time.Date(…, 0, 0, 0, 0, loc) of
// that day normalises to 23:00 of the day before, so nextDay never leaves
// the day and Cutoff spins forever: a Sweeper WithLocation(Havana) hangs.
func TestReviewCutoffTerminatesAcrossMidnightDSTChange(t *testing.T) {
	havana, err := time.LoadLocation("America/Havana")
	if err != nil {
		t.Fatal("no tzdata:", err)
	}
	p := retention.Policy{Category: "logins", Period: gdpr.Period{Days: 1}}
	now := time.Date(2024, time.March, 11, 12, 0, 0, 0, havana)
	done := make(chan time.Time, 1)
	go func() { done <- p.Cutoff(now) }() // leaks a spinning goroutine while the bug is there
	select {
	case c := <-done:
		// Records of 9 March expire at the start of 11 March; those of
		// 10 March at the start of 12 March: the cut-off is the start of
		// 10 March.
		if y, m, d := c.In(havana).Date(); y != 2024 || m != time.March || d != 10 {
			t.Errorf("Cutoff(%v) = %v; want the first instant of 10 March 2024 in Havana", now, c)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("Policy.Cutoff(%v) in America/Havana did not return within 3s: it loops on the day whose midnight does not exist", now)
	}
}

// Expiry is documented as "00:00, in start's location, of the day after
// the period's last day". Where that midnight does not exist it returns
// 23:00 of the last day itself, so the record is deleted an hour before
// its period has run out.
func TestReviewExpiryIsNotWithinThePeriodsLastDay(t *testing.T) {
	havana, err := time.LoadLocation("America/Havana")
	if err != nil {
		t.Fatal("no tzdata:", err)
	}
	p := retention.Policy{Category: "logins", Period: gdpr.Period{Days: 1}}
	start := time.Date(2024, time.March, 8, 12, 0, 0, 0, havana) // the period's last day is 9 March
	e := p.Expiry(start)
	if y, m, d := e.In(havana).Date(); y != 2024 || m != time.March || d != 10 {
		t.Errorf("Expiry(%v) = %v, still on 9 March: want the first instant of 10 March (01:00 CDT)", start, e)
	}
}

// A sweep that stopped midway is resumed "with its cut-offs and cursors"
// when the targets, categories and actions are the same; the policies'
// periods are not compared. After a host lengthens a period (a legal
// obligation found, P1M becomes P6M), the resumed sweep still deletes with
// the old, later cut-off: data the policy in force keeps are deleted.
func TestReviewResumeDoesNotDeleteWhatTheCurrentPolicyKeeps(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, time.September, 1, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := memretention.New()
	table := memretention.NewTable(retention.FromCollection)
	table.Put(
		memretention.Row{Key: "old", Subject: "user-1", Time: time.Date(2026, time.January, 10, 0, 0, 0, 0, time.UTC)},
		memretention.Row{Key: "recent", Subject: "user-2", Time: time.Date(2026, time.May, 10, 0, 0, 0, 0, time.UTC)},
	)
	calls := 0
	flaky := retention.DeleterFunc(func(ctx context.Context, b retention.Batch) (retention.Result, error) {
		calls++
		if calls == 2 {
			return retention.Result{}, errors.New("connection reset")
		}
		return table.Expire(ctx, b)
	})
	short, err := retention.NewSweeper(store,
		retention.WithPolicies(retention.Policy{Category: "logins", Period: gdpr.Period{Months: 1}}),
		retention.WithTargets(retention.Target{Name: "login_log", Category: "logins", Deleter: flaky}),
		retention.WithBatchSize(1), retention.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Sweep(ctx); !errors.Is(err, retention.ErrTarget) {
		t.Fatalf("first sweep: %v; want ErrTarget from the failing second batch", err)
	}

	long, err := retention.NewSweeper(store,
		retention.WithPolicies(retention.Policy{Category: "logins", Period: gdpr.Period{Months: 6}}),
		retention.WithTargets(retention.Target{Name: "login_log", Category: "logins", Deleter: table}),
		retention.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := long.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := table.Get("recent"); !ok {
		t.Errorf("a record of 10 May 2026 was deleted on 1 September 2026 under a P6M policy (cut-off %v): "+
			"the sweep resumed with the P1M cut-off of the interrupted sweep; a resume must use a cut-off no later than the current policy's",
			long.Policies()[0].Cutoff(now))
	}
}

// "ErrTarget: a target's Deleter failed; the *Error names the target",
// and "Every error is an *Error with the operation, the option, field or
// target at fault". When the Deleter's own error is a *retention.Error (as
// sqlretention.Deleter's and memretention.Table's always are), wrap finds
// it with errors.As deep in the chain and returns the error unwrapped: the
// caller's errors.As then finds the Deleter's *Error (Op "x.Expire",
// Field "cursor") and never learns which target failed.
func TestReviewTargetErrorIsTheSweepsError(t *testing.T) {
	ctx := context.Background()
	failing := retention.DeleterFunc(func(context.Context, retention.Batch) (retention.Result, error) {
		return retention.Result{}, &retention.Error{Op: "mydeleter.Expire", Field: "cursor", Err: retention.ErrInvalid}
	})
	s, err := retention.NewSweeper(memretention.New(),
		retention.WithPolicies(retention.Policy{Category: "logins", Period: gdpr.Period{Months: 6}}),
		retention.WithTargets(retention.Target{Name: "login_log", Category: "logins", Deleter: failing}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Sweep(ctx)
	if !errors.Is(err, retention.ErrTarget) {
		t.Fatalf("Sweep: %v; want ErrTarget", err)
	}
	re, ok := err.(*retention.Error)
	if !ok {
		t.Fatalf("Sweep returned %T (%v); want a *retention.Error at the top", err, err)
	}
	if re.Op != "sweep" || re.Field != "login_log" {
		t.Errorf("Sweep's error: Op %q, Field %q; want Op \"sweep\", Field \"login_log\" (the target)", re.Op, re.Field)
	}
}

// The issue: "a category with no policy where the register demands one"
// is ErrNoPolicy. A category two activities keep, one with a period (P6M)
// and one whose rule is only described ("until the account is closed"),
// needs a policy from code: the longest of the two cannot be known.
// Policies silently takes P6M from collection, so open accounts are
// deleted six months after sign-up.
func TestReviewRegisterPeriodAndDescriptionOnlyRuleNeedsAPolicy(t *testing.T) {
	reg := &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{
			{
				ID: "security", Name: "Security logs", Purpose: "security", Basis: gdpr.Contract,
				SubjectCategories: []string{"customers"},
				DataCategories:    []gdpr.Category{{ID: "accounts"}},
				Retention:         gdpr.RetentionRule{Period: gdpr.Period{Months: 6}},
			},
			{
				ID: "shop", Name: "Accounts", Purpose: "accounts", Basis: gdpr.Contract,
				SubjectCategories: []string{"customers"},
				DataCategories:    []gdpr.Category{{ID: "accounts"}},
				Retention:         gdpr.RetentionRule{Description: "until the account is closed"},
			},
		},
	}
	if err := reg.Validate(); err != nil {
		t.Fatalf("test register: %v", err)
	}
	ps, err := retention.Policies(reg)
	if !errors.Is(err, retention.ErrNoPolicy) {
		t.Errorf("Policies = %v, %v; want ErrNoPolicy: one activity keeps \"accounts\" by a rule with no period, so the longest period is unknown", ps, err)
	}
}

// A batch is meant to be short and the lease to outlast it (WithLeaseTTL);
// nothing enforces it. The Deleter gets the caller's context, with no
// deadline, so a stuck batch outlives the lease while another instance
// takes the sweep over. The batch's context should end no later than the
// lease does.
func TestReviewBatchContextEndsWithTheLease(t *testing.T) {
	ttl := 30 * time.Second
	var deadline time.Time
	var has bool
	d := retention.DeleterFunc(func(ctx context.Context, b retention.Batch) (retention.Result, error) {
		deadline, has = ctx.Deadline()
		return retention.Result{Done: true}, nil
	})
	s, err := retention.NewSweeper(memretention.New(),
		retention.WithPolicies(retention.Policy{Category: "logins", Period: gdpr.Period{Months: 6}}),
		retention.WithTargets(retention.Target{Name: "login_log", Category: "logins", Deleter: d}),
		retention.WithLeaseTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if _, err := s.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !has {
		t.Fatalf("the Deleter's context has no deadline; want one no later than the lease's Until (TTL %v)", ttl)
	}
	if deadline.After(before.Add(ttl + 5*time.Second)) {
		t.Errorf("the Deleter's deadline %v is after the lease lapses (about %v)", deadline, before.Add(ttl))
	}
}

// Each target of each sweep is recorded when begun and when done; a
// resumed sweep keeps its ID. The events do not carry the sweep's ID, so
// an auditor cannot tie "begun" to "done" across a crash, nor an event to
// the report LastSweep returns.
func TestReviewSweptEventsCarryTheSweepID(t *testing.T) {
	var mu sync.Mutex
	var events []gdpr.Event
	rec := gdpr.RecorderFunc(func(_ context.Context, e gdpr.Event) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
		return nil
	})
	table := memretention.NewTable(retention.FromCollection)
	s, err := retention.NewSweeper(memretention.New(),
		retention.WithPolicies(retention.Policy{Category: "logins", Period: gdpr.Period{Months: 6}}),
		retention.WithTargets(retention.Target{Name: "login_log", Category: "logins", Deleter: table}),
		retention.WithRecorder(rec))
	if err != nil {
		t.Fatal(err)
	}
	report, err := s.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) == 0 {
		t.Fatal("no event recorded")
	}
	for _, e := range events {
		found := false
		for _, v := range e.Attrs {
			if v == report.ID {
				found = true
			}
		}
		if !found && !strings.Contains(e.Resource, report.ID) {
			t.Errorf("event %s %v does not name the sweep %s", e.Action, e.Attrs, report.ID)
		}
	}
}

// Run's first sweep comes only after a whole interval, counted from the
// process's start and not from the last sweep the Store remembers. With a
// daily interval and deploys or restarts more often than daily, Run never
// sweeps at all. A sweep that is due (none yet, or the last one older than
// the interval) should start promptly.
func TestReviewRunSweepsPromptlyWhenASweepIsDue(t *testing.T) {
	table := memretention.NewTable(retention.FromCollection)
	s, err := retention.NewSweeper(memretention.New(),
		retention.WithPolicies(retention.Policy{Category: "logins", Period: gdpr.Period{Months: 6}}),
		retention.WithTargets(retention.Target{Name: "login_log", Category: "logins", Deleter: table}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	swept := 0
	s.Run(ctx, time.Hour, 0, func(retention.Sweep, error) { swept++ })
	if swept == 0 {
		t.Errorf("Run(interval 1h) on a store that was never swept did not sweep within 2s: a restart resets the wait, so a host restarted more often than the interval never sweeps")
	}
}
