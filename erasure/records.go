package erasure

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gdprkit/gdpr"
)

// The Engine's own records of a subject are personal data too: it is an
// Eraser and an Exporter of them, and keeps closed requests only for the
// accountability period.

var (
	_ gdpr.Eraser   = (*Engine)(nil)
	_ gdpr.Exporter = (*Engine)(nil)
)

// RequestsCategory is the data category of the Engine's records, in
// exports and exemptions.
const RequestsCategory = "dsar_requests"

// EraseSubject deletes the subject's closed requests (gdpr.Eraser), and,
// once none is open, their restrictions, objections and supplementary
// statements, unless a restriction is in force (lifting it is a request
// told to the subject first; it is then kept, and reported as an
// exemption); the journal, kept apart, still proves the erasures. (A
// suppression list that keeps an objector out of future marketing is the
// consent ledger's.) Open requests are kept
// while they are answered, and reported as an exemption on
// Art. 17(3)(b): the controller is obliged to answer them (Art. 12). Do
// not register the Engine as a target of its own erasures: closing a
// request already replaces its subject ID by the keyed reference.
func (e *Engine) EraseSubject(ctx context.Context, subject gdpr.SubjectID) (gdpr.ErasureReport, error) {
	const op = "erase_subject"
	if err := checkCtx(op, ctx); err != nil {
		return gdpr.ErasureReport{}, err
	}
	if err := subject.Validate(); err != nil {
		return gdpr.ErasureReport{}, wrap(op, invalid("subject", err))
	}
	var rep gdpr.ErasureReport
	var open int64
	err := e.each(ctx, Filter{SubjectRef: e.SubjectRef(subject)}, func(page []Request) error {
		var ids []string
		for _, r := range page {
			if r.State.Open() {
				open++
			} else {
				ids = append(ids, r.ID)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		// The event comes before the change it records, as everywhere.
		if err := e.recordDeletion(ctx, "erasure.request.erased", len(ids)); err != nil {
			return err
		}
		n, err := e.store.Delete(ctx, ids...)
		rep.Erased += n
		return err
	})
	if err != nil {
		return gdpr.ErasureReport{}, wrap(op, err)
	}
	if open == 0 {
		n, kept, err := e.forgetUnlessRestricted(ctx, e.SubjectRef(subject))
		if err != nil {
			return gdpr.ErasureReport{}, wrap(op, err)
		}
		rep.Erased += n
		if kept > 0 {
			rep.Exemptions = append(rep.Exemptions, gdpr.Exemption{Category: RestrictionsCategory, Records: kept, Ground: gdpr.GroundLegalClaims,
				Reason: "restrictions in force are kept until they are lifted, with the subject told first (Art. 18(3))"})
		}
	}
	if open > 0 {
		rep.Exemptions = []gdpr.Exemption{{Category: RequestsCategory, Records: open, Ground: gdpr.GroundLegalObligation,
			Reason: "open data-subject requests are kept until they are answered (Art. 12)"}}
	}
	return rep, nil
}

// each calls fn with every page of the requests that match f.
func (e *Engine) each(ctx context.Context, f Filter, fn func([]Request) error) error {
	f.Limit = MaxLimit
	for {
		page, err := e.store.List(ctx, f)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		last := page[len(page)-1].ID
		if err := fn(page); err != nil {
			return err
		}
		if len(page) < f.Limit {
			return nil
		}
		f.After = last
	}
}

// ExportSubject writes one record per request of the subject, open or
// closed, in dataset "dsar_requests" (gdpr.Exporter).
func (e *Engine) ExportSubject(ctx context.Context, subject gdpr.SubjectID, w gdpr.RecordWriter) error {
	const op = "export_subject"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := subject.Validate(); err != nil {
		return wrap(op, invalid("subject", err))
	}
	if w == nil {
		return wrap(op, invalidf("w", "nil RecordWriter"))
	}
	ref := e.SubjectRef(subject)
	err := e.each(ctx, Filter{SubjectRef: ref}, func(page []Request) error {
		for _, r := range page {
			if err := w.WriteRecord(ctx, exportRecord(r)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return wrap(op, err)
	}
	xs, err := e.allRestrictions(ctx, ref)
	if err != nil {
		return wrap(op, err)
	}
	for _, x := range xs {
		if err := w.WriteRecord(ctx, exportRestriction(x)); err != nil {
			return wrap(op, err)
		}
	}
	ss, err := e.statements(ctx, ref)
	if err != nil {
		return wrap(op, err)
	}
	for _, st := range ss {
		rec := gdpr.Record{Dataset: StatementsCategory, ID: st.ID, Time: st.At, Category: StatementsCategory, Provided: true,
			Fields: map[string]any{"target": st.Target, "field": st.Field, "statement": st.Text}}
		if err := w.WriteRecord(ctx, rec); err != nil {
			return wrap(op, err)
		}
	}
	return nil
}

// The data categories of the Engine's records of restrictions and
// objections, and of supplementary statements, in exports.
const (
	RestrictionsCategory = "dsar_restrictions"
	StatementsCategory   = "dsar_statements"
)

func exportRestriction(x Restriction) gdpr.Record {
	purposes := make([]any, len(x.Purposes))
	for i, p := range x.Purposes {
		purposes[i] = string(p)
	}
	f := map[string]any{"kind": string(x.Kind), "since": x.Since, "purposes": purposes, "in_force": x.InForce()}
	if x.Ground != "" {
		f["ground"], f["article"] = string(x.Ground), x.Ground.Article()
	}
	if x.DirectMarketing {
		f["direct_marketing"] = true
	}
	if !x.Lifted.IsZero() {
		f["lifted"] = x.Lifted
	}
	if x.Override != nil {
		f["overridden"], f["override_reasons"] = x.Override.At, x.Override.Reasons
	}
	return gdpr.Record{Dataset: RestrictionsCategory, ID: x.ID, Time: x.Since, Category: RestrictionsCategory, Provided: true, Fields: f}
}

// forgetUnlessRestricted forgets the subject's restrictions and
// statements, unless a restriction is in force: lifting one is a request
// of its own, told to the subject first, and an erasure elsewhere does not
// end it. It returns how many it deleted, or how many restrictions in
// force it kept.
func (e *Engine) forgetUnlessRestricted(ctx context.Context, ref string) (deleted, kept int64, err error) {
	xs, err := e.allRestrictions(ctx, ref)
	if err != nil {
		return 0, 0, err
	}
	for _, x := range xs {
		if x.Kind == gdpr.KindRestriction && x.InForce() {
			kept++
		}
	}
	if kept > 0 {
		return 0, kept, nil
	}
	n, err := e.forgetSubject(ctx, ref)
	return n, 0, err
}

// forgetSubject deletes the subject's restrictions and statements, after
// recording that it does.
func (e *Engine) forgetSubject(ctx context.Context, ref string) (int64, error) {
	xs, err := e.allRestrictions(ctx, ref)
	if err != nil {
		return 0, err
	}
	ss, err := e.store.ListStatements(ctx, ref)
	if err != nil {
		return 0, err
	}
	if len(xs)+len(ss) == 0 {
		return 0, nil
	}
	if err := e.recordDeletion(ctx, "erasure.restriction.erased", len(xs)+len(ss)); err != nil {
		return 0, err
	}
	n, err := e.store.Forget(ctx, ref)
	if err == nil && len(xs) > 0 {
		e.cache.invalidate()
	}
	return n, err
}

func exportRecord(r Request) gdpr.Record {
	steps := make([]any, len(r.Steps))
	for i, s := range r.Steps {
		steps[i] = map[string]any{"target": s.Target, "outcome": string(s.Outcome), "count": s.Count}
	}
	history := make([]any, len(r.History))
	for i, h := range r.History {
		history[i] = map[string]any{"at": h.At, "event": h.Event, "state": string(h.To), "actor": string(h.Actor.Kind)}
	}
	f := map[string]any{
		"kind": string(r.Kind), "channel": r.Channel, "state": string(r.State),
		"received": r.Received, "due": r.Deadline.Due, "extended": r.Deadline.Extended,
		"steps": steps, "history": history,
	}
	if r.Deadline.Extended {
		f["extension_reason"] = r.Deadline.ExtensionReason
	}
	if r.Rejection != "" {
		f["rejection"] = string(r.Rejection)
	}
	if !r.Closed.IsZero() {
		f["closed"] = r.Closed
	}
	return gdpr.Record{Dataset: RequestsCategory, ID: r.ID, Time: r.Received, Category: RequestsCategory, Provided: true, Fields: f}
}

// Purge deletes the requests closed before the accountability period
// (WithAccountability) and returns how many it deleted. Run calls it once
// an hour.
func (e *Engine) Purge(ctx context.Context) (int64, error) {
	const op = "purge"
	if err := checkCtx(op, ctx); err != nil {
		return 0, err
	}
	now := e.now()
	cut := now.AddDate(-e.keep.Years, -e.keep.Months, -7*e.keep.Weeks-e.keep.Days)
	var n int64
	err := e.each(ctx, Filter{ClosedBefore: cut}, func(page []Request) error {
		ids := make([]string, 0, len(page))
		for _, r := range page {
			if !r.State.Open() && !e.keep.AddTo(r.Closed).After(now) {
				ids = append(ids, r.ID)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		if err := e.recordDeletion(ctx, "erasure.request.purged", len(ids)); err != nil {
			return err
		}
		d, err := e.store.Delete(ctx, ids...)
		n += d
		return err
	})
	return n, wrap(op, err)
}

// List returns the requests that match f, in the order of receipt, a page
// at a time (Filter.After, Filter.Limit).
func (e *Engine) List(ctx context.Context, f Filter) ([]Request, error) {
	const op = "list"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if err := checkFilter(f); err != nil {
		return nil, wrap(op, err)
	}
	rs, err := e.store.List(ctx, f)
	return rs, wrap(op, err)
}

// ForSubject returns the subject's requests, open and closed (by their
// SubjectRef), a page at a time.
func (e *Engine) ForSubject(ctx context.Context, subject gdpr.SubjectID, f Filter) ([]Request, error) {
	if err := checkCtx("for_subject", ctx); err != nil {
		return nil, err
	}
	if err := subject.Validate(); err != nil {
		return nil, wrap("for_subject", invalid("subject", err))
	}
	f.SubjectRef = e.SubjectRef(subject)
	return e.List(ctx, f)
}

// Overdue returns the open requests past their deadline that also match
// f, a page at a time.
func (e *Engine) Overdue(ctx context.Context, f Filter) ([]Request, error) {
	return e.DueWithin(ctx, 0, f)
}

// DueWithin returns the open requests due within d from now (overdue ones
// included) that also match f, a page at a time. A request is due when
// its Deadline.Due is before now+d.
func (e *Engine) DueWithin(ctx context.Context, d time.Duration, f Filter) ([]Request, error) {
	f = e.openBefore(f, d)
	return e.List(ctx, f)
}

func (e *Engine) openBefore(f Filter, d time.Duration) Filter {
	if len(f.States) == 0 {
		f.States = OpenStates()
	} else {
		var open []State
		for _, s := range f.States {
			if s.Open() {
				open = append(open, s)
			}
		}
		if len(open) == 0 {
			open = []State{"none"}
		}
		f.States = open
	}
	f.DueBefore = e.now().Add(d)
	return f
}

// Stats counts requests, for a dashboard.
type Stats struct {
	// Total counts the requests that matched.
	Total int64
	// ByState and ByKind split Total.
	ByState map[State]int64
	ByKind  map[gdpr.RequestKind]int64
	// Overdue counts the open ones past their deadline, DueSoon the open
	// ones due within the window given to Counts (overdue ones included).
	Overdue, DueSoon int64
}

// Counts counts the requests that match f, by state and kind, with how
// many are overdue and how many are due within soon.
func (e *Engine) Counts(ctx context.Context, f Filter, soon time.Duration) (Stats, error) {
	const op = "counts"
	if err := checkCtx(op, ctx); err != nil {
		return Stats{}, err
	}
	if err := checkFilter(f); err != nil {
		return Stats{}, wrap(op, err)
	}
	st := Stats{ByState: map[State]int64{}, ByKind: map[gdpr.RequestKind]int64{}}
	cs, err := e.store.Count(ctx, f)
	if err != nil {
		return Stats{}, wrap(op, err)
	}
	for _, c := range cs {
		st.Total += c.N
		st.ByState[c.State] += c.N
		st.ByKind[c.Kind] += c.N
	}
	for _, w := range []struct {
		d time.Duration
		n *int64
	}{{0, &st.Overdue}, {soon, &st.DueSoon}} {
		cs, err := e.store.Count(ctx, e.openBefore(f, w.d))
		if err != nil {
			return Stats{}, wrap(op, err)
		}
		for _, c := range cs {
			*w.n += c.N
		}
	}
	return st, nil
}

func checkFilter(f Filter) error {
	for _, s := range f.States {
		if !s.Valid() {
			return invalidf("states", "unknown state %s", show(string(s)))
		}
	}
	for _, k := range f.Kinds {
		if err := k.Validate(); err != nil {
			return invalid("kinds", err)
		}
	}
	return nil
}

// recordDeletion records, before it happens, the deletion of n closed
// requests: no subject, no IDs, a count.
func (e *Engine) recordDeletion(ctx context.Context, action string, n int) error {
	err := e.recorder.Record(ctx, gdpr.Event{Time: e.now(), Actor: actor(ctx, engineActor), Action: action,
		Resource: "dsar_request", Outcome: gdpr.Success, Attrs: map[string]string{"count": strconv.Itoa(n)}})
	if err != nil {
		return fmt.Errorf("%w %s: %w", errRecord, action, err)
	}
	return nil
}
