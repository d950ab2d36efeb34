package crypto

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/clock"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Keyring encrypts and decrypts personal-data fields with one Tink keyset
// (AES-256-GCM) per data subject, created on first use and kept in a Store
// wrapped by the KEK. It is safe for concurrent use.
type Keyring struct {
	store    Store
	kek      KEK
	previous map[string]KEK
	now      func() time.Time
	cache    *cache
	recorder gdpr.Recorder
	audit    bool
	guard    Guard

	refKey   []byte // HMAC key for Refs, loaded from the Store (wrapped)
	indexKey []byte // master key for blind indexes, loaded from the Store (wrapped)

	flightMu sync.Mutex
	flights  map[string]*flight
}

// Guard is consulted before each decryption; a non-nil error refuses it and
// is returned wrapped in ErrRestricted. Use it for restriction of
// processing (Art. 18): the data stays stored but is not processed.
type Guard func(ctx context.Context, subject gdpr.SubjectID) error

// Option configures a Keyring.
type Option interface{ apply(*Keyring) error }

type optionFunc func(*Keyring) error

func (f optionFunc) apply(k *Keyring) error { return f(k) }

// WithPreviousKEKs lets the Keyring open records wrapped by older KEKs while
// a KEK rotation (Rewrap) is under way. Default: none.
func WithPreviousKEKs(keks ...KEK) Option {
	return optionFunc(func(k *Keyring) error {
		for _, p := range keks {
			if err := p.valid(); err != nil {
				return err
			}
			k.previous[p.ID] = p
		}
		return nil
	})
}

// WithCache sets the size and time to live of the cache of unwrapped
// per-subject primitives. Default: 10,000 subjects for 5 minutes. Size 0
// disables the cache (every field operation then reads the Store and calls
// the KEK).
//
// Staleness: a Shred evicts this Keyring's entry at once, but other
// instances (other processes) keep theirs until it expires, so for up to
// ttl (and 50 ms: expiry is checked against a clock refreshed 20 times a
// second) after a shred another instance can still decrypt the subject's
// data, and still encrypt new values under the destroyed key (values that
// are lost when its entry expires). The erasure workflow should report
// completion, and the host stop writing for the subject, only after that
// window.
// Choose ttl as the longest such window you accept; the erasure workflow
// should report completion only after it.
func WithCache(size int, ttl time.Duration) Option {
	return optionFunc(func(k *Keyring) error {
		if size < 0 || ttl < 0 || (size > 0 && ttl == 0) {
			return fmt.Errorf("%w: cache size and TTL must be positive (size 0 disables the cache)", ErrInvalid)
		}
		k.cache.size, k.cache.ttl = size, ttl
		return nil
	})
}

// WithClock sets the source of the current time. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(k *Keyring) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		k.now = now
		k.cache.now = now
		return nil
	})
}

// WithRecorder records an audit event for every key created, shredded,
// revived, rotated and rewrapped; with auditDecrypts, also for every
// decryption, with the purpose from the context (WithPurpose), and for
// every decryption refused by the Guard (outcome denied) or failed on a
// ciphertext that does not open (outcome failure). Default:
// gdpr.Discard. The events carry the subject (which the Recorder
// pseudonymises) and field names, never a value.
func WithRecorder(r gdpr.Recorder, auditDecrypts bool) Option {
	return optionFunc(func(k *Keyring) error {
		if r == nil {
			return fmt.Errorf("%w: nil recorder", ErrInvalid)
		}
		k.recorder, k.audit = r, auditDecrypts
		return nil
	})
}

// WithGuard sets a Guard consulted before every decryption. Default: none.
func WithGuard(g Guard) Option {
	return optionFunc(func(k *Keyring) error {
		k.guard = g
		return nil
	})
}

type purposeKey struct{}

// WithPurpose returns a context that names the purpose of the decryptions
// made with it, for the audit trail (WithRecorder).
func WithPurpose(ctx context.Context, p gdpr.Purpose) context.Context {
	return context.WithValue(ctx, purposeKey{}, p)
}

// Reserved Refs of the Keyring's own keys, wrapped by the KEK like any
// subject's keyset. They sort after every hex Ref.
const (
	refKeyRef   = "meta/ref-key"
	indexKeyRef = "meta/blind-index-key"
)

