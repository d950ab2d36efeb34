// Package erasuretest is the conformance suite of the request engine's
// storage: every erasure.Store, erasure.CodeStore and erasure.Journal —
// memerasure, sqlerasure on each database, a host's own — must pass
// RunStoreTests, RunCodeStoreTests and RunJournalTests; and
// RunTargetTests checks a host's erasure target, a gdpr.Eraser the
// Engine fans an erasure (Art. 17) out to.
//
// Like testing/fstest.TestFS and gocloud.dev's drivertest, each suite is
// one subtest per behaviour, each on a fresh storage, and each failure
// states the contract it checks.
//
// # The Store suite
//
// RunStoreTests covers what the erasure.Store documentation promises:
//
//   - Round trips of every field of a Request, through Create, Get, List
//     and Update (RoundTrip): Params, an Ask with every field (sealed
//     corrections among them), a Deadline counted in Europe/Berlin and
//     extended with a reason, Steps with every Outcome, Exemptions (one
//     with an Until), a Field, a Recipient, a Reference and an Error, a
//     History with the subject, staff and the system as actors, NextAt,
//     SettleUntil, Closed and a Rejection; the Ask of a rectification and
//     its steps' Fields and Recipients, through both handles and as the
//     Engine closes it (RequestAskRoundTrip); times with nanoseconds in
//     other zones come back truncated to the microsecond in UTC, lease
//     times included (TimesTruncatedToMicrosecondUTC); the Deadline keeps
//     its Location by name (DeadlineLocationKeptByName); no slice or map
//     is shared with the caller on the way in or out (CreateDoesNotAliasInput,
//     UpdateDoesNotAliasInput, ReturnedRequestsAreCopies).
//   - Create: Version 1 whatever r.Version holds (CreateStoresVersion1),
//     at most one open request per Kind and SubjectRef, the open one
//     returned with created false and nothing stored
//     (CreateReturnsOpenDuplicate), a slot freed by each closed state
//     (ClosedRequestFreesSlot), an existing ID refused with ErrConflict
//     (CreateDuplicateID); Get of an unknown ID (GetUnknown).
//   - Update: from the stored Version only, stored at Version+1 (Update,
//     UpdateVersionConflict, UpdateUnknown: ErrConflict, ErrNotFound,
//     nothing written); with a lease, the lease held at now is extended to
//     lease.Until (UpdateWithHeldLease) and a lease not held — another
//     Token or Request, Until at or before now, taken over, released — is
//     refused with ErrLeaseLost, nothing written (UpdateWithLostLease).
//   - Acquire: only StateVerified and StateInProgress requests whose
//     NextAt is not zero and not after now (AcquireDueStates,
//     AcquireNextAt); oldest NextAt first, ties in ID order, at most n
//     (AcquireOrderAndLimit); no due request is no error
//     (AcquireNothingDue); one request per subject, and none of a subject
//     whose lease is live, until it is released (AcquireOneSubjectAtATime);
//     a lease whose Until is not after now taken over with a fresh Token
//     (AcquireTakesOverExpiredLease, AcquireFreshTokens).
//   - AcquireID: whatever the request's NextAt or State (AcquireID);
//     ErrLeased for a live lease on the subject, of this or another
//     request, whoever asks (AcquireIDLeased); ErrNotFound
//     (AcquireIDUnknown).
//   - Renew extends a held lease (Renew) and refuses one not held with
//     ErrLeaseLost (RenewLostLease); Release ends a lease (Release), and
//     releasing one no longer held succeeds and leaves the new holder's
//     lease alone (ReleaseLostLease).
//   - List: each Filter field alone and combined, in ID order
//     (ListFilters), paging by After and Limit (ListPaging), DefaultLimit
//     for a Limit of 0 or less (ListDefaultLimit), MaxLimit for more
//     (ListMaxLimit; skipped with -short, as it creates over 1000
//     requests); Count per State and Kind, filtered, After and Limit
//     ignored (Count); Delete, unknown IDs skipped, a slot freed (Delete).
//   - Restrictions and objections: every field (Purposes, DirectMarketing,
//     an Override, Lifted and LiftedBy, times to the microsecond in UTC)
//     through CreateRestriction, GetRestriction, ListRestrictions and
//     UpdateRestriction, set and cleared again (RestrictionRoundTrip);
//     Version 1 whatever x.Version holds
//     (CreateRestrictionStoresVersion1); an existing ID refused with
//     ErrConflict, the stored one unchanged (CreateRestrictionDuplicateID);
//     GetRestriction of an unknown ID, or of a request's
//     (GetRestrictionUnknown); UpdateRestriction from the stored Version
//     only, at Version+1, ErrConflict and ErrNotFound with nothing written
//     (UpdateRestriction, UpdateRestrictionVersionConflict,
//     UpdateRestrictionUnknown); ListRestrictions by SubjectRef and
//     Lifted (false: not lifted, an overridden objection included; true:
//     every one), in ID order (ListRestrictionsFilters), paging by After
//     and Limit (ListRestrictionsPaging), DefaultLimit and MaxLimit
//     (ListRestrictionsDefaultLimit, ListRestrictionsMaxLimit, the latter
//     skipped with -short); no Purposes or Override shared with the
//     caller on the way in or out (ReturnedRestrictionsAreCopies).
//   - Statements: a second PutStatement of an ID, with other contents,
//     succeeds and leaves the first (PutStatementIdempotent); ListStatements
//     returns one subject's statements in ID order, byte by byte, Sealed
//     bytes that are no text whole (ListStatements); no Sealed bytes shared
//     with the caller (ReturnedStatementsAreCopies).
//   - Forget deletes the subject's restrictions, lifted and overridden
//     ones too, and statements, returns how many, and leaves other
//     subjects' and the subject's requests alone (Forget).
//
// # Two handles on one storage
//
// A host runs many instances over one database, and what needs atomicity
// (one open request per kind and subject, versions, one live lease per
// subject) must hold between them. So newStore returns two handles on one
// fresh, empty storage: for a store over a database, two Stores on two
// connection pools to it; for an in-memory store, the same value twice.
// SharedStorage writes through one handle and reads through the other,
// and the race subtests run through both at once, from many goroutines:
//
//   - RaceCreateOpen: of Creates of one kind and subject, exactly one
//     creates, and every other returns its request, created false.
//   - RaceCreateDuplicateID: of Creates of one ID, exactly one succeeds,
//     the others get ErrConflict.
//   - RaceUpdate: of Updates from one Version, exactly one wins, the
//     others get ErrConflict; the stored request is the winner's.
//   - RaceUpdateWithLease: a worker writing with an expired lease races
//     workers taking the subject over: exactly one takes over, and only
//     its write lands.
//   - RaceAcquire: Acquires over many subjects with two due requests each,
//     round after round: no subject and no request leased twice in a
//     round, and an Acquire after the race takes no leased subject.
//   - RaceAcquireID: of AcquireIDs of one request, exactly one succeeds,
//     the others get ErrLeased.
//   - RaceAcquireMixed: Acquires and AcquireIDs of one subject's two
//     requests give exactly one lease on the subject.
//   - RaceCreateRestrictionDuplicateID: of CreateRestrictions of one ID,
//     exactly one succeeds, the others get ErrConflict.
//   - RaceUpdateRestriction: of UpdateRestrictions from one Version,
//     exactly one wins, the others get ErrConflict; the stored restriction
//     is the winner's.
//   - RacePutStatement: PutStatements of one ID all succeed, and one of
//     them is stored, whole.
//
// Each race is bounded by internal/suite's RaceTimeout, so that handles
// that deadlock fail the subtest instead of hanging the run.
//
// # What the suite reads into the contract
//
// Where the erasure.Store documentation leaves room, the suite takes the
// reading the Engine relies on, and accepts both readings where either
// would do:
//
//   - Acquire skips a subject with any live lease, of another request or
//     of the same one ("no subject leased twice").
//   - A lease's Until must be after now to be live: at Until it has
//     expired, for Acquire, AcquireID, Renew and Update alike.
//   - A Deadline's Received comes back in UTC, like every time; LastDay
//     and Due may come back in UTC or in the Deadline's Location (the
//     form gdpr.Deadline.UnmarshalJSON gives): the suite compares their
//     instants, and the Location by name. Its Calendar is not kept.
//   - An Update with a lease that is not held and from a stale Version
//     may report either: the suite asks for ErrConflict, which ErrLeaseLost
//     wraps.
//   - ClosedBefore keeps closed requests only; Delete of one ID given
//     twice counts it once.
//   - The suite closes requests as the Engine does, without their sealed
//     corrections and recipients' references, so a store may keep or drop
//     those of a closed request. A Correction's Value is not compared: it
//     belongs in a Submission, not in a stored request.
//   - "ID order" of restrictions and statements is byte order, as for
//     requests: the statement "<id>/10" sorts before "<id>/2".
//   - Restrictions and requests are kept apart: an ID of one is unknown to
//     the other's methods, and Forget leaves the subject's requests.
//
// # The CodeStore and Journal suites
//
// RunCodeStoreTests and RunJournalTests take the same two handles and
// check the erasure.CodeStore and erasure.Journal contracts: see each
// function for its list of subtests.
//
// # Erasure targets
//
// RunTargetTests checks a target through gdprtest.RunEraserTests, which
// already covers the gdpr.Eraser contract (idempotence, isolation,
// concurrency, no personal data in errors), and adds what is particular
// to a target of the Engine: data kept back on a ground of Art. 17(3)
// named in valid Exemptions, and a stable, non-negative
// gdpr.ErasureLatency.
//
// # Testing
//
// Call the suites from a test of the store's package. For a store over a
// database, open a second connection pool on the same database for other:
//
//	func TestStore(t *testing.T) {
//		erasuretest.RunStoreTests(t, func(t *testing.T) (s, other erasure.Store) {
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
//		erasuretest.RunStoreTests(t, func(*testing.T) (s, other erasure.Store) {
//			st := memerasure.New()
//			return st, st
//		})
//	}
//
// The suite assumes nothing about how a store keeps its data, and only
// that request IDs are canonical UUIDv7 strings (NewID) and SubjectRefs
// 64 hex characters (Ref). Subtests use fixed, UTC instants in 2025, so a
// store's clock plays no part; they do not test context cancellation.
// NewRequest builds a request as the Engine stores it on receipt, for a
// host's own tests.
package erasuretest
