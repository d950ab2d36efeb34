package erasure

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/google/uuid"
)

// MinSubjectKeyLen is the shortest subject key New accepts.
const MinSubjectKeyLen = 32

// Engine runs data-subject requests over a Store: intake, identity,
// deadlines, the work itself and the proof. It is safe for concurrent use,
// and any number of Engines, in any number of processes, may share one
// Store.
type Engine struct {
	store    Store
	key      []byte
	targets  []Target
	handlers map[gdpr.RequestKind]gdpr.RequestHandler
	verifier Verifier
	holds    gdpr.LegalHolds
	journal  Journal
	notifier Notifier
	intake   func(context.Context, gdpr.Request) error
	alert    func(context.Context, Alert)
	errText  func(error) string
	recorder gdpr.Recorder
	now      func() time.Time

	authority   Authority
	loc         *time.Location
	cal         gdpr.Calendar
	keep        gdpr.Period
	attempts    int
	backoffBase time.Duration
	backoffMax  time.Duration
	leaseTTL    time.Duration
	workers     int
	poll        time.Duration
	owner       string
	receiptKey  ed25519.PrivateKey

	register    *gdpr.Register
	recipients  RecipientNotifier
	disclosures gdpr.Disclosures
	rectifiers  []Rectifier
	objected    func(context.Context, Objection) error
	cacheTTL    time.Duration
	liftDelay   time.Duration
	cache       *restrictionCache
	sealer      *sealer
}

// New returns an Engine over store. subjectKey, of at least
// MinSubjectKeyLen random bytes, keys the HMAC that replaces a closed
// request's subject ID (SubjectRef) and names subjects in the Journal:
// keep it secret, apart from the database, and the same on every instance
// and across restores, or the journal cannot be matched. A nil store, a
// short key or a bad option is an *Error wrapping ErrInvalid.
func New(store Store, subjectKey []byte, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, &Error{Op: "new", Field: "store", Err: because(ErrInvalid, "nil store", nil)}
	}
	if len(subjectKey) < MinSubjectKeyLen {
		return nil, &Error{Op: "new", Field: "subjectKey", Err: because(ErrInvalid,
			fmt.Sprintf("subject key shorter than %d bytes", MinSubjectKeyLen), nil)}
	}
	e := &Engine{
		store: store, key: append([]byte(nil), subjectKey...),
		handlers: map[gdpr.RequestKind]gdpr.RequestHandler{},
		recorder: gdpr.Discard, now: time.Now, loc: time.UTC,
		keep:     gdpr.Period{Years: 3},
		attempts: 8, backoffBase: time.Second, backoffMax: 10 * time.Minute,
		leaseTTL: 30 * time.Second, workers: 4, poll: time.Second,
		owner:    "worker-" + randomID(),
		cacheTTL: time.Second,
	}
	for _, o := range opts {
		if o == nil {
			return nil, &Error{Op: "new", Field: "opts", Err: because(ErrInvalid, "nil option", nil)}
		}
		if err := o.apply(e); err != nil {
			return nil, wrap("new", err)
		}
	}
	if e.recipients == nil && e.register != nil {
		for _, a := range e.register.Activities {
			if len(a.Recipients) > 0 {
				return nil, &Error{Op: "new", Field: "WithRegister", Err: because(ErrInvalid,
					"the Register names recipients, who must be told of rectifications, erasures and restrictions (Art. 19): add WithRecipients", nil)}
			}
		}
	}
	var err error
	if e.sealer, err = newSealer(e.key); err != nil {
		return nil, &Error{Op: "new", Field: "subjectKey", Err: because(ErrInvalid, "cannot derive the sealing key", err)}
	}
	e.cache = newRestrictionCache(e)
	return e, nil
}

// Format prints the Engine's summary under every verb: no key material.
func (e *Engine) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.describe()) }

// GoString is the Engine's summary, for %#v: no key material.
func (e *Engine) GoString() string { return e.describe() }

