package gdpr

import (
	"context"
	"fmt"
	"time"
)

// The contracts in this file are how the request engine (package erasure)
// meets the packages that act on a request without importing them: a
// RequestHandler answers one kind of request (an export builder answers
// access and portability), LegalHolds tells the engine what it must not
// erase yet (package retention keeps the holds), and an Eraser whose
// erasure reaches other instances only after a delay says so through
// ErasureLatency.

// RequestKind names the right a data-subject request exercises.
type RequestKind string

// The kinds of request a controller receives from data subjects.
const (
	// KindAccess: the right of access, Art. 15.
	KindAccess RequestKind = "access"
	// KindPortability: the right to data portability, Art. 20.
	KindPortability RequestKind = "portability"
	// KindErasure: the right to erasure ("to be forgotten"), Art. 17.
	KindErasure RequestKind = "erasure"
	// KindRestriction: the right to restriction of processing, Art. 18(1).
	KindRestriction RequestKind = "restriction"
	// KindLiftRestriction: the lifting of a restriction, of which the
	// subject must be told beforehand, Art. 18(3).
	KindLiftRestriction RequestKind = "restriction_lift"
	// KindObjection: the right to object, Art. 21.
	KindObjection RequestKind = "objection"
	// KindRectification: the right to rectification, Art. 16.
	KindRectification RequestKind = "rectification"
)

// RequestKinds lists every RequestKind, in the order of the articles.
func RequestKinds() []RequestKind {
	return []RequestKind{KindAccess, KindRectification, KindErasure, KindRestriction, KindLiftRestriction, KindPortability, KindObjection}
}

// Article returns the article of the GDPR that grants the right k names,
// e.g. "Art. 17", or "" for an unknown kind.
func (k RequestKind) Article() string {
	switch k {
	case KindAccess:
		return "Art. 15"
	case KindRectification:
		return "Art. 16"
	case KindErasure:
		return "Art. 17"
	case KindRestriction:
		return "Art. 18(1)"
	case KindLiftRestriction:
		return "Art. 18(3)"
	case KindPortability:
		return "Art. 20"
	case KindObjection:
		return "Art. 21"
	}
	return ""
}

// Validate reports whether k is one of the kinds above. The error wraps
// ErrInvalid and quotes the value only when it looks like a key.
func (k RequestKind) Validate() error {
	if k.Article() == "" {
		return fmt.Errorf("%w: unknown request kind %s", ErrInvalid, showKey(string(k)))
	}
	return nil
}

// Request is what a RequestHandler is given of a data-subject request: its
// ID, kind, subject and time of receipt. Params carries the request's
// non-personal parameters (the purposes an objection names, the format a
// portability request asks for); never a personal-data value.
type Request struct {
	ID       string
	Kind     RequestKind
	Subject  SubjectID
	Received time.Time
	Params   map[string]string
}

// RequestHandler acts on one kind of data-subject request once the
// subject's identity is confirmed: builds the access bundle, restricts the
// processing, records the objection.
//
// HandleRequest must be idempotent: the engine calls it again, with the
// same Request, after a crash or a failure, until it returns nil. It is
// safe for concurrent use for different subjects. Errors it returns carry
// no personal data.
type RequestHandler interface {
	HandleRequest(ctx context.Context, r Request) (RequestResult, error)
}

// RequestHandlerFunc adapts a function to RequestHandler.
type RequestHandlerFunc func(ctx context.Context, r Request) (RequestResult, error)

// HandleRequest calls f.
func (f RequestHandlerFunc) HandleRequest(ctx context.Context, r Request) (RequestResult, error) {
	return f(ctx, r)
}

// RequestResult says what a RequestHandler did.
type RequestResult struct {
	// Records counts the records acted on: exported, restricted, corrected.
	Records int64 `json:"records"`
	// Exemptions lists what was not acted on, and why; the reply to the
	// subject names it (Art. 12(4)).
	Exemptions []Exemption `json:"exemptions,omitempty"`
	// Reference is a non-personal reference the subject's reply may carry:
	// the ID of a delivery, of a bundle.
	Reference string `json:"reference,omitempty"`
}

