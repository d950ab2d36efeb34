package erasure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
)

// handlerStep is the name of the one step of a request that is not an
// erasure: its handler.
const handlerStep = "handler"

// persistTimeout bounds a write of a step's outcome once the step is done:
// the write goes ahead even if the caller's context ends meanwhile, so a
// step that succeeded is not run again for want of its record.
const persistTimeout = 30 * time.Second

// Alert is what the alert hook (WithAlert) is told of a request that needs
// a person: no personal data.
type Alert struct {
	Request  string
	Kind     gdpr.RequestKind
	Target   string
	Attempts int
	Error    string
}

// Process works on request id now, as a worker of Run would, and returns
// the request as it left it: closed, waiting (NextAt says until when: a
// backoff, or the key caches of other instances), or failed. It is for a
// host whose own job system (River, Temporal, a cron job) drives the
// requests instead of Run: a job's arguments carry the request ID, never
// personal data, and the job calls Process again at NextAt until the
// request is closed. Process is idempotent: on a closed or failed request,
// or one awaiting identity, it changes nothing and returns it. If another
// worker holds the subject's lease the error wraps ErrLeased; try again
// later.
func (e *Engine) Process(ctx context.Context, id string) (Request, error) {
	const op = "process"
	if err := checkCtx(op, ctx); err != nil {
		return Request{}, err
	}
	l, err := e.store.AcquireID(ctx, id, e.owner, e.now(), e.leaseTTL)
	if err != nil {
		return Request{}, wrap(op, err)
	}
	r, err := e.work(ctx, l)
	return r, wrap(op, err)
}

// Run leases due requests and works on them, up to WithWorkers at once,
// until ctx ends; then it waits for the requests in hand to reach a step
// boundary and returns nil. Any number of Engines, in any number of
// processes, may Run over one Store: a request is worked on by one worker
// at a time, the requests of one subject one at a time, and a worker that
// dies is taken over once its lease expires. Run also purges closed
// requests past the accountability period (WithAccountability), once an
// hour.
func (e *Engine) Run(ctx context.Context) error {
	if err := checkCtx("run", ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, e.workers)
	freed := make(chan struct{}, e.workers)
	nextPurge := e.now()
	for ctx.Err() == nil {
		if !e.now().Before(nextPurge) {
			_, _ = e.Purge(ctx)
			nextPurge = e.now().Add(time.Hour)
		}
		free := e.workers - len(slots)
		var got []Leased
		var err error
		if free > 0 {
			got, err = e.store.Acquire(ctx, e.owner, e.now(), e.leaseTTL, free)
		}
		for _, l := range got {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = e.work(ctx, l)
				<-slots
				select {
				case freed <- struct{}{}:
				default:
				}
			}()
		}
		if len(got) > 0 && err == nil {
			continue
		}
		wait := e.poll + time.Duration(rand.Int64N(int64(e.poll)/5+1))
		if free == 0 {
			wait = e.poll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-freed:
		}
		t.Stop()
	}
	return nil
}

// work runs the leased request step by step until it closes, waits or
// fails, or ctx ends, persisting each step's outcome before the next, and
// releases the lease.
func (e *Engine) work(ctx context.Context, l Leased) (Request, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &worker{e: e, lease: l.Lease}
	stop := w.heartbeat(wctx, cancel)
	r := l.Request
	defer func() {
		stop()
		if w.closedLease() || w.kept() {
			return // the closing write ended the lease, or it is kept to expire
		}
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
		_ = e.store.Release(rctx, w.current())
		rcancel()
	}()
	for {
		if err := wctx.Err(); err != nil {
			if w.lost() {
				return r, ErrLeaseLost
			}
			return r, nil
		}
		next, mut, err := e.next(wctx, r)
		if err != nil {
			// Not a target's failure (those are steps, with their own
			// backoff) but the engine's own: the Recorder, the Journal or
			// the Notifier failed. It counts as an attempt: the request
			// is put off with backoff, and fails past the retry limit.
			if wctx.Err() != nil {
				return r, err
			}
			was := r.State
			put, perr := w.commit(ctx, r, e.deferral(r.State, err))
			if perr != nil {
				// Not even that could be written: keep the lease until it
				// expires, so that no worker takes the request up at once.
				w.keep()
				return r, err
			}
			r = put
			if r.State == StateFailed && was != StateFailed {
				e.alertFailed(ctx, r)
			}
			return r, err
		}
		if mut == nil {
			return r, nil
		}
		if w.lost() {
			return r, ErrLeaseLost
		}
		was := r.State
		r, err = w.commit(ctx, r, mut)
		if err == nil && r.State == StateFailed && was != StateFailed {
			e.alertFailed(ctx, r)
		}
		if err != nil && !errors.Is(err, ErrLeaseLost) {
			w.keep() // as above: the lease's expiry is the backoff
		}
		if err != nil || next == waitNow {
			return r, err
		}
	}
}

