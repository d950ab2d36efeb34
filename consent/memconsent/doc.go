// Package memconsent is an in-memory consent.Store: the fake a host uses in
// its own unit tests, and a working store for tools and demos that need no
// persistence.
//
// It is a working store, not an expectation mock (as httptest and
// fstest.MapFS are): it meets the whole consent.Store contract and passes
// consenttest.RunStoreTests, so a test that passes over it exercises the same
// rules a database would enforce — unique event IDs, unique notice versions,
// at most one confirmation per pending event (double opt-in, Art. 7(1)),
// erasure of a subject's events (Art. 17), and the decisions of Art. 7(3) and
// 21 that Latest feeds.
//
// # Storage
//
// Everything lives in memory and is lost with the process. Each appended
// event gets the next Seq from a counter kept under the write lock (it never
// goes back, not even after erasure), and events are indexed per (subject,
// purpose) in append order, which is Seq order. So Latest — called for every
// processing decision — is one map lookup, a short backward scan that skips
// events that do not apply (consent.Event.Applies) or are later than the
// query time, and a copy: within a small factor of a plain map lookup (see
// BenchmarkLatest). Notice versions are kept per notice ID in Version order.
//
// The audit outbox (consent.AuditOutbox) is a map from event ID to the time
// its marker is due, written by Append and cleared by DeleteSubject under
// the same lock as the events. Being in memory, it survives a failed
// Recorder but not the process: a host that needs audit records to
// survive a crash uses sqlconsent.
//
// Times are truncated to the microsecond and converted to UTC on the way in,
// as every Store keeps them. Events and notices are deep-copied on the way in
// and out: a caller that changes a returned event's TokenHash or
// Evidence.Attrs, or the event it appended, changes nothing stored.
//
// A Store is safe for concurrent use by many goroutines; a sync.RWMutex makes
// each method atomic. It is not shared between processes.
//
// # Errors
//
// Append and PutNotice return errors wrapping consent.ErrConflict, Event and
// Latest errors wrapping consent.ErrNotFound; both wrap the root package's
// gdpr.ErrConflict and gdpr.ErrNotFound too. Every method returns ctx.Err()
// when its context is done before it starts, and an error wrapping
// consent.ErrInvalid for a nil context. Error texts name event and notice
// IDs at most (only those that look like keys), never a subject.
//
// # Testing
//
// Give memconsent.New() to consent.New as the ledger's Store, or to any code
// of the host that takes a consent.Store; there is nothing to set up or tear
// down, and a fresh Store per test keeps tests independent. Events may also
// be appended directly to arrange a history, as the package example does.
package memconsent
