package erasure

import (
	"slices"
	"time"

	"github.com/gdprkit/gdpr"
)

// State is where a request stands in its lifecycle.
//
//	received ──► awaiting_identity ──► verified ──► in_progress ──► completed
//	   │  └──────────────┬───────────────┘  │           │  ▲   └──► completed_with_exemptions
//	   │                 ▼                  │           ▼  │ (Retry)
//	   └──────► rejected, cancelled ◄───────┘          failed
//
// A request is open from received to failed, and closed once completed,
// rejected or cancelled; a closed request never opens again.
type State string

// The states of a request. DPV gives the term of the W3C Data Privacy
// Vocabulary's request statuses (dpv:RequestStatus) that each maps to.
const (
	// StateReceived: the request is on record (dpv:RequestInitiated).
	StateReceived State = "received"
	// StateAwaitingIdentity: the Verifier has asked the subject to confirm
	// who they are, and the request waits for the answer
	// (dpv:RequestRequiresAction).
	StateAwaitingIdentity State = "awaiting_identity"
	// StateVerified: identity confirmed; a worker takes it up next
	// (dpv:RequestAccepted).
	StateVerified State = "verified"
	// StateInProgress: a worker is acting on it, target by target
	// (dpv:RequestAccepted; dpv:RequestActionDelayed once extended).
	StateInProgress State = "in_progress"
	// StateCompleted: every target did what was asked
	// (dpv:RequestFulfilled).
	StateCompleted State = "completed"
	// StateCompletedWithExemptions: done, but some data was kept on a
	// ground of Art. 17(3) that the reply names (dpv:RequestFulfilled,
	// with the exemptions as the reasons of Art. 12(4) for what was not
	// done).
	StateCompletedWithExemptions State = "completed_with_exemptions"
	// StateRejected: the controller refuses to act, for a RejectReason
	// (dpv:RequestRejected).
	StateRejected State = "rejected"
	// StateCancelled: the subject withdrew the request before work
	// started (dpv:RequestUnfulfilled).
	StateCancelled State = "cancelled"
	// StateFailed: a target kept failing past the retry limit; a person
	// must look, then Retry (dpv:RequestActionDelayed).
	StateFailed State = "failed"
)

// States lists every State in lifecycle order.
func States() []State {
	return []State{StateReceived, StateAwaitingIdentity, StateVerified, StateInProgress,
		StateCompleted, StateCompletedWithExemptions, StateRejected, StateCancelled, StateFailed}
}

// OpenStates lists the States of an open request.
func OpenStates() []State {
	return []State{StateReceived, StateAwaitingIdentity, StateVerified, StateInProgress, StateFailed}
}

// Valid reports whether s is one of the States.
func (s State) Valid() bool { return slices.Contains(States(), s) }

// Open reports whether a request in state s is still open: not yet
// completed, rejected or cancelled.
func (s State) Open() bool { return slices.Contains(OpenStates(), s) }

// DPV returns the W3C DPV term for s, e.g. "dpv:RequestFulfilled", or ""
// for an unknown state.
func (s State) DPV() string {
	switch s {
	case StateReceived:
		return "dpv:RequestInitiated"
	case StateAwaitingIdentity:
		return "dpv:RequestRequiresAction"
	case StateVerified, StateInProgress:
		return "dpv:RequestAccepted"
	case StateCompleted, StateCompletedWithExemptions:
		return "dpv:RequestFulfilled"
	case StateRejected:
		return "dpv:RequestRejected"
	case StateCancelled:
		return "dpv:RequestUnfulfilled"
	case StateFailed:
		return "dpv:RequestActionDelayed"
	}
	return ""
}

// transitions lists, per state, the states a request may move to.
var transitions = map[State][]State{
	StateReceived:         {StateAwaitingIdentity, StateVerified, StateRejected, StateCancelled},
	StateAwaitingIdentity: {StateVerified, StateRejected, StateCancelled},
	StateVerified:         {StateInProgress, StateRejected, StateCancelled},
	StateInProgress:       {StateCompleted, StateCompletedWithExemptions, StateFailed},
	StateFailed:           {StateInProgress},
}

// CanMove reports whether a request may move from state from to state to.
func CanMove(from, to State) bool { return slices.Contains(transitions[from], to) }

// RejectReason is why a controller refuses to act on a request. Each is a
// reason the GDPR admits; the Notice of a rejection names it, with the
// subject's right to complain to a supervisory authority and to a judicial
// remedy (Art. 12(4)).
type RejectReason string