type nextAction int

const (
	goOn nextAction = iota
	waitNow
)

// mutation is a change to a request, worked out from a step's outcome;
// it may be applied again to a fresher copy when a concurrent writer won,
// and refuses (errStop) when the request moved on meanwhile.
type mutation func(r *Request, now time.Time) error

var errStop = errors.New("request moved on")

// next works out, and does, what comes next for r: it runs a step (the
// I/O outside the store) and returns the change to write, or nil when
// there is nothing to do.
func (e *Engine) next(ctx context.Context, r Request) (nextAction, mutation, error) {
	switch r.State {
	case StateVerified:
		// The start is written before any target runs: until then the
		// subject may still cancel.
		return goOn, e.start, nil
	case StateInProgress:
	default:
		return goOn, nil, nil
	}
	i := firstOpen(r)
	if i < 0 {
		return e.finish(ctx, r)
	}
	if r.Steps[i].Target == stepLift && i > 0 && e.now().Before(r.Steps[i-1].At.Add(e.liftDelay)) {
		return waitNow, nil, nil // the subject was told; the lift waits its time (WithLiftDelay)
	}
	return e.step(ctx, r, i)
}

func firstOpen(r Request) int {
	for i, s := range r.Steps {
		if !s.Outcome.Done() {
			return i
		}
	}
	return -1
}

// start moves a verified request into progress and lays out its steps.
func (e *Engine) start(r *Request, now time.Time) error {
	if r.State != StateVerified {
		return errStop
	}
	r.Steps = nil
	if e.tellsRecipients(r.Kind) {
		r.Steps = append(r.Steps, Step{Target: stepRecipients})
	}
	switch r.Kind {
	case gdpr.KindErasure:
		for _, t := range e.targets {
			r.Steps = append(r.Steps, Step{Target: t.Name})
		}
	case gdpr.KindRestriction:
		r.Steps = append(r.Steps, Step{Target: stepRestriction})
	case gdpr.KindObjection:
		r.Steps = append(r.Steps, Step{Target: stepObjection})
	case gdpr.KindLiftRestriction:
		r.Steps = append(r.Steps, Step{Target: stepLiftNotice}, Step{Target: stepLift})
	case gdpr.KindRectification:
		for _, c := range r.Ask.Corrections {
			r.Steps = append(r.Steps, Step{Target: c.Target, Field: c.Field})
		}
	default:
		r.Steps = []Step{{Target: handlerStep}}
	}
	r.move(StateInProgress, now, engineActor, "started", "")
	r.NextAt = now
	return nil
}

