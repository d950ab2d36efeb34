// Package exporttest is the conformance suite of the storage beneath
// single-use bundle delivery (Art. 15(3) and Art. 20, the copy given to
// the subject): every export.Store — memexport, sqlexport on each
// database, a host's own — must pass RunStoreTests, and every
// export.Blobs — export.DirBlobs, memexport.Blobs, a host's object
// store — RunBlobsTests.
//
// Like testing/fstest.TestFS and gocloud.dev's drivertest, each suite is
// one subtest per behaviour, each on a fresh store, and each failure
// states the contract it checks.
//
// # The Store suite
//
// RunStoreTests covers every sentence of the export.Store documentation:
//
//   - Round trips of every field of a Delivery — ID, Request, Kind,
//     Subject, Created, Expires, and each part's TokenHash, Blob, Size and
//     Downloaded (set at Create too), in order — through Get, List and
//     Claim (CreateGetRoundTrip); times with nanoseconds in other zones
//     come back truncated to the microsecond, compared as instants
//     (TimesToTheMicrosecond); no slice shared with the caller on the way
//     in or out (CreateDoesNotAliasInput, ReturnedDeliveriesAreCopies).
//   - Create refuses with ErrInvalid, storing nothing, an empty ID, no
//     parts, a TokenHash that is not 32 bytes, an empty Blob, a negative
//     Size, and Expires not after Created (CreateInvalid); an existing ID
//     is ErrConflict, the stored delivery unchanged and none of the
//     second's tokens claimable (CreateDuplicateID); a TokenHash another
//     delivery's part holds, downloaded or not, is ErrConflict, and
//     nothing of the second delivery is stored (CreateDuplicateTokenHash);
//     so are two parts of one delivery with one TokenHash
//     (CreateDuplicateTokenHashInOneDelivery). Get of an unknown ID is
//     ErrNotFound (GetUnknown).
//   - Claim marks the part downloaded at now and returns its delivery
//     and index (Claim), each part of a delivery once (ClaimEveryPart,
//     with Delivery.Done); a second Claim is ErrNotFound, the first
//     Downloaded kept (ClaimTwice); an unknown, malformed or near-miss
//     hash is ErrNotFound (ClaimUnknown); so is a Claim after Expires
//     (ClaimAfterExpiry) and at exactly Expires, while a microsecond
//     before still claims (ClaimAtExpires); an unknown, a used and an
//     expired token give one error alike (ClaimErrorsAlike).
//   - List orders by Created then ID (ListOrder); filters by Request,
//     Subject and Finished, ANDed, with Limit (ListFilters); Finished
//     selects the expired (Expires at or before it) and the all-downloaded
//     (ListFinished); Limit caps the page (ListLimit), 0 is 100
//     (ListDefaultLimit) and more than 1000 is 1000 (ListMaxLimit;
//     skipped with -short, as it creates 1001 deliveries).
//   - Delete removes the delivery and its parts: Get is ErrNotFound, its
//     tokens can no longer be claimed, their hashes are free for a new
//     delivery; deleting again, or an unknown ID, succeeds (Delete).
//   - Every method with a canceled context returns an error wrapping
//     context.Canceled, and Create, Claim and Delete change nothing then
//     (CanceledContext); no error of any failing call names the subject
//     or holds a token hash, as hex, base64 or bytes
//     (ErrorsHoldNoPersonalData).
//   - Races, 16 goroutines on the store at once: of concurrent Claims of
//     one part exactly one succeeds, the others ErrNotFound, and the
//     stored Downloaded is the winner's now (RaceClaim); of Creates of one
//     ID exactly one succeeds, and the stored delivery is the winner's
//     (RaceCreateDuplicateID); of Creates of deliveries sharing one
//     TokenHash exactly one succeeds, and nothing of the others is stored
//     (RaceCreateDuplicateTokenHash). Each race is bounded by
//     internal/suite's RaceTimeout.
//
// # What the Store suite reads into the contract
//
// Where the export.Store documentation leaves room, the suite takes the
// reading the Deliverer relies on:
//
//   - A Delivery is refused with ErrInvalid when no Deliverer would make
//     it (the list above); the contract names only ErrConflict.
//   - Finished is a point in time: a delivery is over at it when it
//     expired at or before it, or when every part was downloaded at or
//     before it. A part downloaded after it does not count.
//   - "An unknown, used or expired token alike": the three errors are
//     ErrNotFound with one and the same text.
//   - Times are compared as instants; a store may return them in UTC or
//     in any other zone.
//
// # The Blobs suite
//
// RunBlobsTests checks the export.Blobs documentation: bytes written
// through Create come back whole from Open once Close returned nil, a
// megabyte in chunks of many sizes (RoundTrip), an empty blob too
// (Empty), and not before Close (NotThereBeforeClose); Write keeps no
// reference to its buffer (WriteDoesNotRetainBuffer); Open of an unknown
// name is ErrNotFound (OpenUnknown); Remove deletes a blob, and removing
// one that does not exist succeeds (Remove); Remove of a blob being
// written makes it gone, and the abandoned writer's late Close brings
// nothing back (RemoveAbandoned); each method is called concurrently on
// different blobs (ConcurrentBlobs) and one blob is read by many readers
// at once (ConcurrentReaders); a canceled context is an error wrapping
// context.Canceled, and changes nothing (CanceledContext).
//
// Where the contract leaves room, the suite reads it so: every name of
// ^[a-z0-9-]{1,128}$ works (Names), and any other — an upper-case letter,
// a dot, a slash, "..", 129 bytes — is refused with ErrInvalid by every
// method (NamesOutsideTheAlphabet), so no name can reach outside the
// store; and a Create of an existing name replaces it on Close
// (CreateReplaces).
//
// # Testing
//
// Call the suites from a test of the store's package:
//
//	func TestStore(t *testing.T) {
//		exporttest.RunStoreTests(t, func(*testing.T) export.Store { return memexport.New() })
//	}
//
//	func TestBlobs(t *testing.T) {
//		exporttest.RunBlobsTests(t, func(*testing.T) export.Blobs { return memexport.NewBlobs() })
//	}
//
// For a store over a database, newStore opens a fresh, empty database
// (schema, file) for each subtest and migrates it. The suites assume
// nothing about how a store keeps its data; subtests use fixed UTC
// instants in 2025, so a store's clock plays no part. NewDelivery builds
// a valid delivery with random token hashes for a host's own tests.
package exporttest