func (e *Engine) describe() string {
	if e == nil {
		return "(*erasure.Engine)(nil)"
	}
	names := make([]string, len(e.targets))
	for i, t := range e.targets {
		names[i] = t.Name
	}
	return fmt.Sprintf("&erasure.Engine{store: %T, targets: [%s], handlers: %d, worker: %s}",
		e.store, strings.Join(names, " "), len(e.handlers), e.owner)
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SubjectRef returns the keyed reference of subject that the Engine keeps
// in place of the subject ID: hex HMAC-SHA256 under the subject key.
func (e *Engine) SubjectRef(subject gdpr.SubjectID) string {
	m := hmac.New(sha256.New, e.key)
	m.Write([]byte("gdprkit erasure subject v1\x00"))
	m.Write([]byte(subject))
	return hex.EncodeToString(m.Sum(nil))
}

// Submission is a request as it reaches the controller.
type Submission struct {
	// Kind is the right exercised; required.
	Kind gdpr.RequestKind
	// Subject is the data subject, as the host identifies them; required.
	Subject gdpr.SubjectID
	// Channel is how the request came in, a key ("web", "email", "post",
	// "phone"); default "web".
	Channel string
	// Received is when it reached the controller; default now. A request
	// received by post on Friday and entered on Monday counts from Friday.
	Received time.Time
	// Params are non-personal parameters for the handler (at most 16,
	// keys as keys, values of at most 256 bytes).
	Params map[string]string
	// Authenticated says the host has confirmed the subject's identity
	// already: the request comes from the subject's signed-in session.
	// The request is then verified at intake, and the Verifier is not
	// asked. Leave it false for a request by e-mail, post or phone.
	Authenticated bool

	// Ground is the ground of Art. 18(1) of a restriction; required for
	// one, refused for other kinds.
	Ground Ground
	// Purposes limits a restriction to these purposes (none: all
	// processing), or names the purposes an objection objects to; with a
	// Register (WithRegister), each must be one of its purposes.
	Purposes []gdpr.Purpose
	// DirectMarketing marks an objection to direct marketing
	// (Art. 21(2)); with a Register, the Register says which purposes are
	// direct marketing, and an objection with DirectMarketing and no
	// Purposes covers them all.
	DirectMarketing bool
	// Restriction is the ID of the restriction a lift lifts; empty lifts
	// every restriction of the subject in force.
	Restriction string
	// Corrections are a rectification's corrections (WithRectifiers).
	// Their values are sealed before anything is written.
	Corrections []Correction
}

// engineActor is the Actor of the Engine's own transitions.
var engineActor = gdpr.System("erasure")

// actor is the actor of a call: from the context, else the fallback.
// A subject actor is kept without its ID: the subject's ID must not
// outlive the request's closure in its history, nor reach the trail.
func actor(ctx context.Context, fallback gdpr.Actor) gdpr.Actor {
	a, ok := gdpr.ActorFrom(ctx)
	if !ok {
		a = fallback
	}
	if a.Kind == gdpr.ActorSubject {
		return gdpr.SubjectActor()
	}
	return a
}

// Submit records a request. A request of the same Kind for the same
// Subject that is still open is returned instead, with created false, and
// nothing is written: the subject asked twice, and is answered once. A
// new request goes to StateAwaitingIdentity (the Verifier's Begin is
// called) or, with no Verifier, straight to StateVerified, where a worker
// takes it up; so does an Authenticated one. Its deadline is counted from
// Received in the controller's location (WithLocation, WithCalendar).
//
// The actor is gdpr.ActorFrom(ctx), else the subject. Bad input (an
// unknown kind, a kind with no handler or targets, an empty subject) is
// an *Error wrapping ErrInvalid; a refusal of the intake hook wraps
// ErrRefused. Nothing is written then. If the Verifier's Begin fails, the
// request is on record all the same, awaiting identity, and is returned
// with created true and an error wrapping ErrNotify: ask again with
// Reverify.
func (e *Engine) Submit(ctx context.Context, s Submission) (r Request, created bool, err error) {
	const op = "submit"
	if err := checkCtx(op, ctx); err != nil {
		return Request{}, false, err
	}
	r, created, err = e.submit(ctx, s, false)
	return r, created, wrap(op, err)
}

func (e *Engine) submit(ctx context.Context, s Submission, verified bool) (Request, bool, error) {
	if err := s.Kind.Validate(); err != nil {
		return Request{}, false, invalid("kind", err)
	}
	if s.Kind == gdpr.KindErasure && len(e.targets) == 0 {
		return Request{}, false, refuse(ErrUnknownKind, "kind", "erasure: register its targets with WithTargets")
	}
	if s.Kind != gdpr.KindErasure && !builtIn(s.Kind) && e.handlers[s.Kind] == nil {
		return Request{}, false, refuse(ErrUnknownKind, "kind", string(s.Kind)+": register one with WithHandler")
	}
	if err := s.Subject.Validate(); err != nil {
		return Request{}, false, invalid("subject", err)
	}
	ask, err := e.checkAsk(ctx, s)
	if err != nil {
		return Request{}, false, err
	}
	if s.Channel == "" {
		s.Channel = "web"
	}
	if !isKey(s.Channel, 32) {
		return Request{}, false, invalidf("channel", "a channel is a key of at most 32 bytes")
	}
	if err := checkParams(s.Params); err != nil {
		return Request{}, false, err
	}
	now := e.now()
	if s.Received.IsZero() {
		s.Received = now
	}
	if s.Received.After(now.Add(time.Minute)) {
		return Request{}, false, invalidf("received", "a request cannot be received in the future")
	}
	ref := e.SubjectRef(s.Subject)
	open, err := e.store.List(ctx, Filter{States: OpenStates(), Kinds: []gdpr.RequestKind{s.Kind}, SubjectRef: ref, Limit: 1})
	if err != nil {
		return Request{}, false, err
	}
	if len(open) > 0 {
		if !e.sameAsk(open[0], s) {
			return Request{}, false, refuse(ErrConflict, "kind", "a "+string(s.Kind)+" request of the subject that asks otherwise is open ("+open[0].ID+"): submit this one once it is answered")
		}
		return open[0], false, nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Request{}, false, err
	}
	r := Request{
		ID: id.String(), Kind: s.Kind, Subject: s.Subject, SubjectRef: ref, Channel: s.Channel,
		Params: cloneParams(s.Params), Received: s.Received, Ask: ask,
		Deadline: gdpr.NewDeadline(s.Received, e.loc, e.cal), State: StateReceived, Version: 1,
	}
	for i := range r.Ask.Corrections {
		c := &r.Ask.Corrections[i]
		if c.Sealed, err = e.sealer.seal(r.ID, c.Target, c.Field, s.Corrections[i].Value); err != nil {
			return Request{}, false, err
		}
	}
	who := actor(ctx, gdpr.SubjectActor())
	r.History = []Transition{{To: StateReceived, At: now, Actor: who, Event: "submitted"}}
	if e.intake != nil && !verified {
		if err := e.intake(ctx, e.info(r)); err != nil {
			return Request{}, false, because(ErrRefused, "the intake hook refused the request", err)
		}
	}
	switch {
	case s.Authenticated:
		r.move(StateVerified, now, who, "verified", "authenticated")
		r.NextAt = now
	case verified || e.verifier == nil:
		r.move(StateVerified, now, engineActor, "verified", "")
		r.NextAt = now
	default:
		r.move(StateAwaitingIdentity, now, engineActor, "identity_requested", "")
	}
	if err := e.record(ctx, "erasure.request.received", r, gdpr.Success, nil); err != nil {
		return Request{}, false, err
	}
	stored, created, err := e.store.Create(ctx, r)
	if err != nil || !created {
		return stored, false, err
	}
	if stored.State == StateAwaitingIdentity {
		if err := e.verifier.Begin(ctx, e.info(stored)); err != nil {
			// The request stays on record, awaiting identity: the host
			// asks again with Reverify.
			return stored, true, because(ErrNotify, "the verifier could not ask the subject", err)
		}
	}
	return stored, true, nil
}

func checkParams(p map[string]string) error {
	if len(p) > 16 {
		return invalidf("params", "more than 16 params")
	}
	for k, v := range p {
		if !isKey(k, 64) {
			return invalidf("params", "a param name is a key of at most 64 bytes")
		}
		if len(v) > 256 {
			return invalidf("params", "param %s longer than 256 bytes", show(k))
		}
	}
	return nil
}

func cloneParams(p map[string]string) map[string]string {
	if len(p) == 0 {
		return nil
	}
	c := make(map[string]string, len(p))
	for k, v := range p {
		c[k] = v
	}
	return c
}

// info is what hooks are given of r.
func (e *Engine) info(r Request) gdpr.Request {
	return gdpr.Request{ID: r.ID, Kind: r.Kind, Subject: r.Subject, Received: r.Received, Params: cloneParams(r.Params)}
}

// move changes r's state, appending the transition to its history.
func (r *Request) move(to State, at time.Time, who gdpr.Actor, event, note string) {
	r.History = append(r.History, Transition{From: r.State, To: to, At: at, Actor: who, Event: event, Note: note})
	r.State = to
}

// note appends an event within r's state to its history.
func (r *Request) note(at time.Time, who gdpr.Actor, event, note string) {
	r.History = append(r.History, Transition{From: r.State, To: r.State, At: at, Actor: who, Event: event, Note: note})
}

// close moves r to a closed state: the subject ID goes, the reference
// stays.
func (r *Request) close(to State, at time.Time, who gdpr.Actor, event, note string) {
	r.move(to, at, who, event, note)
	r.Closed = at
	r.NextAt = time.Time{}
	r.Subject = ""
	// Nothing personal outlives the request: no corrected value, not even
	// sealed, and no recipient's reference for the subject.
	for i := range r.Ask.Corrections {
		r.Ask.Corrections[i].Sealed = nil
	}
	for i := range r.Steps {
		if r.Steps[i].Recipient != nil {
			r.Steps[i].Recipient.Reference = ""
		}
	}
}

// Get returns the request with the given ID, or an *Error wrapping
// ErrNotFound.
func (e *Engine) Get(ctx context.Context, id string) (Request, error) {
	const op = "get"
	if err := checkCtx(op, ctx); err != nil {
		return Request{}, err
	}
	r, err := e.store.Get(ctx, id)
	return r, wrap(op, err)
}

// change applies fn to the stored request id and writes the result,
// reading the request again and reapplying fn when a concurrent writer
// won. fn sees a copy and may refuse with an error, which is returned and
// nothing is written. pre, if not nil, runs after fn and before the write
// (an audit record, a notice); its error aborts the write.
func (e *Engine) change(ctx context.Context, id string, fn func(r *Request, now time.Time) error, pre func(before, after Request) error) (Request, error) {
	for attempt := 0; ; attempt++ {
		cur, err := e.store.Get(ctx, id)
		if err != nil {
			return Request{}, err
		}
		now := e.now()
		next := cur.Clone()
		if err := fn(&next, now); err != nil {
			return cur, err
		}
		if pre != nil {
			if err := pre(cur, next); err != nil {
				return cur, err
			}
		}
		err = e.store.Update(ctx, next, nil, now)
		if err == nil {
			next.Version++
			return next, nil
		}
		if !errors.Is(err, ErrConflict) || errors.Is(err, ErrLeaseLost) || attempt >= 8 {
			return cur, err
		}
	}
}

func illegal(r *Request, to State) error {
	return refuse(ErrIllegalTransition, "state", fmt.Sprintf("request %s is %s and cannot move to %s", r.ID, r.State, to))
}

// Verified records that the host confirmed the subject's identity by its
// own means (a fresh sign-in), and hands the request to the workers. The
// request must be received or awaiting identity; otherwise the error wraps
// ErrIllegalTransition and nothing is written. The actor is
// gdpr.ActorFrom(ctx), else the engine.
func (e *Engine) Verified(ctx context.Context, id string) (Request, error) {
	const op = "verified"
	if err := checkCtx(op, ctx); err != nil {
		return Request{}, err
	}
	r, err := e.verify(ctx, id, actor(ctx, engineActor))
	return r, wrap(op, err)
}

func (e *Engine) verify(ctx context.Context, id string, who gdpr.Actor) (Request, error) {
	r, err := e.change(ctx, id, func(r *Request, now time.Time) error {
		if r.State != StateReceived && r.State != StateAwaitingIdentity {
			return illegal(r, StateVerified)
		}
		r.move(StateVerified, now, who, "verified", "")
		r.NextAt = now
		return nil
	}, func(_, after Request) error {
		return e.record(ctx, "erasure.request.verified", after, gdpr.Success, nil)
	})
	if err == nil {
		e.forget(ctx, id) // no reminder for a request confirmed otherwise
	}
	return r, err
}

// ConfirmIdentity passes the subject's answer (a code, say) to the
// Verifier. If it confirms, the request is verified and returned; a wrong
// answer is an error wrapping ErrInvalidCode and the request waits on;
// once the Verifier gives up, the request is rejected for RejectIdentity
// (Art. 12(6)) and the error wraps ErrTooManyAttempts. The request must be
// awaiting identity (ErrIllegalTransition otherwise).
func (e *Engine) ConfirmIdentity(ctx context.Context, id, answer string) (Request, error) {
	const op = "confirm_identity"
	if err := checkCtx(op, ctx); err != nil {
		return Request{}, err
	}
	if e.verifier == nil {
		return Request{}, wrap(op, refuse(ErrIllegalTransition, "id", "the Engine has no Verifier"))
	}
	r, err := e.store.Get(ctx, id)
	if err != nil {
		return Request{}, wrap(op, err)
	}
	if r.State != StateAwaitingIdentity {
		return r, wrap(op, illegal(&r, StateVerified))
	}
	v, err := e.verifier.Check(ctx, e.info(r), answer)
	switch v {
	case VerdictConfirmed:
		r, err = e.verify(ctx, id, gdpr.SubjectActor())
		return r, wrap(op, err)
	case VerdictFailed:
		r, rerr := e.reject(ctx, id, RejectIdentity, "the identity of the person making the request could not be confirmed", engineActor,
			StateAwaitingIdentity)
		if rerr != nil {
			return r, wrap(op, rerr)
		}
		if err == nil {
			err = ErrTooManyAttempts
		}
		return r, wrap(op, err)
	}
	if err == nil {
		err = ErrInvalidCode
	}
	return r, wrap(op, err)
}

// Reverify asks the Verifier to begin again (a new code, after the last
// one expired or was lost). The request must be awaiting identity.
func (e *Engine) Reverify(ctx context.Context, id string) error {
	const op = "reverify"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if e.verifier == nil {
		return wrap(op, refuse(ErrIllegalTransition, "id", "the Engine has no Verifier"))
	}
	r, err := e.store.Get(ctx, id)
	if err != nil {
		return wrap(op, err)
	}
	if r.State != StateAwaitingIdentity {
		return wrap(op, illegal(&r, StateAwaitingIdentity))
	}
	if err := e.verifier.Begin(ctx, e.info(r)); err != nil {
		return wrap(op, because(ErrNotify, "the verifier could not ask the subject", err))
	}
	return nil
}

// Extend extends the request's deadline by months (1 or 2) further
// months under Art. 12(3), for reason, which the subject is told with the
// new deadline (Notifier). It must be done within the first month: an
// extension after the deadline, a second one, one of more than two months
// or without a reason, or of a closed request, is an *Error wrapping
// ErrInvalid (ErrIllegalTransition for a closed request) and nothing is
// written. If the Notifier fails, nothing is written either, and the error
// wraps ErrNotify.
func (e *Engine) Extend(ctx context.Context, id string, months int, reason string) (Request, error) {
	const op = "extend"
	if err := checkCtx(op, ctx); err != nil {
		return Request{}, err
	}
	if strings.TrimSpace(reason) == "" || len(reason) > 1000 {
		return Request{}, wrap(op, invalidf("reason", "an extension needs a reason of at most 1000 bytes"))
	}
	who := actor(ctx, engineActor)
	r, err := e.change(ctx, id, func(r *Request, now time.Time) error {
		if !r.State.Open() {
			return illegal(r, r.State)
		}
		if r.Deadline.Overdue(now) {
			return invalidf("id", "the deadline has passed: an extension must be told within the first month (Art. 12(3))")
		}
		d, err := r.Deadline.WithCalendar(e.cal).ExtendBy(months, reason)
		if err != nil {
			return invalid("months", err)
		}
		r.Deadline = d
		r.note(now, who, "extended", reason)
		return nil
	}, func(_, after Request) error {
		if err := e.notify(ctx, after, NoticeExtended, reason); err != nil {
			return err
		}
		return e.record(ctx, "erasure.request.extended", after, gdpr.Success, map[string]string{"months": fmt.Sprint(months)})
	})
	return r, wrap(op, err)
}

// Reject refuses to act on the request, for reason, with note saying why
// in words (required: Art. 12(4) asks for "the reasons for not taking
// action"; no personal data; at most 1000 bytes). The subject is told,
// with their right to complain to a supervisory authority and to seek a
// judicial remedy (Art. 12(4)). Only a request not yet in progress can be
// rejected (ErrIllegalTransition otherwise); a Notifier failure writes
// nothing and wraps ErrNotify.
func (e *Engine) Reject(ctx context.Context, id string, reason RejectReason, note string) (Request, error) {
	const op = "reject"
	if err := checkCtx(op, ctx); err != nil {
		return Request{}, err
	}
	if !reason.Valid() {
		return Request{}, wrap(op, invalidf("reason", "unknown reject reason %s", show(string(reason))))
	}
	if strings.TrimSpace(note) == "" || len(note) > 1000 {
		return Request{}, wrap(op, invalidf("note", "a rejection needs its reasons, of at most 1000 bytes (Art. 12(4))"))
	}
	r, err := e.reject(ctx, id, reason, note, actor(ctx, engineActor))
	if err == nil {
		e.forget(ctx, id)
	}
	return r, wrap(op, err)
}

// forget lets a Verifier that keeps state per request (CodeVerifier's
// code hashes) drop it once the request is closed; a failure leaves a
// hash that works for no open request, so it is not an error.
func (e *Engine) forget(ctx context.Context, id string) {
	if f, ok := e.verifier.(interface {
		Forget(ctx context.Context, requestID string) error
	}); ok {
		_ = f.Forget(ctx, id)
	}
}

func (e *Engine) reject(ctx context.Context, id string, reason RejectReason, note string, who gdpr.Actor, only ...State) (Request, error) {
	var subject gdpr.SubjectID
	return e.change(ctx, id, func(r *Request, now time.Time) error {
		if !CanMove(r.State, StateRejected) || (len(only) > 0 && r.State != only[0]) {
			return illegal(r, StateRejected)
		}
		subject = r.Subject
		r.Rejection = reason
		r.close(StateRejected, now, who, "rejected", note)
		return nil
	}, func(_, after Request) error {
		n := after
		n.Subject = subject
		if err := e.notify(ctx, n, NoticeRejected, note); err != nil {
			return err
		}
		return e.record(ctx, "erasure.request.rejected", after, gdpr.Success, map[string]string{"reason": string(reason)})
	})
}

// Cancel closes a request the subject withdrew, before work on it
// started; a request in progress or closed cannot be cancelled
// (ErrIllegalTransition). The actor is gdpr.ActorFrom(ctx), else the
// subject.
func (e *Engine) Cancel(ctx context.Context, id string) (Request, error) {
	const op = "cancel"
	if err := checkCtx(op, ctx); err != nil {
		return Request{}, err
	}
	who := actor(ctx, gdpr.SubjectActor())
	r, err := e.change(ctx, id, func(r *Request, now time.Time) error {
		if !CanMove(r.State, StateCancelled) {
			return illegal(r, StateCancelled)
		}
		r.close(StateCancelled, now, who, "cancelled", "")
		return nil
	}, func(_, after Request) error {
		return e.record(ctx, "erasure.request.cancelled", after, gdpr.Success, nil)
	})
	if err == nil {
		e.forget(ctx, id)
	}
	return r, wrap(op, err)
}

// Retry puts a failed request back in progress, at its first unfinished
// step, with the attempt counts of its steps reset; a worker takes it up
// at once. Only a failed request can be retried (ErrIllegalTransition).
// The actor is gdpr.ActorFrom(ctx), else the engine.
func (e *Engine) Retry(ctx context.Context, id string) (Request, error) {
	const op = "retry"
	if err := checkCtx(op, ctx); err != nil {
		return Request{}, err
	}
	who := actor(ctx, engineActor)
	r, err := e.change(ctx, id, func(r *Request, now time.Time) error {
		if r.State != StateFailed {
			return illegal(r, StateInProgress)
		}
		for i := range r.Steps {
			if !r.Steps[i].Outcome.Done() {
				r.Steps[i].Attempts = 0
			}
		}
		r.move(StateInProgress, now, who, "retry", "")
		r.NextAt = now
		return nil
	}, func(_, after Request) error {
		return e.record(ctx, "erasure.request.retried", after, gdpr.Success, nil)
	})
	return r, wrap(op, err)
}

// record records an audit event about r. Events carry no Subject: the
// request's ID is the Resource, and an erasure must not leave in the trail
// a fresh link to the person it erases.
func (e *Engine) record(ctx context.Context, action string, r Request, o gdpr.Outcome, attrs map[string]string) error {
	a := map[string]string{"kind": string(r.Kind), "state": string(r.State)}
	for k, v := range attrs {
		a[k] = v
	}
	err := e.recorder.Record(ctx, gdpr.Event{
		Time: e.now(), Actor: actor(ctx, engineActor), Action: action,
		Resource: "dsar_request/" + r.ID, Outcome: o, Attrs: a,
	})
	if err != nil {
		return fmt.Errorf("%w %s: %w", errRecord, action, err)
	}
	return nil
}

// The causes deferral tells apart.
var (
	errRecord  = errors.New("recording")
	errJournal = errors.New("writing the journal")
)

// checkAsk validates what a submission of a kind the Engine carries out
// itself asks, and returns it as the request keeps it (no value in clear).
func (e *Engine) checkAsk(ctx context.Context, s Submission) (Ask, error) {
	var a Ask
	if s.Kind != gdpr.KindRestriction && s.Ground != "" {
		return a, invalidf("ground", "only a restriction has a ground of Art. 18(1)")
	}
	if s.Kind != gdpr.KindRestriction && s.Kind != gdpr.KindObjection && len(s.Purposes) > 0 {
		return a, invalidf("purposes", "only a restriction or an objection names purposes")
	}
	if s.Kind != gdpr.KindObjection && s.DirectMarketing {
		return a, invalidf("direct_marketing", "only an objection is to direct marketing")
	}
	if s.Kind != gdpr.KindLiftRestriction && s.Restriction != "" {
		return a, invalidf("restriction", "only a lift names a restriction")
	}
	if s.Kind != gdpr.KindRectification && len(s.Corrections) > 0 {
		return a, invalidf("corrections", "only a rectification has corrections")
	}
	if len(s.Purposes) > 32 {
		return a, invalidf("purposes", "more than 32 purposes")
	}
	for _, p := range s.Purposes {
		if err := p.Validate(); err != nil {
			return a, invalid("purposes", err)
		}
		if e.register != nil {
			if _, ok := e.register.Activity(p); !ok {
				return a, invalidf("purposes", "purpose %s is not in the Register", show(string(p)))
			}
		}
	}
	switch s.Kind {
	case gdpr.KindRestriction:
		if !s.Ground.Valid() {
			return a, invalidf("ground", "unknown ground %s: a restriction rests on one of Art. 18(1)(a)-(d)", show(string(s.Ground)))
		}
		a.Ground, a.Purposes = s.Ground, slices.Clone(s.Purposes)
	case gdpr.KindObjection:
		if len(s.Purposes) == 0 && !(s.DirectMarketing && e.register != nil) {
			return a, invalidf("purposes", "an objection names its purposes (or, with a Register, is to all direct marketing)")
		}
		for _, p := range s.Purposes {
			if e.register == nil {
				continue
			}
			act, _ := e.register.Activity(p)
			if act.DirectMarketing {
				continue
			}
			if s.DirectMarketing {
				return a, invalidf("purposes", "purpose %s is not direct marketing in the Register", show(string(p)))
			}
			if !act.Basis.AllowsObjection() {
				return a, invalidf("purposes", "purpose %s rests on %s: Art. 21(1) covers legitimate interests and public tasks (withdraw a consent instead)",
					show(string(p)), act.Basis)
			}
		}
		a.Purposes, a.DirectMarketing = slices.Clone(s.Purposes), s.DirectMarketing
	case gdpr.KindLiftRestriction:
		if e.notifier == nil {
			return a, refuse(ErrUnknownKind, "kind", "a lift needs a Notifier (WithNotifier): the subject is told before (Art. 18(3))")
		}
		xs, err := e.allRestrictions(ctx, e.SubjectRef(s.Subject))
		if err != nil {
			return a, err
		}
		found := false
		for _, x := range xs {
			if x.Kind == gdpr.KindRestriction && x.InForce() && (s.Restriction == "" || x.ID == s.Restriction) {
				found = true
			}
		}
		if !found {
			return a, refuse(ErrNotFound, "restriction", "no restriction of the subject in force to lift")
		}
		a.Restriction = s.Restriction
	case gdpr.KindRectification:
		if len(e.rectifiers) == 0 {
			return a, refuse(ErrUnknownKind, "kind", "rectification: register its rectifiers with WithRectifiers")
		}
		if err := e.checkCorrections(s.Corrections); err != nil {
			return a, err
		}
		for _, c := range s.Corrections {
			a.Corrections = append(a.Corrections, Correction{Target: c.Target, Field: c.Field, Supplement: c.Supplement})
		}
	}
	return a, nil
}

// sameAsk reports whether the open request r asks what s asks.
func (e *Engine) sameAsk(r Request, s Submission) bool {
	a := r.Ask
	if a.Ground != s.Ground || !sameSet(a.Purposes, s.Purposes) || a.DirectMarketing != s.DirectMarketing ||
		a.Restriction != s.Restriction || len(a.Corrections) != len(s.Corrections) {
		return false
	}
	for i, c := range a.Corrections {
		n := s.Corrections[i]
		if c.Target != n.Target || c.Field != n.Field || c.Supplement != n.Supplement {
			return false
		}
		if c.Sealed == nil {
			continue // applied already: its value is gone, the place is the same
		}
		v, err := e.sealer.open(r.ID, c.Target, c.Field, c.Sealed)
		if err != nil || subtle.ConstantTimeCompare([]byte(v), []byte(n.Value)) != 1 {
			return false
		}
	}
	return true
}

// sameSet reports whether a and b hold the same purposes, in any order.
func sameSet(a, b []gdpr.Purpose) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
