package retentiontest

import (
	"testing"

	"github.com/gdprkit/gdpr/internal/suite"
	"github.com/gdprkit/gdpr/retention"
)

// RunStoreTests runs the conformance suite of retention.Store against
// the stores newStore makes, one subtest per behaviour (see the package
// documentation for the list).
//
// newStore is called once per subtest with that subtest's t. It returns
// two handles on one fresh, empty storage that no other subtest uses,
// registers any cleanup with t.Cleanup, and fails t itself if it
// cannot. For a store over a database, the handles are two stores over
// two connection pools (two *sql.DB) to the same database, schema or
// file, the first migrated, as two instances of a host open them:
//
//	retentiontest.RunStoreTests(t, func(t *testing.T) (s, other retention.Store) {
//		db := openTestDB(t)  // a fresh, empty database, dropped by t.Cleanup
//		db2 := reopen(t, db) // a second *sql.DB on the same database
//		a := mystore.New(db)
//		if err := a.Migrate(t.Context()); err != nil {
//			t.Fatal(err)
//		}
//		return a, mystore.New(db2)
//	})
//
// A store that lives in one process's memory has one handle on its
// storage: return the same value twice.
//
//	retentiontest.RunStoreTests(t, func(*testing.T) (s, other retention.Store) {
//		s = memretention.New()
//		return s, s
//	})
//
// Most subtests use s alone; the Race subtests run one operation
// through both handles at once (goroutine g on s for even g, other for
// odd) and check only what the retention.Store contract promises then.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) (s, other retention.Store)) {
	tests := []suite.Test[retention.Store]{
		{"PlaceGetRoundTrip", suite.One(testRoundTrip)},
		{"TimesToTheMicrosecond", suite.One(testTimes)},
		{"HoldLimits", suite.One(testHoldLimits)},
		{"PlaceHoldDoesNotAliasInput", suite.One(testPlaceNotAliased)},
		{"ReturnedHoldsAreCopies", suite.One(testReturnedCopies)},
		{"PlaceHoldRetry", suite.One(testPlaceRetry)},
		{"PlaceHoldExists", suite.One(testPlaceExists)},
		{"PlaceHoldInvalid", suite.One(testPlaceInvalid)},
		{"HoldUnknown", suite.One(testHoldUnknown)},
		{"HoldIDInvalid", suite.One(testHoldIDInvalid)},
		{"ReleaseHold", suite.One(testRelease)},
		{"ReleaseHoldNotInForce", suite.One(testReleaseNotInForce)},
		{"ListHoldsBySubject", suite.One(testListBySubject)},
		{"ListHoldsByCategory", suite.One(testListByCategory)},
		{"ListHoldsInForce", suite.One(testListInForce)},
		{"ListHoldsFiltersCombined", suite.One(testListCombined)},
		{"ListHoldsPaging", suite.One(testListPaging)},
		{"ListHoldsPagingFiltered", suite.One(testListPagingFiltered)},
		{"ListHoldsDefaultLimit", suite.One(testListDefaultLimit)},
		{"ListHoldsLimitOutOfRange", suite.One(testListLimitRange)},
		{"Holds", suite.One(testHolds)},
		{"HoldsNone", suite.One(testHoldsNone)},
		{"HoldsMoreThanMaxLimit", suite.One(testHoldsMany)},
		{"HoldsSubjectInvalid", suite.One(testHoldsInvalid)},
		{"PurgeHolds", suite.One(testPurge)},
		{"PurgeHoldsThenPlaceAgain", suite.One(testPurgeReplace)},
		{"PurgeHoldsInvalid", suite.One(testPurgeInvalid)},
		{"AcquireSweep", suite.One(testAcquire)},
		{"AcquireSweepLeased", suite.One(testAcquireLeased)},
		{"AcquireSweepTakesOverLapsedLease", suite.One(testAcquireTakeover)},
		{"AcquireSweepInvalid", suite.One(testAcquireInvalid)},
		{"ReleaseSweep", suite.One(testReleaseSweep)},
		{"SaveSweep", suite.One(testSaveSweep)},
		{"SaveSweepRoundTrip", suite.One(testSweepRoundTrip)},
		{"SaveSweepLimits", suite.One(testSweepLimits)},
		{"SaveSweepDoesNotAliasInput", suite.One(testSweepNotAliased)},
		{"SaveSweepLeaseLost", suite.One(testSaveLost)},
		{"SaveSweepInvalid", suite.One(testSaveInvalid)},
		{"LastSweepUnknown", suite.One(testLastSweepUnknown)},
		{"SweepNamesIndependent", suite.One(testSweepNames)},
		{"NilContext", suite.One(testNilContext)},
		{"CanceledContext", suite.One(testCanceled)},
		{"ErrorsHoldNoPersonalData", suite.One(testErrorTexts)},
		{"RaceAcquireSweep", testRaceAcquire},
		{"RaceAcquireSweepTakeover", testRaceTakeover},
		{"RacePlaceHoldExists", testRacePlaceExists},
		{"RacePlaceHoldRetry", testRacePlaceRetry},
	}
	suite.Run(t, "retention.Store", newStore, tests)
}

// The contract, quoted in failure messages.
const (
	roundTripContract = "GetHold, ListHolds and ReleaseHold return the hold as it was placed, every field, every time to the microsecond"
	retryContract     = "PlaceHold of a hold of a stored ID with the same contents is not an error (a retry)"
	existsContract    = "PlaceHold of a hold of a stored ID with other contents is ErrExists, and nothing changes"
	releaseContract   = "ReleaseHold sets Released and ReleasedBy unless the hold is already released or has ended (Until not after at), and returns the hold as stored afterwards"
	listContract      = "ListHolds returns the holds f selects (HoldFilter.Match) in ID order (byte order), after f.After, at most f.Limit (0 means DefaultLimit)"
	inForceContract   = "a hold is in force at now when it was placed at or before now, and neither Until nor Released is at or before now (Hold.InForce)"
	holdsContract     = "Holds returns every hold in force at now that covers the subject — those naming it and those naming only categories — as Hold.Legal returns it, in ID order, however many"
	acquireContract   = "AcquireSweep creates the lease, or takes over one whose Until is not after now, until now+ttl with a fresh random Token; a live lease is ErrLeased, whoever its owner"
	saveContract      = "SaveSweep stores the checkpoint and extends the lease to until, in one step, if the lease is held at now (its token matches and its Until is after now); otherwise ErrLeaseLost and nothing changes"
	releaseSwContract = "ReleaseSweep gives the lease up, keeping the checkpoint; releasing a lease lost or already released is not an error and changes nothing"
	lastContract      = "LastSweep returns the checkpoint as the last SaveSweep stored it, every field, every time to the microsecond"
	limitsContract    = "a Store keeps what the retention package's limits allow (MaxKeyLen, MaxTextLen, MaxHoldCategories, MaxTargets, MaxCursorLen) and refuses what exceeds them with ErrInvalid, changing nothing"
	copyContract      = "a Store keeps no reference to the caller's slices, and returns none to its own"
)
