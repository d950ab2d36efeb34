package erasure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdprkit/gdpr"
)

// Check reports whether the subject's data may be processed for purpose
// now, under allowance: nil if so, an *Error wrapping ErrRestricted if a
// restriction (Art. 18) forbids it, or ErrObjected (which wraps
// ErrRestricted) if the subject objected to the purpose (Art. 21).
//
//   - A restriction covers its purposes, or every purpose if it names
//     none: restricted data may be stored, and otherwise processed only on
//     a ground of Art. 18(2), which the caller gives as allowance
//     (gdpr.AllowStorage, AllowConsent, AllowLegalClaims, AllowOtherPerson,
//     AllowPublicInterest).
//   - An objection covers its purpose. Under Art. 21(1) it yields to
//     AllowLegalClaims (and storage) until staff record an Override; an
//     objection to direct marketing (Art. 21(2)) yields to storage alone,
//     covers every purpose the Register marks as direct marketing if it
//     names none, and is never overridden.
//   - An empty purpose is covered by every restriction and objection of
//     the subject: processing for no stated purpose cannot be told apart
//     from the one restricted or objected to. Give the purpose
//     (gdpr.WithPurpose for Guard).
//
// Processing that goes ahead under an allowance despite a restriction or
// objection, storage included, is recorded (action
// "erasure.restriction.allowed", with the allowance, the purpose and the
// restriction's ID; no subject); if the Recorder fails, Check refuses.
//
// Check answers from a cache of the restrictions in force, shared by the
// Engine's callers and read again from the Store every
// WithRestrictionCache (default 1s): a change made on another instance is
// seen within twice that. When the cache is too old and the Store cannot
// be read, Check refuses with the Store's error: it fails closed. An
// unknown allowance or an empty subject is an *Error wrapping ErrInvalid.
// It is safe for concurrent use and meant for hot paths.
func (e *Engine) Check(ctx context.Context, subject gdpr.SubjectID, purpose gdpr.Purpose, allowance gdpr.Allowance) error {
	if ctx == nil {
		return checkCtx("check", ctx)
	}
	if subject == "" {
		return &Error{Op: "check", Field: "subject", Err: because(ErrInvalid, "empty subject", nil)}
	}
	if allowance != gdpr.AllowNone && allowance.Validate() != nil {
		return &Error{Op: "check", Field: "allowance", Err: because(ErrInvalid, "unknown allowance", nil)}
	}
	xs, err := e.cache.lookup(ctx, subject)
	if err != nil {
		return &Error{Op: "check", Err: because(ErrRestricted, "the restrictions could not be read", err)}
	}
	if len(xs) == 0 {
		return nil
	}
	return e.decide(ctx, xs, purpose, allowance)
}

// Guard checks the subject as Check does, for the purpose and allowance
// of ctx (gdpr.WithPurpose, gdpr.WithAllowance). Its signature is that of
// package crypto's Guard, so that
//
//	crypto.WithGuard(engine.Guard)
//
// makes a Keyring refuse to decrypt a restricted subject's fields with
// crypto.ErrRestricted, unless the caller's context gives a ground of
// Art. 18(2).
func (e *Engine) Guard(ctx context.Context, subject gdpr.SubjectID) error {
	p, _ := gdpr.PurposeFrom(ctx)
	return e.Check(ctx, subject, p, gdpr.AllowanceFrom(ctx))
}

