package erasure

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gdprkit/gdpr"
)

// Ground is why processing of a subject's data is restricted: one of the
// four cases of Art. 18(1), recorded with the restriction.
type Ground string

// The grounds of Art. 18(1).
const (
	// GroundAccuracy: the subject contests the accuracy of the data, for a
	// period enabling the controller to verify it, Art. 18(1)(a).
	GroundAccuracy Ground = "accuracy_contested"
	// GroundUnlawful: the processing is unlawful and the subject opposes
	// erasure, asking for restriction instead, Art. 18(1)(b).
	GroundUnlawful Ground = "unlawful_processing"
	// GroundLegalClaims: the controller no longer needs the data, but the
	// subject needs them for legal claims, Art. 18(1)(c).
	GroundLegalClaims Ground = "needed_for_legal_claims"
	// GroundObjection: the subject has objected under Art. 21(1), pending
	// the verification whether the controller's legitimate grounds
	// override theirs, Art. 18(1)(d).
	GroundObjection Ground = "objection_pending"
)

// Grounds lists the grounds of Art. 18(1) in the order of its letters.
func Grounds() []Ground {
	return []Ground{GroundAccuracy, GroundUnlawful, GroundLegalClaims, GroundObjection}
}

// Article returns the provision of g, e.g. "Art. 18(1)(a)", or "" for an
// unknown ground.
func (g Ground) Article() string {
	switch g {
	case GroundAccuracy:
		return "Art. 18(1)(a)"
	case GroundUnlawful:
		return "Art. 18(1)(b)"
	case GroundLegalClaims:
		return "Art. 18(1)(c)"
	case GroundObjection:
		return "Art. 18(1)(d)"
	}
	return ""
}

// Valid reports whether g is one of Grounds.
func (g Ground) Valid() bool { return g.Article() != "" }

// Restriction is a subject's restriction of processing (Art. 18) or
// objection (Art. 21), as the Engine keeps it and Check answers from it.
// It names the subject by SubjectRef only.
type Restriction struct {
	// ID is the ID of the request that placed it.
	ID string `json:"id"`
	// Kind is gdpr.KindRestriction or gdpr.KindObjection.
	Kind gdpr.RequestKind `json:"kind"`
	// SubjectRef is the subject's keyed reference (Engine.SubjectRef).
	SubjectRef string `json:"subject_ref"`
	// Ground is the ground of Art. 18(1), for a restriction.
	Ground Ground `json:"ground,omitempty"`
	// Purposes are the purposes restricted or objected to; none, for a
	// restriction, restricts every processing but storage. An objection
	// to direct marketing with no purpose covers every purpose the
	// Register marks as direct marketing (profiling related to it
	// included).
	Purposes []gdpr.Purpose `json:"purposes,omitempty"`
	// DirectMarketing marks an objection to direct marketing (Art. 21(2)):
	// absolute, never overridden (Art. 21(3)).
	DirectMarketing bool `json:"direct_marketing,omitempty"`
	// Since is when it took effect.
	Since time.Time `json:"since"`
	// Lifted is when a restriction was lifted (KindLiftRestriction), after
	// the subject was told (Art. 18(3)); zero while in force.
	Lifted time.Time `json:"lifted,omitzero"`
	// LiftedBy is the ID of the lift request.
	LiftedBy string `json:"lifted_by,omitempty"`
	// Override, for an objection under Art. 21(1), records the compelling
	// legitimate grounds that override it; nil while the objection stands.
	Override *Override `json:"override,omitempty"`
	// Version counts the writes; Store.UpdateRestriction compares it.
	Version int64 `json:"version"`
}

// InForce reports whether x still restricts processing: not lifted, not
// overridden.
func (x Restriction) InForce() bool { return x.Lifted.IsZero() && x.Override == nil }

// Clone returns a deep copy of x.
func (x Restriction) Clone() Restriction {
	x.Purposes = slices.Clone(x.Purposes)
	if x.Override != nil {
		o := *x.Override
		x.Override = &o
	}
	return x
}

// Override records that the controller demonstrated compelling legitimate
// grounds for the processing which override the subject's interests,
// rights and freedoms (Art. 21(1)). It is audited, and the subject is told.
type Override struct {
	// Reference points to the controller's documented assessment (a
	// document ID, a ticket); required.
	Reference string `json:"reference"`
	// Reasons are the grounds as the subject is told them (Art. 12(4));
	// required.
	Reasons string `json:"reasons"`
	// Actor is who recorded it.
	Actor gdpr.Actor `json:"actor"`
	// At is when.
	At time.Time `json:"at"`
}

// RestrictionFilter selects restrictions for Store.ListRestrictions. A
// zero filter selects every one.
type RestrictionFilter struct {
	// SubjectRef, if set, keeps one subject's restrictions.
	SubjectRef string
	// IncludeLifted keeps the lifted restrictions too; without it only
	// those not lifted (Restriction.Lifted zero) are kept, overridden
	// objections among them.
	IncludeLifted bool
	// After, if set, keeps the restrictions whose ID sorts after it.
	After string
	// Limit bounds the page; 0 or less is DefaultLimit, more than MaxLimit
	// is MaxLimit.
	Limit int
}

// Correction is one field a rectification corrects (Art. 16): the target
// that holds it, the field, and the value the subject supplies. The value
// is personal data: the Engine seals it (encrypts it at rest) at intake,
// keeps only the ciphertext, hands the value to the target's Rectifier,
// and drops the ciphertext once applied. Correction never prints the
// value.
type Correction struct {
	// Target is the name of the Rectifier (WithRectifiers); required.
	Target string `json:"target"`
	// Field is one of the Rectifier's Fields; required.
	Field string `json:"field"`
	// Value is the corrected value, or the text of a Supplement; in a
	// Submission only, empty in a stored request.
	Value string `json:"value,omitempty"`
	// Supplement marks a supplementary statement for incomplete data
	// (Art. 16, second sentence): the Engine keeps it, sealed, as a
	// Statement that the subject's export includes.
	Supplement bool `json:"supplement,omitempty"`
	// Sealed is the value encrypted under the Engine's sealing key, while
	// the correction waits to be applied; nil once it is.
	Sealed []byte `json:"sealed,omitempty"`
}

// Format prints c without its value under every verb.
func (c Correction) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// String names the target and field only.
func (c Correction) String() string {
	s := "erasure.Correction{" + c.Target + "." + c.Field
	if c.Supplement {
		s += " supplement"
	}
	return s + "}"
}

// GoString is String, for %#v.
func (c Correction) GoString() string { return c.String() }

// Statement is a supplementary statement of Art. 16, kept sealed with the
// subject's reference: Engine.ExportSubject opens and exports it, and
// Engine.EraseSubject deletes it.
type Statement struct {
	// ID is the request ID and the index of the correction, "<id>/<n>".
	ID string `json:"id"`
	// SubjectRef is the subject's keyed reference.
	SubjectRef string `json:"subject_ref"`
	// Target and Field name what it supplements.
	Target string `json:"target"`
	Field  string `json:"field"`
	// Sealed is the statement's text, encrypted under the sealing key.
	Sealed []byte `json:"sealed"`
	// At is when it was recorded.
	At time.Time `json:"at"`
}

// Format prints s without its text under every verb.
func (s Statement) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "erasure.Statement{"+s.ID+" "+s.Target+"."+s.Field+"}")
}