// New returns a Keyring over store, wrapping keysets with kek. On first use
// of a Store it creates the Keyring's own two keys (the key of the Refs and
// the master key of the blind indexes) and stores them wrapped by kek; later
// it loads them, so every instance over the same Store agrees.
func New(ctx context.Context, store Store, kek KEK, opts ...Option) (*Keyring, error) {
	if store == nil {
		return nil, &Error{Op: "new", Err: fmt.Errorf("%w: nil store", ErrInvalid)}
	}
	if err := kek.valid(); err != nil {
		return nil, &Error{Op: "new", Err: err}
	}
	k := &Keyring{store: store, kek: kek, previous: map[string]KEK{}, now: time.Now,
		recorder: gdpr.Discard, flights: map[string]*flight{}}
	k.cache = newCache(10_000, 5*time.Minute, clock.Coarse)
	for _, o := range opts {
		if err := o.apply(k); err != nil {
			return nil, &Error{Op: "new", Err: err}
		}
	}
	var err error
	if k.refKey, err = k.metaKey(ctx, refKeyRef); err != nil {
		return nil, &Error{Op: "new", Err: err}
	}
	if k.indexKey, err = k.metaKey(ctx, indexKeyRef); err != nil {
		return nil, &Error{Op: "new", Err: err}
	}
	return k, nil
}

