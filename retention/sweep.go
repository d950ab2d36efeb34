package retention

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/google/uuid"
)

// Sweeper enforces the retention policies: a sweep takes, for each
// target, its policy's cut-off from the clock and calls the target's
// Deleter in batches until none of its expired records remain, skipping
// the records legal holds keep. It is safe for concurrent use; sweeps of
// one name run one at a time across every instance sharing the Store
// (the lease), and a sweep that stopped midway is resumed from its
// checkpoint by the next.
type Sweeper struct {
	store    Store
	name     string
	owner    string
	targets  []sweepTarget
	batch    int
	ttl      time.Duration
	now      func() time.Time
	loc      *time.Location
	recorder gdpr.Recorder
	actor    gdpr.Actor
	progress func(Sweep)
}

type sweepTarget struct {
	Target
	policy Policy
}

// NewSweeper returns a Sweeper of the targets WithTargets gives, each
// enforcing its category's policy (WithRegister, WithPolicies). It is an
// error wrapping ErrInvalid when the store is nil or an option is bad;
// ErrNoPolicy when a target's category has no policy, or a category of
// the Register none (see Policies); ErrUnknownCategory when a policy or a
// target names a category the Register does not declare; ErrInvalid when
// a target's Deleter counts from another event than its policy
// (FromDeclarer), or lacks the strategy its policy anonymises by
// (StrategyDeclarer). Nothing is swept until Sweep.
func NewSweeper(store Store, opts ...Option) (*Sweeper, error) {
	s, err := newSweeper(store, opts)
	return s, wrap("new", err)
}

func newSweeper(store Store, opts []Option) (*Sweeper, error) {
	if store == nil {
		return nil, invalid("store", "nil store")
	}
	cfg := newSettings()
	if err := cfg.apply(forSweeper, opts); err != nil {
		return nil, err
	}
	if len(cfg.targets) == 0 {
		return nil, invalid("WithTargets", "a Sweeper needs at least one target")
	}
	pols, err := policies(cfg.register, cfg.policies)
	if err != nil {
		return nil, err
	}
	byCat := map[string]Policy{}
	for _, p := range pols {
		byCat[p.Category] = p
	}
	s := &Sweeper{store: store, name: cfg.name, owner: cfg.owner, batch: cfg.batch, ttl: cfg.ttl,
		now: cfg.now, loc: cfg.loc, recorder: cfg.recorder, actor: cfg.actor, progress: cfg.progress}
	if s.owner == "" {
		var b [4]byte
		rand.Read(b[:])
		s.owner = "retention-" + hex.EncodeToString(b[:])
	}
	for _, t := range cfg.targets {
		p, ok := byCat[t.Category]
		if !ok {
			if cfg.register != nil && !declares(cfg.register, t.Category) {
				return nil, at("WithTargets", because(ErrUnknownCategory, "target "+show(t.Name)+": category "+show(t.Category)+" is not in the register", nil))
			}
			return nil, at("WithTargets", because(ErrNoPolicy, "target "+show(t.Name)+": category "+show(t.Category)+" has no policy", nil))
		}
		if d, ok := t.Deleter.(FromDeclarer); ok && d.CountsFrom() != p.From {
			return nil, at("WithTargets", because(ErrInvalid, "target "+show(t.Name)+" counts from "+show(string(d.CountsFrom()))+
				" but the policy of its category from "+show(string(p.From)), nil))
		}
		if d, ok := t.Deleter.(StrategyDeclarer); ok && p.Action == Anonymise && !slices.Contains(d.Strategies(), p.Strategy) {
			return nil, at("WithTargets", because(ErrInvalid, "target "+show(t.Name)+" has no strategy "+show(p.Strategy)+
				", which the policy of its category anonymises by", nil))
		}
		s.targets = append(s.targets, sweepTarget{Target: t, policy: p})
	}
	return s, nil
}

func declares(r *gdpr.Register, category string) bool {
	for _, a := range r.Activities {
		for _, c := range a.DataCategories {
			if c.ID == category {
				return true
			}
		}
	}
	return false
}

// Policies returns the Sweeper's targets' policies, one per target, in
// the order swept.
func (s *Sweeper) Policies() []Policy {
	out := make([]Policy, len(s.targets))
	for i, t := range s.targets {
		out[i] = t.policy
	}
	return out
}

