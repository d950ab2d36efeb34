package consent

import (
	"context"
	"errors"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Reason says why a Decision allows or denies.
type Reason string

// The reasons.
const (
	// ReasonGiven: a valid, current consent is on record (allows).
	ReasonGiven Reason = "given"
	// ReasonNotConsentBased: the Register rests the purpose on another
	// lawful basis and the subject has not objected (allows).
	ReasonNotConsentBased Reason = "not_consent_based"
	// ReasonNone: no consent was ever recorded (denies). A pending double
	// opt-in is not consent.
	ReasonNone Reason = "none"
	// ReasonRefused: the subject declined (denies).
	ReasonRefused Reason = "refused"
	// ReasonWithdrawn: the subject withdrew consent (denies).
	ReasonWithdrawn Reason = "withdrawn"
	// ReasonExpired: the consent lapsed (denies).
	ReasonExpired Reason = "expired"
	// ReasonStale: the consent was given under a notice version that a
	// material version has since replaced (denies until asked again).
	ReasonStale Reason = "stale"
	// ReasonObjected: the subject objected under Art. 21 (denies).
	ReasonObjected Reason = "objected"
	// ReasonOverridden: an objection under Art. 21(1) was overridden on
	// compelling legitimate grounds (allows).
	ReasonOverridden Reason = "overridden"
	// ReasonNotExplicit: the Register asks for explicit consent
	// (Art. 9(2)(a)) and the consent on record is not explicit (denies).
	ReasonNotExplicit Reason = "not_explicit"
	// ReasonSoftOptIn: direct marketing by e-mail or SMS to an existing
	// customer under the soft opt-in of ePrivacy Directive 2002/58/EC
	// Art. 13(2), recorded by Ledger.RecordSoftOptIn (allows). Every
	// message must offer the opt-out again: put an unsubscribe link in it.
	ReasonSoftOptIn Reason = "soft_opt_in"
	// ReasonNoOptIn: direct marketing on an electronic channel
	// (Contact.Electronic) for a purpose that does not rest on consent,
	// with neither a consent nor a soft opt-in on record for the channel:
	// ePrivacy Directive Art. 13(1) asks for prior consent (denies).
	ReasonNoOptIn Reason = "no_opt_in"
	// ReasonSuppressed: the suppression list holds an objection or
	// withdrawal of the subject's from this direct marketing, kept past an
	// erasure or written by an unsubscribe (WithSuppressionKey), and no
	// consent was given since (denies; Art. 21(3)).
	ReasonSuppressed Reason = "suppressed"
)

// Decision answers "may this subject's data be processed for this purpose?",
// with the event that decided it, so the controller can demonstrate the
// consent it relies on (Art. 7(1)).
type Decision struct {
	Allowed bool
	Reason  Reason
	// Event is the deciding event; the zero Event (empty ID) for ReasonNone
	// and for ReasonNotConsentBased without any event. It is a value, not a
	// pointer, so a decision costs no allocation.
	Event Event
	// Basis is the lawful basis the decision rests on.
	Basis gdpr.LawfulBasis
	// At is the time the decision is for.
	At time.Time
}

// Decide answers q at q.At (now when zero) with one Store query (two, with
// a suppression list, for direct marketing that would be allowed). For a
// purpose resting on consent, it allows only when the latest applicable event
// (in the order the ledger recorded them) is a Given consent that has not
// expired, whose notice version has not been replaced by a material one, and
// that is explicit where the Register asks for explicit consent; never-given,
// refused, withdrawn, expired, stale, not explicit and objected all deny,
// each with its reason. For a purpose the Register rests on another basis,
// it allows unless the subject objected (and no override followed) —
// except direct marketing (Activity.DirectMarketing) on an electronic
// channel (Contact.Electronic: e-mail, SMS, push, web push, in-app), which
// the ePrivacy Directive 2002/58/EC Art. 13(1) allows only with consent.
// There the latest event for the channel decides: a soft opt-in
// (Art. 13(2), RecordSoftOptIn; e-mail and SMS only) allows with
// ReasonSoftOptIn until it expires, a current consent given while the
// purpose rested on consent allows with ReasonGiven, and anything else
// denies (ReasonNoOptIn when neither is on record). An objection or
// unsubscribe recorded after a soft opt-in always wins. Phone (a call by a
// person) and Post follow the purpose's basis; see Contact for the law of
// each channel.
//
// With a suppression list (WithSuppressionKey), a decision for direct
// marketing that would allow is denied with ReasonSuppressed when the list
// holds an objection or withdrawal of the subject's for the purpose and the
// channel (or all channels; any channel, for a question about the purpose as
// a whole), unless it rests on a consent given after the entry was kept: so
// marketing does not resume after an erasure (Art. 21(3)).
//
// Ask about the channel you will use: Query.Contact = Email before sending
// an e-mail. A query without a contact is about the purpose as a whole and
// is denied by a withdrawal or objection on any one channel. For direct
// marketing that does not rest on consent it answers whether the data may
// be processed for the purpose at all (Art. 6, Art. 21), not whether a
// message may be sent on an electronic channel: that needs the channel.
//
// Errors are for bad input (ErrInvalid, ErrUnknownPurpose) and store
// failures, never for a denial.
func (l *Ledger) Decide(ctx context.Context, q Query) (Decision, error) {
	const op = "decide"
	if err := checkCtx(op, ctx); err != nil {
		return Decision{}, err
	}
	if err := q.Subject.Validate(); err != nil {
		return Decision{}, wrap(op, invalid("subject", err))
	}
	if err := q.Purpose.Validate(); err != nil {
		return Decision{}, wrap(op, invalid("purpose", err))
	}
	if !q.Contact.valid() {
		return Decision{}, wrap(op, invalidf("contact", "unknown contact channel %s", show(string(q.Contact))))
	}
	basis := gdpr.Consent
	if l.register != nil {
		a, ok := l.register.Activity(q.Purpose)
		if !ok {
			return Decision{}, wrap(op, errs.At("purpose", because(ErrUnknownPurpose, show(string(q.Purpose)), nil)))
		}
		basis = a.Basis
	}
	if q.At.IsZero() {
		// A decision for now counts every event, whatever clock stamped it.
		q.At, q.Current = l.now(), true
	}
	q.At = q.At.UTC()
	d, err := l.decide(ctx, q, basis)
	if err != nil {
		return Decision{}, wrap(op, err)
	}
	if err := l.applySuppression(ctx, q, &d); err != nil {
		return Decision{}, wrap(op, err)
	}
	return d, nil
}

// decide is Decide from the ledger's events alone, for a checked query.
func (l *Ledger) decide(ctx context.Context, q Query, basis gdpr.LawfulBasis) (Decision, error) {
	d := Decision{Basis: basis, At: q.At}
	// Direct marketing on an electronic channel that does not rest on
	// consent needs a consent or a soft opt-in (ePrivacy Art. 13(1)-(2)).
	optIn := !basis.IsConsent() && q.Contact.Electronic() && l.directMarketing(q.Purpose)
	cur, err := l.store.Latest(ctx, q)
	switch {
	case errors.Is(err, ErrNotFound):
		switch {
		case basis.IsConsent():
			d.Reason = ReasonNone
		case optIn:
			d.Reason = ReasonNoOptIn
		default:
			d.Allowed, d.Reason = true, ReasonNotConsentBased
		}
		return d, nil
	case err != nil:
		return Decision{}, err
	}
	d.Event = cur.Event
	e := &d.Event
	if !basis.IsConsent() {
		switch {
		case e.Kind == Objected:
			d.Reason = ReasonObjected
		case e.Kind == Withdrawn: // recorded before the purpose left consent: still a "stop"
			d.Reason = ReasonWithdrawn
		case !optIn && e.Kind == Overridden:
			d.Allowed, d.Reason = true, ReasonOverridden
		case !optIn:
			// A soft opt-in, or consent events from when the purpose
			// rested on consent: the basis decides.
			d.Allowed, d.Reason = true, ReasonNotConsentBased
		case e.Kind == SoftOptIn:
			if !e.ExpiresAt.IsZero() && !q.At.Before(e.ExpiresAt) {
				d.Reason = ReasonExpired
			} else {
				d.Allowed, d.Reason = true, ReasonSoftOptIn
			}
		case e.Kind == Given:
			// A consent given while the purpose rested on consent is
			// still the consent Art. 13(1) asks for.
			d.Reason, d.Allowed = consentReason(q, cur, basis)
		case e.Kind == Refused:
			d.Reason = ReasonRefused
		case e.Kind == Expired:
			d.Reason = ReasonExpired
		default: // an override answers Art. 21(1), not Art. 13
			d.Reason = ReasonNoOptIn
		}
		if d.Reason == ReasonGiven {
			d.Basis = e.Basis
		}
		return d, nil
	}
	switch e.Kind {
	case Given:
		d.Reason, d.Allowed = consentReason(q, cur, basis)
		if d.Allowed {
			d.Basis = e.Basis
		}
	case Refused:
		d.Reason = ReasonRefused
	case Withdrawn:
		d.Reason = ReasonWithdrawn
	case Expired:
		d.Reason = ReasonExpired
	case Objected:
		d.Reason = ReasonObjected
	default:
		d.Reason = ReasonNone
	}
	return d, nil
}

// consentReason judges the Given event of cur for q: ReasonGiven (allows)
// unless it expired, its notice is stale, or it is not explicit where basis
// asks for explicit consent.
func consentReason(q Query, cur Current, basis gdpr.LawfulBasis) (Reason, bool) {
	e := cur.Event
	switch {
	case !e.ExpiresAt.IsZero() && !q.At.Before(e.ExpiresAt):
		return ReasonExpired, false
	case cur.LatestMaterial > e.Notice.Version:
		return ReasonStale, false
	case basis == gdpr.ExplicitConsent && e.Basis != gdpr.ExplicitConsent:
		return ReasonNotExplicit, false
	}
	return ReasonGiven, true
}

// directMarketing reports whether the Register marks purpose as direct
// marketing.
func (l *Ledger) directMarketing(purpose gdpr.Purpose) bool {
	a, ok := l.register.Activity(purpose)
	return ok && a.DirectMarketing
}

// Allowed is Decide for now and for the purpose as a whole (no Contact:
// a withdrawal or objection on any channel denies), reduced to its answer.
// Before contacting a subject, use Decide with the channel. A store failure
// denies and returns the error.
func (l *Ledger) Allowed(ctx context.Context, subject gdpr.SubjectID, purpose gdpr.Purpose) (bool, error) {
	d, err := l.Decide(ctx, Query{Subject: subject, Purpose: purpose})
	return d.Allowed && err == nil, err
}

// StaleSubjects lists, in ascending order and at most limit of them, the
// subjects after the cursor whose decision for a purpose is now ReasonStale
// because of the latest material version of the notice: the people to ask
// again. Pass the last subject returned as after to get the next page; an
// empty page is the end. A limit of 0 or less means 100, the default; a
// limit above 10,000 means 10,000.
//
// A page costs one Store query for the notice's versions and, with a
// Store that is a StaleEventer, one per batch of candidates checked: a first batch of
// limit candidates, which is all when they are all stale; then batches
// sized by the share of stale ones found so far (doubling while none is),
// up to 10,000 candidates, usually one more.
func (l *Ledger) StaleSubjects(ctx context.Context, notice string, after gdpr.SubjectID, limit int) ([]gdpr.SubjectID, error) {
	const op = "stale_subjects"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, maxStaleBatch)
	ns, err := l.store.Notices(ctx, notice)
	if err != nil {
		return nil, wrap(op, err)
	}
	now := l.now().UTC()
	latest := 0
	for _, n := range ns {
		if n.Material && !n.Published.After(now) && n.Version > latest {
			latest = n.Version
		}
	}
	if latest == 0 {
		return nil, nil
	}
	var out []gdpr.SubjectID
	checked := 0 // candidates checked
	for batch := limit; len(out) < limit; batch = nextStaleBatch(batch, limit-len(out), checked, len(out)) {
		evs, err := l.staleEvents(ctx, StaleQuery{Notice: notice, Version: latest, After: after, Limit: batch})
		if err != nil {
			return nil, wrap(op, err)
		}
		// evs holds each candidate's events together, candidates in
		// ascending order: one run of events per candidate.
		n := 0
		for i := 0; i < len(evs) && len(out) < limit; {
			s := evs[i].Subject
			j := i + 1
			for j < len(evs) && evs[j].Subject == s {
				j++
			}
			n++
			after = s
			if staleIn(evs[i:j], notice, latest, now) {
				out = append(out, s)
			}
			i = j
		}
		checked += n
		if len(out) < limit && n < batch {
			break
		}
	}
	return out, nil
}