// The reasons for a rejection.
const (
	// RejectUnfounded: the request is manifestly unfounded, Art. 12(5)(b).
	RejectUnfounded RejectReason = "manifestly_unfounded"
	// RejectExcessive: the request is excessive, in particular because of
	// its repetitive character, Art. 12(5)(b).
	RejectExcessive RejectReason = "excessive"
	// RejectIdentity: the controller could not confirm the identity of the
	// person making the request, Art. 12(6) and Art. 11(2).
	RejectIdentity RejectReason = "identity_not_confirmed"
	// RejectDuplicate: the request repeats one already answered or open.
	RejectDuplicate RejectReason = "duplicate"
)

// Article returns the provision a rejection for r rests on, e.g.
// "Art. 12(5)(b)"; "" for RejectDuplicate (no article needed) and for an
// unknown reason.
func (r RejectReason) Article() string {
	switch r {
	case RejectUnfounded, RejectExcessive:
		return "Art. 12(5)(b)"
	case RejectIdentity:
		return "Art. 12(6)"
	}
	return ""
}

// Valid reports whether r is one of the reasons.
func (r RejectReason) Valid() bool {
	switch r {
	case RejectUnfounded, RejectExcessive, RejectIdentity, RejectDuplicate:
		return true
	}
	return false
}

// Outcome is the result of one step: one target of an erasure, or the
// handler of another kind of request.
type Outcome string

// The outcomes of a step. The zero Outcome is a step not yet done.
const (
	// OutcomePending: not done yet (the zero value).
	OutcomePending Outcome = ""
	// OutcomeErased: the target erased (or made unreadable) Count records;
	// for a handler, acted on Count records.
	OutcomeErased Outcome = "erased"
	// OutcomeNothingFound: the target held nothing about the subject.
	OutcomeNothingFound Outcome = "nothing_found"
	// OutcomeRetained: some or all of the target's data was kept, on the
	// grounds in Exemptions (a legal hold: Art. 17(3)(e)).
	OutcomeRetained Outcome = "retained"
	// OutcomeFailed: the last attempt failed; the step is tried again
	// after a backoff, or the request fails past the retry limit.
	OutcomeFailed Outcome = "failed"
	// OutcomeApplied: a restriction was placed or lifted, an objection
	// took effect, a correction was applied, the subject was told.
	OutcomeApplied Outcome = "applied"
	// OutcomeNotified: a recipient was told (Art. 19).
	OutcomeNotified Outcome = "notified"
	// OutcomeNotNotified: telling the recipient proved impossible or would
	// involve disproportionate effort (Art. 19); Error says why.
	OutcomeNotNotified Outcome = "not_notified"
)

// Done reports whether a step with outcome o needs no further attempt.
func (o Outcome) Done() bool {
	switch o {
	case OutcomeErased, OutcomeNothingFound, OutcomeRetained, OutcomeApplied, OutcomeNotified, OutcomeNotNotified:
		return true
	}
	return false
}

// Step is one target's part of a request, persisted before the next step
// starts.
type Step struct {
	// Target is the name of the Target, of the Rectifier, or of the
	// engine's own step: "handler" (the handler of an access or
	// portability request), "restriction", "objection", "lift_notice",
	// "lift", "recipients" (listing the recipients), "recipient" (telling
	// one, Art. 19).
	Target string `json:"target"`
	// Field is the field a Rectifier corrects, for a rectification.
	Field string `json:"field,omitempty"`
	// Recipient is the recipient a "recipient" step tells, with its kind
	// and, while the request is open, its reference for the subject
	// (gdpr.Disclosure); the reference goes when the request closes.
	Recipient *gdpr.Disclosure `json:"recipient,omitempty"`
	// Outcome is what the last attempt gave.
	Outcome Outcome `json:"outcome,omitempty"`
	// Count is the number of records erased (or acted on).
	Count int64 `json:"count,omitempty"`
	// Exemptions are the data kept, with their grounds; each Exemption's
	// Until says until when.
	Exemptions []gdpr.Exemption `json:"exemptions,omitempty"`
	// Reference is the handler's non-personal reference (RequestResult).
	Reference string `json:"reference,omitempty"`
	// Error is the last failure's text, without personal data; for
	// OutcomeNotNotified, why the recipient could not be told.
	Error string `json:"error,omitempty"`
	// Attempts counts the attempts made.
	Attempts int `json:"attempts,omitempty"`
	// At is when the last attempt ended.
	At time.Time `json:"at,omitzero"`
}

// Transition is one entry of a request's history: a change of state, or
// an event within a state (an extension, a retry) with From == To.
type Transition struct {
	From State     `json:"from,omitempty"`
	To   State     `json:"to"`
	At   time.Time `json:"at"`
	// Actor is who made the change: the subject, a staff member, the
	// engine (gdpr.System("erasure")).
	Actor gdpr.Actor `json:"actor"`
	// Event is a key naming what happened, e.g. "submitted", "extended",
	// "rejected", "step_failed", "retry".
	Event string `json:"event"`
	// Note is a non-personal detail: the extension's or rejection's reason
	// as given to the subject, a target's name.
	Note string `json:"note,omitempty"`
}

