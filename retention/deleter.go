package retention

import (
	"context"
	"time"

	"github.com/gdprkit/gdpr"
)

// Deleter deletes or anonymises the expired records of one data category
// in one place: a table, a bucket, a search index. The sweep calls
// Expire in batches, each with the cursor the one before returned, until
// a batch reports Done. sqlretention.Deleter is the ready Deleter of a
// SQL table; a host writes its own for the rest.
//
// Expire examines at most b.Limit records of b.Policy.Category whose
// start (the instant b.Policy.From names) is before b.Before, in an order
// of its own that the cursor continues: those of a subject in b.Held it
// leaves alone and counts as held; the others it deletes, or anonymises
// by b.Policy.Strategy, as b.Policy.Action says, or, in a dry run (and
// for Review), only counts. It returns the counts, the cursor after the
// last record examined, and whether no expired record remains after it.
// A record is acted on at most once across the batches of one sweep. A
// batch should be short (a few hundred milliseconds at most): it is not
// meant to hold locks long.
//
// Expire must be idempotent: after a crash the sweep calls it again with
// the last cursor it saved, so the batch after that cursor runs again.
// Expire is called by one goroutine at a time per sweep; different
// sweeps may call one Deleter concurrently. Errors carry no personal
// data.
type Deleter interface {
	Expire(ctx context.Context, b Batch) (Result, error)
}

// DeleterFunc adapts a function to Deleter.
type DeleterFunc func(ctx context.Context, b Batch) (Result, error)

// Expire calls f.
func (f DeleterFunc) Expire(ctx context.Context, b Batch) (Result, error) { return f(ctx, b) }

// Batch is one call of Deleter.Expire.
type Batch struct {
	// Target is the name of the target swept.
	Target string
	// Policy is the category's policy, with its defaults filled in.
	Policy Policy
	// Before is the cut-off: records whose start is before it have
	// expired (Policy.Cutoff).
	Before time.Time
	// Limit is the most records to examine, at least 1.
	Limit int
	// Cursor is where the batch before stopped; empty for the first.
	Cursor string
	// Held are the subjects whose records of the category a hold keeps,
	// sorted and without repeats; Deleters skip them (IsHeld).
	Held []gdpr.SubjectID
	// DryRun asks for the counts only: nothing is changed.
	DryRun bool
}

// IsHeld reports whether subject is in b.Held.
func (b Batch) IsHeld(subject gdpr.SubjectID) bool {
	_, ok := slicesBinarySearch(b.Held, subject)
	return ok
}

// Result is what one batch did.
type Result struct {
	// Acted counts the records deleted or anonymised, or, in a dry run
	// or for Review, the expired records counted.
	Acted int64
	// Held counts the expired records skipped because their subject is
	// held.
	Held int64
	// Cursor is where the next batch goes on: valid UTF-8 text (a
	// Store keeps it in JSON) of at most MaxCursorLen bytes, in the
	// Deleter's own encoding. It may hold a time and a primary key,
	// never personal data.
	Cursor string
	// Done reports that no expired record remains after Cursor.
	Done bool
}

// Noticer is met by a Deleter that can say which subjects' records will
// expire soon, so the host can tell them before their data are deleted
// (Sweeper.Notices).
type Noticer interface {
	// Expiring returns, in subject order after q.After, at most q.Limit
	// subjects that have records of q.Policy.Category whose start is at
	// or after q.From and before q.Before, each once with the earliest
	// such start. A shorter page than q.Limit is the last.
	Expiring(ctx context.Context, q ExpiringQuery) ([]Expiring, error)
}

// ExpiringQuery is one call of Noticer.Expiring.
type ExpiringQuery struct {
	Target       string
	Policy       Policy
	From, Before time.Time
	After        gdpr.SubjectID // the last subject of the page before; empty for the first
	Limit        int            // at least 1
}

// Expiring is a subject with records that will expire soon.
type Expiring struct {
	Subject gdpr.SubjectID
	// Start is the earliest start of the subject's records in the range.
	Start time.Time
}

// FromDeclarer is met by a Deleter that knows from which event its
// records count (sqlretention.Deleter does): NewSweeper refuses a target
// whose Deleter counts from another event than its category's policy.
type FromDeclarer interface {
	CountsFrom() Start
}

// StrategyDeclarer is met by a Deleter that knows which anonymisation
// strategies it has (sqlretention.Deleter and memretention.Table do):
// NewSweeper refuses a target whose policy anonymises by a strategy its
// Deleter does not name, so a misspelt strategy fails when the Sweeper
// is made, not at the first sweep.
type StrategyDeclarer interface {
	Strategies() []string
}
