// Package retention enforces storage limitation (Art. 5(1)(e)): every
// category of personal data has a period after which its records are
// deleted, anonymised or put before a person for review, and a sweep
// carries that out, except where a legal hold keeps the data.
//
// # Policies
//
// A Policy is the rule of one data category: a Period (gdpr.Period,
// "P6M", "P10Y"), the event it counts from (FromCollection,
// FromLastActivity, FromRelationshipEnd, FromHostTime), and an Action
// (Delete, Anonymise with a named strategy, Review). The Register states
// a period per activity (Art. 30(1)(f)); WithRegister takes each
// category's from it (the longest where several activities keep one
// category), and WithPolicies gives, in code, the ones the Register only
// describes ("until the account is closed") or that differ. A category
// of the Register with no period from either, a policy or target naming
// a category the Register does not declare, a zero or negative period
// are errors when the Sweeper is made (ErrNoPolicy, ErrUnknownCategory,
// ErrInvalid), never at three in the morning.
//
// Periods are counted as the module counts every period of the GDPR
// (gdpr.Deadline), by Regulation (EEC, Euratom) No 1182/71: the day of
// the event does not count, and a period of months or years ends at the
// end of the day of the same date, or of the last day of a month that
// has no such date. Data collected on 31 January with a period of one
// month are kept through 28 February and expire at 00:00 on 1 March
// (Policy.Expiry); on any instant, the records whose start is before
// Policy.Cutoff have expired and no others. Days are those of the
// controller's time zone (WithLocation, UTC by default).
//
// # Sweeps
//
// A Sweeper has targets: the places a category's records live, each
// with a Deleter. A sweep takes each target's cut-off from the clock and
// calls its Deleter in batches (WithBatchSize, 1,000 records by
// default) until none of its expired records remain; each batch is a
// short transaction, so no lock is held long. Before every batch the
// sweep reads the legal holds in force, so a hold placed during a sweep
// counts from the next batch; the Deleter skips the held subjects, and a
// hold on a whole category skips the category. After every batch the
// sweep saves its checkpoint (the Deleter's cursor and the counts) and
// renews its lease: a sweep that stops, by a crash, an error or a
// cancelled context, is resumed by the next Sweep from its last
// checkpoint, as crypto.Rewrap resumes from its cursor, and acts on
// each record once.
//
// Sweepers of one name (WithName) share a lease in the Store: across
// every instance of the host only one sweeps at a time, and the others
// get ErrLeased. Run sweeps on a schedule, with jitter, and lets the
// instance that loses the lease wait for its next turn. DryRun counts
// what a sweep would do and changes nothing; WithProgress reports on
// long sweeps; Sweep returns, and LastSweep keeps, the report per
// target: the cut-off, the records acted on and held, the batches and
// the longest of them. Each target of each sweep is recorded through the
// Recorder, before its first batch and when it is done
// ("retention.swept", or "retention.review_due" for Review).
//
// sqlretention.Deleter is the ready Deleter of a SQL table: its time
// column, subject column and key, batched deletes in the right SQL for
// each database, held subjects excluded, and the masking strategies of
// Anonymise. A host writes its own Deleter for anything else (a bucket,
// a search index): one method, Expire.
//
// Notices yields the subjects whose records reach the end of their
// period within a window, so the host can warn them first (an inactive
// account, fourteen days ahead).
//
// # Legal holds
//
// A Hold keeps data past their period and from an erasure: one
// subject's, every subject's of some categories, or one subject's of
// some categories; with a reason, who placed it, and an optional end.
// Holds places and lifts them and records each. Every Store is a
// gdpr.LegalHolds, so the erasure engine keeps a held subject's data on
// the ground of Art. 17(3)(e) (erasure.WithLegalHolds(store)); lifting a
// hold does not erase by itself: the next sweep deletes what has
// expired, and an erasure the hold exempted runs when it is asked again.
//
// # Storage
//
// The Store keeps the holds, the sweeps' leases and their checkpoints:
// package memretention holds them in memory (with Table, an in-memory
// Deleter: the fakes for tests), package sqlretention in PostgreSQL,
// MySQL or SQLite. The records themselves stay in the host's tables.
//
// # Errors
//
// Every error is an *Error with the operation, the option, field or
// target at fault, and a cause that wraps one of the sentinels:
// ErrInvalid (and gdpr.ErrInvalid), ErrUnknownCategory, ErrNoPolicy,
// ErrNotFound, ErrExists, ErrLeased, ErrLeaseLost, ErrTarget (wrapping
// the Deleter's error), ErrNotRecorded. No error holds a subject ID, a
// hold's reason or a record's value: hold IDs, category and target names
// and option names only.
//
// # Testing
//
// memretention's Store and Table are the fakes; retentiontest.RunStoreTests
// checks a host's own Store.
package retention