// metaKey loads (or creates, once for all instances) one of the Keyring's
// own 32-byte keys.
func (k *Keyring) metaKey(ctx context.Context, ref string) ([]byte, error) {
	for range 3 {
		r, err := k.store.Get(ctx, ref)
		if err == nil {
			kek, err := k.kekFor(r.KEK)
			if err != nil {
				return nil, err
			}
			key, err := kek.aead.DecryptWithContext(ctx, r.Wrapped, metaAD(ref))
			if err != nil || len(key) != 32 {
				return nil, fmt.Errorf("%w: the Keyring's %s does not open with KEK %q: wrong KEK?", ErrDecrypt, ref, r.KEK)
			}
			return key, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		// Make the key only for an empty Store: a Store that holds subject
		// keys but lost this one (a partial restore) would otherwise get a
		// new one, and every Ref, and with them every tombstone, would
		// silently stop matching.
		if first, err := k.store.List(ctx, "", 1); err != nil {
			return nil, err
		} else if len(first) > 0 && !isMeta(first[0].Ref) {
			return nil, fmt.Errorf("%w: the key Store holds subject keys but not the Keyring's %s (restored in part?)", ErrInvalid, ref)
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		wrapped, err := k.kek.aead.EncryptWithContext(ctx, key, metaAD(ref))
		if err != nil {
			return nil, fmt.Errorf("crypto: KEK %q: wrapping: %w", k.kek.ID, err)
		}
		now := k.now().UTC()
		err = k.store.Create(ctx, Record{Ref: ref, Wrapped: wrapped, KEK: k.kek.ID, Version: 1, Created: now, Updated: now})
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, err
		}
		// Another instance created it first: read theirs.
	}
	return nil, fmt.Errorf("%w: could not settle the Keyring's %s", ErrConflict, ref)
}

func metaAD(ref string) []byte { return []byte("gdpr/crypto/meta/v1\x00" + ref) }

func keysetAD(ref string) []byte { return []byte("gdpr/crypto/keyset/v1\x00" + ref) }

func (k *Keyring) kekFor(id string) (KEK, error) {
	if id == k.kek.ID {
		return k.kek, nil
	}
	if p, ok := k.previous[id]; ok {
		return p, nil
	}
	return KEK{}, fmt.Errorf("%w: record wrapped by KEK %q, which this Keyring does not hold (WithPreviousKEKs)", ErrDecrypt, id)
}

// Ref returns the Store key of subject: the lower-case hex HMAC-SHA256 of
// the subject ID under the Keyring's Ref key. The Store never holds a
// subject ID; without the KEK, a Ref cannot be tied to a subject.
func (k *Keyring) Ref(subject gdpr.SubjectID) string {
	m := hmac.New(sha256.New, k.refKey)
	m.Write([]byte("gdpr/crypto/ref/v1\x00"))
	m.Write([]byte(subject))
	return hex.EncodeToString(m.Sum(nil))
}

// flight is one in-progress load of a subject's primitive, shared by the
// goroutines that ask for it at the same time.
type flight struct {
	done chan struct{}
	aead tink.AEAD
	err  error
}

// primitive returns the subject's AEAD: from the cache, else from the
// Store, creating the keyset on first use when create is set.
func (k *Keyring) primitive(ctx context.Context, subject gdpr.SubjectID, create bool) (tink.AEAD, bool, error) {
	if a, ok := k.cache.get(string(subject)); ok {
		return a, true, nil
	}
	a, err := k.loadShared(ctx, subject, create)
	return a, false, err
}

// loadShared loads subject's primitive once for all the goroutines that
// ask at the same time.
func (k *Keyring) loadShared(ctx context.Context, subject gdpr.SubjectID, create bool) (tink.AEAD, error) {
	ref := k.Ref(subject)
	key := ref
	if create {
		key += "+"
	}
	k.flightMu.Lock()
	if f, ok := k.flights[key]; ok {
		k.flightMu.Unlock()
		select {
		case <-f.done:
			if isCtxErr(f.err) && ctx.Err() == nil {
				// The first caller gave up; this one has not.
				return k.load(ctx, subject, ref, create)
			}
			return f.aead, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	k.flights[key] = f
	k.flightMu.Unlock()
	defer func() { // even if load panics, no waiter hangs
		k.flightMu.Lock()
		delete(k.flights, key)
		k.flightMu.Unlock()
		close(f.done)
	}()
	f.aead, f.err = k.load(ctx, subject, ref, create)
	return f.aead, f.err
}

func (k *Keyring) load(ctx context.Context, subject gdpr.SubjectID, ref string, create bool) (tink.AEAD, error) {
	gen := k.cache.generation() // before reading the Store: a shred after it voids the put
	for range 3 {
		r, err := k.store.Get(ctx, ref)
		if err == nil {
			h, err := k.unwrap(ctx, r)
			if err != nil {
				return nil, err
			}
			a, err := aead.New(h)
			if err != nil {
				return nil, err
			}
			k.cache.put(string(subject), a, gen)
			return a, nil
		}
		if !errors.Is(err, ErrNotFound) || !create {
			return nil, err
		}
		h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
		if err != nil {
			return nil, err
		}
		rec, err := k.wrap(ctx, ref, h)
		if err != nil {
			return nil, err
		}
		err = k.store.Create(ctx, rec)
		if errors.Is(err, ErrConflict) {
			continue // another instance created it first: use theirs
		}
		if err != nil {
			return nil, err
		}
		a, err := aead.New(h)
		if err != nil {
			return nil, err
		}
		k.cache.put(string(subject), a, gen)
		if err := k.record(ctx, "crypto.key_created", subject, nil); err != nil {
			return nil, err
		}
		return a, nil
	}
	return nil, fmt.Errorf("%w: could not settle the subject's key", ErrConflict)
}

// wrap encrypts a keyset with the current KEK, bound to ref.
func (k *Keyring) wrap(ctx context.Context, ref string, h *keyset.Handle) (Record, error) {
	var buf bytes.Buffer
	if err := h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), k.kek.aead, keysetAD(ref)); err != nil {
		return Record{}, fmt.Errorf("crypto: KEK %q: wrapping a keyset failed", k.kek.ID)
	}
	now := k.now().UTC()
	return Record{Ref: ref, Wrapped: buf.Bytes(), KEK: k.kek.ID, Version: 1, Created: now, Updated: now}, nil
}

// unwrap opens a record's keyset with the KEK that wrapped it.
func (k *Keyring) unwrap(ctx context.Context, r Record) (*keyset.Handle, error) {
	kek, err := k.kekFor(r.KEK)
	if err != nil {
		return nil, err
	}
	h, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(r.Wrapped)), kek.aead, keysetAD(r.Ref))
	if err != nil {
		return nil, fmt.Errorf("%w: a stored keyset does not open (wrong KEK, or a record moved to another subject)", ErrDecrypt)
	}
	return h, nil
}

func (k *Keyring) record(ctx context.Context, action string, subject gdpr.SubjectID, attrs map[string]string) error {
	return k.recordOutcome(ctx, action, subject, gdpr.Success, attrs)
}

