package crypto

import (
	"context"
	"time"

	"github.com/gdprkit/gdpr"
)

// Option configures a Keyring in New. The set of options is closed: only
// the WithX functions of this package make one. New checks each option's
// argument and refuses a bad one with an *Error of Op "new" whose Field is
// the option's name (e.g. "WithGuard"), wrapping ErrInvalid.
type Option interface{ apply(*Keyring) error }

type option struct {
	name string
	fn   func(*Keyring) error
}

func (o option) apply(k *Keyring) error {
	if err := o.fn(k); err != nil {
		return at(o.name, err)
	}
	return nil
}

// WithPreviousKEKs lets the Keyring open records wrapped by older KEKs while
// a KEK rotation (Rewrap) is under way. Each must be a valid KEK (NewKEK)
// with an ID of its own, other than the current KEK's. Default: none.
func WithPreviousKEKs(keks ...KEK) Option {
	return option{"WithPreviousKEKs", func(k *Keyring) error {
		for _, p := range keks {
			if err := p.valid(); err != nil {
				return err
			}
			if p.ID == k.kek.ID {
				return because(ErrInvalid, "a previous KEK has the current KEK's ID", nil)
			}
			if _, dup := k.previous[p.ID]; dup {
				return because(ErrInvalid, "two previous KEKs share an ID", nil)
			}
			k.previous[p.ID] = p
		}
		return nil
	}}
}

// WithCache sets the size and time to live of the cache of unwrapped
// per-subject (and per-scope) primitives. Default: 10,000 keys for 5
// minutes. Size 0 disables the cache (every field operation then reads the
// Store and calls the KEK); a negative size or TTL, or a positive size
// with a zero TTL, is an error.
//
// Staleness: a Shred evicts this Keyring's entry at once, but other
// instances (other processes) keep theirs until it expires, so for up to
// ttl (and 50 ms: expiry is checked against a clock refreshed 20 times a
// second) after a shred another instance can still decrypt the subject's
// data, and still encrypt new values under the destroyed key (values that
// are lost when its entry expires). Choose ttl as the longest such window
// you accept: the erasure workflow should report completion, and the host
// stop writing for the subject, only after it.
func WithCache(size int, ttl time.Duration) Option {
	return option{"WithCache", func(k *Keyring) error {
		if size < 0 || ttl < 0 || (size > 0 && ttl == 0) {
			return because(ErrInvalid, "cache size and TTL must be positive (size 0 disables the cache)", nil)
		}
		k.cache.size, k.cache.ttl = size, ttl
		return nil
	}}
}

// WithClock sets the source of the current time, for the times of stored
// records, audit events and cache expiry. Default: time.Now (with cache
// expiry read from a clock refreshed 20 times a second). nil is an error.
func WithClock(now func() time.Time) Option {
	return option{"WithClock", func(k *Keyring) error {
		if now == nil {
			return because(ErrInvalid, "nil clock", nil)
		}
		k.now = now
		k.cache.now = now
		return nil
	}}
}

// WithRecorder records an audit event for every key created, shredded,
// revived, rotated and rewrapped (and, with WithDecryptAudit, for every
// decryption). Default: gdpr.Discard; nil is an error.
//
// Each event names as its Actor the one gdpr.WithActor put in the context
// (the staff member behind a support tool, the subject in their privacy
// center), or the system actor "crypto" when there is none, and as its
// Purpose the one gdpr.WithPurpose put there, if any. An invalid actor or
// purpose in the context refuses the call with ErrInvalid (Field "actor"
// or "purpose"), before anything is done; Decrypt and DecryptScope, which
// record only with WithDecryptAudit, check them only then. Events carry
// the subject (which the Recorder pseudonymises), or for a Scope no
// subject and the scope's name in Attrs["scope"], and names of tables and
// columns, never a value or a Ref. An event about an erasure (crypto.shred)
// or about a subject without a live key carries no subject at all, nor the
// ID of a subject acting for themselves (see the package doc, Audit).
//
// A Recorder error fails the call that made the event, after the Store
// write: the key was created or shredded, and the error says its record is
// missing. A failed decryption or a refusal by the Guard is recorded on a
// best-effort basis: the refusal stands whatever the Recorder says.
func WithRecorder(r gdpr.Recorder) Option {
	return option{"WithRecorder", func(k *Keyring) error {
		if r == nil {
			return because(ErrInvalid, "nil recorder", nil)
		}
		k.recorder, k.hasRecorder = r, true
		return nil
	}}
}

// WithDecryptAudit records an audit event, action "crypto.decrypt", for
// every decryption through the Recorder of WithRecorder, which it needs
// (New refuses it alone): outcome success when the value was decrypted,
// denied when the Guard refused, failure when the ciphertext did not open
// or the key is shredded (then without a Subject: see WithRecorder).
// One event per call, whose Resource is the field ("users.email"), whose
// Categories hold Field.Category when set, and whose Actor and Purpose come
// from the context (see WithRecorder). A successful decryption whose event
// the Recorder refuses returns the Recorder's error and no plaintext.
// Default: decryptions are not recorded.
func WithDecryptAudit() Option {
	return option{"WithDecryptAudit", func(k *Keyring) error {
		k.auditDecrypts = true
		return nil
	}}
}

// WithGuard sets a Guard consulted before every decryption of a subject's
// data (not a Scope's: a scope has no subject). Default: none, every
// decryption proceeds; nil is an error.
func WithGuard(g Guard) Option {
	return option{"WithGuard", func(k *Keyring) error {
		if g == nil {
			return because(ErrInvalid, "nil guard", nil)
		}
		k.guard = g
		return nil
	}}
}

// Guard is consulted before each decryption of a subject's data; a non-nil
// error refuses it and is returned wrapped in ErrRestricted (errors.Is
// matches both; the text is ErrRestricted's alone, in case the Guard's
// error names the subject). Use it for restriction of processing
// (Art. 18): the data stays stored but is not processed.
type Guard func(ctx context.Context, subject gdpr.SubjectID) error
