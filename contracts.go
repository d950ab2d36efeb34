package gdpr

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The contracts in this file are how the packages of this module meet without
// importing each other: the consent ledger, the key store and the audit log
// each implement Eraser (and Exporter where they hold a subject's data), the
// erasure workflow and the export builder consume them, and every package
// records into a Recorder. A host wires them together in main, and can add its
// own stores to the same lists.

// Eraser erases everything a component holds about one data subject
// (Art. 17), or makes it permanently unreadable.
//
// EraseSubject must be idempotent: erasing a subject that is unknown or
// already erased succeeds with a zero report, so that a workflow that crashed
// half-way can run every step again. It is safe for concurrent use for
// different subjects. Errors it returns carry no personal data.
type Eraser interface {
	EraseSubject(ctx context.Context, subject SubjectID) (ErasureReport, error)
}

// ErasureReport says what one Eraser did.
type ErasureReport struct {
	// Erased counts the records removed or made unreadable.
	Erased int64 `json:"erased"`
	// Exemptions lists what was kept back and on which ground of
	// Art. 17(3): invoices a tax law obliges the controller to keep, data
	// needed for a pending legal claim. Empty when everything was erased.
	Exemptions []Exemption `json:"exemptions,omitempty"`
}

// Exemption is data kept back from an erasure, with the ground of
// Art. 17(3) that permits keeping it. The reply to the subject names it
// (Art. 12(4): the reasons for not taking action).
type Exemption struct {
	// Category is the data category kept, as in the Register.
	Category string `json:"category"`
	// Records counts the records kept.
	Records int64 `json:"records"`
	// Ground is the point of Art. 17(3) relied on.
	Ground ExemptionGround `json:"ground"`
	// Reason explains it in words for the subject's reply (the law that
	// obliges the controller, the claim pending); no personal data.
	Reason string `json:"reason,omitempty"`
	// Until is when the ground ends and the data is to be erased (the end
	// of a retention period the law sets, of a legal hold); zero when not
	// known.
	Until time.Time `json:"until,omitzero"`
}

// ExemptionGround is one of the grounds of Art. 17(3) on which data may be
// kept although the subject asked for its erasure. The zero value is no
// ground and is invalid.
type ExemptionGround string

// The grounds of Art. 17(3), points (a) to (e).
const (
	// GroundExpression: for exercising the right of freedom of
	// expression and information, Art. 17(3)(a).
	GroundExpression ExemptionGround = "art17_3_a"
	// GroundLegalObligation: for compliance with a legal obligation under Union
	// or Member State law, or for a task in the public interest or in the
	// exercise of official authority, Art. 17(3)(b).
	GroundLegalObligation ExemptionGround = "art17_3_b"
	// GroundPublicHealth: for reasons of public interest in the area of public
	// health, under Art. 9(2)(h) and (i) and Art. 9(3), Art. 17(3)(c).
	GroundPublicHealth ExemptionGround = "art17_3_c"
	// GroundArchiving: for archiving in the public interest, scientific
	// or historical research or statistics under Art. 89(1), where erasure
	// would render impossible or seriously impair them, Art. 17(3)(d).
	GroundArchiving ExemptionGround = "art17_3_d"
	// GroundLegalClaims: for the establishment, exercise or defence of legal
	// claims, Art. 17(3)(e).
	GroundLegalClaims ExemptionGround = "art17_3_e"
)

// Article returns the provision g names, e.g. "Art. 17(3)(b)", or "" for
// an unknown ground.
func (g ExemptionGround) Article() string {
	switch g {
	case GroundExpression:
		return "Art. 17(3)(a)"
	case GroundLegalObligation:
		return "Art. 17(3)(b)"
	case GroundPublicHealth:
		return "Art. 17(3)(c)"
	case GroundArchiving:
		return "Art. 17(3)(d)"
	case GroundLegalClaims:
		return "Art. 17(3)(e)"
	}
	return ""
}

// Validate reports whether g is one of the five grounds. The error wraps
// ErrInvalid and quotes the value only when it looks like a key.
func (g ExemptionGround) Validate() error {
	if g.Article() == "" {
		return fmt.Errorf("%w: unknown exemption ground %s (want one of Art. 17(3)(a)-(e))", ErrInvalid, showKey(string(g)))
	}
	return nil
}

// Validate checks that e names a category and a known ground and counts no
// negative records. The error wraps ErrInvalid.
func (e Exemption) Validate() error {
	if e.Category == "" {
		return fmt.Errorf("%w: exemption without a category", ErrInvalid)
	}
	if e.Records < 0 {
		return fmt.Errorf("%w: exemption with a negative record count", ErrInvalid)
	}
	return e.Ground.Validate()
}

// EraserFunc adapts a function to Eraser.
type EraserFunc func(ctx context.Context, subject SubjectID) (ErasureReport, error)

// EraseSubject calls f.
func (f EraserFunc) EraseSubject(ctx context.Context, subject SubjectID) (ErasureReport, error) {
	return f(ctx, subject)
}

