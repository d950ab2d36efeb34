package erasure

import (
	"context"
	"crypto/ed25519"
	"math"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Option configures an Engine in New. The set of options is closed: only
// the WithX functions of this package make one. New checks each option's
// argument and refuses a bad one with an *Error of Op "new" whose Field is
// the option's name (e.g. "WithClock"), wrapping ErrInvalid.
type Option interface{ apply(*Engine) error }

type option struct {
	name string
	fn   func(*Engine) error
}

func (o option) apply(e *Engine) error {
	if err := o.fn(e); err != nil {
		return errs.At(o.name, err)
	}
	return nil
}

// Target is one place that holds personal data, which an erasure must
// reach: the host's own tables, the consent ledger, the key store's shred,
// the audit log's pseudonyms, a processor's API.
type Target struct {
	// Name identifies the target in steps, receipts and the journal; a
	// key (lower-case letters, digits, '_', '.', '-'; at most 64 bytes),
	// unique among the targets, and not the name of one of the Engine's
	// own steps (Step.Target).
	Name string
	// Eraser erases the subject's data there. It must be idempotent (the
	// gdpr.Eraser contract): the engine calls it again after a crash.
	Eraser gdpr.Eraser
	// Categories are the data categories the target holds, as in the
	// Register, for the legal holds (gdpr.Hold.Covers): a target that
	// names none is covered by every hold.
	Categories []string
	// Latency is how long after its erasure the data may still be read on
	// another instance; zero asks the Eraser (gdpr.ErasureLatency), and a
	// negative value is none even if the Eraser reports one.
	Latency time.Duration
}

// WithTargets sets the targets of an erasure, run in the order given.
// At least one is needed for the Engine to accept erasure requests;
// Default: none. Names must be unique keys, Erasers not nil.
func WithTargets(targets ...Target) Option {
	return option{"WithTargets", func(e *Engine) error {
		seen := map[string]bool{}
		for _, t := range targets {
			if !isKey(t.Name, 64) {
				return because(ErrInvalid, "a target name must be a key of at most 64 bytes", nil)
			}
			if seen[t.Name] {
				return because(ErrInvalid, "two targets named "+show(t.Name), nil)
			}
			if reserved(t.Name) {
				return because(ErrInvalid, "target name "+show(t.Name)+" is the name of one of the Engine's own steps", nil)
			}
			seen[t.Name] = true
			if t.Eraser == nil {
				return because(ErrInvalid, "target "+show(t.Name)+" has a nil Eraser", nil)
			}
			t.Categories = append([]string(nil), t.Categories...)
			e.targets = append(e.targets, t)
		}
		return nil
	}}
}

// WithHandler sets the handler of the requests of kind: access and
// portability (package export answers them). Erasure is done by the
// targets (WithTargets); restriction, its lifting, objection and
// rectification by the Engine itself, which keeps the restrictions Check
// answers from. A kind without a handler is refused at intake with
// ErrUnknownKind. Default: none.
func WithHandler(kind gdpr.RequestKind, h gdpr.RequestHandler) Option {
	return option{"WithHandler", func(e *Engine) error {
		if err := kind.Validate(); err != nil {
			return invalid("kind", err)
		}
		if kind == gdpr.KindErasure {
			return because(ErrInvalid, "erasure is done by the targets (WithTargets), not a handler", nil)
		}
		if builtIn(kind) {
			return because(ErrInvalid, string(kind)+" is carried out by the Engine itself, not a handler", nil)
		}
		if h == nil {
			return because(ErrInvalid, "nil handler", nil)
		}
		e.handlers[kind] = h
		return nil
	}}
}

// WithVerifier sets the identity check: every request waits in
// StateAwaitingIdentity until the Verifier confirms it (see Verifier).
// Default: none — requests are verified at intake, for a host that only
// accepts requests from signed-in subjects. nil is an error.
func WithVerifier(v Verifier) Option {
	return option{"WithVerifier", func(e *Engine) error {
		if v == nil {
			return because(ErrInvalid, "nil verifier", nil)
		}
		e.verifier = v
		return nil
	}}
}

// WithLegalHolds sets the legal holds the Engine asks before an erasure
// (package retention keeps them). Data under a hold is retained, with
// ground Art. 17(3)(e) and the hold's end date. Default: none. nil is an
// error.
func WithLegalHolds(h gdpr.LegalHolds) Option {
	return option{"WithLegalHolds", func(e *Engine) error {
		if h == nil {
			return because(ErrInvalid, "nil legal holds", nil)
		}
		e.holds = h
		return nil
	}}
}

// WithJournal sets the erasure journal, kept apart from the Store (see
// Journal and Replay). Default: none — without it Replay is refused, and a
// backup restore brings erased subjects back. nil is an error.
func WithJournal(j Journal) Option {
	return option{"WithJournal", func(e *Engine) error {
		if j == nil {
			return because(ErrInvalid, "nil journal", nil)
		}
		e.journal = j
		return nil
	}}
}

// WithNotifier sets how the subject is told of an extension, a rejection
// and a completion (see Notifier). Default: none — the host tells the
// subject by its own means, from the request's history. nil is an error.
func WithNotifier(n Notifier) Option {
	return option{"WithNotifier", func(e *Engine) error {
		if n == nil {
			return because(ErrInvalid, "nil notifier", nil)
		}
		e.notifier = n
		return nil
	}}
}

// WithAuthority sets the supervisory authority named in notices, for the
// subject's right to lodge a complaint (Art. 77). Default: none named;
// the notice still states the right. Its Name is required.
func WithAuthority(a Authority) Option {
	return option{"WithAuthority", func(e *Engine) error {
		if a.Name == "" {
			return because(ErrInvalid, "an authority needs a name", nil)
		}
		e.authority = a
		return nil
	}}
}

// WithIntake sets a hook that may refuse a request at intake (a rate
// limit, abuse); its error is returned wrapped in ErrRefused and nothing
// is stored. It is called only for a request that is not a duplicate of
// an open one. Default: none. nil is an error.
func WithIntake(fn func(ctx context.Context, r gdpr.Request) error) Option {
	return option{"WithIntake", func(e *Engine) error {
		if fn == nil {
			return because(ErrInvalid, "nil intake hook", nil)
		}
		e.intake = fn
		return nil
	}}
}

// WithAlert sets the hook called when a request fails past the retry
// limit and needs a person. It must not block for long. Default: none.
// nil is an error.
func WithAlert(fn func(ctx context.Context, a Alert)) Option {
	return option{"WithAlert", func(e *Engine) error {
		if fn == nil {
			return because(ErrInvalid, "nil alert hook", nil)
		}
		e.alert = fn
		return nil
	}}
}

// WithRetry sets how often a failing step is tried (attempts, at least 1)
// and the backoff between tries: exponential from base, doubled each
// time up to max, with full jitter. Default: 8 attempts, from 1 second
// up to 10 minutes.
func WithRetry(attempts int, base, max time.Duration) Option {
	return option{"WithRetry", func(e *Engine) error {
		if attempts < 1 || base <= 0 || max < base {
			return because(ErrInvalid, "want attempts >= 1 and 0 < base <= max", nil)
		}
		e.attempts, e.backoffBase, e.backoffMax = attempts, base, max
		return nil
	}}
}

// WithLease sets the worker lease's time to live; a worker renews it at a
// third of it, and another worker takes a request over once it has
// expired. Default: 30 seconds. At least a second.
func WithLease(ttl time.Duration) Option {
	return option{"WithLease", func(e *Engine) error {
		if ttl < time.Second {
			return because(ErrInvalid, "lease shorter than a second", nil)
		}
		e.leaseTTL = ttl
		return nil
	}}
}

// WithWorkers sets how many requests Run works on at once in this
// process, and how many it leases in one round. Default: 4.
func WithWorkers(n int) Option {
	return option{"WithWorkers", func(e *Engine) error {
		if n < 1 || n > 1024 {
			return because(ErrInvalid, "workers out of 1..1024", nil)
		}
		e.workers = n
		return nil
	}}
}

// WithPoll sets how long Run waits before it looks again when no request
// was due (with up to a fifth of jitter). Default: 1 second.
func WithPoll(d time.Duration) Option {
	return option{"WithPoll", func(e *Engine) error {
		if d <= 0 {
			return because(ErrInvalid, "non-positive poll interval", nil)
		}
		e.poll = d
		return nil
	}}
}

// WithWorkerID names this process's workers in their leases (a host
// name, a pod name); a key. Default: a random ID per Engine.
func WithWorkerID(id string) Option {
	return option{"WithWorkerID", func(e *Engine) error {
		if !isKey(id, 64) {
			return because(ErrInvalid, "a worker ID must be a key of at most 64 bytes", nil)
		}
		e.owner = id
		return nil
	}}
}

// WithLocation sets the controller's time zone, in which the days of
// Art. 12(3) are counted (gdpr.NewDeadline). Default: UTC. nil is an
// error.
func WithLocation(loc *time.Location) Option {
	return option{"WithLocation", func(e *Engine) error {
		if loc == nil {
			return because(ErrInvalid, "nil location", nil)
		}
		e.loc = loc
		return nil
	}}
}

// WithCalendar sets the public holidays of the controller's location,
// which deadlines skip (gdpr.Calendar). Default: none (only weekends).
// nil is an error.
func WithCalendar(cal gdpr.Calendar) Option {
	return option{"WithCalendar", func(e *Engine) error {
		if cal == nil {
			return because(ErrInvalid, "nil calendar", nil)
		}
		e.cal = cal
		return nil
	}}
}

// WithAccountability sets how long a closed request is kept, for the
// controller to show how it answered (Art. 5(2)); Purge, and Run once an
// hour, delete older ones. Default: 3 years (the regular limitation period
// of many Member States' civil law). It must be positive.
func WithAccountability(p gdpr.Period) Option {
	return option{"WithAccountability", func(e *Engine) error {
		if err := p.Validate(); err != nil {
			return invalid("period", err)
		}
		if p.IsZero() {
			return because(ErrInvalid, "zero accountability period", nil)
		}
		e.keep = p
		return nil
	}}
}

// WithReceiptKey sets the Ed25519 key that signs erasure receipts
// (Engine.Receipt); receipts name its public key by KeyID. Default: none —
// Receipt is refused. It must be a whole Ed25519 private key.
func WithReceiptKey(key ed25519.PrivateKey) Option {
	return option{"WithReceiptKey", func(e *Engine) error {
		if len(key) != ed25519.PrivateKeySize {
			return because(ErrInvalid, "not an Ed25519 private key", nil)
		}
		e.receiptKey = append(ed25519.PrivateKey(nil), key...)
		return nil
	}}
}

// WithErrorText sets how a target's error becomes the text kept in the
// step (Step.Error), which must hold no personal data. Default: the
// error's text with the subject ID cut out, at most 200 bytes. nil is an
// error.
func WithErrorText(fn func(error) string) Option {
	return option{"WithErrorText", func(e *Engine) error {
		if fn == nil {
			return because(ErrInvalid, "nil error text function", nil)
		}
		e.errText = fn
		return nil
	}}
}

// WithClock sets the source of the current time. Default: time.Now. nil
// is an error.
func WithClock(now func() time.Time) Option {
	return option{"WithClock", func(e *Engine) error {
		if now == nil {
			return because(ErrInvalid, "nil clock", nil)
		}
		e.now = now
		return nil
	}}
}

// WithRecorder sets the Recorder of the Engine's audit events (see the
// package doc). Default: gdpr.Discard. nil is an error.
func WithRecorder(r gdpr.Recorder) Option {
	return option{"WithRecorder", func(e *Engine) error {
		if r == nil {
			return because(ErrInvalid, "nil recorder", nil)
		}
		e.recorder = r
		return nil
	}}
}

// isKey reports whether s is a key of at most n bytes: lower-case ASCII
// letters, digits, '_', '.', '-', starting with a letter or digit.
func isKey(s string, n int) bool {
	if s == "" || len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '_' || c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// backoff returns the delay before attempt n+1 after n failed attempts:
// full jitter over an exponential bound.
func (e *Engine) backoff(n int, jitter float64) time.Duration {
	d := float64(e.backoffBase) * math.Pow(2, float64(n-1))
	if d > float64(e.backoffMax) || math.IsInf(d, 0) {
		d = float64(e.backoffMax)
	}
	// Full jitter, but never less than half the bound: a retry storm is
	// spread, and a target that is down gets a real pause.
	return time.Duration(d/2 + d/2*jitter)
}

// reserved reports whether name is one of the Engine's own steps, which
// no Target or Rectifier may be called.
func reserved(name string) bool {
	switch name {
	case handlerStep, stepRecipients, stepRecipient, stepRestriction, stepObjection, stepLiftNotice, stepLift:
		return true
	}
	return false
}

// builtIn reports whether the Engine carries out requests of kind itself.
func builtIn(kind gdpr.RequestKind) bool {
	switch kind {
	case gdpr.KindRestriction, gdpr.KindLiftRestriction, gdpr.KindObjection, gdpr.KindRectification:
		return true
	}
	return false
}

// WithRegister sets the record of processing activities (Art. 30) the
// Engine consults: which purposes exist, which rest on legitimate
// interests or a public task (objectionable under Art. 21(1)) and which
// are direct marketing (Art. 21(2), absolute), and the recipients to tell
// of rectifications, erasures and restrictions (Art. 19; a Register that
// names recipients needs WithRecipients). Without one, an objection must
// name its purposes and say whether they are direct marketing. The
// Register is copied. Default: none; nil or an invalid Register is an
// error.
func WithRegister(r *gdpr.Register) Option {
	return option{"WithRegister", func(e *Engine) error {
		if r == nil {
			return because(ErrInvalid, "nil register", nil)
		}
		if err := r.Validate(); err != nil {
			return because(ErrInvalid, "the register is not valid", err)
		}
		e.register = r.Clone()
		return nil
	}}
}

// WithRecipients sets how the recipients of a subject's data are told of
// a rectification, erasure or restriction (Art. 19): n is called once per
// recipient, and d names the actual recipients of the subject's data
// beside the Register's (nil: the Register's only). Each outcome is
// recorded on the request, and the subject is told which recipients were
// informed (Notice.Recipients). Default: none. A nil n is an error.
func WithRecipients(n RecipientNotifier, d gdpr.Disclosures) Option {
	return option{"WithRecipients", func(e *Engine) error {
		if n == nil {
			return because(ErrInvalid, "nil recipient notifier", nil)
		}
		e.recipients, e.disclosures = n, d
		return nil
	}}
}

// WithRectifiers sets the rectifiers of a rectification, one per place
// that holds data the subject may correct. At least one is needed for the
// Engine to accept rectification requests; default: none. Names must be
// unique keys, each with at least one field, and Rectify not nil.
func WithRectifiers(rs ...Rectifier) Option {
	return option{"WithRectifiers", func(e *Engine) error {
		seen := map[string]bool{}
		for _, r := range e.rectifiers {
			seen[r.Name] = true
		}
		for _, r := range rs {
			if !isKey(r.Name, 64) {
				return because(ErrInvalid, "a rectifier name must be a key of at most 64 bytes", nil)
			}
			if seen[r.Name] {
				return because(ErrInvalid, "two rectifiers named "+show(r.Name), nil)
			}
			if reserved(r.Name) {
				return because(ErrInvalid, "rectifier name "+show(r.Name)+" is the name of one of the Engine's own steps", nil)
			}
			seen[r.Name] = true
			if r.Rectify == nil {
				return because(ErrInvalid, "rectifier "+show(r.Name)+" has a nil Rectify", nil)
			}
			if len(r.Fields) == 0 {
				return because(ErrInvalid, "rectifier "+show(r.Name)+" names no field", nil)
			}
			for _, f := range r.Fields {
				if !isKey(f, 64) {
					return because(ErrInvalid, "rectifier "+show(r.Name)+": a field name must be a key of at most 64 bytes", nil)
				}
			}
			r.Fields = append([]string(nil), r.Fields...)
			e.rectifiers = append(e.rectifiers, r)
		}
		return nil
	}}
}

// WithObjectionHook sets a function told of every purpose an objection
// stops, and of every override (Objection.Overridden): the place to record
// the objection in the consent ledger (consent.Ledger.Object), so that its
// decisions deny the purpose too. It is called before the Engine records
// the objection, and again after a crash, so it must be idempotent; an
// error is retried like a target's. Default: none; nil is an error.
func WithObjectionHook(fn func(ctx context.Context, o Objection) error) Option {
	return option{"WithObjectionHook", func(e *Engine) error {
		if fn == nil {
			return because(ErrInvalid, "nil objection hook", nil)
		}
		e.objected = fn
		return nil
	}}
}

// WithRestrictionCache sets how long Check answers from its cache of the
// restrictions in force before it reads them again: a restriction, an
// objection or an override written by another instance is seen within
// twice ttl (the cache is read again in the background after ttl; after
// twice ttl, Check waits for a fresh read, and fails closed, refusing,
// if the Store cannot be read). A restriction request completes only once
// that bound has passed, so when the subject is told their data are
// restricted, every instance refuses. Zero reads the Store on every
// Check. Default: 1s; negative is an error.
func WithRestrictionCache(ttl time.Duration) Option {
	return option{"WithRestrictionCache", func(e *Engine) error {
		if ttl < 0 {
			return because(ErrInvalid, "negative cache time", nil)
		}
		e.cacheTTL = ttl
		return nil
	}}
}

// WithLiftDelay sets how long after the subject is told of a lift
// (NoticeLifting, Art. 18(3)) the restriction is lifted: time for them to
// answer, say, with an objection or a complaint, before processing
// resumes. The lift's request waits it out as a NextAt. Default: 0 — the
// lift takes effect once the notice is on record; negative is an error.
func WithLiftDelay(d time.Duration) Option {
	return option{"WithLiftDelay", func(e *Engine) error {
		if d < 0 {
			return because(ErrInvalid, "negative delay", nil)
		}
		e.liftDelay = d
		return nil
	}}
}
