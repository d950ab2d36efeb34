package erasure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// RecipientNotifier tells one recipient of a subject's data of a
// rectification, erasure or restriction (Art. 19): a processor's API, a
// partner's webhook (package erasure/webhook), a ticket for a person to
// write a letter. The Engine calls it from a step of the request, once per
// recipient, and records the outcome on the request; a failure is retried
// with backoff like a target's, and a notice may come twice (a crash after
// the call, before the record), so NotifyRecipient is idempotent by
// RecipientNotice.ID.
//
// A notice that proves impossible, or that would involve disproportionate
// effort, is not a failure: return an error wrapping ErrImpossible or
// ErrDisproportionate, with the reason in its text (no personal data), and
// the Engine records the recipient as not notified, with that reason, and
// does not try again. It is safe for concurrent use.
type RecipientNotifier interface {
	NotifyRecipient(ctx context.Context, n RecipientNotice) error
}

// RecipientNotifierFunc adapts a function to RecipientNotifier.
type RecipientNotifierFunc func(ctx context.Context, n RecipientNotice) error

// NotifyRecipient calls f.
func (f RecipientNotifierFunc) NotifyRecipient(ctx context.Context, n RecipientNotice) error {
	return f(ctx, n)
}

// RecipientNotice is what a recipient is told. It carries no personal
// data but the recipient's own reference for the subject
// (Recipient.Reference): no subject ID, no value, no name.
type RecipientNotice struct {
	// ID is the notice's idempotence key, stable across retries: the
	// request ID and the recipient's step, "<request>-<n>" (no '.', which
	// a Standard Webhooks ID must not hold).
	ID string
	// Kind is what happened: gdpr.KindErasure, gdpr.KindRectification or
	// gdpr.KindRestriction.
	Kind gdpr.RequestKind
	// Request is the ID of the request.
	Request string
	// Recipient is the recipient, with its reference for the subject.
	Recipient gdpr.Disclosure
	// Fields are the fields a rectification corrected, as
	// "<target>.<field>", without their values.
	Fields []string
	// Categories are the data categories an erasure erased, as its
	// targets name them (Target.Categories), once each; none if the
	// targets that erased name none. A recipient is not told of an
	// erasure whose data were all kept (a legal hold).
	Categories []string
	// Ground and Purposes describe a restriction: its ground of
	// Art. 18(1), and the purposes it covers (none: every processing but
	// storage).
	Ground   Ground
	Purposes []gdpr.Purpose
	// At is when the action was taken.
	At time.Time
}

// The errors a RecipientNotifier returns when a recipient is not to be
// told (Art. 19: "unless this proves impossible or involves
// disproportionate effort").
var (
	// ErrImpossible: the recipient cannot be told, e.g. it no longer
	// exists, or the host holds no address or no reference for it.
	ErrImpossible = errs.Sentinel("notice to the recipient impossible", nil)
	// ErrDisproportionate: telling the recipient would involve
	// disproportionate effort, as the controller assessed.
	ErrDisproportionate = errs.Sentinel("notice to the recipient disproportionate", nil)
)

// RecipientOutcome is what became of one recipient's notice, as the
// subject may be told of it (Art. 19, second sentence).
type RecipientOutcome struct {
	// Recipient is the recipient's name, Kind its role.
	Recipient string
	Kind      gdpr.RecipientKind
	// Outcome is OutcomeNotified or OutcomeNotNotified.
	Outcome Outcome
	// Reason says why a recipient was not notified.
	Reason string
	// At is when the notice went out.
	At time.Time
}

// Recipients returns the recipients of r that were told, or not told,
// with the outcome of each, in the order they were told.
func (r Request) Recipients() []RecipientOutcome {
	var out []RecipientOutcome
	for _, s := range r.Steps {
		if s.Recipient == nil || !s.Outcome.Done() {
			continue
		}
		o := RecipientOutcome{Recipient: s.Recipient.Recipient, Kind: s.Recipient.Kind, Outcome: s.Outcome, At: s.At}
		if s.Outcome == OutcomeNotNotified {
			o.Reason = s.Error
		}
		out = append(out, o)
	}
	return out
}

// The names of the Engine's own steps (Step.Target).
const (
	stepRecipients  = "recipients"
	stepRecipient   = "recipient"
	stepRestriction = "restriction"
	stepObjection   = "objection"
	stepLiftNotice  = "lift_notice"
	stepLift        = "lift"
)

// tellsRecipients reports whether requests of kind are told to the
// recipients (Art. 19: rectification, erasure, restriction).
func (e *Engine) tellsRecipients(kind gdpr.RequestKind) bool {
	if e.recipients == nil {
		return false
	}
	switch kind {
	case gdpr.KindErasure, gdpr.KindRectification, gdpr.KindRestriction:
		return true
	}
	return false
}

