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
// A hold is a record of personal data too (its subject, its reason):
// Holds.Purge deletes those that ended longer ago than they are needed
// as the record of why data were kept (Art. 5(2)).
//
// # Anonymisation
//
// When a policy's Action is Anonymise, a Deleter keeps the record and
// replaces its personal data. TruncateIP, Coarsen, BirthYear, AgeBand,
// GeneralisePostcode and the keyed Pseudonymiser are the pieces such a
// Deleter applies to one value at a time. None of them makes a record
// anonymous by itself, and their names do not promise it.
//
// Data are anonymous, and outside the GDPR, only when the person can no
// longer be identified by any means reasonably likely to be used, by the
// controller or by anyone else, taking account of the cost and the time
// identification takes and of the technology available (Recital 26).
// The Article 29 Working Party's Opinion 05/2014 on anonymisation
// techniques (WP216) tests a dataset against three risks: singling out
// (isolating some or all of the records of one person), linkability
// (linking two records of one person, in the dataset or across
// datasets) and inference (deducing one attribute from others).
// Anonymity is therefore a property of the whole dataset — every column
// together, how many records share each combination of values, what else
// is kept or published — and never of one column. The host decides it
// for the table after the sweep, in a documented assessment, and repeats
// the assessment when the data, or what can be linked to them, change.
// Until then, the results below are personal data.
//
//   - Pseudonymiser.Pseudonym is pseudonymisation (Art. 4(5)), not
//     anonymisation: WP216 (section 4) lists keyed hashing among the
//     pseudonymisation techniques. The same value gives the same
//     pseudonym, so the records of one person stay linked to one
//     another; and whoever holds the key can compute the pseudonym of
//     any candidate value and so re-identify it. Data that can be
//     attributed to a person with additional information are personal
//     data (Recital 26): the pseudonyms are personal data for as long as
//     the key exists anywhere (the configuration, a backup, a copy on a
//     laptop), and Art. 4(5) asks that it be kept separately, under
//     technical and organisational measures. Destroying every copy of
//     the key does not make them anonymous when the values come from a
//     small or skewed set (a country, a sex, a status, a year of birth, a
//     postcode prefix): the pseudonyms' frequencies, matched against the
//     known distribution of the values, reveal which pseudonym is which
//     value, and the links between records remain.
//
//   - TruncateIP keeps the network: an IPv4 /24 (256 addresses, often one
//     organisation or one provider's pool in one town) or an IPv6 /48,
//     which many providers assign to a single customer site (RIPE-690
//     recommends a /48 per business customer), so it may still point to
//     one customer. With a timestamp, a user agent or a path it can single
//     out a person, and the access provider, or the host's own unexpired
//     logs, can link it back; a dynamic IP address is personal data for a
//     site that has the legal means to have it identified (CJEU C-582/14,
//     Breyer).
//
//   - Coarsen keeps an hour, a day, a month or a year. A coarsened time
//     still orders events, and with other attributes can single out (the
//     only order of the day in a small shop) or link records across
//     datasets that kept the same granularity.
//
//   - BirthYear and AgeBand reduce a date of birth, a quasi-identifier
//     that together with a postcode and sex identifies most people.
//     BirthYear never changes and is the same in every dataset that keeps
//     it, so it links; an AgeBand of 5 years or more, computed at one
//     reference date for the whole dataset, reveals less and is the safer
//     of the two. Neither is anonymous by itself, and the oldest bands
//     hold few people: top-code them (e.g. "90 and over").
//
//   - GeneralisePostcode keeps the first characters of a postcode. The
//     same length of prefix covers a million people in one city and a few
//     hundred in the countryside or on an island; a prefix with a small
//     population can still single out a person, alone or with an age band
//     and a sex. Choose the length per country, and merge the areas whose
//     population is below a threshold (k-anonymity, WP216 section 3.2.1).
//
// No error of these functions echoes the value it refused: each wraps
// ErrInvalid and names the argument at fault only.
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
