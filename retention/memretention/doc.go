// Package memretention keeps the legal holds and the sweeps' leases and
// checkpoints of package retention in memory: a retention.Store (New),
// and so a gdpr.LegalHolds the erasure engine can ask. It is the fake a
// host uses in its own unit tests of code built on package retention or
// on the erasure engine's legal holds, and a working store for tools and
// demos that need no persistence.
//
// It is a working store, not an expectation mock (as httptest and
// fstest.MapFS are): it meets the whole contract and passes
// retentiontest.RunStoreTests, so a test over it sees the rules a
// database would enforce — unique hold IDs, a hold released once and
// never after it ended, holds of a subject found with the holds of its
// categories (Art. 17(3)(e): data needed for legal claims are kept from
// an erasure and from a sweep), and one sweeper per sweep name at a time,
// whose checkpoint the next resumes from (Art. 5(1)(e)).
//
// # Storage
//
// Everything lives in memory and is lost with the process: use
// sqlretention for holds that must outlive it — a legal hold lost is
// data erased that had to be kept.
//
// A Store keeps its holds in a slice sorted by ID (byte order) with a map
// by ID beside it, one lease and one checkpoint per sweep name. PlaceHold
// inserts into the slice, O(n) in the holds stored; ListHolds finds
// After by binary search and scans from there; Holds scans every hold,
// O(n): fine for tests and tools, not for millions of holds.
//
// Holds and checkpoints are stored as a database would give them back:
// times are truncated to the microsecond (time.Truncate, not rounded) and
// converted to UTC on the way in, lease times included, and every
// comparison with now (Hold.InForce, a lease's Until) is made at that
// precision. An empty Categories or Targets slice comes back nil. They
// are deep-copied on the way in and out: a caller that changes a returned
// hold's Categories or a checkpoint's Targets, or what it passed in,
// changes nothing stored. Durations (TargetSweep.Longest) are kept to the
// nanosecond.
//
// A retried PlaceHold is one whose placement is the stored hold's —
// Subject, Categories in order, Reason, PlacedBy, Placed and Until — even
// after the hold was released. A released lease is deleted, its
// checkpoint kept. Lease tokens are 16 bytes of crypto/rand, in hex.
//
// A Store prints as its name under every fmt verb ("memretention.Store"),
// never what it holds. It is safe for concurrent use by many goroutines:
// a sync.Mutex makes every method atomic. It is not shared between
// processes.
//
// # Errors
//
// Methods return *retention.Error with Op "memretention.<Method>" (for
// example "memretention.PlaceHold") wrapping retention.ErrNotFound,
// retention.ErrExists, retention.ErrLeased, retention.ErrLeaseLost or
// retention.ErrInvalid as the contract says, and so the root package's
// gdpr.ErrNotFound, gdpr.ErrConflict and gdpr.ErrInvalid too: for
// example "retention memretention.AcquireSweep: another sweeper holds
// the lease: the sweep's lease is live".
//
// Where the contract leaves a Store room to refuse, memretention refuses
// with an error wrapping retention.ErrInvalid and a Field naming the
// argument: a hold that fails Hold.Validate (Field as Validate names it:
// "id", "subject", "categories[2]", …) or has no Placed ("placed"); an
// empty hold ID, sweep name or owner, or one longer than
// retention.MaxKeyLen ("id", "name", "owner"); a ReleaseHold with a zero
// time ("at") or a zero or invalid actor ("by"); a ListHolds Limit below
// 0 or above retention.MaxLimit ("limit"; 0 is retention.DefaultLimit);
// Holds of an invalid subject ("subject"); an AcquireSweep ttl of zero or
// less ("ttl"); a SaveSweep whose Sweep is of another name
// ("sweep.name"), has more than retention.MaxTargets targets
// ("sweep.targets") or a cursor longer than retention.MaxCursorLen
// ("sweep.targets[i].cursor"). A refused call changes nothing. A nil
// context is refused with Field "ctx", and every method returns an error
// wrapping ctx.Err() when its context is done before it starts. No error
// text holds a subject ID, a reason, a hold ID or a token.
//
// # Testing
//
// Give memretention.New() to retention's Holds and Sweeper, or to
// erasure.WithLegalHolds, in a host's tests; there is nothing to set up
// or tear down, and fresh stores per test keep tests independent. Holds
// may also be placed directly to arrange a state, as the package example
// does.
package memretention
