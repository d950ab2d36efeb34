// Package memkeys is an in-memory crypto.Store: the fake a host uses in its
// own unit tests of code built on crypto.Keyring, and a working key store for
// tools and demos that need no persistence.
//
// It is a working store, not an expectation mock (as httptest and
// fstest.MapFS are): it meets the whole crypto.Store contract and passes
// keystest.RunStoreTests, so a test over it sees the rules a database would
// enforce — at most one live record per Ref, optimistic versions on Update,
// and tombstones that no Create passes (crypto-shredding, the erasure of
// Art. 17 made O(1) in the number of ciphertexts).
//
// # Storage
//
// Everything lives in memory and is lost with the process: a Keyring over a
// memkeys.Store forgets every subject key when the process exits, so every
// ciphertext it wrote becomes unreadable. Use sqlkeys (or a host's own
// Store) for data that must outlive the process.
//
// Live records and tombstones share one map keyed by Ref, so a Ref is live,
// shredded or unknown, never two at once. A tombstone holds the Ref and the
// time of the shred only: the wrapped keyset is dropped (its bytes are
// overwritten with zeros first, since they may still be reachable from the
// heap until collected). Refs compare byte for byte, as Go strings do. Times
// are truncated to the microsecond and converted to UTC on the way in, as
// every Store keeps them. Records are deep-copied on the way in and out: a
// caller that changes a returned record's Wrapped bytes, or the bytes it
// passed in, changes nothing stored.
//
// A Store is safe for concurrent use by many goroutines; a sync.RWMutex makes
// each method atomic, so of many concurrent Creates for one Ref exactly one
// succeeds, and once Shred has returned no Create or Update of that Ref can
// succeed until Revive. It is not shared between processes.
//
// # Errors
//
// Methods return *crypto.Error (Op "get", "create", "update", "shred",
// "revive", "list", "refs" or "tombstone"; Field "ref", "limit" or "ctx")
// wrapping crypto.ErrNotFound, crypto.ErrConflict or crypto.ErrShredded as
// the crypto.Store contract says, and so the root package's
// gdpr.ErrNotFound, gdpr.ErrConflict and gdpr.ErrShredded too: for
// example "crypto update: ref: conflict: stored version is 2, not 1".
// Create, Shred and Revive return an error wrapping crypto.ErrInvalid for
// an empty Ref, List and Refs for a negative limit, and every method for a nil
// context (Field "ctx"); every method returns ctx.Err() when its context
// is done before it starts. Error texts name neither the Ref nor any key
// material.
//
// The Store also implements crypto.TombstoneReader, so a Keyring's export
// of a shredded subject names the time of the shred, and
// crypto.BatchUpdater: UpdateMany applies a batch under one lock, and
// crypto.BatchGetter: GetMany reads a batch of Refs under one lock (for
// Keyring.SubjectKeys).
//
// # Testing
//
// Give memkeys.New() to crypto.New as the Keyring's Store, or to any host
// code that takes a crypto.Store; there is nothing to set up or tear down,
// and a fresh Store per test keeps tests independent.
package memkeys
