// Package memaudit is an in-memory audit.Store: the fake a host uses in its
// own unit tests of code that writes or reads an audit trail, and a working
// store for tools and demos that need no persistence.
//
// It is a working store, not an expectation mock (as httptest and
// fstest.MapFS are): it meets the whole audit.Store contract and passes
// audittest.RunStoreTests, so a test over it sees the rules a database
// would enforce — appends serialised under one lock, so that every index is
// written once and the Merkle tree never forks (the integrity of
// Art. 5(1)(f) and the accountability of Art. 5(2)), batches refused unless
// they start at the head, redaction that keeps an entry's place and hashes
// (erasure under Art. 17 without breaking the chain), one salt per
// reference however many callers race for it, and the first checkpoint of
// each size kept.
//
// # Storage
//
// Everything lives in memory and is lost with the process: use sqlaudit
// (or a host's own Store) for a trail that must outlive it, as Art. 30 and
// the accountability principle expect.
//
// The stored hashes are a slice indexed by storage index
// (tlog.StoredHashIndex), the entries a slice indexed by Index, and each
// subject pseudonym and actor has the ascending list of its unredacted
// entries' indexes, so a Query by subject or actor reads that list (the
// shorter, when both are set) rather than every entry; a Query by time or
// index only scans from From on. Redact drops an entry's Body, Subject,
// Actor and Time, overwriting their bytes with zeros, and takes it out of
// the lists; its hashes stay. Deleting a salt overwrites its bytes too.
// Salts are a map by ref; the Store is an audit.SaltLookuper, whose
// LookupSalts reads every ref asked under one read lock.
//
// Append holds the append lock (a sync.Mutex) for the whole call, fn
// included, and calls fn exactly once, with a tlog.HashReader of the
// committed hashes; readers are not held up meanwhile, since a
// sync.RWMutex guards the data and Append takes it only to read and, once
// the batch is checked, to write it. So fn must not call Append on the same
// Store, but may call its other methods.
//
// Times are truncated to the microsecond and converted to UTC on the way
// in, as every Store keeps them. Byte slices are copied on the way in and
// out: a caller that changes a returned entry, salt or note, or the bytes
// it passed in (a Batch's entries and hashes included), changes nothing
// stored.
//
// A Store is safe for concurrent use by many goroutines. It is not shared
// between processes.
//
// # Errors
//
// Methods return *audit.Error (Op "append", "read hashes", "entries",
// "query", "redact", "lookup salt", "lookup salts" or "latest
// checkpoint") wrapping audit.ErrConflict, audit.ErrNotFound or audit.ErrInvalid, and so the root
// package's gdpr.ErrConflict, gdpr.ErrNotFound and gdpr.ErrInvalid too.
// Append returns fn's error as it is, and an error wrapping
// audit.ErrConflict, writing nothing, for a Batch whose entries' indexes
// are not consecutive from the head's size, whose Size is not the head's
// size plus its number of entries, whose hashes are not the
// tlog.StoredHashCount(b.Size)-tlog.StoredHashCount(head.Size) the tree
// needs, or that would write an index already stored. Where the audit.Store
// contract is silent it chooses as sqlaudit does: a nil Batch writes
// nothing and Append returns nil, and so does a Batch without entries
// whose Size and Root are the head's (one that would move the head is
// refused with audit.ErrConflict); an entry with a nil Body (it would read
// back as redacted) is refused with an error wrapping audit.ErrInvalid,
// while an empty one is stored; Entries refuses a negative limit with an
// error wrapping audit.ErrInvalid and returns nothing for a zero one,
// while Query refuses a Limit below 1, as the contract says; a negative
// from or From counts as 0. Every method returns ctx.Err() when its
// context is done before it starts, and Append also when it is done by
// the time fn returns; a nil context is refused, before anything is read
// or written, with an *audit.Error whose Op is the method's ("head",
// "salt", "put checkpoint", …) and whose Field is "ctx", wrapping
// audit.ErrInvalid. Error texts name indexes and sizes at most, never an
// entry's content, a pseudonym or a salt.
//
// A *Store prints as "memaudit.Store" under every fmt verb: never its
// salts (with the Log's pseudonym key a salt links a pseudonym back to an
// ID, and erasure is the deletion of that salt), pseudonyms or entries.
//
// # Testing
//
// Give memaudit.New() to the code under test as its audit.Store; there is
// nothing to set up or tear down, and a fresh Store per test keeps tests
// independent. Entries may be appended directly with audittest.Append to
// arrange a trail, as the package example does.
package memaudit