// clock returns the Sweeper's now in its location, at the microsecond
// precision the SQL stores keep.
func (s *Sweeper) clock() time.Time {
	return s.now().In(s.loc).Truncate(time.Microsecond)
}

// Sweep runs one sweep and returns its report: for every target the
// cut-off and the records deleted, anonymised or due for review, and
// those held. It takes the sweep's lease first: if another sweeper of
// the same name holds it, Sweep returns ErrLeased at once and sweeps
// nothing. If the last sweep of this name stopped midway over the same
// targets, Sweep resumes it, with its cursors and its cut-offs (but none
// later than its policy's at now, so a period lengthened since is
// respected); otherwise it begins a new one. A batch's context ends
// when the lease would lapse, and a lease lapsed before or during a
// batch is ErrLeaseLost.
//
// Before every batch it reads the holds in force, so a hold placed
// during a sweep is respected from the next batch on; a hold of a whole
// category skips the category. After every batch it saves the
// checkpoint and renews the lease (an ErrLeaseLost stops it), then calls
// the progress function. A Deleter's error stops the sweep with an error
// wrapping ErrTarget that names the target; ctx's end stops it between
// batches. Either way the report so far is returned with the error, and
// the next Sweep resumes from the last checkpoint: no record is acted on
// twice, none is skipped.
//
// Each target is recorded ("retention.swept") before its first batch is
// acted on, as begun, and when it is done, with its counts; a Recorder
// error stops the sweep before anything more is deleted.
func (s *Sweeper) Sweep(ctx context.Context) (Sweep, error) {
	if err := checkCtx("sweep", ctx); err != nil {
		return Sweep{}, err
	}
	sw, err := s.sweep(ctx)
	return sw, wrap("sweep", err)
}

func (s *Sweeper) sweep(ctx context.Context) (Sweep, error) {
	now := s.clock()
	lease, err := s.store.AcquireSweep(ctx, s.name, s.owner, now, s.ttl)
	if err != nil {
		return Sweep{}, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		s.store.ReleaseSweep(rctx, lease)
	}()
	sw, err := s.resume(ctx, now)
	if err != nil {
		return Sweep{}, err
	}
	// Save the plan before anything is acted on: a crash from here on
	// resumes this sweep.
	if err := s.save(ctx, &lease, sw); err != nil {
		return sw, err
	}
	for i := range sw.Targets {
		if sw.Targets[i].Done {
			continue
		}
		if err := s.sweepTarget(ctx, &lease, &sw, i, false); err != nil {
			return sw, err
		}
	}
	sw.Finished = s.clock()
	if err := s.save(ctx, &lease, sw); err != nil {
		sw.Finished = time.Time{}
		return sw, err
	}
	return sw.clone(), nil
}

// resume returns the last sweep if it stopped midway over the same
// targets, or a new sweep with the cut-offs of now.
func (s *Sweeper) resume(ctx context.Context, now time.Time) (Sweep, error) {
	last, err := s.store.LastSweep(ctx, s.name)
	switch {
	case errors.Is(err, ErrNotFound) || errors.Is(err, gdpr.ErrNotFound):
	case err != nil:
		return Sweep{}, err
	case last.Finished.IsZero() && s.sameTargets(last):
		// The saved cut-offs, but never one after the policy's at now: a
		// period lengthened since, a clock that ran ahead, a checkpoint
		// altered in the database must not delete what the policy in
		// force keeps.
		for i, t := range s.targets {
			if c := t.policy.Cutoff(now); c.Before(last.Targets[i].Cutoff) {
				last.Targets[i].Cutoff = c
			}
		}
		return last, nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Sweep{}, err
	}
	sw := Sweep{Name: s.name, ID: id.String(), Started: now}
	for _, t := range s.targets {
		sw.Targets = append(sw.Targets, TargetSweep{Target: t.Name, Category: t.Category, Action: t.policy.Action,
			Cutoff: t.policy.Cutoff(now)})
	}
	return sw, nil
}

