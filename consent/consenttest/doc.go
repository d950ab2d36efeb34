// Package consenttest is the conformance suite of consent.Store: every Store
// — memconsent, sqlconsent on each database, a host's own — must pass
// RunStoreTests.
//
// Like testing/fstest.TestFS and gocloud.dev's drivertest, the suite is one
// subtest per behaviour, each on a fresh store, and each failure states the
// contract it checks. It covers what the consent.Store documentation
// promises: round-tripping every field of an Event, times to the microsecond
// in UTC, unique event IDs, at most one confirmation per pending event (the
// double opt-in, Art. 7(1)), a Seq assigned by the Store that grows with
// every append and orders the ledger (not Time: a later withdrawal stamped by
// a slow clock still overrides an earlier consent), the deciding event of
// Latest by the contact rule of consent.Event.Applies, checked against that
// rule on a shuffled history, with the notice registry's latest material
// version (Art. 7(3), 13, 21), the order of Events, keys compared byte for
// byte, deletion of a subject (DeleteSubject, Art. 17), notice versions,
// stale-consent paging, and the same rules between two instances of a host
// and under concurrent writers.
//
// # Two handles on one storage
//
// A host runs many instances over one database, and the rules that need
// atomicity (unique IDs and notice versions, one confirmation per pending
// event, one order of appends) must hold between them, not only between the
// goroutines of one process. So newStore returns two handles on one fresh,
// empty storage: for a store over a database, two Stores on two connection
// pools to the same database, as two processes would open them; for an
// in-memory store, the same value twice. Subtests write through one handle
// and read back through the other where that shows the storage is shared,
// SharedStorage checks that it is, and the race subtests run one operation
// through both handles at once from many goroutines:
//
//   - ConcurrentAppends, RaceAppendOneSeries: every append succeeds, each
//     event once with a Seq of its own, one order that both handles agree
//     on, each goroutine's appends in the order it made them, and the last
//     decides Latest.
//   - ConcurrentConfirmations: of the confirmations of one pending event,
//     exactly one succeeds and the others get ErrConflict; only the winner is
//     stored.
//   - RaceDuplicateID: of appends of one event ID, exactly one succeeds and
//     the stored event is the winner's, whole.
//   - RacePutNotice: of puts of one notice version, exactly one succeeds and
//     Notices returns the winner's version, whole.
//   - RaceDeleteSubjectAppend: events whose Append returned before
//     DeleteSubject was called are gone when it returns; the counts it
//     returns and the events left add up to those appended; a bystander is
//     untouched. (An Append concurrent with DeleteSubject may land on
//     either side of it: the contract does not order them.)
//   - RaceLatestSeesReturnedAppends: Latest answers at least the event
//     whose Append last returned before it was called, and never goes back.
//   - RaceClaimAudit, RaceClaimClear: of claims of the audit outbox racing
//     on both handles, each due marker goes to exactly one; a marker
//     cleared is never claimed afterwards.
//
// # The audit outbox
//
// The AuditOutbox subtests check that every Append leaves an audit marker,
// due consent.AuditGrace after the event's Time and not before, that a
// refused Append leaves none, that ClaimAudit hands a due marker out with
// its whole event (through the other handle too), the earliest due first,
// at most Limit, in Seq order, and not again before the claim's Until,
// that ClearAudit removes it (and succeeds when there is nothing to
// remove), and that DeleteSubject removes the markers of what it deletes
// without counting them.
//
// # Testing
//
// Call RunStoreTests from a test of the store's package. For a store over a
// database, open a second connection pool on the same database for other:
//
//	func TestStore(t *testing.T) {
//		consenttest.RunStoreTests(t, func(t *testing.T) (s, other consent.Store) {
//			db := openTestDB(t)  // a fresh, empty database for this subtest
//			db2 := reopen(t, db) // a second *sql.DB on that same database
//			first := mystore.New(db)
//			if err := first.Migrate(t.Context()); err != nil { // once: the tables are shared
//				t.Fatal(err)
//			}
//			return first, mystore.New(db2)
//		})
//	}
//
// For a store in memory, return it twice:
//
//	func TestStore(t *testing.T) {
//		consenttest.RunStoreTests(t, func(*testing.T) (s, other consent.Store) {
//			st := memstore.New()
//			return st, st
//		})
//	}
//
// The suite assumes nothing about how a store keeps its data, and only that
// event IDs are canonical UUIDv7 strings. Subjects that differ only in case
// or trailing spaces ("Alice", "alice", "alice ") must stay distinct and sort
// in byte order, so a SQL store needs binary keys (a "C" collation,
// VARBINARY), not a locale's collation. It does not test context
// cancellation. Subtests run one after the other; the race subtests run a
// few hundred operations each and stay well within a few seconds on a real
// database.
//
// # The root contracts over the store
//
// RunLedgerContracts runs gdprtest's Eraser and Exporter suites on a
// *consent.Ledger over the same two handles RunStoreTests takes, so a store that
// passes both is one the component can erase and export through, for
// every instance of the host.
package consenttest