// LegalHolds answers whether a subject's data is held, so that an erasure
// must keep it (Art. 17(3)(e): the establishment, exercise or defence of
// legal claims). The request engine asks it before it erases anything.
//
// Holds returns the holds in force at now on the subject's data; none is
// not an error. It is safe for concurrent use. Errors carry no personal
// data; on error the engine erases nothing and tries again later.
type LegalHolds interface {
	Holds(ctx context.Context, subject SubjectID, now time.Time) ([]Hold, error)
}

// LegalHoldsFunc adapts a function to LegalHolds.
type LegalHoldsFunc func(ctx context.Context, subject SubjectID, now time.Time) ([]Hold, error)

// Holds calls f.
func (f LegalHoldsFunc) Holds(ctx context.Context, subject SubjectID, now time.Time) ([]Hold, error) {
	return f(ctx, subject, now)
}

// Hold is one legal hold on a subject's data.
type Hold struct {
	// ID identifies the hold (a case number); a key, no personal data.
	ID string `json:"id"`
	// Categories are the data categories held, as in the Register; empty
	// holds every category.
	Categories []string `json:"categories,omitempty"`
	// Until is when the hold ends; zero while its end is unknown.
	Until time.Time `json:"until,omitzero"`
	// Reason explains the hold for the subject's reply; no personal data.
	Reason string `json:"reason,omitempty"`
}

// Covers reports whether h holds data of the given categories: whether h
// holds every category, or one of the given ones. A component that does
// not say which categories it holds (none given) is covered by every hold.
func (h Hold) Covers(categories []string) bool {
	if len(h.Categories) == 0 || len(categories) == 0 {
		return true
	}
	for _, c := range categories {
		for _, held := range h.Categories {
			if c == held {
				return true
			}
		}
	}
	return false
}

// ErasureLatency is met by an Eraser whose erasure becomes visible on
// other instances only after a delay: a key store whose instances cache
// unwrapped keys can still decrypt on another instance until that
// instance's cache entry expires. The request engine waits that long after
// the last step before it reports an erasure complete.
type ErasureLatency interface {
	ErasureLatency() time.Duration
}

// Disclosures is the host's record of the actual disclosures of a
// subject's data: to whom their data went, beyond the categories of
// recipients in the Register. The request engine notifies every one of
// them of a rectification, erasure or restriction (Art. 19), and an
// access request names them (Art. 15(1)(c): the actual recipients, CJEU
// C-154/21).
type Disclosures interface {
	// Disclosures returns the recipients the subject's data was disclosed
	// to, each once. No disclosure is not an error. It may be called
	// concurrently.
	Disclosures(ctx context.Context, subject SubjectID) ([]Disclosure, error)
}

// DisclosuresFunc adapts a function to Disclosures.
type DisclosuresFunc func(ctx context.Context, subject SubjectID) ([]Disclosure, error)

// Disclosures calls f.
func (f DisclosuresFunc) Disclosures(ctx context.Context, subject SubjectID) ([]Disclosure, error) {
	return f(ctx, subject)
}

// Disclosure is one recipient of a subject's data.
type Disclosure struct {
	// Recipient names the recipient, as a Register's Recipient.Name does
	// where it is one of them; required.
	Recipient string `json:"recipient"`
	// Kind is the recipient's role.
	Kind RecipientKind `json:"kind,omitempty"`
	// Reference is the recipient's own reference for the subject (their
	// customer number with the recipient), by which a notice reaches the
	// right record there without naming the subject; empty if the host
	// knows none.
	Reference string `json:"reference,omitempty"`
	// Categories are the data categories disclosed; none for all.
	Categories []string `json:"categories,omitempty"`
	// At is when the data were (last) disclosed; zero if unknown.
	At time.Time `json:"at,omitzero"`
}

// Format prints d without its Reference, under every verb: the reference
// identifies the subject at the recipient.
func (d Disclosure) Format(f fmt.State, _ rune) {
	ref := ""
	if d.Reference != "" {
		ref = " reference:[reference]"
	}
	fmt.Fprintf(f, "gdpr.Disclosure{%q %s%s}", d.Recipient, d.Kind, ref)
}
