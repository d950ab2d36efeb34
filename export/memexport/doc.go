// Package memexport keeps the state of single-use bundle delivery in
// memory: an export.Store (New), the deliveries and their download
// tokens' hashes, and an export.Blobs (NewBlobs), the bundles' encrypted
// bytes. It is the fake a host uses in its own unit tests of code built
// on export.Deliverer, and a working store for tools and demos that need
// no persistence.
//
// They are working stores, not expectation mocks (as httptest and
// fstest.MapFS are): they meet the whole contracts and pass
// exporttest.RunStoreTests and RunBlobsTests, so a test over them sees
// the rules a database would enforce — unique delivery IDs and token
// hashes, a token claimed once and never after its delivery expired
// (Art. 15(3): the copy goes to the subject, and only once), and
// deliveries gone with their subject (Art. 17) or when they are over
// (Art. 5(1)(e)).
//
// # Storage
//
// Everything lives in memory and is lost with the process. A Store keeps
// its deliveries in a map by ID and an index of the token hashes held,
// for Create's uniqueness check. Claim does not use that index: it
// compares the hash it is given with every part's, in constant time
// (crypto/subtle), so it costs O(n) in the parts stored; List scans and
// sorts, O(n log n). Fine for tests and tools, not for millions of
// deliveries.
//
// Deliveries are stored as a database would give them back: times are
// truncated to the microsecond and converted to UTC on the way in, and
// Claim compares now with Expires at that precision. They are
// deep-copied on the way in and out: a caller that changes a returned
// delivery's Parts or a TokenHash, or what it passed in, changes nothing
// stored. Delete overwrites the parts' token hashes with zeros. The
// subject ID is kept as given, in the delivery alone, so that
// List{Subject} finds a subject's deliveries for
// export.Deliverer.EraseSubject; Delete removes it.
//
// A Blobs keeps each blob's bytes in a map by name, and the writers not
// yet closed apart, so a blob is there only once its writer's Close
// returned nil. It checks names and writers as export.DirBlobs does.
//
// Every type prints as its name under every fmt verb ("memexport.Store"),
// never what it holds. Each is safe for concurrent use by many
// goroutines: a sync.Mutex makes every method atomic. None is shared
// between processes.
//
// # Errors
//
// Methods return *export.Error (Op "create", "get", "claim", "list",
// "delete", "create blob", "write blob", "close blob", "open blob" or
// "remove blob") wrapping export.ErrNotFound, export.ErrConflict or
// export.ErrInvalid as the contracts say, and so gdpr.ErrNotFound,
// gdpr.ErrConflict and gdpr.ErrInvalid too: for example "export create:
// memexport: conflict: a part's token hash is another part's". An
// unknown, used or expired token is one and the same error. Create
// refuses, with Field naming the field, an empty ID ("id"), no parts
// ("parts"), Expires not after Created ("expires"), a TokenHash that is
// not 32 bytes ("token_hash"), an empty Blob ("blob") and a negative
// Size ("size"). A nil context is refused with Field "ctx", and every
// method returns an error wrapping ctx.Err() when its context is done
// before it starts. No error text names a subject, a token hash, a
// delivery ID or a blob name.
//
// # Testing
//
// Give New() and NewBlobs() to export.NewDeliverer in a host's tests;
// there is nothing to set up or tear down, and fresh stores per test keep
// tests independent. Blobs.Len and Blobs.Pending tell a test whether
// anything was left behind. exporttest.NewDelivery builds a delivery to
// arrange a state directly, as the package examples do.
package memexport