// decide applies the restrictions in force xs of one subject.
func (e *Engine) decide(ctx context.Context, xs []Restriction, purpose gdpr.Purpose, allowance gdpr.Allowance) error {
	var allowed []string
	for _, x := range xs {
		if !x.InForce() || !e.covers(x, purpose) {
			continue
		}
		switch {
		case allowance == gdpr.AllowStorage:
		case x.Kind == gdpr.KindRestriction && allowance != gdpr.AllowNone:
		case x.Kind == gdpr.KindObjection && !x.DirectMarketing && allowance == gdpr.AllowLegalClaims:
		default:
			if x.Kind == gdpr.KindObjection {
				what := "Art. 21(1)"
				if x.DirectMarketing {
					what = "Art. 21(2), direct marketing"
				}
				if purpose == "" {
					what += "; no purpose was given (gdpr.WithPurpose), so none can be told apart from the one objected to"
				}
				return &Error{Op: "check", Err: because(ErrObjected, fmt.Sprintf("objection %s (%s)", x.ID, what), nil)}
			}
			return &Error{Op: "check", Err: because(ErrRestricted, fmt.Sprintf("restriction %s (%s)", x.ID, x.Ground.Article()), nil)}
		}
		allowed = append(allowed, x.ID)
	}
	if len(allowed) == 0 {
		return nil
	}
	err := e.recorder.Record(ctx, gdpr.Event{
		Time: e.now(), Actor: actor(ctx, engineActor), Action: "erasure.restriction.allowed",
		Resource: "dsar_restriction/" + allowed[0], Purpose: purpose, Outcome: gdpr.Success,
		Attrs: map[string]string{"allowance": string(allowance), "restrictions": fmt.Sprint(len(allowed))},
	})
	if err != nil {
		return &Error{Op: "check", Err: because(ErrRestricted, "processing under an allowance could not be recorded", err)}
	}
	return nil
}

// covers reports whether x applies to processing for purpose. Processing
// for no stated purpose is covered by every restriction and objection: it
// cannot be shown to be for another purpose.
func (e *Engine) covers(x Restriction, purpose gdpr.Purpose) bool {
	if purpose == "" || len(x.Purposes) == 0 && x.Kind == gdpr.KindRestriction {
		return true
	}
	if slices.Contains(x.Purposes, purpose) {
		return true
	}
	if x.DirectMarketing && len(x.Purposes) == 0 && e.register != nil {
		a, ok := e.register.Activity(purpose)
		return ok && a.DirectMarketing
	}
	return false
}

// memoMax bounds the subjects a snapshot remembers; past it, lookups
// compute the subject's reference each time until the next refresh.
const memoMax = 1 << 16

// restrictionCache holds the restrictions in force, by subject reference,
// and remembers per subject ID what it found, so that a Check of a
// subject seen before is one map lookup.
type restrictionCache struct {
	e          *Engine
	snap       atomic.Pointer[snapshot]
	mu         sync.Mutex // one read of the Store at a time
	refreshing atomic.Bool
	// gen counts this instance's own changes: a read that began before
	// one is installed already expired, so that the change is read next.
	gen atomic.Int64
}

type snapshot struct {
	byRef   map[string][]Restriction
	stale   atomic.Bool // past ttl: read again, in the background
	expired atomic.Bool // past twice ttl, or changed here: read again first
	memo    sync.Map    // gdpr.SubjectID → []Restriction
	n       atomic.Int64
}

func newRestrictionCache(e *Engine) *restrictionCache { return &restrictionCache{e: e} }

// lookup returns the restrictions in force of subject.
func (c *restrictionCache) lookup(ctx context.Context, subject gdpr.SubjectID) ([]Restriction, error) {
	if c.e.cacheTTL == 0 {
		return c.read(ctx, c.e.SubjectRef(subject))
	}
	s := c.snap.Load()
	if s == nil || s.expired.Load() {
		var err error
		if s, err = c.refresh(ctx, s); err != nil {
			return nil, err
		}
	} else if s.stale.Load() && c.refreshing.CompareAndSwap(false, true) {
		go func() {
			defer c.refreshing.Store(false)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_, _ = c.refresh(rctx, s)
		}()
	}
	if len(s.byRef) == 0 {
		return nil, nil
	}
	if v, ok := s.memo.Load(subject); ok {
		return v.([]Restriction), nil
	}
	xs := s.byRef[c.e.SubjectRef(subject)]
	if s.n.Add(1) <= memoMax {
		s.memo.Store(subject, xs)
	}
	return xs, nil
}

