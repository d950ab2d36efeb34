// Package audittest is the conformance suite of audit.Store: every audit
// store — memaudit, sqlaudit on each database, a host's own — must pass
// RunStoreTests.
//
// Like testing/fstest.TestFS and gocloud.dev's drivertest, the suite is one
// subtest per behaviour, each on a fresh storage, and each failure states
// the contract it checks. It covers what the audit.Store documentation
// promises: the empty log (size 0, the zero Hash); appends of batches of 1,
// 2, 7 and 1024 entries, after each of which the head is the one tlog
// computes, ReadHashes returns every stored hash in the order asked, and
// tlog's record and consistency proofs built from those hashes check
// (the tamper evidence behind Art. 5(1)(f) and 5(2)); batches refused with
// audit.ErrConflict, writing nothing, when they do not start at the head,
// carry the wrong number of hashes or would write an index already
// stored; fn's own error returned as it is, with nothing written; many
// concurrent writers that never fork the tree; bodies of any bytes from 1
// byte to 64 KiB; byte slices never aliased; times to the microsecond in
// UTC; Entries paging with redacted entries in place; Query by subject,
// actor, time window and index, alone and combined, paged, never matching
// a redacted entry; Redact, idempotent, keeping the entry's place and
// hashes (erasure, Art. 17, without breaking the chain); salts created once
// per reference however many callers race, looked up and deleted; the first
// checkpoint of each size kept and the greatest size the latest; and a
// canceled context that fails every method and writes nothing.
//
// A Store that is an audit.SaltLookuper (memaudit and sqlaudit are) is
// checked as one too, by the subtests named LookupSalts…, which skip for
// a Store that is not: each ref's salt in the order asked, nil for a ref
// without one, a ref given twice getting its salt twice in bytes of its
// own; no refs, no salts and no error; a salt deleted through the other
// handle gone, and a new one found; 630 refs, stored and missing
// interleaved, in one call (more than one IN list of a SQL store); an
// empty ref refused with audit.ErrInvalid; and nothing ever stored by a
// lookup.
//
// # Two handles
//
// A Store's promises hold for every process that shares its database, so
// the suite opens each storage twice: newStore returns two handles on it,
// s and other. A SQL store returns two Stores on two connection pools to
// the same database, as two processes of one service would hold them; an
// in-memory store, which only its own process can reach, returns the same
// Store twice. Subtests work through s, and read back or write through
// other where that proves the storage is shared (what one process
// appends, redacts, salts, deletes or checkpoints, the other sees), and
// four race the two handles at once:
//
//   - RaceAppends: 8 writers per handle append 6
//     batches of 1 to 40 entries each, half of them reading the tree's
//     edge first as a Log does, while a reader on each handle checks that
//     every head it sees has its hashes stored. The log must end as one
//     tree: every index once, every batch once and at consecutive indexes,
//     each writer's batches in its order, and through both handles the
//     head and stored hashes that tlog computes over the bodies in index
//     order.
//   - RaceSalt: 8 callers per handle race Salt for
//     each of 4 refs; every caller of a ref gets the same salt, one of the
//     fresh salts given for that ref, and LookupSalt through both handles
//     returns it.
//   - RaceDeleteSaltLookupSalt: 2 DeleteSalt calls per
//     handle race 4 lookers per handle; a lookup returns the salt or
//     ErrNotFound, never anything else, and once it has seen ErrNotFound
//     never the salt again; another ref's salt is untouched; exactly one
//     DeleteSalt reports true; the salt is gone through both handles and
//     can be stored anew.
//   - RaceAppendSalts: per handle, 3 appends create the salts of 4
//     refs through the reader Append gives fn (audit.SaltReader) while 3
//     callers get them with Salt; every caller, through either, gets
//     the one salt LookupSalt then returns through both handles.
//   - RacePutCheckpoint: 4 putters per handle put a checkpoint
//     of every size from 1 to 16, each its own note, while a reader on
//     each handle checks that LatestCheckpoint is a note that was put and
//     that its size never goes down. Every put succeeds, and both handles
//     then return the same note of size 16, which a later put of that
//     size does not replace.
//
// Each race is bounded: a fixed number of calls, under a context that ends
// after two minutes, so that handles that deadlock fail the subtest
// instead of hanging the run.
//
// Batches are built with golang.org/x/mod/sumdb/tlog directly: NextBatch
// computes the batch that appends entries to a head, and Append appends
// them through a Store's (or any audit.Appender's) append lock. The suite
// checks every head and hash against its own record-by-record tlog
// computation. Tamperer is the insider's write access that a tamper suite
// needs to alter a Store behind its back.
//
// # Testing
//
// Call RunStoreTests from a test of the store's package. A SQL store gives
// each subtest a new, empty database and two connection pools on it:
//
//	func TestStore(t *testing.T) {
//		audittest.RunStoreTests(t, func(t *testing.T) (s, other audit.Store) {
//			dsn := createTestDatabase(t) // dropped by a t.Cleanup
//			s = migrated(t, mystore.New(openPool(t, dsn)))
//			other = mystore.New(openPool(t, dsn)) // a second *sql.DB, as a second process
//			return s, other
//		})
//	}
//
// An in-memory store gives the same Store twice:
//
//	func TestStore(t *testing.T) {
//		audittest.RunStoreTests(t, func(*testing.T) (s, other audit.Store) {
//			s = memstore.New()
//			return s, s
//		})
//	}
//
// Subject pseudonyms, salt references and salts in the suite are 32
// arbitrary bytes; actors are "staff:" or "subject:" followed by 32 bytes,
// "system:worker" and "system:worker " (with a trailing space), which must
// stay distinct: a SQL store needs binary columns (bytea, VARBINARY, BLOB),
// not text with a locale's collation or PAD SPACE. Bodies are never empty,
// and one is 65,536 bytes, a byte more than a MySQL BLOB holds. One batch
// writes 1024 entries and about 2,000 hashes, and one ReadHashes asks for
// about 2,000 indexes, so a SQL store must split its statements under its
// database's limit on parameters. ReadHashes of no indexes must return no
// hashes and no error: tlog asks for none when it stores an even-numbered
// record. Entries and Query must return full pages — the first limit
// matches from the given index on, fewer only at the end — and the suite
// never passes a limit below 1 to Entries. Times in filters are on whole
// microseconds, in UTC or other zones; a store compares instants.
//
// The suite compares errors with errors.Is against the audit sentinels and
// the root package's, never by text. With a canceled context it asks only
// for an error, not for context.Canceled, since database drivers may wrap
// it. Subtests run one after the other; the concurrency subtests run 200
// appends from 8 goroutines on s (each fn pauses 50µs, to give writers a
// chance to collide were there no append lock), 16 racing Salt calls, and
// the four races of the two handles above (96 appends of about 1,900
// entries in all, 64 Salt calls, 4 DeleteSalt calls against 400 lookups,
// 128 checkpoints), well within a few seconds on a real database.
//
// # The root contracts over the store
//
// RunLogContracts runs gdprtest's Eraser and Exporter suites on a
// *audit.Log over the same two handles RunStoreTests takes, so a store that
// passes both is one the component can erase and export through, for
// every instance of the host; and checks that after EraseSubject the
// erasure events other components record without a Subject, through the
// other handle, leave nothing in the trail linked to the subject.
package audittest