// listRecipients is the first step of a request told to recipients: it
// lists them before any target runs (a target may erase the record of
// the disclosures), the host's actual disclosures first, then the
// Register's recipients not among them, each once by name. The step's
// write appends one step per recipient, run after the request's own.
func (e *Engine) listRecipients(ctx context.Context, r Request, st Step) (Step, []Step, error) {
	var ds []gdpr.Disclosure
	seen := map[string]bool{}
	var bad int
	if e.disclosures != nil {
		// An outage is retried, and fails the request past the limit for a
		// person to look: going on would let a target erase the record of
		// whom to tell.
		got, err := e.disclosures.Disclosures(ctx, r.Subject)
		if err != nil {
			return st, nil, fmt.Errorf("listing the disclosures: %w", err)
		}
		pairs := map[[2]string]bool{}
		for _, d := range got {
			if strings.TrimSpace(d.Recipient) == "" || len(d.Recipient) > 200 || len(d.Reference) > 200 {
				bad++ // recorded below, without blocking the request
				continue
			}
			// One notice per recipient and reference: two records of one
			// recipient under two references are two notices.
			if k := [2]string{d.Recipient, d.Reference}; !pairs[k] {
				pairs[k] = true
				seen[d.Recipient] = true
				d.Categories = slices.Clone(d.Categories)
				ds = append(ds, d)
			}
		}
	}
	if e.register != nil {
		for _, a := range e.register.Activities {
			for _, rc := range a.Recipients {
				if seen[rc.Name] {
					continue
				}
				seen[rc.Name] = true
				ds = append(ds, gdpr.Disclosure{Recipient: rc.Name, Kind: rc.Kind})
			}
		}
	}
	extra := make([]Step, len(ds), len(ds)+1)
	for i := range ds {
		d := ds[i]
		extra[i] = Step{Target: stepRecipient, Recipient: &d}
	}
	if bad > 0 {
		// A disclosure record without a usable name cannot be told: it is
		// on the request as not notified, for a person to see.
		extra = append(extra, Step{Target: stepRecipient, Recipient: &gdpr.Disclosure{Recipient: "(invalid disclosure record)"},
			Outcome: OutcomeNotNotified, Count: int64(bad),
			Error: fmt.Sprintf("%d disclosure record(s) without a name, or with a name or reference over 200 bytes", bad)})
	}
	st.Outcome, st.Count = OutcomeApplied, int64(len(ds))
	return st, extra, nil
}

// tellRecipient is the step that tells one recipient.
func (e *Engine) tellRecipient(ctx context.Context, r Request, i int, st Step) (Step, error) {
	n := RecipientNotice{ID: fmt.Sprintf("%s-%d", r.ID, i), Kind: r.Kind, Request: r.ID, Recipient: *st.Recipient, At: e.now()}
	n.Recipient.Categories = slices.Clone(n.Recipient.Categories)
	switch r.Kind {
	case gdpr.KindRectification:
		for _, s := range r.Steps {
			if s.Field != "" && s.Outcome == OutcomeApplied {
				n.Fields = append(n.Fields, s.Target+"."+s.Field)
			}
		}
	case gdpr.KindRestriction:
		n.Ground, n.Purposes = r.Ask.Ground, slices.Clone(r.Ask.Purposes)
	case gdpr.KindErasure:
		erased, kept := false, false
		for _, s := range r.Steps {
			kept = kept || s.Outcome == OutcomeRetained
			if s.Outcome != OutcomeErased && !(s.Outcome == OutcomeRetained && s.Count > 0) {
				continue
			}
			if t, ok := e.target(s.Target); ok {
				erased = true
				for _, c := range t.Categories {
					if !slices.Contains(n.Categories, c) {
						n.Categories = append(n.Categories, c)
					}
				}
			}
		}
		if !erased && kept {
			// Art. 19 is about an erasure carried out: the data were kept
			// (a legal hold), so the recipient is not asked to erase its
			// copy. (Where the targets only found nothing, the recipient
			// may still hold what it was given, and is told.)
			st.Outcome, st.Error = OutcomeNotNotified, "nothing was erased: the data were kept on the grounds the request names"
			return st, nil
		}
	}
	if e.recipients == nil {
		return st, errors.New("this Engine has no RecipientNotifier (WithRecipients), and the request has recipients to tell")
	}
	err := e.recipients.NotifyRecipient(ctx, n)
	switch {
	case err == nil:
		st.Outcome = OutcomeNotified
	case errors.Is(err, ErrImpossible), errors.Is(err, ErrDisproportionate):
		st.Outcome, st.Error = OutcomeNotNotified, e.errorText(r.Subject, err, st.Recipient.Reference)
	default:
		return st, err
	}
	return st, nil
}