// Exporter streams everything a component holds about one data subject, for
// the right of access (Art. 15) and data portability (Art. 20).
//
// ExportSubject calls w.WriteRecord once per record, in a stable order, and
// stops at the first error w returns, returning it. A subject with no data
// is not an error: no record is written. It is safe for concurrent use.
type Exporter interface {
	ExportSubject(ctx context.Context, subject SubjectID, w RecordWriter) error
}

// ExporterFunc adapts a function to Exporter.
type ExporterFunc func(ctx context.Context, subject SubjectID, w RecordWriter) error

// ExportSubject calls f.
func (f ExporterFunc) ExportSubject(ctx context.Context, subject SubjectID, w RecordWriter) error {
	return f(ctx, subject, w)
}

// RecordWriter receives exported records one at a time, so an exporter never
// holds a whole subject's data in memory.
type RecordWriter interface {
	WriteRecord(ctx context.Context, r Record) error
}

// RecordWriterFunc adapts a function to RecordWriter.
type RecordWriterFunc func(ctx context.Context, r Record) error

// WriteRecord calls f.
func (f RecordWriterFunc) WriteRecord(ctx context.Context, r Record) error { return f(ctx, r) }

// Record is one exported item of a subject's data.
type Record struct {
	// Dataset groups records of one shape, e.g. "consent_events"; it becomes
	// a file name in an export bundle, so it is a lower-case key.
	Dataset string `json:"dataset"`
	// ID identifies the record within its dataset.
	ID string `json:"id"`
	// Time is when the record was created or the event happened; may be zero.
	Time time.Time `json:"time,omitzero"`
	// Category is the data category of the record, as in the Register
	// (one of the Categories of the activity named by Activity, or of the
	// host's own list); empty when the component cannot know it.
	Category string `json:"category,omitempty"`
	// Activity is the ID of the Register activity under which the record
	// is processed, so an export can say for which purpose and on which
	// basis it is held (Art. 15(1)(a), (c)); empty when none applies.
	Activity string `json:"activity,omitempty"`
	// Provided reports whether the subject provided the data (Art. 20(1)
	// covers data "provided by" the subject, including observed data), as
	// opposed to data inferred or derived by the controller.
	Provided bool `json:"provided"`
	// Fields are the record's values. Values must encode as JSON: strings,
	// numbers, booleans, time.Time, nil, and slices or maps of those.
	Fields map[string]any `json:"fields"`
}

// Recorder records an audit event: who did what to whose data, why and when
// (Art. 5(2), Art. 30, Art. 32).
//
// A Recorder must not keep the Event's Subject in clear: it stores a
// pseudonym (the audit package uses a keyed HMAC with a per-subject salt that
// erasure deletes). The Actor.ID of a staff member is personal data of that
// staff member: a Recorder pseudonymises or otherwise protects it as its
// policy requires. Record is safe for concurrent use. An error means the
// event was not recorded; callers that must not act without a record (an
// access to special-category data, say) fail with it.
type Recorder interface {
	Record(ctx context.Context, e Event) error
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(ctx context.Context, e Event) error

// Record calls f.
func (f RecorderFunc) Record(ctx context.Context, e Event) error { return f(ctx, e) }

// Discard is a Recorder that records nothing.
var Discard Recorder = RecorderFunc(func(context.Context, Event) error { return nil })

// Event is one audit event. Two fields hold personal data: Subject, which
// the Recorder pseudonymises, and, for an ActorStaff, Actor.ID, which is
// personal data of that staff member (see Actor) and which the Recorder
// pseudonymises or protects as its policy requires. No other field may hold
// personal data: Resource and Attrs carry IDs, keys and counts, never
// values.
type Event struct {
	Time  time.Time `json:"time"`
	Actor Actor     `json:"actor"`
	// Action is a dotted verb, e.g. "consent.given", "crypto.shred".
	Action string `json:"action"`
	// Subject is the data subject concerned; empty for events about no subject.
	Subject    SubjectID `json:"-"`
	Purpose    Purpose   `json:"purpose,omitempty"`
	Categories []string  `json:"categories,omitempty"`
	// Resource names what was touched, e.g. "consent_event/0190…".
	Resource string  `json:"resource,omitempty"`
	Outcome  Outcome `json:"outcome"`
	// Attrs holds a few non-personal attributes, e.g. {"notice_version": "3"}.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Outcome is the result of an audited action.
type Outcome string

// The outcomes.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
	Denied  Outcome = "denied"
)

// Errors shared by the packages of the module. Each package wraps these
// sentinels, so a caller can test with errors.Is whatever package it holds.
var (
	// ErrNotFound: the record asked for does not exist (or was erased).
	ErrNotFound = errors.New("gdpr: not found")
	// ErrConflict: a concurrent writer won, or the record exists already.
	ErrConflict = errors.New("gdpr: conflict")
	// ErrRestricted: processing is restricted for this subject (Art. 18).
	ErrRestricted = errors.New("gdpr: processing restricted")
	// ErrShredded: the subject's key was destroyed; their data is gone.
	ErrShredded = errors.New("gdpr: subject shredded")
)
