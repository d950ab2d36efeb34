// Package memerasure keeps the request engine's data in memory: an
// erasure.Store (New), an erasure.CodeStore (NewCodeStore) and an
// erasure.Journal (NewJournal). It is the fake a host uses in its own unit
// tests of code built on the erasure Engine, and a working store for
// tools and demos that need no persistence.
//
// They are working stores, not expectation mocks (as httptest and
// fstest.MapFS are): they meet the whole contracts and pass
// erasuretest.RunStoreTests, RunCodeStoreTests and RunJournalTests, so a
// test over them sees the rules a database would enforce — unique request
// IDs, at most one open request per kind and subject (a repeated request
// returns the open one, Art. 12(3) counted once), optimistic versions,
// one live lease per subject so that a subject's requests run one at a
// time, verification attempts counted exactly (Art. 12(6)), and a journal
// that keeps the first entry of each erasure (Art. 17).
//
// # Storage
//
// Everything lives in memory and is lost with the process — the Journal
// too, which is meant to outlive a restore of the main data: use
// sqlerasure, or erasure.FileJournal on other storage, for data that must
// outlive the process.
//
// A Store keeps its requests in a map by ID, an index of the open request
// of each kind and SubjectRef, and one lease per SubjectRef. Acquire, List
// and Count scan every request and sort what they keep, so they cost
// O(n log n) in the number of requests: fine for tests and tools, not for
// millions of requests. Beside the requests, a Store keeps the restrictions
// and objections (Art. 18 and 21) and the supplementary statements of
// Art. 16 in maps by ID; ListRestrictions and ListStatements scan and sort
// them likewise, and Forget deletes a subject's restrictions and statements
// (not its requests).
//
// Requests are stored as a database would give them back. Times are
// truncated to the microsecond and converted to UTC on the way in, lease
// times included, and the comparisons with now are made at that
// precision. A Deadline goes through its JSON form (gdpr.Deadline's
// MarshalJSON and UnmarshalJSON): its Location comes back as the zone its
// name loads, LastDay and Due in it, Received in UTC, and its Calendar is
// dropped, so the Engine must re-attach it with WithCalendar before
// Extend, as it must for sqlerasure. A Location whose name does not load
// (a time.FixedZone, say) is refused with an error wrapping
// erasure.ErrInvalid, where a SQL store could not keep it either.
//
// Requests, restrictions, statements, codes and journal entries are
// deep-copied on the way in and out: a caller that changes a returned
// request's Params, Ask, Steps (a Recipient too), Exemptions or History, a
// restriction's Purposes or Override, a statement's Sealed bytes, a code's
// Hash or an entry's Targets, or what it passed in, changes nothing stored.
// A correction's Value, which belongs in a Submission only, is not stored
// (a database, encoding the request, would not keep it either). A code's
// Hash is overwritten with zeros when it is replaced or deleted, and a
// statement's Sealed bytes when Forget deletes it.
//
// Request.Subject is kept only in the request itself; no index or lease
// holds it, so once the Engine writes a closed request without it the
// Store holds it nowhere. Every type prints as its name under every fmt
// verb ("memerasure.Store"), never what it holds.
//
// Each type is safe for concurrent use by many goroutines: a sync.Mutex
// makes every method atomic. None is shared between processes.
//
// # Errors
//
// Methods return *erasure.Error (Op "create", "get", "update", "acquire",
// "acquire id", "renew", "release", "list", "count", "delete", "create
// restriction", "update restriction", "get restriction", "list
// restrictions", "put statement", "list statements", "forget", "put code",
// "attempt", "delete code", "due reminders", "mark reminded", "append" or
// "match") wrapping erasure.ErrNotFound, erasure.ErrConflict,
// erasure.ErrLeased or erasure.ErrLeaseLost as the contracts say, and so
// the root package's gdpr.ErrNotFound and gdpr.ErrConflict too: for
// example "erasure update: memerasure: conflict: request "0195…":
// stored version is 2, not 1". Update reports an unknown ID first, then a
// lease not held (ErrLeaseLost), then a stale Version (ErrConflict);
// UpdateRestriction an unknown ID (ErrNotFound), then a stale Version.
//
// Where the contracts are silent, memerasure refuses with an error
// wrapping erasure.ErrInvalid, and a Field naming the argument: a request,
// restriction, statement, code or journal entry without an ID ("id",
// "request"), a Deadline whose Location does not load by name
// ("deadline"), an Acquire with n below 1 ("n"), an Acquire or AcquireID
// with a ttl of zero or less ("ttl"), and DueReminders with a limit
// below 1 ("limit"). A nil context is refused
// with Field "ctx", and every method returns ctx.Err() when its context is
// done before it starts. Error texts name request IDs at most (only those
// that look like keys), never a subject or a SubjectRef.
//
// # Testing
//
// Give memerasure.New(), NewCodeStore() and NewJournal() to the Engine in
// a host's tests; there is nothing to set up or tear down, and fresh
// stores per test keep tests independent. Requests may also be created
// directly to arrange a state (erasuretest.NewRequest builds one as the
// Engine stores it on receipt), as the package examples do.
package memerasure
