// Package keystest is the conformance suite of crypto.Store: every key store
// — memkeys, sqlkeys on each database, a host's own — must pass
// RunStoreTests.
//
// Like testing/fstest.TestFS and gocloud.dev's drivertest, the suite is one
// subtest per behaviour, each on a fresh storage, and each failure states
// the contract it checks. It covers what the crypto.Store documentation
// promises: round-tripping every field of a Record, times to the
// microsecond in UTC, Version 1 on Create and Revive, optimistic versions on
// Update, tombstones that no Create or Update passes once Shred has
// returned (crypto-shredding, Art. 17), idempotent Shred, the explicit
// Revive, List paging in byte order over live records only, Refs paging
// in byte order over live records and tombstones alike (a Store that lost
// the Keyring's own keys but holds tombstones is refused by crypto.New
// only if Refs shows them), Refs compared byte for byte, Wrapped bytes never aliased, and the same rules under
// concurrent callers: exactly one of many racing Creates wins, exactly one of
// many racing Updates from the same version wins, and a Shred racing a
// Create always leaves the tombstone. A Store that implements the optional
// crypto.TombstoneReader is checked for it too (the time of the first
// Shred, none for a live or revived Ref); the subtest skips otherwise. So
// is one that implements crypto.BatchUpdater: UpdateMany keeps each
// record's own condition and reports each outcome in order, refuses a
// repeated Ref, and racing Shreds of its Refs through the other handle
// leave every shredded Ref shredded; those subtests skip otherwise. And
// so is one that implements crypto.BatchGetter: GetMany answers each Ref
// in order as Get and Tombstone would (a live record whole, a tombstone
// with the time of its first Shred, nothing for an unknown Ref, a
// repeated Ref alike), over more Refs than one SQL statement reads, and
// writes nothing; those subtests skip otherwise.
//
// Each subtest gets two handles on its storage, as two processes of a host
// would hold them. SharedStorage checks that each sees the other's writes;
// the Race subtests run the races above, and a Revive racing a Shred,
// through both handles at once, so that races between instances are part
// of the suite and not repeated beside every SQL store.
//
// # Testing
//
// Call RunStoreTests from a test of the store's package, with two handles
// on one fresh storage: two Stores on two connection pools to one database
// for a SQL store,
//
//	func TestStore(t *testing.T) {
//		keystest.RunStoreTests(t, func(t *testing.T) (s, other crypto.Store) {
//			db := openTestDB(t)
//			a := mystore.New(db)
//			if err := a.Migrate(t.Context()); err != nil {
//				t.Fatal(err)
//			}
//			return a, mystore.New(reopen(t, db)) // a second *sql.DB on the same database
//		})
//	}
//
// and the same value twice for a store in one process's memory:
//
//	func TestStore(t *testing.T) {
//		keystest.RunStoreTests(t, func(*testing.T) (s, other crypto.Store) {
//			s = memstore.New()
//			return s, s
//		})
//	}
//
// Refs in the suite are 64-character lower-case hex strings, as the
// Keyring makes them, plus "A", "a" and "a ", which must stay distinct and
// sort in byte order: a SQL store needs binary keys (a "C" collation,
// VARBINARY), not a locale's collation, and no PAD SPACE comparison. The
// suite compares errors with errors.Is against the crypto sentinels and the
// root package's, never by text, and does not test context cancellation.
// Subtests run one after the other; the concurrency subtests run a few
// hundred calls and stay well within a few seconds on a real database. Each
// race is bounded: its calls share a context that ends after 30 seconds,
// and a race that has not returned by then fails its subtest rather than
// hanging the run.
//
// # The root contracts over the store
//
// RunKeyringContracts runs gdprtest's Eraser and Exporter suites on a
// *crypto.Keyring over the same two handles RunStoreTests takes, so a store that
// passes both is one the component can erase and export through, for
// every instance of the host.
package keystest