// sameTargets reports whether last swept the Sweeper's targets, in
// order, with the same categories and actions: only then can it be
// resumed.
func (s *Sweeper) sameTargets(last Sweep) bool {
	if len(last.Targets) != len(s.targets) {
		return false
	}
	for i, t := range s.targets {
		l := last.Targets[i]
		if l.Target != t.Name || l.Category != t.Category || l.Action != t.policy.Action {
			return false
		}
	}
	return true
}

func (s *Sweeper) save(ctx context.Context, l *Lease, sw Sweep) error {
	now := s.clock()
	until := now.Add(s.ttl)
	if err := s.store.SaveSweep(ctx, *l, sw, now, until); err != nil {
		return err
	}
	l.Until = until
	return nil
}

// sweepTarget sweeps target i of sw from its cursor until it is done.
// In a dry run nothing is saved or recorded.
func (s *Sweeper) sweepTarget(ctx context.Context, l *Lease, sw *Sweep, i int, dry bool) error {
	t := s.targets[i]
	ts := &sw.Targets[i]
	review := t.policy.Action == Review
	if !dry && ts.Batches == 0 {
		if err := s.record(ctx, sw.ID, t, ts, "begun", gdpr.Success); err != nil {
			return err
		}
	}
	if ts.Cutoff.Year() < 1 {
		// A period reaching back before the year 1 ("keep for 3,000
		// years"): nothing has expired, and no Deleter need hold such a
		// time.
		ts.Done = true
	}
	for !ts.Done {
		if err := ctx.Err(); err != nil {
			return err
		}
		whole, held, err := s.held(ctx, t.Category)
		if err != nil {
			return err
		}
		if whole {
			ts.Held, ts.Done = true, true
			break
		}
		b := Batch{Target: t.Name, Policy: t.policy, Before: ts.Cutoff, Limit: s.batch, Cursor: ts.Cursor,
			Held: held, DryRun: dry || review}
		bctx, cancel := ctx, context.CancelFunc(func() {})
		if !dry {
			// A batch ends with the lease: past it another sweeper may
			// have taken over. (The lease is on the Sweeper's clock,
			// the deadline on the real one.)
			left := l.Until.Sub(s.clock())
			if left <= 0 {
				return because(ErrLeaseLost, "the lease lapsed before the batch", nil)
			}
			bctx, cancel = context.WithTimeout(ctx, left)
		}
		began := time.Now()
		res, err := t.Deleter.Expire(bctx, b)
		took := time.Since(began)
		lapsed := ctx.Err() == nil && errors.Is(bctx.Err(), context.DeadlineExceeded)
		cancel()
		if lapsed {
			// Whatever the Deleter did, the lease lapsed under it: the
			// batch is left for the sweeper that holds the lease now.
			if !dry {
				s.record(ctx, sw.ID, t, ts, "failed", gdpr.Failure)
			}
			return because(ErrLeaseLost, "the lease lapsed during a batch of target "+show(t.Name), err)
		}
		if err == nil {
			err = checkResult(b, res)
		}
		if err != nil {
			if !dry {
				s.record(ctx, sw.ID, t, ts, "failed", gdpr.Failure)
			}
			return at(t.Name, because(ErrTarget, "the deleter of target "+show(t.Name)+" failed", err))
		}
		ts.Batches++
		ts.Acted += res.Acted
		ts.HeldRecords += res.Held
		ts.Longest = max(ts.Longest, took)
		ts.Cursor = res.Cursor
		ts.Done = res.Done
		if !dry {
			if err := s.save(ctx, l, *sw); err != nil {
				return err
			}
		}
		if s.progress != nil {
			s.progress(sw.clone())
		}
		if res.Done {
			break
		}
		// A batch that left the cursor where it was would be run again on
		// the same records: only a Deleter that removed some (a plain
		// DELETE ... LIMIT, with no cursor) is making progress.
		if res.Cursor == b.Cursor && (res.Acted == 0 || b.DryRun) {
			if !dry {
				s.record(ctx, sw.ID, t, ts, "failed", gdpr.Failure)
			}
			return at(t.Name, because(ErrTarget, "the deleter of target "+show(t.Name)+" made no progress and is not done", nil))
		}
	}
	if dry {
		return nil
	}
	return s.record(ctx, sw.ID, t, ts, "done", gdpr.Success)
}