// read reads one subject's restrictions in force from the Store.
func (c *restrictionCache) read(ctx context.Context, ref string) ([]Restriction, error) {
	var out []Restriction
	f := RestrictionFilter{SubjectRef: ref, Limit: MaxLimit}
	for {
		page, err := c.e.store.ListRestrictions(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, x := range page {
			if x.InForce() {
				out = append(out, x)
			}
		}
		if len(page) < MaxLimit {
			return out, nil
		}
		f.After = page[len(page)-1].ID
	}
}

// refresh reads every restriction in force, unless another caller has
// replaced old meanwhile, and installs the new snapshot.
func (c *restrictionCache) refresh(ctx context.Context, old *snapshot) (*snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.snap.Load(); cur != old && cur != nil && !cur.expired.Load() {
		return cur, nil
	}
	// The bound is counted from the start of the read: what the read
	// returns is at least as fresh as that.
	start, gen := time.Now(), c.gen.Load()
	byRef := map[string][]Restriction{}
	f := RestrictionFilter{Limit: MaxLimit}
	for {
		page, err := c.e.store.ListRestrictions(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, x := range page {
			if x.InForce() {
				byRef[x.SubjectRef] = append(byRef[x.SubjectRef], x)
			}
		}
		if len(page) < MaxLimit {
			break
		}
		f.After = page[len(page)-1].ID
	}
	s := &snapshot{byRef: byRef}
	ttl, took := c.e.cacheTTL, time.Since(start)
	after := func(d time.Duration, flag *atomic.Bool) {
		if d -= took; d <= 0 {
			flag.Store(true)
			return
		}
		time.AfterFunc(d, func() { flag.Store(true) })
	}
	after(ttl, &s.stale)
	after(2*ttl, &s.expired)
	if c.gen.Load() != gen {
		s.expired.Store(true) // this instance changed a restriction during the read
	}
	c.snap.Store(s)
	return s, nil
}

// invalidate makes the next lookup read the Store first: this instance
// has just changed a restriction (also while a read is under way).
func (c *restrictionCache) invalidate() {
	c.gen.Add(1)
	if s := c.snap.Load(); s != nil {
		s.expired.Store(true)
	}
}

// restrictionLatency is how long after a change of a restriction every
// instance's Check sees it.
func (e *Engine) restrictionLatency() time.Duration { return 2 * e.cacheTTL }

// Restrictions returns the subject's restrictions and objections, in
// force or not, oldest first: for staff, and for the subject's access
// request. An empty subject is an *Error wrapping ErrInvalid.
func (e *Engine) Restrictions(ctx context.Context, subject gdpr.SubjectID) ([]Restriction, error) {
	const op = "restrictions"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if err := subject.Validate(); err != nil {
		return nil, wrap(op, invalid("subject", err))
	}
	xs, err := e.allRestrictions(ctx, e.SubjectRef(subject))
	return xs, wrap(op, err)
}

func (e *Engine) allRestrictions(ctx context.Context, ref string) ([]Restriction, error) {
	var out []Restriction
	f := RestrictionFilter{SubjectRef: ref, IncludeLifted: true, Limit: MaxLimit}
	for {
		page, err := e.store.ListRestrictions(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < MaxLimit {
			return out, nil
		}
		f.After = page[len(page)-1].ID
	}
}

// Objection is what the objection hook (WithObjectionHook) is told: one
// purpose a subject objected to, or whose objection was overridden.
type Objection struct {
	// Request is the ID of the objection request.
	Request string
	// Subject is the data subject.
	Subject gdpr.SubjectID
	// Purpose is the purpose objected to.
	Purpose gdpr.Purpose
	// Basis is the basis objected to: gdpr.LegitimateInterests or
	// gdpr.PublicTask under Art. 21(1); for direct marketing, the
	// Register's basis of the purpose, or 0 without a Register.
	Basis gdpr.LawfulBasis
	// DirectMarketing marks an objection to direct marketing (Art. 21(2)):
	// absolute, including profiling related to it.
	DirectMarketing bool
	// Overridden marks the override of an objection under Art. 21(1), with
	// the Reference to the controller's assessment.
	Overridden bool
	Reference  string
}

// Override records that the controller has demonstrated compelling
// legitimate grounds for processing the subject's data for purpose, which
// override their objection under Art. 21(1), with reference pointing to
// the documented assessment and reasons as the subject is told them
// (Art. 12(4), with the remedies). It overrides every objection of the
// subject in force that covers purpose, and returns them. The override is
// audited ("erasure.objection.overridden") before it is written; then the
// objection hook and the subject (NoticeOverridden) are told. From then
// on, within the cache bound, Check lets the purpose through.
//
// An objection to direct marketing cannot be overridden (Art. 21(3)):
// ErrAbsolute. No objection of the subject for purpose, in force or
// overridden with this reference, is ErrNotFound. An empty reference or
// reasons is an *Error wrapping ErrInvalid. Nothing is written on these
// errors. If the hook or the Notifier fails once the override is written,
// the error says so (ErrNotify for the Notifier): call Override again with
// the same reference, which tells them again and writes nothing new.
func (e *Engine) Override(ctx context.Context, subject gdpr.SubjectID, purpose gdpr.Purpose, reference, reasons string) ([]Restriction, error) {
	const op = "override"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if err := subject.Validate(); err != nil {
		return nil, wrap(op, invalid("subject", err))
	}
	if err := purpose.Validate(); err != nil {
		return nil, wrap(op, invalid("purpose", err))
	}
	if !isText(reference, 200) {
		return nil, wrap(op, invalidf("reference", "an override needs the reference of its assessment, of at most 200 bytes"))
	}
	if !isText(reasons, 1000) {
		return nil, wrap(op, invalidf("reasons", "an override needs its reasons, of at most 1000 bytes (Art. 12(4))"))
	}
	xs, err := e.allRestrictions(ctx, e.SubjectRef(subject))
	if err != nil {
		return nil, wrap(op, err)
	}
	var hit []Restriction
	for _, x := range xs {
		if x.Kind != gdpr.KindObjection || !x.Lifted.IsZero() || !e.covers(x, purpose) {
			continue
		}
		if x.DirectMarketing {
			return nil, wrap(op, refuse(ErrAbsolute, "purpose", "the objection "+x.ID+" is to direct marketing (Art. 21(3))"))
		}
		if x.Override == nil || x.Override.Reference == reference {
			hit = append(hit, x)
		}
	}
	if len(hit) == 0 {
		return nil, wrap(op, refuse(ErrNotFound, "purpose", "no objection of the subject to this purpose is in force"))
	}
	who := actor(ctx, engineActor)
	now := e.now()
	for i, x := range hit {
		if x.Override != nil {
			continue // overridden by an earlier call with this reference
		}
		if err := e.recorder.Record(ctx, gdpr.Event{
			Time: now, Actor: who, Action: "erasure.objection.overridden",
			Resource: "dsar_restriction/" + x.ID, Purpose: purpose, Outcome: gdpr.Success,
			Attrs: map[string]string{"reference": reference},
		}); err != nil {
			return nil, wrap(op, fmt.Errorf("%w erasure.objection.overridden: %w", errRecord, err))
		}
		next := x.Clone()
		next.Override = &Override{Reference: reference, Reasons: reasons, Actor: who, At: now}
		if err := e.store.UpdateRestriction(ctx, next); err != nil {
			return nil, wrap(op, err)
		}
		e.cache.invalidate()
		next.Version++
		hit[i] = next
	}
	if e.objected != nil {
		o := Objection{Request: requestOf(hit[0].ID), Subject: subject, Purpose: purpose, Basis: e.basis(purpose),
			Overridden: true, Reference: reference}
		if err := e.objected(ctx, o); err != nil {
			return hit, wrap(op, fmt.Errorf("the override is written, but the objection hook failed (call Override again): %w", err))
		}
	}
	if e.notifier != nil {
		n := Notice{ID: hit[0].ID + ":" + string(NoticeOverridden), Type: NoticeOverridden,
			Request: gdpr.Request{ID: requestOf(hit[0].ID), Kind: gdpr.KindObjection, Subject: subject},
			Article: "Art. 21(1)", Reasons: reasons, Restrictions: cloneRestrictions(hit), Remedies: e.remedies()}
		if err := e.notifier.Notify(ctx, n); err != nil {
			return hit, wrap(op, because(ErrNotify, "the override is written, but the Notifier failed (call Override again)", err))
		}
	}
	return hit, nil
}

func cloneRestrictions(xs []Restriction) []Restriction {
	out := make([]Restriction, len(xs))
	for i, x := range xs {
		out[i] = x.Clone()
	}
	return out
}

// requestOf returns the request ID in a restriction's ID ("<request>" or
// "<request>/<n>").
func requestOf(id string) string {
	for i := 0; i < len(id); i++ {
		if id[i] == '/' {
			return id[:i]
		}
	}
	return id
}

// basis returns the Register's basis of purpose, or 0.
func (e *Engine) basis(p gdpr.Purpose) gdpr.LawfulBasis {
	if e.register == nil {
		return 0
	}
	a, ok := e.register.Activity(p)
	if !ok {
		return 0
	}
	return a.Basis
}

// placeRestriction is the step of a restriction request: the restriction
// is stored, once.
func (e *Engine) placeRestriction(ctx context.Context, r Request, st Step) (Step, error) {
	x := Restriction{ID: r.ID, Kind: gdpr.KindRestriction, SubjectRef: r.SubjectRef, Ground: r.Ask.Ground,
		Purposes: slices.Clone(r.Ask.Purposes), Since: e.now()}
	if err := e.record(ctx, "erasure.restriction.placed", r, gdpr.Success, map[string]string{"ground": string(x.Ground)}); err != nil {
		return st, err
	}
	if err := e.createRestriction(ctx, x); err != nil {
		return st, err
	}
	st.Outcome, st.Count = OutcomeApplied, 1
	return st, nil
}

// createRestriction stores x, or finds it stored by an earlier attempt.
func (e *Engine) createRestriction(ctx context.Context, x Restriction) error {
	err := e.store.CreateRestriction(ctx, x)
	if errors.Is(err, ErrConflict) {
		if got, gerr := e.store.GetRestriction(ctx, x.ID); gerr == nil && got.SubjectRef == x.SubjectRef && got.Kind == x.Kind {
			err = nil // stored by an earlier attempt of this step
		}
	}
	if err != nil {
		return err
	}
	e.cache.invalidate()
	return nil
}

// objectionRecords lays out the restrictions an objection request
// places: one per purpose, or one for all direct marketing.
func (e *Engine) objectionRecords(r Request, now time.Time) []Restriction {
	if len(r.Ask.Purposes) == 0 {
		return []Restriction{{ID: r.ID + "/0", Kind: gdpr.KindObjection, SubjectRef: r.SubjectRef, DirectMarketing: true, Since: now}}
	}
	out := make([]Restriction, len(r.Ask.Purposes))
	for i, p := range r.Ask.Purposes {
		dm := r.Ask.DirectMarketing
		if e.register != nil {
			a, _ := e.register.Activity(p)
			dm = a.DirectMarketing
		}
		out[i] = Restriction{ID: fmt.Sprintf("%s/%d", r.ID, i), Kind: gdpr.KindObjection, SubjectRef: r.SubjectRef,
			Purposes: []gdpr.Purpose{p}, DirectMarketing: dm, Since: now}
	}
	return out
}

// object is the step of an objection request: the hook is told of each
// purpose, then the objections are stored.
func (e *Engine) object(ctx context.Context, r Request, st Step) (Step, error) {
	xs := e.objectionRecords(r, e.now())
	if e.objected != nil {
		for _, x := range xs {
			purposes := x.Purposes
			if len(purposes) == 0 {
				purposes = e.marketingPurposes()
			}
			for _, p := range purposes {
				o := Objection{Request: r.ID, Subject: r.Subject, Purpose: p, Basis: e.basis(p), DirectMarketing: x.DirectMarketing}
				if err := e.objected(ctx, o); err != nil {
					return st, fmt.Errorf("the objection hook failed: %w", err)
				}
			}
		}
	}
	if err := e.record(ctx, "erasure.objection.recorded", r, gdpr.Success, map[string]string{"purposes": fmt.Sprint(len(xs))}); err != nil {
		return st, err
	}
	for _, x := range xs {
		if err := e.createRestriction(ctx, x); err != nil {
			return st, err
		}
	}
	st.Outcome, st.Count = OutcomeApplied, int64(len(xs))
	return st, nil
}

// marketingPurposes lists the Register's direct-marketing purposes.
func (e *Engine) marketingPurposes() []gdpr.Purpose {
	if e.register == nil {
		return nil
	}
	var out []gdpr.Purpose
	for _, a := range e.register.Activities {
		if a.DirectMarketing {
			out = append(out, a.PurposeKey())
		}
	}
	return out
}

// toLift returns the restrictions in force that the lift request r lifts.
func (e *Engine) toLift(ctx context.Context, r Request) ([]Restriction, error) {
	xs, err := e.allRestrictions(ctx, r.SubjectRef)
	if err != nil {
		return nil, err
	}
	var out []Restriction
	for _, x := range xs {
		if x.Kind == gdpr.KindRestriction && x.InForce() && (r.Ask.Restriction == "" || x.ID == r.Ask.Restriction) {
			out = append(out, x)
		}
	}
	return out, nil
}

// liftNotice is the first step of a lift: the subject is told before the
// restriction is lifted (Art. 18(3)), and the notice recorded.
func (e *Engine) liftNotice(ctx context.Context, r Request, st Step) (Step, error) {
	xs, err := e.toLift(ctx, r)
	if err != nil {
		return st, err
	}
	if len(xs) > 0 {
		if e.notifier == nil {
			return st, errors.New("this Engine has no Notifier, and a lift must be told to the subject first (Art. 18(3))")
		}
		n := Notice{ID: r.ID + ":" + string(NoticeLifting), Type: NoticeLifting, Request: e.info(r), State: r.State,
			Deadline: r.Deadline, Article: "Art. 18(3)", Restrictions: xs}
		if err := e.notifier.Notify(ctx, n); err != nil {
			return st, fmt.Errorf("the Notifier failed to tell the subject of the lift: %w", err)
		}
		if err := e.record(ctx, "erasure.restriction.lift_notified", r, gdpr.Success, map[string]string{"restrictions": fmt.Sprint(len(xs))}); err != nil {
			return st, err
		}
	}
	ids := make([]string, len(xs))
	for i, x := range xs {
		ids[i] = x.ID
	}
	st.Outcome, st.Count, st.Reference = OutcomeApplied, int64(len(xs)), strings.Join(ids, " ")
	if len(xs) == 0 {
		st.Outcome = OutcomeNothingFound
	}
	return st, nil
}

// lift is the second step of a lift, run only once the notice of the
// first is on record: it lifts the restrictions that notice named, and
// no other (one placed since was not announced). A retry after a crash
// counts the restrictions this request lifted already.
func (e *Engine) lift(ctx context.Context, r Request, st Step) (Step, error) {
	var noticed []string
	for _, s := range r.Steps {
		if s.Target == stepLiftNotice && s.Outcome.Done() {
			noticed = strings.Fields(s.Reference)
		}
	}
	all, err := e.allRestrictions(ctx, r.SubjectRef)
	if err != nil {
		return st, err
	}
	var mine, todo []Restriction
	for _, x := range all {
		if !slices.Contains(noticed, x.ID) || x.Kind != gdpr.KindRestriction {
			continue
		}
		switch {
		case x.LiftedBy == r.ID:
			mine = append(mine, x) // an earlier attempt lifted it
		case x.Lifted.IsZero():
			todo = append(todo, x)
		} // else lifted by another request meanwhile
	}
	n := int64(len(mine) + len(todo))
	if n > 0 {
		// The event first, as everywhere: a crash leaves at worst an event
		// for a lift a retry makes.
		if err := e.record(ctx, "erasure.restriction.lifted", r, gdpr.Success, map[string]string{"restrictions": fmt.Sprint(n)}); err != nil {
			return st, err
		}
	}
	now := e.now()
	for _, x := range todo {
		x.Lifted, x.LiftedBy = now, r.ID
		if err := e.store.UpdateRestriction(ctx, x); err != nil {
			return st, err
		}
		e.cache.invalidate()
	}
	st.Outcome, st.Count = OutcomeApplied, n
	if n == 0 {
		st.Outcome = OutcomeNothingFound
	}
	return st, nil
}
