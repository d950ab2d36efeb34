package gdpr

import (
	"context"
	"iter"
	"time"
)

// The contracts in this file are how a breach investigation (package
// breach) meets the audit trail and the keyring without importing them:
// audit.Log is a Trail, crypto.Keyring a KeyCustodian.

// TrailQuery selects the entries of an audit trail that a personal-data
// breach concerns: those in a time window that match what was
// compromised. Zero fields select everything; the others must all match.
type TrailQuery struct {
	// Since and Until select entries with Since <= Time < Until. Both
	// are required: a breach has a window.
	Since, Until time.Time
	// Actor selects the entries of one actor: a compromised staff
	// account, or a system. A zero Actor selects every actor.
	Actor Actor
	// ResourcePrefix selects the entries whose Resource starts with it,
	// e.g. "invoice/".
	ResourcePrefix string
	// Categories selects the entries that concern at least one of these
	// data categories.
	Categories []string
	// Purpose selects the entries of one purpose.
	Purpose Purpose
	// Actions selects the entries of these actions, e.g.
	// "crypto.decrypt", "export.download".
	Actions []string
}

// TrailEntry is one entry a TrailQuery selected, as a breach
// investigation sees it: what happened, when, and a token for its subject,
// never the subject's ID.
type TrailEntry struct {
	// Index is the entry's position in the trail.
	Index int64
	// Time is when the event happened.
	Time       time.Time
	Action     string
	Purpose    Purpose
	Categories []string
	Resource   string
	Outcome    Outcome
	// Subject is the token the trail holds for the entry's subject (the
	// audit log's pseudonym), nil for an entry about no subject. Equal
	// tokens stand for one subject; Trail.SubjectTokens gives a
	// candidate's token to compare.
	Subject []byte
}

// Trail is an audit trail searched for the subjects a breach concerns
// (Art. 33(3)(a), Art. 34).
//
// Search yields the entries q selects, in trail order, and stops at the
// first error, which it yields last; a bad query (no window, Since not
// before Until) is an error wrapping ErrInvalid. SubjectTokens returns,
// for each subject in order, the token its entries carry, or nil for a
// subject the trail never recorded or has erased; it creates nothing and
// writes nothing, so a list of candidates can be matched without leaving
// a trace of those who were never recorded. Both are safe for concurrent
// use.
type Trail interface {
	Search(ctx context.Context, q TrailQuery) iter.Seq2[TrailEntry, error]
	SubjectTokens(ctx context.Context, subjects []SubjectID) ([][]byte, error)
}

// KeyState is the state of a subject's own encryption key.
type KeyState uint8

// The states of a subject's key.
const (
	// KeyNone: the subject has no key of its own; none of its data was
	// encrypted under one.
	KeyNone KeyState = iota
	// KeyLive: the subject has a key, wrapped under SubjectKey.KEK.
	KeyLive
	// KeyShredded: the subject's key was destroyed (crypto-shredding);
	// what was encrypted under it can no longer be read by anyone.
	KeyShredded
)

// String returns "none", "live" or "shredded".
func (s KeyState) String() string {
	switch s {
	case KeyNone:
		return "none"
	case KeyLive:
		return "live"
	case KeyShredded:
		return "shredded"
	}
	return "unknown"
}

// SubjectKey says how a subject's encrypted fields are protected at rest.
type SubjectKey struct {
	State KeyState
	// KEK names the key-encryption key that wraps a live key (empty
	// otherwise): a copy of the key store is unreadable to whoever does
	// not hold it.
	KEK string
	// Since is when the state began: when a live key was last wrapped
	// (created, rotated or rewrapped), when a shredded key was shredded;
	// zero when not known. Before Since the key may have been wrapped
	// under another KEK.
	Since time.Time
}

// KeyCustodian reports how subjects' encrypted fields are protected: the
// breach package asks it whose compromised data stayed unintelligible
// (Art. 34(3)(a)).
//
// SubjectKeys returns, for each subject in order, the state of its key;
// it creates nothing. It is safe for concurrent use.
type KeyCustodian interface {
	SubjectKeys(ctx context.Context, subjects []SubjectID) ([]SubjectKey, error)
}
