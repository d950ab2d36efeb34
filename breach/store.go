package breach

import (
	"context"
	"time"
)

// Kind is the kind of a breach event.
type Kind string

// The kinds of breach events. Each event's Data is the JSON of the value
// its kind names.
const (
	KindRecorded Kind = "recorded" // Report: the breach recorded
	KindUpdated  Kind = "updated"  // Details: information added or corrected (Art. 33(4))
	KindAssessed Kind = "assessed" // Assessment: risk assessed
	KindNotified Kind = "notified" // Notification: authority notified
	KindAffected Kind = "affected" // Affected: subjects affected found
	KindPublic   Kind = "public"   // Public: public communication (Art. 34(3)(c))
	KindNoticed  Kind = "noticed"  // Communications: a run of notices to subjects
	KindReported Kind = "reported" // ControllerReport: a processor told a controller (Art. 33(2))
	KindClosed   Kind = "closed"   // closure: {"reason": …}
)

func (k Kind) valid() bool {
	switch k {
	case KindRecorded, KindUpdated, KindAssessed, KindNotified, KindAffected, KindPublic, KindNoticed, KindReported, KindClosed:
		return true
	}
	return false
}

// Event is one stored event of a breach: the breach register is
// append-only, and a breach's state is derived from its events in order.
// No event holds a subject ID.
type Event struct {
	// Breach is the breach's ID.
	Breach string
	// Seq numbers the breach's events from 1, without gaps.
	Seq int64
	// Time is when the event was recorded, to the microsecond, in UTC.
	Time time.Time
	Kind Kind
	// Data is the event's value as JSON (see Kind).
	Data []byte
}

// Notice is the stored record of one communication to a subject
// (Art. 34): its subject is named by a keyed reference, never by its ID.
type Notice struct {
	Breach string
	// Ref is the subject's reference: an HMAC-SHA-256, under the Log's
	// subject key, of the breach ID and the subject ID; 32 bytes.
	Ref []byte
	// Time is when the outcome was recorded, to the microsecond, in UTC.
	Time    time.Time
	Outcome Outcome
}

// Store keeps the breach register: each breach's events and the outcomes of
// its notices to subjects. membreach and sqlbreach implement it, and
// breachtest.RunStoreTests checks an implementation. Every method is safe
// for concurrent use, by many goroutines and, for a shared database, by
// many processes. Errors wrap ErrInvalid, ErrNotFound or ErrConflict as
// each method says, and carry no personal data.
type Store interface {
	// Append stores ev as event ev.Seq of breach ev.Breach. ev.Seq must
	// be 1 for a new breach and one more than its last event otherwise;
	// if another writer stored that Seq first, or a breach of that ID
	// exists already for a Seq of 1, Append returns an error wrapping
	// ErrConflict and stores nothing; a Seq that leaves a gap wraps
	// ErrInvalid.
	Append(ctx context.Context, ev Event) error

	// Events returns breach id's events in Seq order, or an error
	// wrapping ErrNotFound if it has none.
	Events(ctx context.Context, id string) ([]Event, error)

	// Breaches returns the IDs of up to limit breaches (1 to 1000),
	// in ascending order, those after after ("" for the first page).
	Breaches(ctx context.Context, after string, limit int) ([]string, error)

	// Claim stores a notice with Outcome Pending for (n.Breach, n.Ref)
	// and reports true, if there is none, or the one there has Outcome
	// Failed, or Skipped when skipped is true (a run that no longer skips
	// on a ground of Art. 34(3)); otherwise (Pending, Sent, or Skipped
	// with skipped false) it stores nothing and reports false. Two
	// concurrent Claims of one notice: one wins.
	Claim(ctx context.Context, n Notice, skipped bool) (bool, error)

	// Settle records the outcome of a claimed notice (Sent, Failed or
	// Skipped), or returns an error wrapping ErrNotFound if
	// (n.Breach, n.Ref) was not claimed; a notice whose outcome is Sent
	// or Skipped already is not changed, and Settle returns an error
	// wrapping ErrConflict.
	Settle(ctx context.Context, n Notice) error

	// Notices returns up to limit (1 to 1000) of breach's notices with a
	// Ref after after (nil for the first page), in ascending order of
	// Ref.
	Notices(ctx context.Context, breach string, after []byte, limit int) ([]Notice, error)
}

// MaxPage is the largest limit Breaches and Notices accept.
const MaxPage = 1000
