package erasure

import (
	"context"
	"time"

	"github.com/gdprkit/gdpr"
)

// Store keeps the Engine's requests and the leases of its workers. The
// Engine validates every request and every transition before it reaches a
// Store; a Store persists, answers queries, and enforces what needs
// atomicity: unique IDs, at most one open request per kind and subject,
// the version of each request (optimistic concurrency), and at most one
// live lease per subject.
//
// Implementations: memerasure (in memory, the fake for tests) and
// sqlerasure (PostgreSQL, MySQL/MariaDB, SQLite). A host's own Store
// proves itself with erasuretest.RunStoreTests.
//
// Every method is safe for concurrent use, from many goroutines and, for a
// shared database, many processes. Stores keep times to the microsecond
// and return them in UTC, but for a Deadline's LastDay and Due, which may
// come back in its Location; the Location is kept by name (see
// gdpr.Deadline.MarshalJSON), the Calendar not at all. The Engine never passes a nil context.
// A Store keeps no reference to the caller's slices and maps, and returns
// none to its own. Empty results are nil or empty slices, alike. Request.Subject
// is the one personal-data value a Store sees in clear, with a recipient's
// reference for the subject (Step.Recipient.Reference); both are empty in
// every closed request the Engine writes, and a Store must not keep them
// anywhere else (an index, a log) once they are. Corrected values
// (Ask.Corrections) and statements reach it sealed only; a closed request
// holds no sealed value either.
type Store interface {
	// Create stores r, a new open request with Version 1, and returns it
	// with created true. If an open request of the same Kind and
	// SubjectRef exists, it stores nothing and returns that request with
	// created false, also when two Creates race. An existing ID is an
	// error wrapping ErrConflict.
	Create(ctx context.Context, r Request) (stored Request, created bool, err error)

	// Get returns the request with the given ID, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, id string) (Request, error)

	// Update replaces the stored request r.ID by r, if the stored
	// Version equals r.Version, and stores it with Version r.Version+1.
	// A different stored Version is an error wrapping ErrConflict, an
	// unknown ID one wrapping ErrNotFound; nothing is written then.
	//
	// With a non-nil lease, the write also requires that lease to be held
	// at now (same Subject, Request, Token, and Until after now) and
	// extends it to lease.Until, in the same atomic step; a lease not
	// held is an error wrapping ErrLeaseLost and nothing is written.
	// A write under a lease that closes r (r.State.Open() is false) ends
	// the lease instead of extending it, as Release would, in the same
	// atomic step. Once r is closed, r may share its Kind and SubjectRef
	// with a new open request.
	Update(ctx context.Context, r Request, lease *Lease, now time.Time) error

	// Acquire leases up to n requests that are due at now: whose State is
	// StateVerified or StateInProgress and whose NextAt is not zero and
	// not after now, oldest NextAt first, taking at most one request per
	// SubjectRef and none whose SubjectRef has a live lease (Until after
	// now), whichever request it was taken for. Each lease is given to owner, with a fresh
	// random Token, until now+ttl. A lease whose Until has passed may be
	// taken over. Concurrent Acquires never lease one subject twice. No
	// due request is not an error.
	Acquire(ctx context.Context, owner string, now time.Time, ttl time.Duration, n int) ([]Leased, error)

	// AcquireID leases the request id as Acquire would, whatever its
	// NextAt or State, for Engine.Process. A live lease on its SubjectRef
	// (of this or another request) is an error wrapping ErrLeased, an
	// unknown ID one wrapping ErrNotFound.
	AcquireID(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (Leased, error)

	// Renew extends a held lease to until. A lease not held at now (taken
	// over, released, expired) is an error wrapping ErrLeaseLost.
	Renew(ctx context.Context, l Lease, now, until time.Time) error

	// Release ends a lease, if it is still held; releasing a lease no
	// longer held succeeds and changes nothing.
	Release(ctx context.Context, l Lease) error

	// List returns the requests that match f, in ID order (the order of
	// receipt: IDs are UUIDv7), at most f.Limit of them after f.After.
	List(ctx context.Context, f Filter) ([]Request, error)

	// Count counts the requests that match f (f.After and f.Limit are
	// ignored), one Count per State and Kind that occurs.
	Count(ctx context.Context, f Filter) ([]Count, error)

	// Delete deletes the requests with the given IDs and returns how many
	// it deleted; unknown IDs are skipped.
	Delete(ctx context.Context, ids ...string) (int64, error)

	// CreateRestriction stores x, a new restriction or objection, with
	// Version 1. An existing ID is an error wrapping ErrConflict, and
	// nothing is written.
	CreateRestriction(ctx context.Context, x Restriction) error

	// UpdateRestriction replaces the stored restriction x.ID by x, if the
	// stored Version equals x.Version, and stores it with Version
	// x.Version+1. A different stored Version is an error wrapping
	// ErrConflict, an unknown ID one wrapping ErrNotFound; nothing is
	// written then.
	UpdateRestriction(ctx context.Context, x Restriction) error

	// GetRestriction returns the restriction with the given ID, or an
	// error wrapping ErrNotFound.
	GetRestriction(ctx context.Context, id string) (Restriction, error)

	// ListRestrictions returns the restrictions that match f, in ID
	// order, at most f.Limit of them after f.After. Engine.Check reads
	// every restriction not lifted through it, page by page, on each
	// refresh of its cache.
	ListRestrictions(ctx context.Context, f RestrictionFilter) ([]Restriction, error)

	// PutStatement stores s. A statement whose ID is stored already is
	// left as it is, and PutStatement succeeds: a step retried after a
	// crash stores its statement once.
	PutStatement(ctx context.Context, s Statement) error

	// ListStatements returns the statements of one subject, in ID order
	// (byte order of the IDs).
	ListStatements(ctx context.Context, subjectRef string) ([]Statement, error)

	// Forget deletes every restriction and statement of the subject
	// subjectRef and returns how many it deleted.
	Forget(ctx context.Context, subjectRef string) (int64, error)
}

// Leased is a request under a worker's lease.
type Leased struct {
	Request Request
	Lease   Lease
}

// Lease is a worker's hold on one subject's requests: while it is live no
// other worker takes up a request of that subject, so the requests of one
// subject run one at a time.
type Lease struct {
	// Subject is the SubjectRef the lease holds.
	Subject string
	// Request is the ID of the request the lease was taken for.
	Request string
	// Owner names the worker (WithWorkerID).
	Owner string
	// Token is random per acquisition, so a worker that lost its lease and
	// took the subject again is told apart from its old self.
	Token string
	// Until is when the lease expires unless renewed.
	Until time.Time
}

// Filter selects requests for List and Count. Zero fields select
// everything: a zero Filter matches every request.
type Filter struct {
	// States, if any, keeps the requests in one of them.
	States []State
	// Kinds, if any, keeps the requests of one of them.
	Kinds []gdpr.RequestKind
	// SubjectRef, if set, keeps one subject's requests.
	SubjectRef string
	// DueBefore, if set, keeps the requests whose Deadline.Due is before it.
	DueBefore time.Time
	// ClosedBefore, if set, keeps the closed requests closed before it.
	ClosedBefore time.Time
	// After, if set, keeps the requests whose ID sorts after it: the ID of
	// the last request of the previous page.
	After string
	// Limit bounds the number of requests List returns; 0 or less is
	// DefaultLimit, and more than MaxLimit is MaxLimit.
	Limit int
}

// The page sizes of Filter.Limit and RestrictionFilter.Limit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// PageSize returns the page a Store lists for a filter's limit: limit
// itself, DefaultLimit for 0 or less, MaxLimit past it.
func PageSize(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// Count is the number of requests, N, in one State of one Kind.
type Count struct {
	State State
	Kind  gdpr.RequestKind
	N     int64
}

// CodeStore keeps the verification codes of CodeVerifier: hashes only,
// never a code.
//
// Implementations: memerasure and sqlerasure; erasuretest.RunCodeStoreTests
// is the conformance suite. Every method is safe for concurrent use.
type CodeStore interface {
	// PutCode stores c, replacing any code of c.Request.
	PutCode(ctx context.Context, c Code) error
	// Attempt counts one attempt at the code of request and returns the
	// code as stored after counting it. Concurrent Attempts each count:
	// n Attempts raise Attempts by exactly n. An unknown request is an
	// error wrapping ErrNotFound.
	Attempt(ctx context.Context, request string) (Code, error)
	// DeleteCode deletes the code of request; an unknown one succeeds.
	DeleteCode(ctx context.Context, request string) error
	// DueReminders returns up to limit codes created at or before
	// createdBefore that have not been reminded (Reminded is zero),
	// oldest first.
	DueReminders(ctx context.Context, createdBefore time.Time, limit int) ([]Code, error)
	// MarkReminded sets the Reminded time of request's code; an unknown
	// request is an error wrapping ErrNotFound.
	MarkReminded(ctx context.Context, request string, at time.Time) error
}

// Code is one verification code, as a CodeStore keeps it.
type Code struct {
	// Request is the ID of the request the code confirms.
	Request string
	// Hash is the keyed hash of the code (32 bytes); the code itself is
	// never stored.
	Hash []byte
	// Created is when the code was issued; Expires when it stops working.
	Created, Expires time.Time
	// Attempts counts the attempts made with it.
	Attempts int
	// Reminded is when the subject was reminded of it; zero if not yet.
	Reminded time.Time
}

// Journal is the erasure journal: per completed erasure, the keyed
// reference of the subject, the time and the targets, and nothing in
// clear. Keep it apart from the main data (another database, a file on
// other storage) so that a backup restore of the main data does not roll
// it back: Engine.Replay reads it to erase again, after a restore, the
// subjects erased since the backup was taken.
//
// Implementations: memerasure.Journal, FileJournal in this package and
// sqlerasure.Journal; erasuretest.RunJournalTests is the conformance
// suite. Every method is safe for concurrent use.
type Journal interface {
	// Append stores e. Appending an entry whose RequestID is stored
	// already succeeds and changes nothing.
	Append(ctx context.Context, e JournalEntry) error
	// Match returns the entries whose SubjectRef is one of refs, ordered
	// by Completed, then RequestID. No match is not an error.
	Match(ctx context.Context, refs []string) ([]JournalEntry, error)
}

// JournalEntry records one completed erasure, with nothing in clear.
type JournalEntry struct {
	// RequestID is the ID of the erasure request; unique in a Journal.
	RequestID string `json:"request"`
	// SubjectRef is the subject's keyed reference (Engine.SubjectRef).
	SubjectRef string `json:"subject_ref"`
	// Completed is when the erasure completed.
	Completed time.Time `json:"completed"`
	// Targets are the names of the targets it ran, in order.
	Targets []string `json:"targets"`
}
