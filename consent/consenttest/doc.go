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
// byte, deletion of a subject (DeleteSubject, Art. 17), notice versions, stale-consent paging, and the
// same rules under concurrent writers.
//
// # Testing
//
// Call RunStoreTests from a test of the store's package:
//
//	func TestStore(t *testing.T) {
//		consenttest.RunStoreTests(t, func(t *testing.T) consent.Store {
//			return mystore.New(openTestDB(t))
//		})
//	}
//
// The suite assumes nothing about how a store keeps its data, and only that
// event IDs are canonical UUIDv7 strings. Subjects that differ only in case
// or trailing spaces ("Alice", "alice", "alice ") must stay distinct and sort
// in byte order, so a SQL store needs binary keys (a "C" collation,
// VARBINARY), not a locale's collation. It does not test context
// cancellation. Subtests run one after the other; the concurrency subtests
// run a few hundred appends and stay well within a few seconds on a real
// database.
package consenttest
