package consent

import (
	"context"
	"time"

	"github.com/gdprkit/gdpr"
)

// Store keeps the ledger's events and notices. The Ledger validates
// everything before it reaches a Store; a Store persists and answers
// queries, and enforces the few rules that need atomicity: unique event IDs,
// unique (notice ID, version), at most one confirmation per pending event,
// and the order of events. Its methods are named for what they do to the
// store (DeleteSubject), not after the root contracts the Ledger meets
// (gdpr.Eraser's EraseSubject), whose signatures differ.
//
// # Order
//
// The ledger's order is the order of appends, not of timestamps: a Store
// gives each appended event a Seq greater than that of every event appended
// before it (an identity column, a counter). Event times come from the clocks
// of many application instances and may be skewed or equal; ordering by them
// could let an older consent, stamped by a fast clock, override a later
// withdrawal. Time still bounds which events a decision at a past moment
// sees (Query.At), and stays on record as evidence.
//
// Implementations: memconsent (in memory, the fake for tests) and sqlconsent
// (PostgreSQL, MySQL/MariaDB, SQLite). A host's own Store proves itself with
// consenttest.RunStoreTests.
//
// Every method is safe for concurrent use, from many goroutines and, for a
// shared database, many processes. Events are ordered by Seq wherever an
// order is stated; strings (IDs, subjects) compare byte for byte, never by
// a locale's collation. Stores keep times to the microsecond and return them
// in UTC. The Ledger never passes a nil context (it refuses one with
// ErrInvalid). Append need not validate its input (the Ledger has), and a Store
// may keep no reference to the caller's slices and maps. Empty results are
// nil or empty slices, alike. An erased event's ID is not reused by the
// Ledger (IDs are UUIDv7), so whether a Store would accept it again is left
// open.
type Store interface {
	AuditOutbox  // Append writes each event's audit marker; DeleteSubject removes them (see AuditOutbox)
	Suppressions // the suppression list, which outlives erasure (see Suppressions)
	// Append stores one event, giving it the next Seq (e.Seq is ignored). It
	// returns an error wrapping ErrConflict if an event with the same ID
	// exists, or if e.Confirms is set and another event already confirms the
	// same pending event; nothing is written then.
	Append(ctx context.Context, e Event) error

	// Event returns the event with the given ID, or an error wrapping
	// ErrNotFound.
	Event(ctx context.Context, id string) (Event, error)

	// Latest returns the event that decides q: of q.Subject's events for
	// q.Purpose that apply to q.Contact (Event.Applies), whose Kind is not
	// Pending and (unless q.Current) whose Time is at or before q.At, the one
	// with the highest Seq. With it comes the highest version of that event's notice that
	// is Material and was Published at or before q.At (0 if none), so a
	// decision needs one query. It returns an error wrapping ErrNotFound
	// when no event qualifies.
	Latest(ctx context.Context, q Query) (Current, error)

	// Events returns all of subject's events in Seq order; with a
	// non-empty purpose, only those for it. No events is not an error.
	Events(ctx context.Context, subject gdpr.SubjectID, purpose gdpr.Purpose) ([]Event, error)

	// DeleteSubject deletes every event of subject and returns how many it
	// deleted. Deleting an unknown subject deletes nothing and succeeds.
	// (Ledger.EraseSubject, the gdpr.Eraser, calls it and audits it.)
	DeleteSubject(ctx context.Context, subject gdpr.SubjectID) (int64, error)

	// PutNotice stores a notice version. It returns an error wrapping
	// ErrConflict if that ID and Version exist already.
	PutNotice(ctx context.Context, n Notice) error

	// Notices returns every version of the notice with the given ID in
	// ascending Version order; none is not an error.
	Notices(ctx context.Context, id string) ([]Notice, error)

	// StaleSubjects returns, in ascending order and at most q.Limit of them,
	// the distinct subjects greater than q.After that have a Given event
	// for notice q.Notice with a Version below q.Version (and, when
	// q.Purpose is set, for that purpose). It is the candidate list of
	// subjects to ask again after a material change; the Ledger checks each.
	StaleSubjects(ctx context.Context, q StaleQuery) ([]gdpr.SubjectID, error)
}