func (e *Engine) target(name string) (Target, bool) {
	for _, t := range e.targets {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// step runs step i of r and returns the change that records its outcome.
func (e *Engine) step(ctx context.Context, r Request, i int) (nextAction, mutation, error) {
	st := r.Steps[i]
	sctx := ctx
	if _, ok := gdpr.ActorFrom(ctx); !ok {
		sctx = gdpr.WithActor(ctx, engineActor)
	}
	var (
		out   Step
		extra []Step
		err   error
		attrs = map[string]string{"step": st.Target}
	)
	base := Step{Target: st.Target, Field: st.Field, Recipient: st.Recipient, Attempts: st.Attempts}
	out = base
	switch {
	case st.Target == stepRecipients && i == 0:
		out, extra, err = e.listRecipients(sctx, r, base)
	case st.Target == stepRecipient && st.Recipient != nil:
		out, err = e.tellRecipient(sctx, r, i, base)
	case r.Kind == gdpr.KindErasure:
		out, err = e.erase(sctx, r, st)
	case r.Kind == gdpr.KindRestriction:
		out, err = e.placeRestriction(sctx, r, base)
	case r.Kind == gdpr.KindObjection:
		out, err = e.object(sctx, r, base)
	case r.Kind == gdpr.KindLiftRestriction && st.Target == stepLiftNotice:
		out, err = e.liftNotice(sctx, r, base)
	case r.Kind == gdpr.KindLiftRestriction:
		out, err = e.lift(sctx, r, base)
	case r.Kind == gdpr.KindRectification:
		out, err = e.rectify(sctx, r, base)
	default:
		out, err = e.handle(sctx, r)
	}
	if err != nil {
		out = base
	}
	if err != nil && ctx.Err() != nil {
		// The worker is stopping: the attempt does not count, and its
		// half-done work is done again by whoever resumes.
		return goOn, nil, nil
	}
	out.Attempts = st.Attempts + 1
	// The target has answered: its record is written even if the
	// worker is stopping now, so a step that succeeded is not run again
	// for want of it.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
	defer rcancel()
	if err != nil {
		var ve *valueError
		var cut []string
		if errors.As(err, &ve) {
			cut = append(cut, ve.value)
		}
		if st.Recipient != nil {
			cut = append(cut, st.Recipient.Reference)
		}
		out.Outcome, out.Error = OutcomeFailed, e.errorText(r.Subject, err, cut...)
		if ve != nil && e.errText == nil {
			// A rectifier's error may quote the value in any form: its
			// text is not kept (WithErrorText keeps the host's own).
			out.Error = "the rectifier " + st.Target + " failed"
		}
		attrs["attempts"] = strconv.Itoa(out.Attempts)
		if rerr := e.record(rctx, "erasure.step", r, gdpr.Failure, attrs); rerr != nil {
			return goOn, nil, rerr
		}
		failed := out.Attempts >= e.attempts
		delay := e.backoff(out.Attempts, rand.Float64())
		return waitNow, func(r *Request, now time.Time) error {
			if r.State != StateInProgress || r.Steps[i].Outcome.Done() {
				return errStop
			}
			out.At = now
			r.Steps[i] = out
			if failed {
				r.move(StateFailed, now, engineActor, "failed", st.Target)
				r.NextAt = time.Time{}
				return nil
			}
			r.note(now, engineActor, "step_failed", st.Target)
			r.NextAt = now.Add(delay)
			return nil
		}, nil
	}
	attrs["outcome"], attrs["count"] = string(out.Outcome), strconv.FormatInt(out.Count, 10)
	if out.Recipient != nil {
		attrs["recipient"] = out.Recipient.Recipient
	}
	if out.Field != "" {
		attrs["field"] = out.Field
	}
	if err := e.record(rctx, "erasure.step", r, gdpr.Success, attrs); err != nil {
		return goOn, nil, err
	}
	then := goOn
	wait := out.Target == stepLiftNotice && out.Outcome == OutcomeApplied && e.liftDelay > 0
	if wait {
		then = waitNow
	}
	return then, func(r *Request, now time.Time) error {
		if r.State != StateInProgress || r.Steps[i].Outcome.Done() {
			return errStop
		}
		out.At = now
		r.Steps[i] = out
		if wait {
			r.NextAt = now.Add(e.liftDelay)
		}
		r.Steps = append(r.Steps, extra...)
		if r.Kind == gdpr.KindRectification {
			if k := correctionIndex(*r, out); k >= 0 {
				r.Ask.Corrections[k].Sealed = nil // applied: the value goes
			}
		}
		return nil
	}, nil
}

// erase runs one target of an erasure, after asking the legal holds.
func (e *Engine) erase(ctx context.Context, r Request, st Step) (Step, error) {
	out := Step{Target: st.Target}
	t, ok := e.target(st.Target)
	if !ok {
		return out, fmt.Errorf("target %s is not registered with this Engine", show(st.Target))
	}
	if e.holds != nil {
		holds, err := e.holds.Holds(ctx, r.Subject, e.now())
		if err != nil {
			return out, fmt.Errorf("asking the legal holds: %w", err)
		}
		for _, h := range holds {
			if !h.Covers(t.Categories) {
				continue
			}
			// The target is not called at all, so everything it holds is
			// kept: each of its categories is reported, on the hold.
			out.Outcome = OutcomeRetained
			cats := t.Categories
			if len(cats) == 0 {
				cats = h.Categories
			}
			if len(cats) == 0 {
				cats = []string{t.Name}
			}
			for _, c := range cats {
				out.Exemptions = append(out.Exemptions, gdpr.Exemption{Category: c, Ground: gdpr.GroundLegalClaims,
					Reason: h.Reason, Until: h.Until})
			}
		}
		if out.Outcome == OutcomeRetained {
			return out, nil
		}
	}
	rep, err := t.Eraser.EraseSubject(ctx, r.Subject)
	if err != nil {
		return out, err
	}
	if rep.Erased < 0 {
		return out, errors.New("the target reported a negative count")
	}
	for _, x := range rep.Exemptions {
		if err := x.Validate(); err != nil {
			return out, errors.New("the target reported an invalid exemption")
		}
	}
	out.Count, out.Exemptions = rep.Erased, append([]gdpr.Exemption(nil), rep.Exemptions...)
	switch {
	case len(rep.Exemptions) > 0:
		out.Outcome = OutcomeRetained
	case rep.Erased > 0:
		out.Outcome = OutcomeErased
	default:
		out.Outcome = OutcomeNothingFound
	}
	return out, nil
}

// handle runs the handler of a request that is not an erasure.
func (e *Engine) handle(ctx context.Context, r Request) (Step, error) {
	out := Step{Target: handlerStep}
	h := e.handlers[r.Kind]
	if h == nil {
		return out, fmt.Errorf("no handler is registered for %s with this Engine", r.Kind)
	}
	res, err := h.HandleRequest(ctx, e.info(r))
	if err != nil {
		return out, err
	}
	if res.Records < 0 {
		return out, errors.New("the handler reported a negative count")
	}
	for _, x := range res.Exemptions {
		if err := x.Validate(); err != nil {
			return out, errors.New("the handler reported an invalid exemption")
		}
	}
	out.Count, out.Exemptions, out.Reference = res.Records, append([]gdpr.Exemption(nil), res.Exemptions...), res.Reference
	switch {
	case len(res.Exemptions) > 0:
		out.Outcome = OutcomeRetained
	case res.Records > 0:
		out.Outcome = OutcomeErased
	default:
		out.Outcome = OutcomeNothingFound
	}
	return out, nil
}

// deferralEvent names, in a request's history, a put-off after a failure
// of the engine's own dependencies.
const deferralEvent = "deferred"

// deferrals counts the put-offs at the end of r's history: the attempts
// since the last progress.
func deferrals(r *Request) int {
	n := 0
	for i := len(r.History) - 1; i >= 0 && r.History[i].Event == deferralEvent; i-- {
		n++
	}
	return n
}

// deferral is the change that puts r off after the engine's own failure
// cause, or fails it past the retry limit.
func (e *Engine) deferral(state State, cause error) mutation {
	what := "engine"
	var ne *notifyError
	switch {
	case errors.As(cause, &ne):
		what = "notifier"
	case errors.Is(cause, errJournal):
		what = "journal"
	case errors.Is(cause, errRecord):
		what = "recorder"
	}
	jitter := rand.Float64()
	return func(r *Request, now time.Time) error {
		if r.State != state || !r.State.Open() || r.State == StateFailed {
			return errStop
		}
		n := deferrals(r) + 1
		r.note(now, engineActor, deferralEvent, what)
		if n >= e.attempts && r.State == StateInProgress {
			r.move(StateFailed, now, engineActor, "failed", what)
			r.NextAt = time.Time{}
			return nil
		}
		r.NextAt = now.Add(e.backoff(n, jitter))
		return nil
	}
}

// alertFailed calls the alert hook for r, which this worker has just
// moved to StateFailed.
func (e *Engine) alertFailed(ctx context.Context, r Request) {
	if e.alert == nil {
		return
	}
	a := Alert{Request: r.ID, Kind: r.Kind}
	if n := len(r.History); n > 1 && r.History[n-2].Event == deferralEvent {
		a.Target, a.Error = r.History[n-2].Note, "the engine's "+r.History[n-2].Note+" kept failing"
		a.Attempts = deferrals(&Request{History: r.History[:n-1]})
	} else if i := firstOpen(r); i >= 0 {
		a.Target, a.Attempts, a.Error = r.Steps[i].Target, r.Steps[i].Attempts, r.Steps[i].Error
	}
	e.alert(context.WithoutCancel(ctx), a)
}

// latency is how long after its steps an erasure becomes visible on
// every instance: the longest latency of the targets called.
func (e *Engine) latency(r Request) time.Duration {
	var d time.Duration
	if r.Kind == gdpr.KindRestriction || r.Kind == gdpr.KindObjection {
		// Told once every instance's Check refuses.
		return e.restrictionLatency()
	}
	for _, s := range r.Steps {
		// Every target that was called counts, whatever it found: a
		// shred retried after a crash finds its key gone already, and
		// reports nothing, while other instances may still hold it.
		if s.Outcome == OutcomeRetained && s.Count == 0 {
			continue
		}
		t, ok := e.target(s.Target)
		if !ok {
			continue
		}
		l := t.Latency
		if l == 0 {
			if el, ok := t.Eraser.(gdpr.ErasureLatency); ok {
				l = el.ErasureLatency()
			}
		}
		d = max(d, l)
	}
	return d
}

// finish closes a request whose steps are all done, once the targets'
// latency has passed: the journal entry first, then the notice, then the
// closing write.
func (e *Engine) finish(ctx context.Context, r Request) (nextAction, mutation, error) {
	now := e.now()
	if (r.Kind == gdpr.KindErasure || r.Kind == gdpr.KindRestriction || r.Kind == gdpr.KindObjection) && r.SettleUntil.IsZero() {
		if d := e.latency(r); d > 0 {
			until := now.Add(d)
			return waitNow, func(r *Request, now time.Time) error {
				if r.State != StateInProgress || firstOpen(*r) >= 0 || !r.SettleUntil.IsZero() {
					return errStop
				}
				r.SettleUntil, r.NextAt = until, until
				r.note(now, engineActor, "settling", "")
				return nil
			}, nil
		}
	}
	if now.Before(r.SettleUntil) {
		return waitNow, nil, nil
	}
	to := StateCompleted
	if len(r.Exemptions()) > 0 {
		to = StateCompletedWithExemptions
	}
	if r.Kind == gdpr.KindErasure && to == StateCompleted {
		// Nothing of the subject was kept: their restrictions and
		// statements go too (with exemptions, they stay with the data
		// kept). The engine's own records of the request follow at close.
		if _, err := e.forgetSubject(ctx, r.SubjectRef); err != nil {
			return goOn, nil, err
		}
	}
	if r.Kind == gdpr.KindErasure && e.journal != nil {
		var targets []string // the targets, not the recipients' steps
		for _, s := range r.Steps {
			if _, ok := e.target(s.Target); ok {
				targets = append(targets, s.Target)
			}
		}
		if err := e.journal.Append(ctx, JournalEntry{RequestID: r.ID, SubjectRef: r.SubjectRef, Completed: now, Targets: targets}); err != nil {
			return goOn, nil, fmt.Errorf("%w: %w", errJournal, err)
		}
	}
	done := r.Clone()
	done.State = to
	if err := e.notify(ctx, done, NoticeCompleted, ""); err != nil {
		return goOn, nil, err
	}
	closed := r.Clone()
	closed.close(to, now, engineActor, "completed", "")
	if err := e.record(ctx, "erasure.request.completed", closed, gdpr.Success, map[string]string{"steps": strconv.Itoa(len(r.Steps))}); err != nil {
		return goOn, nil, err
	}
	return waitNow, func(r *Request, now time.Time) error {
		if r.State != StateInProgress || firstOpen(*r) >= 0 {
			return errStop
		}
		r.close(to, now, engineActor, "completed", "")
		return nil
	}, nil
}

// errorText is the text kept of a step's error: the host's function, or
// the error's text with the subject ID cut out, at most 200 bytes.
func (e *Engine) errorText(subject gdpr.SubjectID, err error, cut ...string) string {
	s := err.Error()
	if e.errText != nil {
		s = e.errText(err)
	}
	if subject != "" {
		for _, form := range []string{string(subject), url.PathEscape(string(subject)), url.QueryEscape(string(subject))} {
			s = replaceFold(s, form, "[subject]")
		}
	}
	// A corrected value or a recipient's reference is cut as well, even
	// from the host's own text.
	for _, v := range cut {
		if v == "" {
			continue
		}
		q := strconv.Quote(v)
		j, _ := json.Marshal(v)
		for _, form := range []string{v, url.PathEscape(v), url.QueryEscape(v), q[1 : len(q)-1], string(j[1 : len(j)-1])} {
			s = replaceFold(s, form, "[redacted]")
		}
	}
	return truncate(s, 200)
}

// replaceFold replaces every occurrence of old in s, in any letter case,
// by repl.
func replaceFold(s, old, repl string) string {
	if old == "" {
		return s
	}
	ls, lo := strings.ToLower(s), strings.ToLower(old)
	if len(ls) != len(s) || len(lo) != len(old) {
		return strings.ReplaceAll(s, old, repl) // a case mapping changed lengths: exact matches only
	}
	var b strings.Builder
	for {
		i := strings.Index(ls, lo)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, ls = s[i+len(old):], ls[i+len(old):]
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// worker holds one lease while a request is worked on.
type worker struct {
	e      *Engine
	mu     sync.Mutex
	lease  Lease
	isLost bool
	closed bool // a write of this worker closed the request, and so ended the lease
	hold   bool // the lease is left to expire, not released
}

func (w *worker) keep() {
	w.mu.Lock()
	w.hold = true
	w.mu.Unlock()
}

func (w *worker) kept() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hold
}

func (w *worker) closedLease() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

func (w *worker) current() Lease {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lease
}

func (w *worker) lost() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.isLost
}

func (w *worker) setLost() {
	w.mu.Lock()
	w.isLost = true
	w.mu.Unlock()
}

// heartbeat renews the lease every third of its time to live until stop
// is called; a lost lease, or one that ran out while renewals failed,
// cancels the work.
func (w *worker) heartbeat(ctx context.Context, cancel context.CancelFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(w.e.leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := w.e.now()
			w.mu.Lock()
			l := w.lease
			w.mu.Unlock()
			until := now.Add(w.e.leaseTTL)
			err := w.e.store.Renew(ctx, l, now, until)
			switch {
			case err == nil:
				w.mu.Lock()
				if w.lease.Token == l.Token {
					w.lease.Until = until
				}
				w.mu.Unlock()
			case errors.Is(err, ErrLeaseLost), !w.e.now().Before(l.Until):
				// Lost, or not renewed before it ran out (the store is
				// slow or unreachable): another worker may take the
				// subject now, so this one stops.
				w.setLost()
				cancel()
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// commit writes mut applied to r under the lease, reading the request
// again and reapplying mut when a concurrent writer (an operator's
// Extend) won. It runs even if ctx has ended, for a bounded time: the
// step it records is done.
func (w *worker) commit(ctx context.Context, r Request, mut mutation) (Request, error) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
	defer cancel()
	cur := r
	for attempt := 0; ; attempt++ {
		now := w.e.now()
		next := cur.Clone()
		if err := mut(&next, now); err != nil {
			if errors.Is(err, errStop) {
				return cur, nil
			}
			return cur, err
		}
		w.mu.Lock()
		w.lease.Until = now.Add(w.e.leaseTTL)
		l := w.lease
		w.mu.Unlock()
		err := w.e.store.Update(pctx, next, &l, now)
		if err == nil {
			next.Version++
			if !next.State.Open() {
				w.mu.Lock()
				w.closed = true
				w.mu.Unlock()
			}
			return next, nil
		}
		if errors.Is(err, ErrLeaseLost) {
			w.setLost()
			return cur, err
		}
		if !errors.Is(err, ErrConflict) || attempt >= 8 {
			return cur, err
		}
		if cur, err = w.e.store.Get(pctx, r.ID); err != nil {
			return r, err
		}
	}
}
