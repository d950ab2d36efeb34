package breach

import (
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Option configures a Log (New).
type Option interface{ apply(*Log) error }

type option struct {
	name string
	fn   func(*Log) error
}

func (o option) apply(l *Log) error {
	if err := o.fn(l); err != nil {
		return errs.At(o.name, err)
	}
	return nil
}

// WithRegister gives the record of processing activities (Art. 30) whose
// data categories a report, an update or a scope may name: any other is
// an error wrapping ErrUnknownCategory. The authority notice also names
// the controller and the DPO from it. A nil or invalid Register is an
// error. Default: none; categories are then only checked to be keys.
func WithRegister(r *gdpr.Register) Option {
	return option{"WithRegister", func(l *Log) error {
		if r == nil {
			return because(ErrInvalid, "nil register", nil)
		}
		if err := r.Validate(); err != nil {
			return because(ErrInvalid, "the register does not validate", err)
		}
		l.register = r.Clone()
		return nil
	}}
}

// WithClock sets the clock that says when events are recorded and what
// "now" is for refusing an awareness in the future. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return option{"WithClock", func(l *Log) error {
		if now == nil {
			return because(ErrInvalid, "nil clock", nil)
		}
		l.now = now
		return nil
	}}
}

// WithLocation sets the controller's time zone, in which the 72-hour
// period's hours are counted and its deadline shown. Default: UTC.
func WithLocation(loc *time.Location) Option {
	return option{"WithLocation", func(l *Log) error {
		if loc == nil {
			return because(ErrInvalid, "nil location", nil)
		}
		l.loc = loc
		return nil
	}}
}

// WithRecorder sets the Recorder every change is recorded through before
// it is stored ("breach.recorded", "breach.notified", one
// "breach.subject_notified" per subject notice, …). Default: gdpr.Discard.
func WithRecorder(r gdpr.Recorder) Option {
	return option{"WithRecorder", func(l *Log) error {
		if r == nil {
			return because(ErrInvalid, "nil recorder", nil)
		}
		l.recorder = r
		return nil
	}}
}

// WithTrail sets the audit trail searched for the subjects affected
// (Affected, NotifySubjects): an audit.Log. Default: none; those methods
// then fail with ErrNoTrail.
func WithTrail(t gdpr.Trail) Option {
	return option{"WithTrail", func(l *Log) error {
		if t == nil {
			return because(ErrInvalid, "nil trail", nil)
		}
		l.trail = t
		return nil
	}}
}

// WithKeys sets the KeyCustodian asked whose encrypted data stayed
// unintelligible (Scope.Encrypted): a crypto.Keyring. Default: none; no
// subject is then reported as unintelligible, and a Scope with Encrypted
// categories is an error.
func WithKeys(k gdpr.KeyCustodian) Option {
	return option{"WithKeys", func(l *Log) error {
		if k == nil {
			return because(ErrInvalid, "nil key custodian", nil)
		}
		l.keys = k
		return nil
	}}
}

// WithBatch sets how many candidate IDs are matched against the trail at
// a time (1 to 10,000). Default: 1000.
func WithBatch(n int) Option {
	return option{"WithBatch", func(l *Log) error {
		if n < 1 || n > 10000 {
			return because(ErrInvalid, "batch of 1 to 10000", nil)
		}
		l.batch = n
		return nil
	}}
}