// StaleEventer is a Store that lists the events of a page of stale
// candidates in one query, so that a page of Ledger.StaleSubjects costs a
// bounded number of statements however many candidates it checks.
// memconsent and sqlconsent implement it, and consenttest checks it when
// a Store does; without it the Ledger reads each candidate's events with
// Store.Events, one query a candidate.
type StaleEventer interface {
	// StaleEvents returns, with one query, the events of the candidates
	// StaleSubjects(q) lists that the Ledger needs to check them. For
	// each of those subjects (the same ones: greater than q.After, at
	// most q.Limit of them, 100 when
	// q.Limit is 0 or less), it returns the latest event, the one with
	// the highest Seq, of each (Purpose, Contact, Kind) of the subject's
	// events whose Kind is not Pending: every purpose's events, or only
	// q.Purpose's when it is set. Whether an event applies to a decision
	// (Event.Applies) depends on its Contact and Kind alone, so these are
	// enough to find, for each channel, the event that decides it.
	//
	// Events come in ascending order of Subject (byte for byte), then of
	// Seq. Every candidate has its Given event for q.Notice there, or a
	// later Given of the same purpose and channel, so the distinct
	// subjects of the result are StaleSubjects(q)'s, in the same order;
	// fewer than q.Limit of them means there are no more. No candidate
	// gives an empty result and no error; an empty q.Notice is an error
	// wrapping ErrInvalid.
	StaleEvents(ctx context.Context, q StaleQuery) ([]Event, error)
}

// Query asks for the state of one subject's consent to one purpose.
type Query struct {
	Subject gdpr.SubjectID
	Purpose gdpr.Purpose
	// Contact narrows a direct-marketing decision to one channel. Empty asks
	// about the purpose as a whole, conservatively: a withdrawal, refusal or
	// objection for any one channel then denies, while a consent for one
	// channel does not allow (see Event.Applies).
	Contact Contact
	// At is the time of the decision: notice versions published after it do
	// not count, and, unless Current is set, neither do events whose Time is
	// after it. Zero, the default, means now: the Ledger fills in now (and
	// sets Current), so a Store always receives a set time.
	At time.Time
	// Current asks about the ledger as it stands: every event counts,
	// whatever its Time, and At bounds only the notice versions. Clocks of
	// application instances skew; a withdrawal stamped by a clock that runs
	// ahead must take effect at once, not when the reader's clock catches
	// up. The Ledger sets Current for decisions about now, and leaves it
	// unset when asked about a past moment.
	Current bool
}

// Current is the deciding event of a Query and what the notice registry said
// at the time.
type Current struct {
	Event Event
	// LatestMaterial is the highest material version of Event.Notice.ID
	// published at or before the query time; 0 when none.
	LatestMaterial int
}

// StaleQuery pages through the subjects whose consent rests on an old
// version of a notice. Notice and Version are required.
type StaleQuery struct {
	Notice  string
	Version int            // subjects with a Given event under a lower version
	Purpose gdpr.Purpose   // optional; empty (the default) for every purpose
	After   gdpr.SubjectID // exclusive cursor; empty (the default) to start
	Limit   int            // page size; 0 or less means 100, the default
}

// Notice is one published version of a text shown to subjects when asking
// for consent: a privacy notice, a consent request, a cookie banner.
type Notice struct {
	// ID names the notice, e.g. "newsletter-consent".
	ID string `json:"id"`
	// Version starts at 1 and increases with each publication.
	Version int `json:"version"`
	// TextHash is the hex SHA-256 of the exact text shown (HashText).
	TextHash string `json:"text_hash"`
	// Language is the BCP 47 tag of the text, e.g. "en" or "de-AT".
	Language string `json:"language,omitempty"`
	// URL is where the text can be read.
	URL string `json:"url,omitempty"`
	// Material marks a change that matters to the subject's choice (a new
	// purpose, a new recipient). Consent given under an older version is
	// stale from the moment a material version is published: decisions deny
	// it, and StaleSubjects lists who to ask again. Editorial changes are not
	// material and leave earlier consents valid.
	Material bool `json:"material"`
	// Published is when the version took effect; Publish sets it to now
	// when it is zero.
	Published time.Time `json:"published"`
}