// Request is one data-subject request, as the Engine keeps it.
type Request struct {
	// ID is a UUIDv7 the Engine assigns.
	ID string `json:"id"`
	// Kind is the right exercised.
	Kind gdpr.RequestKind `json:"kind"`
	// Subject is the data subject while the request is open; empty once
	// it is closed, when only SubjectRef remains.
	Subject gdpr.SubjectID `json:"-"`
	// SubjectRef is the keyed HMAC of the subject ID (Engine.SubjectRef):
	// the subject's requests can be found with the key and the ID, and
	// linked to no one without them.
	SubjectRef string `json:"subject_ref"`
	// Channel is how the request reached the controller, a key: "web",
	// "email", "post", "phone", "replay".
	Channel string `json:"channel"`
	// Params are the request's non-personal parameters (gdpr.Request).
	Params map[string]string `json:"params,omitempty"`
	// Ask is what a restriction, lift, objection or rectification asks.
	Ask Ask `json:"ask,omitzero"`
	// Received is when the request was received; Deadline counts from it.
	Received time.Time `json:"received"`
	// Deadline is the period of Art. 12(3), extended or not.
	Deadline gdpr.Deadline `json:"deadline"`
	// State is where the request stands.
	State State `json:"state"`
	// Rejection is why the request was rejected; empty otherwise.
	Rejection RejectReason `json:"rejection,omitempty"`
	// Steps are the targets' parts, in order, once work has started.
	Steps []Step `json:"steps,omitempty"`
	// History lists every transition, oldest first.
	History []Transition `json:"history"`
	// NextAt is when a worker should take the request up next: now for a
	// verified request, after the backoff for a failed step, after the
	// targets' latency for an erasure whose steps are done; zero when it
	// waits for someone (identity, an operator) or is closed.
	NextAt time.Time `json:"next_at,omitzero"`
	// SettleUntil is, once every step is done, the instant after which
	// the erasure is visible on every instance (gdpr.ErasureLatency).
	SettleUntil time.Time `json:"settle_until,omitzero"`
	// Closed is when the request was closed; zero while open.
	Closed time.Time `json:"closed,omitzero"`
	// Version counts the request's writes; Store.Update compares it.
	Version int64 `json:"version"`
}

// Clone returns a deep copy of r, sharing nothing with it.
func (r Request) Clone() Request {
	c := r
	if r.Params != nil {
		c.Params = make(map[string]string, len(r.Params))
		for k, v := range r.Params {
			c.Params[k] = v
		}
	}
	if r.Steps != nil {
		c.Steps = make([]Step, len(r.Steps))
		for i, s := range r.Steps {
			s.Exemptions = slices.Clone(s.Exemptions)
			if s.Recipient != nil {
				d := *s.Recipient
				d.Categories = slices.Clone(d.Categories)
				s.Recipient = &d
			}
			c.Steps[i] = s
		}
	}
	c.Ask = r.Ask.clone()
	c.History = slices.Clone(r.History)
	return c
}

// Exemptions returns the exemptions of every step, in step order.
func (r Request) Exemptions() []gdpr.Exemption {
	var out []gdpr.Exemption
	for _, s := range r.Steps {
		out = append(out, s.Exemptions...)
	}
	return out
}

// Extended reports whether the deadline was extended.
func (r Request) Extended() bool { return r.Deadline.Extended }

// Overdue reports whether r is open and past its deadline at now.
func (r Request) Overdue(now time.Time) bool { return r.State.Open() && r.Deadline.Overdue(now) }

// Ask is what a request of one of the kinds the Engine carries out itself
// asks for, beyond its kind (Submission has the same fields).
type Ask struct {
	// Ground is the ground of Art. 18(1) of a restriction.
	Ground Ground `json:"ground,omitempty"`
	// Purposes are the purposes a restriction is limited to (none: all
	// processing), or that an objection objects to.
	Purposes []gdpr.Purpose `json:"purposes,omitempty"`
	// DirectMarketing marks an objection to direct marketing (Art. 21(2)).
	DirectMarketing bool `json:"direct_marketing,omitempty"`
	// Restriction is the ID of the restriction a lift lifts; empty lifts
	// every restriction of the subject in force.
	Restriction string `json:"restriction,omitempty"`
	// Corrections are a rectification's corrections, their values sealed
	// until applied.
	Corrections []Correction `json:"corrections,omitempty"`
}

func (a Ask) clone() Ask {
	a.Purposes = slices.Clone(a.Purposes)
	if a.Corrections != nil {
		c := make([]Correction, len(a.Corrections))
		for i, x := range a.Corrections {
			x.Sealed = slices.Clone(x.Sealed)
			c[i] = x
		}
		a.Corrections = c
	}
	return a
}
