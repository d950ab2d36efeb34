package audit

import (
	"context"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Store keeps a Log's entries, the stored hashes of its Merkle tree, the
// head (size and root hash), the signed checkpoints and the pseudonym salts.
// It never holds a subject ID in clear: entries carry pseudonyms, and salts
// are keyed by a keyed hash of the ID that only the Log can compute.
//
// Implementations: memaudit (in memory, the fake for tests) and sqlaudit
// (PostgreSQL, MySQL/MariaDB, SQLite). A host's own Store proves itself with
// audittest.RunStoreTests.
//
// Every method is safe for concurrent use by many goroutines and, for a
// shared database, by many processes. The rule that needs atomicity is the
// Store's: appends are serialised, so that every index is written once and
// the tree never forks. Times are kept to the microsecond, in UTC; filter
// times finer than that may be rounded. Errors wrap this package's
// sentinels (ErrNotFound, ErrConflict, ErrInvalid), which wrap the root
// package's. A method called with a context already done returns an error
// and writes nothing. The Log never passes a Store a nil context: it
// refuses one itself (memaudit refuses one too).
type Store interface {
	Appender

	// Head returns the committed size of the log and its root hash. An
	// empty log has Size 0 and the zero Hash.
	Head(ctx context.Context) (Head, error)

	// ReadHashes returns the stored hashes at the given storage indexes
	// (tlog.StoredHashIndex), in the order asked, repeats included; none
	// for none. It returns an error wrapping ErrNotFound if one of them is
	// not stored. Verification reads long runs of consecutive indexes: a
	// SQL store reads those as a range.
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)

	// Entries returns the first limit stored entries with Index >= from
	// (fewer only at the end), in ascending index order, redacted ones
	// included (with a nil Body). A limit below 1 returns none; there is
	// no default and no maximum (Log.Verify passes
	// VerifyOptions.PageSize, 4096 by default).
	// Indexes missing from the store are skipped, not filled in: the
	// verifier notices the gap.
	Entries(ctx context.Context, from int64, limit int) ([]StoredEntry, error)

	// Query returns the first f.Limit entries that match f (fewer only at
	// the end), in ascending index order. Redacted entries never match. A
	// Limit below 1 is refused with ErrInvalid.
	Query(ctx context.Context, f StoreFilter) ([]StoredEntry, error)

	// Redact drops the Body, Subject, Actor and Time of the entry at index,
	// keeping the entry's place and its hashes. It is idempotent. It
	// returns an error wrapping gdpr.ErrNotFound if no entry has that
	// index.
	Redact(ctx context.Context, index int64) error

	// Salt returns the salt stored under ref, storing fresh first if there
	// is none, atomically: concurrent calls for one ref, from any process,
	// all return the same salt.
	Salt(ctx context.Context, ref []byte, fresh []byte) ([]byte, error)

	// LookupSalt returns the salt stored under ref, or an error wrapping
	// ErrNotFound.
	LookupSalt(ctx context.Context, ref []byte) ([]byte, error)

	// DeleteSalt deletes the salt stored under ref and reports whether
	// there was one. Deleting a missing salt succeeds with false.
	DeleteSalt(ctx context.Context, ref []byte) (bool, error)

	// PutCheckpoint stores a signed checkpoint of the tree at size. Storing
	// a second checkpoint for a size keeps the first and succeeds.
	PutCheckpoint(ctx context.Context, size int64, note []byte) error

	// LatestCheckpoint returns the stored checkpoint with the greatest
	// size, or an error wrapping ErrNotFound if there is none.
	LatestCheckpoint(ctx context.Context) ([]byte, error)
}

// Appender is where a Log appends. A Store is one; a SQL store also gives
// an Appender that writes inside a caller's own transaction.
type Appender interface {
	// Append takes the log's append lock (shared by every process that
	// writes the log), reads the head, and calls fn with the head and a
	// reader of the stored hashes. If fn returns a Batch, Append writes
	// its entries and hashes and moves the head to b.Size and b.Root, all
	// atomically, then releases the lock; if fn returns an error, Append
	// writes nothing and returns that error. fn may be called more than
	// once if the Store retries a transaction; only the last call's
	// Batch is written.
	//
	// Append returns an error wrapping ErrConflict, writing nothing, if
	// the Batch does not extend the head exactly: entries with indexes
	// other than head.Size, head.Size+1, …; b.Size other than head.Size
	// plus the number of entries; a number of hashes other than
	// tlog.StoredHashCount(b.Size) - tlog.StoredHashCount(head.Size); or
	// an index already stored. A nil Batch writes nothing and succeeds.
	// An entry's Body must not be nil (nil marks a redaction): that is
	// refused with ErrInvalid.
	Append(ctx context.Context, fn AppendFunc) error
}

