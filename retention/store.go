package retention

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gdprkit/gdpr"
)

// Store keeps the legal holds and the sweeps' leases and checkpoints.
// memretention is the in-memory Store (and the fake for tests);
// sqlretention keeps them in PostgreSQL, MySQL/MariaDB or SQLite;
// retentiontest is the conformance suite a host's own Store runs.
//
// A Store is also the root package's gdpr.LegalHolds, so the erasure
// engine can ask it before it erases (erasure.WithLegalHolds).
//
// Every method is safe for concurrent use, by goroutines and by
// processes sharing the store's database. Arguments are valid (the
// Holds and Sweeper types check them); a Store may still refuse what
// it cannot keep with an error wrapping ErrInvalid. Errors carry no
// personal data: no subject ID, no reason. A nil ctx is an error
// wrapping ErrInvalid.
type Store interface {
	// PlaceHold stores h, a valid hold with Placed set. A hold of that
	// ID with the same placement (every field but Released and
	// ReleasedBy, times to the microsecond) is not an error (a retry,
	// even after a release); with another it is ErrExists, and nothing
	// changes.
	PlaceHold(ctx context.Context, h Hold) error
	// ReleaseHold lifts the hold of that ID at the instant at, by
	// actor by: it sets Released and ReleasedBy unless the hold is
	// already released or has ended (Until not after at), and returns
	// the hold as stored afterwards. Releasing a hold already released
	// or ended changes nothing and is not an error. No hold of that ID
	// is ErrNotFound.
	ReleaseHold(ctx context.Context, id string, at time.Time, by gdpr.Actor) (Hold, error)
	// GetHold returns the hold of that ID; ErrNotFound if there is none.
	GetHold(ctx context.Context, id string) (Hold, error)
	// ListHolds returns the holds f selects (HoldFilter.Match) in ID
	// order, after f.After, at most f.Limit of them: 0 means
	// DefaultLimit, and a Limit below 0 or above MaxLimit is ErrInvalid.
	// None is an empty slice and no error.
	ListHolds(ctx context.Context, f HoldFilter) ([]Hold, error)
	// PurgeHolds deletes the holds that ended before the instant
	// before: those whose Released, or else Until, is before it. Holds
	// in force, and those that ended at or after before, stay. It
	// returns how many it deleted.
	PurgeHolds(ctx context.Context, before time.Time) (int64, error)
	// Holds implements gdpr.LegalHolds: the holds in force at now that
	// cover subject's data, those naming the subject and those naming
	// only categories, each as Hold.Legal returns it, in ID order. No
	// hold is not an error. It returns every such hold, however many.
	Holds(ctx context.Context, subject gdpr.SubjectID, now time.Time) ([]gdpr.Hold, error)

	// AcquireSweep takes the lease of the sweep called name for owner
	// until now+ttl: it creates it, or takes over one whose Until is not
	// after now, and returns it with a fresh random Token. A live lease
	// of another token is ErrLeased, whoever its owner. Two racing
	// calls never both succeed.
	AcquireSweep(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (Lease, error)
	// SaveSweep stores s as the checkpoint of l's sweep and extends l to
	// until, in one step, if l is still held at now (its token matches
	// and its Until is after now); otherwise it is ErrLeaseLost and
	// nothing changes. s.Name is l.Name.
	SaveSweep(ctx context.Context, l Lease, s Sweep, now, until time.Time) error
	// ReleaseSweep gives l up, keeping the checkpoint. Releasing a lease
	// that was lost or already released is not an error and changes
	// nothing.
	ReleaseSweep(ctx context.Context, l Lease) error
	// LastSweep returns the checkpoint of the sweep called name, as the
	// last SaveSweep stored it: finished, or interrupted. ErrNotFound if
	// none was saved.
	LastSweep(ctx context.Context, name string) (Sweep, error)
}

// Lease is a sweeper's hold on a sweep name: while it is live no other
// sweeper of that name runs.
type Lease struct {
	Name  string    // the sweep's name
	Owner string    // who holds it, for operators; a key, no personal data
	Token string    // random, unique to this holding of the lease
	Until time.Time // when it lapses unless renewed
}

// String returns the lease's name, owner and end, with its token masked.
func (l Lease) String() string {
	return "retention.Lease{Name:" + strconv.Quote(l.Name) + " Owner:" + strconv.Quote(l.Owner) +
		" Token:[token] Until:" + l.Until.UTC().Format(time.RFC3339Nano) + "}"
}

// GoString returns String, for %#v.
func (l Lease) GoString() string { return l.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (l Lease) Format(f fmt.State, _ rune) { io.WriteString(f, l.String()) }

// Sweep is a sweep's state, saved after every batch: the checkpoint a
// sweep that stops resumes from, and, once Finished, the report.
type Sweep struct {
	// Name is the sweep's name (WithName).
	Name string `json:"name"`
	// ID identifies this sweep, a random UUID; a resumed sweep keeps it.
	ID string `json:"id"`
	// Started is when the sweep began; Finished when its last target was
	// done, zero while it runs or after it stopped midway.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Targets are the targets' states, in the order they are swept.
	Targets []TargetSweep `json:"targets"`
}

// TargetSweep is one target's part of a sweep.
type TargetSweep struct {
	// Target is the target's name, Category its data category and
	// Action its policy's action.
	Target   string `json:"target"`
	Category string `json:"category"`
	Action   Action `json:"action"`
	// Cutoff is the instant before which the target's records had
	// expired when the target was begun (Policy.Cutoff).
	Cutoff time.Time `json:"cutoff"`
	// Cursor is the Deleter's cursor after the last batch done; empty
	// before the first.
	Cursor string `json:"cursor,omitempty"`
	// Done reports that no expired record remained.
	Done bool `json:"done,omitempty"`
	// Held reports that a hold on the whole category kept every record
	// of it.
	Held bool `json:"held,omitempty"`
	// Acted counts the records deleted or anonymised, or for Review
	// the records due for review; HeldRecords those skipped because a
	// hold covers their subject.
	Acted       int64 `json:"acted"`
	HeldRecords int64 `json:"held_records"`
	// Batches counts the Deleter's calls; Longest is the longest of
	// them.
	Batches int64         `json:"batches"`
	Longest time.Duration `json:"longest"`
}

// Limits of a Sweep that a Store must keep.
const (
	// MaxTargets is the most targets a Sweeper sweeps.
	MaxTargets = 256
	// MaxCursorLen is the longest Deleter cursor, in bytes.
	MaxCursorLen = 1024
)
