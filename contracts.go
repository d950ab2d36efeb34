package gdpr

import (
	"context"
	"errors"
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
	// Retained lists what was kept and why, under Art. 17(3): a legal
	// obligation to keep invoices, a pending legal claim. Empty when
	// everything was erased.
	Retained []Retention `json:"retained,omitempty"`
}

// Retention is data kept back from an erasure, with the ground that permits it.
type Retention struct {
	// Category is the data category kept.
	Category string `json:"category"`
	// Records counts the records kept.
	Records int64 `json:"records"`
	// Ground is the exemption of Art. 17(3), e.g. "Art. 17(3)(b)" (legal
	// obligation) or "Art. 17(3)(e)" (legal claims).
	Ground string `json:"ground"`
	// Reason explains it in words for the subject's reply; no personal data.
	Reason string `json:"reason,omitempty"`
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
	// Category is the data category of the record, as in the Register.
	Category string `json:"category,omitempty"`
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