// staleEvents returns the events of q's candidates, each candidate's
// together and in Seq order, candidates in ascending order: in one query
// from a StaleEventer, else each candidate's whole history by
// Store.Events, which staleIn reads as well.
func (l *Ledger) staleEvents(ctx context.Context, q StaleQuery) ([]Event, error) {
	if se, ok := l.store.(StaleEventer); ok {
		return se.StaleEvents(ctx, q)
	}
	subjects, err := l.store.StaleSubjects(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, s := range subjects {
		evs, err := l.store.Events(ctx, s, "")
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// nextStaleBatch is how many candidates StaleSubjects asks for next, when
// need more stale subjects are wanted and found of the checked candidates
// were stale: as many as that share says need takes, and a quarter more,
// so one more batch is usually the last; twice the last batch while none
// was stale; never more than maxStaleBatch.
func nextStaleBatch(last, need, checked, found int) int {
	if found == 0 {
		return min(2*last, maxStaleBatch)
	}
	n := need * checked / found
	return min(max(n+n/4, need), maxStaleBatch)
}

// maxStaleBatch is the most candidates StaleSubjects asks the Store for at
// once, and the largest page.
const maxStaleBatch = 10000

// staleIn reports whether any of one subject's decisions (per purpose, and
// per channel of a consent) is now made by a Given event under an old
// version of notice: that Given is the last non-pending event that applies
// to its own channel, exactly as Decide would find it. evs are the
// subject's events in Seq order: all of them, or (StaleEventer) only
// the latest of each purpose, channel and kind, which decide alike, since
// whether an event applies depends on its channel and kind alone.
func staleIn(evs []Event, notice string, latest int, now time.Time) bool {
	for i, g := range evs {
		if g.Kind != Given || g.Notice.ID != notice || g.Notice.Version >= latest ||
			(!g.ExpiresAt.IsZero() && !now.Before(g.ExpiresAt)) {
			continue
		}
		decides := true
		for _, e := range evs[i+1:] {
			if e.Purpose == g.Purpose && e.Kind != Pending && e.Applies(g.Contact) {
				decides = false
				break
			}
		}
		if decides {
			return true
		}
	}
	return false
}
