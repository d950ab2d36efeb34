package crypto

import (
	"context"
	"time"

	"github.com/gdprkit/gdpr"
)

// Store keeps the wrapped (KEK-encrypted) keysets of data subjects (and of
// Scopes) and the tombstones of shredded ones. It never sees a subject ID
// or key material in clear: records are keyed by a Ref, a keyed hash of the
// subject ID (or scope name, in a domain of its own) that only the Keyring
// can compute, and a keyset is stored as the KEK made it. A Store cannot
// tell a subject's record from a scope's.
//
// Implementations: memkeys (in memory, the fake for tests) and sqlkeys
// (PostgreSQL, MySQL/MariaDB, SQLite; its Store.Tx is a Store in the
// caller's transaction, for Keyring.In). A host's own Store proves itself
// with keystest.RunStoreTests.
//
// Every method is safe for concurrent use by many goroutines and, for a
// shared database, many processes. The rules that need atomicity are the
// Store's: at most one live record per Ref (so concurrent first use of a
// subject creates exactly one keyset), optimistic versions on Update, and a
// tombstone that no Create can pass. Times are kept to the microsecond, in
// UTC. Refs compare byte for byte.
type Store interface {
	// Get returns the live record for ref. It returns an error wrapping
	// ErrShredded if ref has a tombstone, or wrapping ErrNotFound if ref has
	// neither.
	Get(ctx context.Context, ref string) (Record, error)

	// Create stores r as the first record of r.Ref, with Version 1. It
	// returns an error wrapping ErrConflict if a live record exists (the
	// caller lost a race: it reads the winner's record with Get), or
	// wrapping ErrShredded if r.Ref has a tombstone; nothing is written then.
	Create(ctx context.Context, r Record) error

	// Update replaces the Wrapped keyset and KEK of r.Ref if the stored
	// Version equals r.Version, and increments the stored Version. It
	// returns an error wrapping ErrConflict if the versions differ,
	// ErrShredded if r.Ref has a tombstone, ErrNotFound if it has neither.
	Update(ctx context.Context, r Record) error

	// Shred deletes the live record of ref, if any, and leaves a tombstone
	// dated at. It is idempotent: shredding a shredded or unknown ref leaves
	// (or keeps) a tombstone and succeeds. The tombstone holds the Ref and
	// the time only.
	Shred(ctx context.Context, ref string, at time.Time) error

	// Revive removes the tombstone of r.Ref and stores r as a new record
	// with Version 1, atomically: the explicit re-creation of a key for a
	// returning subject. It returns an error wrapping ErrConflict if r.Ref
	// has a live record, and succeeds as Create does when it has neither.
	Revive(ctx context.Context, r Record) error

	// List returns, in ascending Ref order, at most limit live records with
	// a Ref greater than after (empty to start). KEK rotation pages through
	// the store with it while the application runs. A negative limit is
	// an error wrapping ErrInvalid.
	List(ctx context.Context, after string, limit int) ([]Record, error)

	// Refs returns, in ascending order, at most limit Refs greater than
	// after (empty to start) that hold a live record or a tombstone: every
	// Ref the Store knows. A negative limit is an error wrapping
	// ErrInvalid. The Keyring asks for the first Ref before it creates its
	// own keys in a Store: it creates them only in a Store that holds no
	// subject's or scope's Ref, live or shredded (see New), because new
	// keys change every Ref, and a tombstone that no longer matches would
	// let a shredded subject silently get a fresh key.
	Refs(ctx context.Context, after string, limit int) ([]string, error)
}

// Record is one subject's wrapped keyset.
type Record struct {
	// Ref is the keyed hash of the subject ID or scope name (lower-case
	// hex, 64 characters), or a reserved name for the Keyring's own keys.
	Ref string
	// Wrapped is the keyset encrypted by the KEK, with the Ref in the
	// associated data, so a record moved to another Ref does not open.
	Wrapped []byte
	// KEK identifies the key-encryption key that wrapped it (KEK rotation
	// rewraps the records whose KEK is not the current one).
	KEK string
	// Version starts at 1 and grows with each Update (optimistic locking).
	Version int64
	// Created and Updated are set by the Keyring.
	Created, Updated time.Time
}

