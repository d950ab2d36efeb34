package retention

import (
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Option configures a Sweeper (NewSweeper) or a Holds (NewHolds). Each
// option's doc says which it configures; given to the other, it is an
// error wrapping ErrInvalid.
type Option interface{ apply(*settings, target) error }

type target uint8

const (
	forSweeper target = 1 << iota
	forHolds
)

var targetNames = map[target]string{forSweeper: "NewSweeper", forHolds: "NewHolds"}

type option struct {
	name string
	to   target
	fn   func(*settings) error
}

func (o option) apply(s *settings, t target) error {
	if o.to&t == 0 {
		var of []string
		for _, x := range []target{forSweeper, forHolds} {
			if o.to&x != 0 {
				of = append(of, targetNames[x])
			}
		}
		return errs.At(o.name, because(ErrInvalid, o.name+" is an option of "+strings.Join(of, ", ")+", not of "+targetNames[t], nil))
	}
	if err := o.fn(s); err != nil {
		return errs.At(o.name, err)
	}
	return nil
}

type settings struct {
	register *gdpr.Register
	policies []Policy
	targets  []Target
	name     string
	owner    string
	batch    int
	ttl      time.Duration
	now      func() time.Time
	loc      *time.Location
	recorder gdpr.Recorder
	actor    gdpr.Actor
	progress func(Sweep)
}

func newSettings() settings {
	return settings{
		name:  DefaultName,
		batch: DefaultBatchSize,
		ttl:   DefaultLeaseTTL,
		now:   time.Now,
		loc:   time.UTC,
		actor: gdpr.System("retention"),
	}
}

func (s *settings) apply(t target, opts []Option) error {
	for _, o := range opts {
		if o == nil {
			return because(ErrInvalid, "nil option", nil)
		}
		if err := o.apply(s, t); err != nil {
			return err
		}
	}
	return nil
}

// Defaults of a Sweeper.
const (
	// DefaultName is the sweep's name unless WithName.
	DefaultName = "default"
	// DefaultBatchSize is the most records a batch examines unless
	// WithBatchSize; MaxBatchSize the most WithBatchSize allows.
	DefaultBatchSize = 1000
	MaxBatchSize     = 100000
	// DefaultLeaseTTL is how long a sweeper's lease lasts past its last
	// batch unless WithLeaseTTL.
	DefaultLeaseTTL = time.Minute
)

// WithRegister gives the Register (Art. 30) the policies come from and
// the categories are checked against: every category of its activities
// takes its activity's retention Period unless WithPolicies gives one
// (see Policies), and a policy, target or hold naming a category the
// Register does not declare is an error wrapping ErrUnknownCategory.
// For NewSweeper and NewHolds. A nil or invalid Register is an error.
func WithRegister(r *gdpr.Register) Option {
	return option{"WithRegister", forSweeper | forHolds, func(s *settings) error {
		if r == nil {
			return because(ErrInvalid, "nil register", nil)
		}
		if err := r.Validate(); err != nil {
			return because(ErrInvalid, "the register does not validate", err)
		}
		s.register = r.Clone()
		return nil
	}}
}

// WithPolicies gives policies in code; each replaces the Register's for
// its category. For NewSweeper. It may be given more than once; a
// category given twice is an error.
func WithPolicies(p ...Policy) Option {
	return option{"WithPolicies", forSweeper, func(s *settings) error {
		s.policies = append(s.policies, p...)
		return nil
	}}
}

// Target is one place a category's records are kept and swept: a table,
// a bucket, an index. A category may have several targets.
type Target struct {
	// Name identifies the target in checkpoints, reports and the audit
	// trail; a key, unique among the Sweeper's targets. Required.
	Name string
	// Category is the data category of its records; it must have a
	// policy.
	Category string
	// Deleter deletes or anonymises its expired records.
	Deleter Deleter
}

// WithTargets gives the places swept, in the order they are swept. For
// NewSweeper. It may be given more than once.
func WithTargets(t ...Target) Option {
	return option{"WithTargets", forSweeper, func(s *settings) error {
		for _, x := range t {
			switch {
			case !validKey(x.Name):
				return because(ErrInvalid, "a target name is a key of at most 255 bytes with no control characters", nil)
			case x.Deleter == nil:
				return because(ErrInvalid, "target "+show(x.Name)+" has a nil Deleter", nil)
			case !validKey(x.Category):
				return because(ErrInvalid, "target "+show(x.Name)+" has no valid category", nil)
			}
			for _, o := range s.targets {
				if o.Name == x.Name {
					return because(ErrInvalid, "target "+show(x.Name)+" given twice", nil)
				}
			}
			s.targets = append(s.targets, x)
		}
		if len(s.targets) > MaxTargets {
			return because(ErrInvalid, "more than 256 targets", nil)
		}
		return nil
	}}
}

// WithName names the sweep: sweepers of one name share one lease and
// one checkpoint, so only one of them runs at a time. Give sweepers of
// different targets different names. For NewSweeper. Default:
// DefaultName.
func WithName(name string) Option {
	return option{"WithName", forSweeper, func(s *settings) error {
		if !validKey(name) {
			return because(ErrInvalid, "a sweep name is a key of at most 255 bytes with no control characters", nil)
		}
		s.name = name
		return nil
	}}
}

// WithOwner names this sweeper in its lease, for operators: a host name,
// a pod. For NewSweeper. Default: "retention" and a random suffix.
func WithOwner(owner string) Option {
	return option{"WithOwner", forSweeper, func(s *settings) error {
		if !validKey(owner) {
			return because(ErrInvalid, "an owner is a key of at most 255 bytes with no control characters", nil)
		}
		s.owner = owner
		return nil
	}}
}

// WithBatchSize sets the most records one batch examines, 1 to
// MaxBatchSize. Smaller batches hold locks for less time; larger ones
// take fewer round trips. For NewSweeper. Default: DefaultBatchSize.
func WithBatchSize(n int) Option {
	return option{"WithBatchSize", forSweeper, func(s *settings) error {
		if n < 1 || n > MaxBatchSize {
			return because(ErrInvalid, "a batch size is 1 to 100000", nil)
		}
		s.batch = n
		return nil
	}}
}

// WithLeaseTTL sets how long the sweeper's lease lasts after each batch;
// it must be longer than the longest batch, or another sweeper may take
// the lease over midway (the first then stops with ErrLeaseLost). For
// NewSweeper. Default: DefaultLeaseTTL.
func WithLeaseTTL(d time.Duration) Option {
	return option{"WithLeaseTTL", forSweeper, func(s *settings) error {
		if d < time.Second {
			return because(ErrInvalid, "a lease TTL is at least a second", nil)
		}
		s.ttl = d
		return nil
	}}
}

// WithClock sets the clock the cut-offs, holds and leases are read
// from. For NewSweeper and NewHolds. Default: time.Now. nil is an error.
func WithClock(now func() time.Time) Option {
	return option{"WithClock", forSweeper | forHolds, func(s *settings) error {
		if now == nil {
			return because(ErrInvalid, "nil clock", nil)
		}
		s.now = now
		return nil
	}}
}

// WithLocation sets the time zone whose calendar days the periods are
// counted in (Policy.Expiry, Policy.Cutoff): the controller's. For
// NewSweeper. Default: UTC. nil is an error.
func WithLocation(loc *time.Location) Option {
	return option{"WithLocation", forSweeper, func(s *settings) error {
		if loc == nil {
			return because(ErrInvalid, "nil location", nil)
		}
		s.loc = loc
		return nil
	}}
}

// WithRecorder sets where sweeps and holds are recorded (Art. 5(2)):
// "retention.swept" for each target of each sweep, with its cut-off and
// counts, "retention.review_due" for a Review policy's count, and
// "retention.hold_placed", "retention.hold_released" for holds. Events
// carry no personal data but a hold's subject, which the Recorder
// pseudonymises. For NewSweeper and NewHolds. Default: none. nil is an
// error.
func WithRecorder(r gdpr.Recorder) Option {
	return option{"WithRecorder", forSweeper | forHolds, func(s *settings) error {
		if r == nil {
			return because(ErrInvalid, "nil recorder", nil)
		}
		s.recorder = r
		return nil
	}}
}

// WithActor sets the actor of the sweeps' audit events. For NewSweeper.
// Default: gdpr.System("retention").
func WithActor(a gdpr.Actor) Option {
	return option{"WithActor", forSweeper, func(s *settings) error {
		if a.IsZero() || a.Validate() != nil {
			return because(ErrInvalid, "not a valid actor", nil)
		}
		s.actor = a
		return nil
	}}
}

// WithProgress sets a function called after every batch with the
// sweep's state so far, for long sweeps: a log line, a metric. It runs
// on the sweeping goroutine; it must return quickly and must not modify
// the Sweep. For NewSweeper. nil is an error.
func WithProgress(fn func(Sweep)) Option {
	return option{"WithProgress", forSweeper, func(s *settings) error {
		if fn == nil {
			return because(ErrInvalid, "nil progress function", nil)
		}
		s.progress = fn
		return nil
	}}
}