func (k *Keyring) recordOutcome(ctx context.Context, action string, subject gdpr.SubjectID, o gdpr.Outcome, attrs map[string]string) error {
	if k.recorder == nil {
		return nil
	}
	e := gdpr.Event{Time: k.now(), Actor: gdpr.System("crypto"), Action: action, Subject: subject,
		Resource: "crypto_key", Outcome: o, Attrs: attrs}
	if p, ok := k.purposeOf(ctx); ok {
		e.Purpose = p
	}
	return k.recorder.Record(ctx, e)
}

func (k *Keyring) purposeOf(ctx context.Context) (gdpr.Purpose, bool) {
	p, ok := ctx.Value(purposeKey{}).(gdpr.Purpose)
	return p, ok
}

// Field names where a ciphertext belongs. The associated data of every
// field ciphertext binds the subject, Table, Column and Row, so a ciphertext
// copied to another subject, table, column or row does not decrypt. Row is
// optional: set it to the row's primary key to bind a ciphertext to its
// row (two addresses of one subject), leave it empty where a value may move
// between rows of the same subject. Where the data is not in a table (a
// file, a message), put any stable names of its place in Table and Column,
// and any caller-given context in Row: all of it is authenticated, none of
// it stored.
type Field struct {
	Table, Column, Row string
}

// String returns "table.column" (without the row, which may be personal data).
func (f Field) String() string { return f.Table + "." + f.Column }

func (f Field) validate() error {
	if f.Table == "" || f.Column == "" {
		return fmt.Errorf("%w: a field needs a table and a column", ErrInvalid)
	}
	if len(f.Table) > 255 || len(f.Column) > 255 || len(f.Row) > 1024 {
		return fmt.Errorf("%w: field names too long", ErrInvalid)
	}
	return nil
}