// TombstoneReader is an optional interface of a Store: one that can say
// when a Ref was shredded implements it, and the Keyring then puts that
// time in the record ExportSubject writes for a shredded subject. A Store
// without it still works; the export then says that the key was shredded,
// not when. memkeys and sqlkeys implement it; keystest.RunStoreTests
// checks it when a Store does.
type TombstoneReader interface {
	// Tombstone returns the time given to the Shred that left ref's
	// tombstone (the first, if ref was shredded more than once), to the
	// microsecond in UTC. It returns an error wrapping ErrNotFound if ref
	// has no tombstone: a live record or nothing. It is safe for
	// concurrent use.
	Tombstone(ctx context.Context, ref string) (time.Time, error)
}

// BatchUpdater is an optional interface of a Store: one that can apply
// many Updates in one round trip (one statement or one transaction)
// implements it, and Keyring.Rewrap then writes each page of rewrapped
// records with one UpdateMany instead of one Update per record. A Store
// without it still works, one Update at a time. memkeys and sqlkeys
// implement it; keystest.RunStoreTests checks it when a Store does.
type BatchUpdater interface {
	// UpdateMany applies Update to every record of rs, each on its own
	// condition, exactly as Update would: the Wrapped keyset, KEK and
	// Updated of r.Ref are replaced and the stored Version incremented if
	// the stored Version equals r.Version and r.Ref has no tombstone. It
	// returns one error per record, in the order of rs: nil for a record
	// updated, or, for one refused, an error wrapping ErrConflict,
	// ErrShredded or ErrNotFound as Update's would, nothing written for
	// it. Each record is updated whole or not at all, and never after a
	// Shred of its Ref that returned before UpdateMany was called.
	//
	// The Refs of rs are distinct; a repeated Ref is an error wrapping
	// ErrInvalid, and nothing is written. An empty rs writes nothing. A
	// non-nil error (the database failed, ctx is done) leaves each
	// record's outcome unknown, updated whole or untouched: the caller
	// treats none of them as done.
	UpdateMany(ctx context.Context, rs []Record) ([]error, error)
}

// BatchGetter is an optional interface of a Store: one that can read the
// state of many Refs in one round trip implements it, and
// Keyring.SubjectKeys then reads a whole batch of subjects with one
// GetMany instead of a Get (and, for a shredded one, a Tombstone) per
// subject. A Store without it still works, one Ref at a time. memkeys and
// sqlkeys implement it; keystest.RunStoreTests checks it when a Store
// does.
type BatchGetter interface {
	// GetMany returns, for each Ref of refs and in their order, what the
	// Store holds under it, as Get and Tombstone would say it: the live
	// record (State gdpr.KeyLive), a tombstone and the time of its first
	// Shred (gdpr.KeyShredded), or nothing (gdpr.KeyNone). A Ref may
	// repeat; each of its places gets the same answer. An empty refs
	// reads nothing and returns an empty slice.
	//
	// Each answer is its Ref's state at one moment of the call; the
	// answers of different Refs need not come from one snapshot. It
	// writes nothing. A tombstone or an unknown Ref is an answer, not an
	// error: GetMany never returns ErrShredded or ErrNotFound. A non-nil
	// error (the database failed, ctx is done) comes with no answers. It
	// is safe for concurrent use.
	GetMany(ctx context.Context, refs []string) ([]RefState, error)
}

// RefState is what a Store holds under one Ref, as BatchGetter.GetMany
// reports it. The zero RefState is a Ref with neither a live record nor a
// tombstone.
type RefState struct {
	// State is gdpr.KeyLive for a live record, gdpr.KeyShredded for a
	// tombstone, gdpr.KeyNone for neither.
	State gdpr.KeyState
	// Record is the live record, as Get returns it (State gdpr.KeyLive
	// only; zero otherwise).
	Record Record
	// Shredded is the time given to the first Shred of the Ref, to the
	// microsecond in UTC, as TombstoneReader.Tombstone returns it (State
	// gdpr.KeyShredded only; zero otherwise).
	Shredded time.Time
}
