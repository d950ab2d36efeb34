// Package retentiontest is the conformance suite of the storage beneath
// legal holds and retention sweeps (Art. 5(1)(e) storage limitation,
// Art. 17(3)(e) data kept for legal claims): every retention.Store —
// memretention, sqlretention on each database, a host's own — must pass
// RunStoreTests.
//
// Like testing/fstest.TestFS and gocloud.dev's drivertest, the suite is
// one subtest per behaviour, each on a fresh store, and each failure
// states the contract it checks. It is built on the runner the module's
// suites share (internal/suite).
//
// # Holds
//
//   - Round trips of every field of a Hold through GetHold, ListHolds and
//     Holds: a hold on a subject alone, on categories alone and on both;
//     Until zero and set; placed by staff, by a system and by the subject;
//     a reason in UTF-8 beyond the Basic Multilingual Plane
//     (PlaceGetRoundTrip). Times with nanoseconds in other zones come back
//     truncated to the microsecond, not rounded, compared as instants,
//     Released too (TimesToTheMicrosecond).
//   - Limits: a hold at every limit of the retention package — a
//     MaxKeyLen ID, a subject and an actor ID of gdpr.MaxIDLen bytes,
//     MaxHoldCategories categories of MaxKeyLen bytes, a reason of
//     MaxTextLen bytes — is kept whole and found by its subject and its
//     last category (HoldLimits); one byte or one category more, or an
//     empty ID, is ErrInvalid and stores nothing (PlaceHoldInvalid).
//   - No slice is shared with the caller, on the way in
//     (PlaceHoldDoesNotAliasInput) or out of GetHold, ListHolds,
//     ReleaseHold and Holds (ReturnedHoldsAreCopies).
//   - PlaceHold of the same hold again is no error and stores nothing
//     more (PlaceHoldRetry); a hold under a taken ID that differs in any
//     field — Reason, Subject (other, none), Categories (other, one more,
//     none), Until (other, none), Placed, PlacedBy (other ID, other kind)
//     — is ErrExists, and the stored hold is unchanged (PlaceHoldExists).
//   - GetHold and ReleaseHold of an unknown ID are ErrNotFound, and
//     errors.Is holds for gdpr.ErrNotFound too (HoldUnknown); of an empty
//     or a 256-byte ID, ErrInvalid (HoldIDInvalid).
//   - ReleaseHold sets Released (to the microsecond) and ReleasedBy, of
//     each kind of actor, and returns the hold as stored afterwards
//     (ReleaseHold); releasing a released hold again, or a hold after or
//     at exactly its Until, is no error and changes nothing, while a
//     microsecond before Until still releases (ReleaseHoldNotInForce).
//   - ListHolds: Subject selects the holds naming the subject and those
//     naming no subject (ListHoldsBySubject); Category those naming the
//     category and those naming none (ListHoldsByCategory); InForce the
//     holds in force at that instant, with Hold.InForce's boundaries
//     exactly — placed at now is in, a microsecond after is out; Until or
//     Released at now is out, a microsecond after is in
//     (ListHoldsInForce); the fields ANDed (ListHoldsFiltersCombined).
//     Paging by After and Limit returns every hold once in byte order of
//     the IDs — "A" and "a" are two IDs, "Z" < "_" < "a" < "~" < "Ä" <
//     "ä", "a-10" < "a-2" — and After may be an ID no hold has
//     (ListHoldsPaging); Limit counts the holds the filter selects
//     (ListHoldsPagingFiltered); Limit 0 is DefaultLimit
//     (ListHoldsDefaultLimit); a Limit above MaxLimit or below 0 is
//     ErrInvalid (ListHoldsLimitOutOfRange).
//   - Holds(subject, now) returns the holds in force at now naming the
//     subject and those naming categories alone, as Hold.Legal returns
//     them — a hold released later than now ends at its release — in ID
//     order, and not other subjects' holds, nor those placed after now,
//     ended or released (Holds); no hold is an empty result and no error
//     (HoldsNone); all of them when there are more than MaxLimit
//     (HoldsMoreThanMaxLimit: 1,100 holds); an empty or a 256-byte
//     subject is ErrInvalid (HoldsSubjectInvalid).
//   - PurgeHolds deletes the holds whose release, or else Until, is
//     before its instant, returns how many, and keeps those in force and
//     those that ended at the instant or later; a second purge deletes
//     nothing (PurgeHolds); a hold placed again under a purged one's ID
//     keeps nothing of it, its categories included
//     (PurgeHoldsThenPlaceAgain); the zero time is ErrInvalid with Field
//     "before" (PurgeHoldsInvalid).
//
// # Sweeps
//
//   - AcquireSweep creates the lease with its Name and Owner, a random
//     Token of at least 16 bytes, fresh on each acquisition, and Until
//     now+ttl to the microsecond; MaxKeyLen names and owners are kept
//     (AcquireSweep). While the lease is live — up to a microsecond
//     before its Until — another AcquireSweep is ErrLeased, which wraps
//     gdpr.ErrConflict, even for the same owner, and changes nothing
//     (AcquireSweepLeased). At its Until, as extended by SaveSweep, it is
//     taken over with a fresh Token and the checkpoint kept; the old
//     lease's SaveSweep is then ErrLeaseLost and saves nothing, its
//     ReleaseSweep is no error and leaves the new lease alone
//     (AcquireSweepTakesOverLapsedLease). An empty or 256-byte name or
//     owner, or a ttl of zero or less, is ErrInvalid and takes no lease
//     (AcquireSweepInvalid).
//   - ReleaseSweep lets another sweeper acquire at once and keeps the
//     checkpoint; releasing again is no error and leaves the new lease
//     alone; a released lease saves nothing (ReleaseSweep).
//   - SaveSweep extends the lease to until and stores the checkpoint,
//     which the next SaveSweep replaces (SaveSweep); LastSweep returns it
//     field for field — every TargetSweep field, durations to the
//     nanosecond, Cutoffs in another zone, Finished zero and set, no
//     targets (SaveSweepRoundTrip); a checkpoint at every limit —
//     MaxTargets targets, each with a MaxCursorLen cursor and MaxKeyLen
//     names — is kept whole (SaveSweepLimits); no slice is shared with
//     the caller (SaveSweepDoesNotAliasInput).
//   - SaveSweep at or after the lease's Until, with the Lease's Until
//     forged later, under another Token, or of a name never acquired is
//     ErrLeaseLost and saves nothing (SaveSweepLeaseLost); a checkpoint
//     of another name than the lease's, more than MaxTargets targets, a
//     cursor longer than MaxCursorLen, or a Lease with no name is
//     ErrInvalid, saves nothing and does not extend the lease; LastSweep
//     and ReleaseSweep of an empty or a 256-byte name are ErrInvalid
//     (SaveSweepInvalid).
//   - LastSweep of a name never saved is ErrNotFound, with errors.Is for
//     gdpr.ErrNotFound (LastSweepUnknown); the leases and checkpoints of
//     two names are independent, and one name's Token does not hold
//     another's lease (SweepNamesIndependent).
//
// # Every method
//
//   - A nil context is a *retention.Error with Field "ctx" wrapping
//     ErrInvalid, with no panic, and changes nothing (NilContext); a
//     canceled context is an error wrapping context.Canceled, and changes
//     nothing (CanceledContext).
//   - No error text holds a subject ID or a reason: a canary subject and
//     reason are given to every failing call the suite can provoke —
//     ErrExists, ErrInvalid of each kind, ErrNotFound, ErrLeased, and
//     every method with a canceled context (ErrorsHoldNoPersonalData).
//   - Every error the suite provokes is a *retention.Error wrapping the
//     retention sentinel and the root package's.
//   - Races, 8 goroutines at once, on the two handles newStore returns
//     (goroutine g on s for even g, on other for odd; internal/suite's
//     Race, bounded by its RaceTimeout): of AcquireSweeps of one name exactly one wins, the
//     others ErrLeased, and the winner's lease saves
//     (RaceAcquireSweep), on a lapsed lease too (RaceAcquireSweepTakeover);
//     of PlaceHolds of one ID with different contents exactly one stores,
//     the others ErrExists, and the hold stored is the winner's
//     (RacePlaceHoldExists); of PlaceHolds of one hold, every one succeeds
//     and one hold is stored (RacePlaceHoldRetry).
//
// # What the suite reads into the contract
//
// Where the retention.Store documentation leaves room, the suite takes
// the reading the Holds and Sweeper types rely on:
//
//   - Times are kept to the microsecond, truncated, as SQL databases keep
//     them; they are compared as instants, so a store may return them in
//     any zone. Durations are kept to the nanosecond.
//   - A hold's Categories come back in the order placed; IDs compare by
//     their bytes, so a store over SQL needs a binary collation for them
//     (COLLATE "C" in PostgreSQL, utf8mb4_bin in MySQL).
//   - "A Store may still refuse what it cannot keep": a store keeps
//     everything within the retention package's limits (MaxKeyLen,
//     MaxTextLen, MaxHoldCategories, gdpr.MaxIDLen, MaxTargets,
//     MaxCursorLen) and refuses with ErrInvalid what exceeds them, and an
//     empty hold ID, sweep name, owner or subject, rather than truncate or
//     fail with a database error.
//   - A lease is held if the stored lease of its name has its Token and
//     an Until after now: the Until of the Lease given is not read, so a
//     Lease an earlier SaveSweep extended still saves, and a forged Until
//     does not.
//   - A checkpoint is the last one saved, whole: SaveSweep replaces it.
//   - A "fresh random Token" is at least 16 bytes long and differs from
//     every other lease's the suite sees.
//
// A retried PlaceHold after the hold was released is a retry, as the
// Store documentation says, but the suite does not check it. Not checked
// either: what a store does with a Hold that
// fails Hold.Validate within those limits (memretention refuses it).
//
// # Testing
//
// Call the suite from a test of the store's package:
//
//	func TestStore(t *testing.T) {
//		retentiontest.RunStoreTests(t, func(*testing.T) retention.Store { return memretention.New() })
//	}
//
// For a store over a database, newStore opens a fresh, empty database
// (schema, file) for each subtest and migrates it. The suite assumes
// nothing about how a store keeps its data; subtests use fixed UTC
// instants in 2025, so a store's clock plays no part. It embeds the time
// zone database (time/tzdata) for its times in Europe/Berlin, so it runs
// on systems without one.
package retentiontest