// fieldAD appends to dst the associated data of a field ciphertext: a
// domain tag, then subject, table, column and row, each prefixed by its
// length.
func fieldAD(dst []byte, subject gdpr.SubjectID, f Field) []byte {
	dst = append(dst, "gdpr/crypto/field/v1\x00"...)
	for _, s := range [...]string{string(subject), f.Table, f.Column, f.Row} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

var adPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// FormatV1 is the first byte of every field ciphertext this package
// writes. (Every ciphertext of a subject's key carries the same 4-byte key
// ID in clear, so ciphertexts of one subject can be linked to each other,
// across tables and backups, even after a shred; they cannot be linked to
// the subject without other data.) Format 1 is exactly Tink's AEAD ciphertext with its TINK output
// prefix: 0x01, the 4-byte ID of the subject's key that encrypted it, a
// 12-byte nonce, the AES-256-GCM ciphertext and its 16-byte tag; 33 bytes
// of overhead. The associated data (not stored) binds subject, table,
// column and row. A later format will start with a byte Tink never writes
// first (0x00 and 0x01 are Tink's), so both can be told apart.
const FormatV1 byte = 0x01

// Encrypt encrypts plaintext for subject's field f, creating the subject's
// keyset on first use. It returns ErrShredded for a shredded subject (no new
// key is made for them: see Revive) and ErrInvalid for bad input.
func (k *Keyring) Encrypt(ctx context.Context, subject gdpr.SubjectID, f Field, plaintext []byte) ([]byte, error) {
	if err := subject.Validate(); err != nil {
		return nil, &Error{Op: "encrypt", Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
	}
	if err := f.validate(); err != nil {
		return nil, &Error{Op: "encrypt", Err: err}
	}
	a, _, err := k.primitive(ctx, subject, true)
	if err != nil {
		return nil, &Error{Op: "encrypt", Err: err}
	}
	adp := adPool.Get().(*[]byte)
	ad := fieldAD((*adp)[:0], subject, f)
	ct, err := a.Encrypt(plaintext, ad)
	*adp = ad
	adPool.Put(adp)
	if err != nil || len(ct) == 0 || ct[0] != FormatV1 {
		return nil, &Error{Op: "encrypt", Err: errors.New("encryption failed")}
	}
	return ct, nil
}

// Decrypt decrypts a ciphertext of subject's field f. It never creates a
// key. Errors: ErrShredded once the subject's key is destroyed; ErrDecrypt
// for any ciphertext that does not open — altered, for another subject,
// table, column or row, of an unknown format, or for a subject without a
// key — saying nothing about which; ErrRestricted when the Guard refuses.
func (k *Keyring) Decrypt(ctx context.Context, subject gdpr.SubjectID, f Field, ciphertext []byte) ([]byte, error) {
	if err := subject.Validate(); err != nil {
		return nil, &Error{Op: "decrypt", Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
	}
	if err := f.validate(); err != nil {
		return nil, &Error{Op: "decrypt", Err: err}
	}
	if k.guard != nil {
		if err := k.guard(ctx, subject); err != nil {
			if k.audit { // a refused access is on the trail too; the refusal stands either way
				_ = k.recordOutcome(ctx, "crypto.decrypt", subject, gdpr.Denied, map[string]string{"field": f.String()})
			}
			return nil, &Error{Op: "decrypt", Err: restricted{err}}
		}
	}
	if len(ciphertext) < 1 || ciphertext[0] != FormatV1 {
		return nil, &Error{Op: "decrypt", Err: ErrDecrypt}
	}
	a, cached, err := k.primitive(ctx, subject, false)
	if errors.Is(err, ErrNotFound) { // no key: the ciphertext cannot be theirs
		if k.audit {
			_ = k.recordOutcome(ctx, "crypto.decrypt", subject, gdpr.Failure, map[string]string{"field": f.String()})
		}
		return nil, &Error{Op: "decrypt", Err: ErrDecrypt}
	}
	if err != nil {
		return nil, &Error{Op: "decrypt", Err: err}
	}
	adp := adPool.Get().(*[]byte)
	ad := fieldAD((*adp)[:0], subject, f)
	p, err := a.Decrypt(ciphertext, ad)
	if err != nil && cached {
		// The cached keyset may predate a rotation on another instance:
		// read the Store once more before giving up.
		if a, err = k.loadShared(ctx, subject, false); err == nil {
			p, err = a.Decrypt(ciphertext, ad)
		} else if !errors.Is(err, ErrNotFound) {
			*adp = ad
			adPool.Put(adp)
			return nil, &Error{Op: "decrypt", Err: err}
		}
	}
	*adp = ad
	adPool.Put(adp)
	if err != nil {
		if k.audit { // a failed attempt (a forged or misplaced ciphertext) is on the trail too
			_ = k.recordOutcome(ctx, "crypto.decrypt", subject, gdpr.Failure, map[string]string{"field": f.String()})
		}
		return nil, &Error{Op: "decrypt", Err: ErrDecrypt}
	}
	if k.audit {
		if err := k.record(ctx, "crypto.decrypt", subject, map[string]string{"field": f.String()}); err != nil {
			clear(p) // no record, no plaintext
			return nil, &Error{Op: "decrypt", Err: err}
		}
	}
	return p, nil
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// restricted is a Guard's refusal: it matches ErrRestricted and the Guard's
// own error with errors.Is, but its text is fixed, in case the Guard's
// error names the subject.
type restricted struct{ cause error }

func (r restricted) Error() string   { return ErrRestricted.Error() }
func (r restricted) Unwrap() []error { return []error{ErrRestricted, r.cause} }

// Shred destroys subject's keyset and leaves a tombstone that holds only
// the subject's Ref and the time: every ciphertext of theirs, in every
// table and every backup of the host's data, becomes unreadable, and
// Encrypt and Decrypt return ErrShredded from then on. It costs the same
// whatever the number of ciphertexts. It is idempotent.
//
// This instance's cache forgets the key at once; other instances forget it
// within the cache TTL (WithCache). A backup of the key Store taken before
// the shred still holds the key: keep key-store backups short-lived, or
// replay shreds after restoring one.
func (k *Keyring) Shred(ctx context.Context, subject gdpr.SubjectID) error {
	if err := subject.Validate(); err != nil {
		return &Error{Op: "shred", Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
	}
	ref := k.Ref(subject)
	k.cache.shred(string(subject)) // before the Store, so no load in progress re-caches the key
	if err := k.store.Shred(ctx, ref, k.now().UTC()); err != nil {
		return &Error{Op: "shred", Err: err}
	}
	k.cache.shred(string(subject))
	if err := k.record(ctx, "crypto.shred", subject, nil); err != nil {
		return &Error{Op: "shred", Err: err}
	}
	return nil
}

var _ gdpr.Eraser = (*Keyring)(nil)

// EraseSubject shreds the subject's key (gdpr.Eraser). The report counts
// one record made unreadable, the key (the host's ciphertexts, however many,
// went with it), or none when the subject had no live key: unknown, or
// shredded before. Either way a tombstone stands afterwards.
func (k *Keyring) EraseSubject(ctx context.Context, subject gdpr.SubjectID) (gdpr.ErasureReport, error) {
	if err := subject.Validate(); err != nil {
		return gdpr.ErasureReport{}, &Error{Op: "erase", Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
	}
	_, err := k.store.Get(ctx, k.Ref(subject))
	live := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrShredded) {
		return gdpr.ErasureReport{}, &Error{Op: "erase", Err: err}
	}
	if err := k.Shred(ctx, subject); err != nil {
		return gdpr.ErasureReport{}, err
	}
	if !live {
		return gdpr.ErasureReport{}, nil
	}
	return gdpr.ErasureReport{Erased: 1}, nil
}

// Revive gives a shredded subject a new key: the explicit step for a
// returning subject (say, someone who signs up again after erasure). Their
// old ciphertexts stay unreadable. Revive on a subject that never had a key
// creates one; on a subject with a live key it returns ErrConflict.
func (k *Keyring) Revive(ctx context.Context, subject gdpr.SubjectID) error {
	if err := subject.Validate(); err != nil {
		return &Error{Op: "revive", Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
	}
	ref := k.Ref(subject)
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return &Error{Op: "revive", Err: err}
	}
	rec, err := k.wrap(ctx, ref, h)
	if err != nil {
		return &Error{Op: "revive", Err: err}
	}
	if err := k.store.Revive(ctx, rec); err != nil {
		return &Error{Op: "revive", Err: err}
	}
	k.cache.forget(string(subject))
	if err := k.record(ctx, "crypto.key_revived", subject, nil); err != nil {
		return &Error{Op: "revive", Err: err}
	}
	return nil
}

// Rotate adds a new primary key to subject's keyset: new ciphertexts use it,
// old ones still decrypt (the old keys stay in the keyset; this package does
// not prune them). Reencrypt moves old values to the new key. Other
// instances whose cache holds the old keyset reload it when they meet a
// ciphertext it cannot open. It returns ErrShredded or ErrNotFound for a subject without a
// live key, and ErrConflict if another rotation won a race.
func (k *Keyring) Rotate(ctx context.Context, subject gdpr.SubjectID) error {
	if err := subject.Validate(); err != nil {
		return &Error{Op: "rotate", Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
	}
	ref := k.Ref(subject)
	r, err := k.store.Get(ctx, ref)
	if err != nil {
		return &Error{Op: "rotate", Err: err}
	}
	h, err := k.unwrap(ctx, r)
	if err != nil {
		return &Error{Op: "rotate", Err: err}
	}
	m := keyset.NewManagerFromHandle(h)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return &Error{Op: "rotate", Err: err}
	}
	if err := m.SetPrimary(id); err != nil {
		return &Error{Op: "rotate", Err: err}
	}
	if h, err = m.Handle(); err != nil {
		return &Error{Op: "rotate", Err: err}
	}
	next, err := k.wrap(ctx, ref, h)
	if err != nil {
		return &Error{Op: "rotate", Err: err}
	}
	next.Version, next.Created = r.Version, r.Created
	if err := k.store.Update(ctx, next); err != nil {
		return &Error{Op: "rotate", Err: err}
	}
	if a, err := aead.New(h); err == nil {
		k.cache.replace(string(subject), a)
	} else {
		k.cache.forget(string(subject))
	}
	if err := k.record(ctx, "crypto.key_rotated", subject, map[string]string{"keys": strconv.Itoa(h.Len())}); err != nil {
		return &Error{Op: "rotate", Err: err}
	}
	return nil
}

// Reencrypt decrypts a ciphertext and encrypts it again under the
// subject's current primary key, for use after Rotate. Errors as Decrypt.
func (k *Keyring) Reencrypt(ctx context.Context, subject gdpr.SubjectID, f Field, ciphertext []byte) ([]byte, error) {
	p, err := k.Decrypt(ctx, subject, f, ciphertext)
	if err != nil {
		return nil, err
	}
	defer clear(p)
	return k.Encrypt(ctx, subject, f, p)
}