// SaltAppender is an Appender that also keeps salts, as Store.Salt does,
// inside the same transaction as its appends. Log.AppendTx uses it when
// the Appender it is given is one, so that a new subject's salt is created
// in the caller's transaction rather than beside it: on a database with
// one writer at a time (SQLite) a second connection would wait for the
// caller's transaction, which waits for the append.
type SaltAppender interface {
	Appender
	Salt(ctx context.Context, ref []byte, fresh []byte) ([]byte, error)
}

// AppendFunc computes a Batch to append to a log whose head is h. It reads
// the stored hashes it needs through r, which sees the state under the
// append lock.
//
// A Store's Append passes an r that is also a SaltReader, so that fn can
// get and create salts in the append's own transaction: the Log creates a
// new subject's salt that way, with the batch that first names them,
// rather than in a write of its own. (The Log still works with an r that
// is not one, creating salts through Store.Salt before the append, but
// audittest.RunStoreTests requires it.)
type AppendFunc func(h Head, r tlog.HashReader) (*Batch, error)

// SaltReader gets and creates salts inside an append, as Store.Salt does
// outside one. The tlog.HashReader that a Store's Append passes its
// AppendFunc implements it; it is valid only during that call.
type SaltReader interface {
	// Salts returns, for each refs[i] in order, the salt stored under it,
	// storing fresh[i] first where there is none (a ref given twice gets
	// one salt). A salt it stores is written atomically with the Batch
	// fn returns: it is never stored if fn returns an error or a nil
	// Batch, or if Append fails, and an append never commits without the
	// salts its entries were computed with. Concurrent calls for one ref,
	// from any process, through Salts or Store.Salt, all return the same
	// salt. refs and fresh must have the same length, and each value the
	// sizes Store.Salt accepts, or Salts returns an error wrapping
	// ErrInvalid.
	Salts(refs, fresh [][]byte) ([][]byte, error)
}

// SaltLookuper is a Store that looks up many salts in one call, as
// Store.LookupSalt looks up one: Log.SubjectTokens, which matches a
// breach's candidate subjects against the trail, asks it for up to 1000
// refs at a time. memaudit and sqlaudit implement it, and
// audittest.RunStoreTests checks it when a Store does; without it the Log
// calls LookupSalt once a ref.
type SaltLookuper interface {
	// LookupSalts returns, for each refs[i] in order, the salt stored
	// under it, or nil where there is none; a ref given twice gets its
	// salt twice, and no refs get none (an empty result and no error).
	// It only reads: it never stores a salt, and a ref it did not find
	// stays without one. The salts are the caller's: changing one
	// changes nothing stored, nor another of the result. A SQL store
	// reads them with a bounded number of statements whatever their
	// number (sqlaudit: one on PostgreSQL for as many refs as the Log
	// asks at a time, one per 256 on MySQL and SQLite), not one a ref. A
	// ref that Store.Salt would refuse (empty, say) is an error wrapping
	// ErrInvalid. It is safe for concurrent use.
	LookupSalts(ctx context.Context, refs [][]byte) ([][]byte, error)
}

// Head is the committed state of a log: how many entries it holds and the
// root hash of the Merkle tree over them.
type Head struct {
	Size int64
	Root tlog.Hash
}

// Batch is what one Append writes.
type Batch struct {
	// Entries are the new entries, with consecutive indexes starting at the
	// head's size.
	Entries []StoredEntry
	// Hashes are the new stored hashes, at consecutive storage indexes
	// starting at tlog.StoredHashIndex(0, head.Size).
	Hashes []tlog.Hash
	// Size and Root are the new head.
	Size int64
	Root tlog.Hash
}

// StoredEntry is an entry as a Store keeps it: the encoded body, whose
// record hash (tlog.RecordHash) is the leaf of the tree, and the columns
// that queries select on. After a redaction only Index is left.
type StoredEntry struct {
	Index int64
	// Time is the entry's time, to the microsecond, in UTC.
	Time time.Time
	// Subject is the pseudonym of the data subject, nil if none.
	Subject []byte
	// Actor is the pseudonym of a staff or subject actor, or the name of a
	// system actor, prefixed by its kind; nil if redacted.
	Actor []byte
	// Body is the canonical encoding of the entry; nil if redacted.
	Body []byte
}

// Redacted reports whether the entry's body was dropped.
func (e StoredEntry) Redacted() bool { return e.Body == nil }

// StoreFilter selects entries in Store.Query. Zero fields (nil or empty
// slices, zero times) select everything; the others must all match.
type StoreFilter struct {
	// Subject selects the entries whose subject pseudonym equals it.
	Subject []byte
	// Actor selects the entries whose actor equals it.
	Actor []byte
	// Since and Until select entries with Since <= Time < Until.
	Since, Until time.Time
	// From selects entries with Index >= From.
	From int64
	// Limit is the most entries returned; it is at least 1. It has no
	// default and no maximum here: Log.Entries passes 1 to MaxPage
	// (DefaultPage for a Filter.Limit of 0).
	Limit int
}