// checkResult refuses a Result no Deleter keeping the contract returns.
func checkResult(b Batch, r Result) error {
	switch {
	case r.Acted < 0 || r.Held < 0:
		return because(ErrInvalid, "negative counts", nil)
	case r.Acted > int64(b.Limit) || r.Held > int64(b.Limit)-r.Acted:
		return because(ErrInvalid, "more records than the batch's limit", nil)
	case len(r.Cursor) > MaxCursorLen:
		return because(ErrInvalid, "a cursor over 1024 bytes", nil)
	case !utf8.ValidString(r.Cursor):
		return because(ErrInvalid, "a cursor that is not UTF-8 text", nil)
	}
	return nil
}

// held returns whether a hold in force covers the whole category, and
// otherwise the subjects whose records of it are held, sorted.
func (s *Sweeper) held(ctx context.Context, category string) (bool, []gdpr.SubjectID, error) {
	now := s.clock()
	var subjects []gdpr.SubjectID
	f := HoldFilter{Category: category, InForce: now, Limit: MaxLimit}
	for {
		page, err := s.store.ListHolds(ctx, f)
		if err != nil {
			return false, nil, err
		}
		for _, h := range page {
			if !h.InForce(now) || !h.Covers(h.Subject, category) {
				continue // a Store that selects too much
			}
			if h.Subject == "" {
				return true, nil, nil
			}
			subjects = append(subjects, h.Subject)
		}
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
	}
	slices.Sort(subjects)
	return false, slices.Compact(subjects), nil
}

// record records a target's part of a sweep.
func (s *Sweeper) record(ctx context.Context, sweep string, t sweepTarget, ts *TargetSweep, stage string, o gdpr.Outcome) error {
	if s.recorder == nil {
		return nil
	}
	action := "retention.swept"
	if t.policy.Action == Review {
		action = "retention.review_due"
	}
	attrs := map[string]string{
		"sweep":   sweep,
		"stage":   stage,
		"target":  t.Name,
		"action":  string(t.policy.Action),
		"period":  t.policy.Period.String(),
		"from":    string(t.policy.From),
		"cutoff":  ts.Cutoff.UTC().Format(time.RFC3339),
		"acted":   strconv.FormatInt(ts.Acted, 10),
		"held":    strconv.FormatInt(ts.HeldRecords, 10),
		"batches": strconv.FormatInt(ts.Batches, 10),
	}
	if t.policy.Strategy != "" {
		attrs["strategy"] = t.policy.Strategy
	}
	if ts.Held {
		attrs["category_held"] = "true"
	}
	e := gdpr.Event{Time: s.clock(), Actor: s.actor, Action: action, Categories: []string{t.Category},
		Resource: "retention_target/" + t.Name, Outcome: o, Attrs: attrs}
	if err := s.recorder.Record(ctx, e); err != nil {
		return because(ErrNotRecorded, "the sweep of target "+show(t.Name)+" was not recorded", err)
	}
	return nil
}

// DryRun counts what a sweep would act on now, target by target,
// changing nothing: it takes no lease, saves no checkpoint and records
// nothing. Its report's Acted are the expired records not held.
func (s *Sweeper) DryRun(ctx context.Context) (Sweep, error) {
	if err := checkCtx("dry run", ctx); err != nil {
		return Sweep{}, err
	}
	now := s.clock()
	sw := Sweep{Name: s.name, Started: now}
	for _, t := range s.targets {
		sw.Targets = append(sw.Targets, TargetSweep{Target: t.Name, Category: t.Category, Action: t.policy.Action,
			Cutoff: t.policy.Cutoff(now)})
	}
	for i := range sw.Targets {
		if err := s.sweepTarget(ctx, nil, &sw, i, true); err != nil {
			return sw, wrap("dry run", err)
		}
	}
	sw.Finished = s.clock()
	return sw, nil
}

// LastSweep returns the last sweep's report, finished or stopped
// midway; ErrNotFound before the first.
func (s *Sweeper) LastSweep(ctx context.Context) (Sweep, error) {
	if err := checkCtx("last sweep", ctx); err != nil {
		return Sweep{}, err
	}
	sw, err := s.store.LastSweep(ctx, s.name)
	return sw, wrap("last sweep", err)
}

func (sw Sweep) clone() Sweep {
	sw.Targets = slices.Clone(sw.Targets)
	return sw
}
