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
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/auditlimit"
	"github.com/gdprkit/gdpr/internal/clock"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Keyring encrypts and decrypts personal-data fields with one Tink keyset
// (AES-256-GCM) per data subject (or per Scope), created on first use and
// kept in a Store wrapped by the KEK. It is safe for concurrent use.
//
// A Keyring prints as crypto.Keyring{kek: "<KEK ID>"} under every fmt
// verb: none of the keys it holds is ever printed.
type Keyring struct {
	store         Store
	kek           KEK
	previous      map[string]KEK
	now           func() time.Time
	cache         *cache
	recorder      gdpr.Recorder
	hasRecorder   bool
	auditDecrypts bool
	guard         Guard

	// meta holds the Keyring's own keys, loaded from the Store (wrapped):
	// behind a pointer, so that even a copy of a Keyring printed field by
	// field shows an address, not key bytes.
	meta *metaKeys

	flightMu sync.Mutex
	flights  map[string]*flight
}

// metaKeys are the Keyring's own two keys.
type metaKeys struct {
	ref   []byte // HMAC key of the Refs
	index []byte // master key of the blind indexes
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
//
// Errors (*Error of Op "new"): ErrInvalid for a nil ctx, a nil store, an
// invalid kek or a bad option (Field names it, e.g. "WithGuard"), or a
// Store that holds subjects' or scopes' keys or tombstones but not the
// Keyring's own (a partial restore, or its rows deleted: Field "store";
// nothing is written, see Store.Refs); ErrDecrypt with Field "kek" when
// the Keyring's own keys do not open with kek or WithPreviousKEKs.
func New(ctx context.Context, store Store, kek KEK, opts ...Option) (*Keyring, error) {
	if err := checkCtx("new", ctx); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, wrap("new", invalidf("store", "nil store"))
	}
	if err := kek.valid(); err != nil {
		return nil, wrap("new", at("kek", err))
	}
	k := &Keyring{store: store, kek: kek, previous: map[string]KEK{}, now: time.Now,
		recorder: gdpr.Discard, flights: map[string]*flight{}}
	k.cache = newCache(10_000, 5*time.Minute, clock.Coarse)
	for _, o := range opts {
		if o == nil {
			return nil, wrap("new", invalidf("opts", "nil option"))
		}
		if err := o.apply(k); err != nil {
			return nil, wrap("new", err)
		}
	}
	if k.auditDecrypts && !k.hasRecorder {
		return nil, wrap("new", invalidf("WithDecryptAudit", "needs WithRecorder"))
	}
	refKey, err := k.metaKey(ctx, refKeyRef)
	if err != nil {
		return nil, wrap("new", err)
	}
	indexKey, err := k.metaKey(ctx, indexKeyRef)
	if err != nil {
		return nil, wrap("new", err)
	}
	k.meta = &metaKeys{ref: refKey, index: indexKey}
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
				return nil, at("kek", ErrDecrypt)
			}
			return key, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, fromStore(err)
		}
		// Make the key only for a Store without subjects' or scopes' Refs,
		// live or shredded: a Store that holds keys or tombstones but lost
		// this one (a partial restore, deleted rows) would otherwise get a
		// new one, and every Ref, and with them every tombstone, would
		// silently stop matching: a shredded subject would get a fresh
		// key. The Keyring's own Refs sort after every hex Ref, so the
		// first Ref is one of them only if there is no other.
		if first, err := k.store.Refs(ctx, "", 1); err != nil {
			return nil, fromStore(err)
		} else if len(first) > 0 && !isMeta(first[0]) {
			return nil, invalidf("store", "holds keys or tombstones but not the Keyring's own (restored in part?)")
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		wrapped, err := k.kek.aead.EncryptWithContext(ctx, key, metaAD(ref))
		if err != nil {
			return nil, kekError(err)
		}
		now := k.now().UTC()
		err = k.store.Create(ctx, Record{Ref: ref, Wrapped: wrapped, KEK: k.kek.ID, Version: 1, Created: now, Updated: now})
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, fromStore(err)
		}
		// Another instance created it first: read theirs.
	}
	return nil, at("store", because(ErrConflict, "could not settle the Keyring's own keys", nil))
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
	return KEK{}, at("kek", ErrDecrypt) // a KEK this Keyring does not hold (WithPreviousKEKs)
}

// Ref returns the Store key of subject: the lower-case hex HMAC-SHA256 of
// the subject ID under the Keyring's Ref key. The Store never holds a
// subject ID; without the KEK, a Ref cannot be tied to a subject.
func (k *Keyring) Ref(subject gdpr.SubjectID) string {
	return k.ref(owner{subject: subject})
}

// ref returns the Store key of o. Subjects and scopes hash under separate
// domain tags, so no subject ID and scope name share a Ref.
func (k *Keyring) ref(o owner) string {
	m := hmac.New(sha256.New, k.meta.ref)
	if o.isScope {
		m.Write([]byte("gdpr/crypto/scope-ref/v1\x00"))
		m.Write([]byte(o.scope))
	} else {
		m.Write([]byte("gdpr/crypto/ref/v1\x00"))
		m.Write([]byte(o.subject))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// owner is whose key it is: a data subject or a Scope.
type owner struct {
	subject gdpr.SubjectID
	scope   Scope
	isScope bool
	// gone marks an event about a subject of whom the Keyring holds no
	// live key (erased, or never known): it names no subject (see record).
	gone bool
}

// unlinked returns o for an event that must not link the subject: one
// about their erasure, or about a subject without a live key.
func (o owner) unlinked() owner {
	o.gone = true
	return o
}

// key returns the owner's key in the cache and in-flight maps. A subject
// ID has no control characters, so no subject's key starts with NUL.
func (o owner) key() string {
	if o.isScope {
		return "\x00" + string(o.scope)
	}
	return string(o.subject)
}

func (o owner) validate() error {
	if o.isScope {
		return o.scope.validate()
	}
	if err := o.subject.Validate(); err != nil {
		return invalid("subject", err)
	}
	return nil
}

// flight is one in-progress load of a primitive, shared by the goroutines
// that ask for it at the same time.
type flight struct {
	done chan struct{}
	aead tink.AEAD
	err  error
}

// primitive returns the owner's AEAD: from the cache, else from the
// Store, creating the keyset on first use when create is set. With a
// non-nil tx (a Store in the caller's transaction, Keyring.In), a cache
// miss reads (and creates) through tx alone, and what it loads is never
// cached: the caller may roll back.
func (k *Keyring) primitive(ctx context.Context, o owner, w actor, create bool, tx Store) (tink.AEAD, bool, error) {
	if a, ok := k.cache.get(o.key()); ok {
		return a, true, nil
	}
	a, err := k.reload(ctx, o, w, create, tx)
	return a, false, err
}

// reload reads o's primitive from the Store, past the cache: shared with
// the goroutines that ask at the same time and cached, or, through a
// caller's transaction tx, alone and uncached (what one transaction reads,
// another need not see).
func (k *Keyring) reload(ctx context.Context, o owner, w actor, create bool, tx Store) (tink.AEAD, error) {
	if tx != nil {
		return k.load(ctx, tx, false, o, w, k.ref(o), create)
	}
	return k.loadShared(ctx, o, w, create)
}

// loadShared loads o's primitive once for all the goroutines that ask at
// the same time.
//
// A call joins a load in flight only if no Shred, Rotate or Revive of the
// Ref returned since that load began: each of them detaches the Ref's
// flights once the Store has changed (detach), so a call that starts
// after it begins a load of its own, which reads the Store as it is now.
// (The goroutines already waiting started before it returned.) What a
// detached load reads reaches no cache either: the cache's generation
// moved (see cache.generation).
func (k *Keyring) loadShared(ctx context.Context, o owner, w actor, create bool) (tink.AEAD, error) {
	ref := k.ref(o)
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
				return k.load(ctx, k.store, true, o, w, ref, create)
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
		if k.flights[key] == f { // not detached (and replaced) by a Shred
			delete(k.flights, key)
		}
		k.flightMu.Unlock()
		close(f.done)
	}()
	f.aead, f.err = k.load(ctx, k.store, true, o, w, ref, create)
	return f.aead, f.err
}

// detach forgets the loads of ref in flight (with and without create), so
// that no call that starts from now on joins one: they began before the
// Store changed, and may hold what it said before. Called after every
// write of a Ref by the Keyring (Shred, Rotate, Revive) and before the
// method returns.
func (k *Keyring) detach(ref string) {
	k.flightMu.Lock()
	delete(k.flights, ref)
	delete(k.flights, ref+"+")
	k.flightMu.Unlock()
}

// load reads o's keyset from store, creating it when create is set and
// there is none, and caches the primitive if cache is set.
func (k *Keyring) load(ctx context.Context, store Store, cache bool, o owner, w actor, ref string, create bool) (tink.AEAD, error) {
	gen := k.cache.generation() // before reading the Store: a shred after it voids the put
	for range 3 {
		r, err := store.Get(ctx, ref)
		if err == nil {
			h, err := k.unwrap(ctx, r)
			if err != nil {
				return nil, err
			}
			a, err := aead.New(h)
			if err != nil {
				return nil, err
			}
			if cache {
				k.cache.put(o.key(), a, gen)
			}
			return a, nil
		}
		if !errors.Is(err, ErrNotFound) || !create {
			return nil, fromStore(err)
		}
		h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
		if err != nil {
			return nil, err
		}
		rec, err := k.wrap(ctx, ref, h)
		if err != nil {
			return nil, err
		}
		err = store.Create(ctx, rec)
		if errors.Is(err, ErrConflict) {
			continue // another instance created it first: use theirs
		}
		if err != nil {
			return nil, fromStore(err)
		}
		a, err := aead.New(h)
		if err != nil {
			return nil, err
		}
		var attrs map[string]string
		if cache {
			k.cache.put(o.key(), a, gen)
		} else {
			// Made in the caller's transaction: it exists only if that
			// commits, and the trail says so.
			attrs = map[string]string{"transaction": "caller"}
		}
		if err := k.record(ctx, w, "crypto.key_created", o, "crypto_key", gdpr.Success, nil, attrs); err != nil {
			return nil, err
		}
		return a, nil
	}
	return nil, at("store", because(ErrConflict, "could not settle the key", nil))
}

// wrap encrypts a keyset with the current KEK, bound to ref.
func (k *Keyring) wrap(ctx context.Context, ref string, h *keyset.Handle) (Record, error) {
	var buf bytes.Buffer
	if err := h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), k.kek.aead, keysetAD(ref)); err != nil {
		return Record{}, kekError(nil)
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
		// The wrong KEK, or a record moved to another Ref.
		return nil, at("kek", ErrDecrypt)
	}
	return h, nil
}

// actor is who acts and why, from the context, for the audit events of
// one call.
type actor struct {
	who     gdpr.Actor
	purpose gdpr.Purpose
}

// actorOf reads the actor and purpose of ctx (gdpr.WithActor,
// gdpr.WithPurpose): the system actor "crypto" and no purpose when there
// are none. An invalid actor or purpose is ErrInvalid.
func actorOf(ctx context.Context) (actor, error) {
	w := actor{who: gdpr.System("crypto")}
	if a, ok := gdpr.ActorFrom(ctx); ok {
		if err := a.Validate(); err != nil {
			return actor{}, invalid("actor", err)
		}
		w.who = a
	}
	if p, ok := gdpr.PurposeFrom(ctx); ok {
		if err := p.Validate(); err != nil {
			return actor{}, invalid("purpose", err)
		}
		w.purpose = p
	}
	return w, nil
}

// record sends one event to the Recorder. A scope's event has no Subject
// and names the scope in Attrs["scope"]. An event about a subject of whom
// the Keyring holds no live key (o.gone: their erasure, a refused
// decryption after it, a subject never known) has no Subject either, and
// a subject acting for themselves is recorded without their ID: an audit
// log that has erased them (audit.Log.EraseSubject) would otherwise mint
// a new pseudonym and link them again. It names the resource and counts
// only.
func (k *Keyring) record(ctx context.Context, w actor, action string, o owner, resource string, out gdpr.Outcome, cats []string, attrs map[string]string) error {
	if k.recorder == nil {
		return nil
	}
	e := gdpr.Event{Time: k.now(), Actor: w.who, Purpose: w.purpose, Action: action, Subject: o.subject,
		Categories: cats, Resource: resource, Outcome: out, Attrs: attrs}
	if o.gone && !o.isScope {
		if e.Actor.Kind == gdpr.ActorSubject && e.Actor.ID == string(o.subject) {
			e.Actor = gdpr.SubjectActor()
		}
		e.Subject = ""
	}
	if o.isScope {
		if e.Attrs == nil {
			e.Attrs = map[string]string{}
		}
		e.Attrs["scope"] = string(o.scope)
	}
	return k.recorder.Record(ctx, e)
}

// recordDecrypt records the event of one decryption of f, with the
// allowance of Art. 18(2) the context claims (gdpr.WithAllowance) in
// Attrs["allowance"].
func (k *Keyring) recordDecrypt(ctx context.Context, w actor, o owner, f Field, out gdpr.Outcome) error {
	var cats []string
	if f.Category != "" {
		cats = []string{f.Category}
	}
	var attrs map[string]string
	if a := gdpr.AllowanceFrom(ctx); a != gdpr.AllowNone {
		// The ground of Art. 18(2) the caller claimed is on the record.
		attrs = map[string]string{"allowance": string(a)}
	}
	return k.record(ctx, w, "crypto.decrypt", o, f.String(), out, cats, attrs)
}

// about returns o as an event about a decryption refused before its key
// was loaded should name it: linked only if the Keyring holds a live key
// for o (in the cache, or in the Store or tx), unlinked otherwise, and
// when the Store cannot say.
func (k *Keyring) about(ctx context.Context, o owner, tx Store) owner {
	if o.isScope {
		return o
	}
	if _, ok := k.cache.get(o.key()); ok {
		return o
	}
	store := k.store
	if tx != nil {
		store = tx
	}
	if _, err := store.Get(ctx, k.ref(o)); err != nil {
		return o.unlinked()
	}
	return o
}

// Field names where a ciphertext belongs. The associated data of every
// field ciphertext binds the subject (or scope), Table, Column and Row, so
// a ciphertext copied to another subject, table, column or row does not
// decrypt. Row is optional: set it to the row's primary key to bind a
// ciphertext to its row (two addresses of one subject), leave it empty
// where a value may move between rows of the same subject. Where the data
// is not in a table (a file, a message), put any stable names of its place
// in Table and Column, and any caller-given context in Row: all of it is
// authenticated, none of it stored.
//
// Table and Column are printable UTF-8 (no control character: C0, DEL or
// C1) of at least one byte each, and "table.column", the Resource of the
// field's audit events, is at most 256 bytes: what an audit log (package
// audit: MaxResourceLen) holds, so that every field Encrypt accepts is one
// whose audited Decrypt can be recorded. Row is any bytes, at most 1024:
// it is bound into the ciphertext and never recorded.
type Field struct {
	Table, Column, Row string
	// Category is the data category of the field's values, as in the
	// Register: the ID of a gdpr.Category of the activity the field serves,
	// e.g. "contact" for an e-mail address. It is not part of the associated
	// data (adding it later changes no ciphertext); WithDecryptAudit puts it
	// in each decrypt event's Categories. Optional; when set it matches
	// ^[a-z0-9_.-]{1,64}$, a category as an audit log holds one (package
	// audit: MaxKeyLen).
	Category string
}

// The limits of a Field, those of an audit event (package audit's
// MaxResourceLen and MaxKeyLen, defined once in internal/auditlimit).
const (
	maxResourceLen = auditlimit.MaxResourceLen // len(Table) + 1 + len(Column)
	maxCategoryLen = auditlimit.MaxKeyLen      // a category key
	maxRowLen      = 1024                      // never recorded
)

// String returns "table.column" (without the row, which may be personal data).
func (f Field) String() string { return f.Table + "." + f.Column }

func (f Field) validate() error {
	switch {
	case f.Table == "":
		return invalidf("field", "empty table")
	case f.Column == "":
		return invalidf("field", "empty column")
	case len(f.Table)+1+len(f.Column) > maxResourceLen:
		return invalidf("field", "table.column longer than 256 bytes")
	case !printable(f.Table):
		return invalidf("field", "table is not printable UTF-8")
	case !printable(f.Column):
		return invalidf("field", "column is not printable UTF-8")
	case len(f.Row) > maxRowLen:
		return invalidf("field", "row longer than 1024 bytes")
	case f.Category != "" && !isKey(f.Category, maxCategoryLen):
		return invalidf("field", "category must match ^[a-z0-9_.-]{1,64}$")
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters
// (C0, DEL, C1), as an audit log requires of a Resource or attribute
// value.
func printable(s string) bool { return auditlimit.Printable(s) }

// isKey reports whether s matches ^[a-z0-9_.-]{1,max}$.
func isKey(s string, max int) bool { return auditlimit.IsKeyN(s, max) }

// The associated data of a field ciphertext is a domain tag (one for
// subjects, one for scopes), then the subject or scope, table, column and
// row, each prefixed by its length (a uvarint): ownerAD's part, the same
// for every field of one owner, then fieldPartsAD's.

// ownerAD appends the domain tag and the length-prefixed subject or scope.
func ownerAD(dst []byte, o owner) []byte {
	if o.isScope {
		return appendLP(append(dst, "gdpr/crypto/scope-field/v1\x00"...), string(o.scope))
	}
	return appendLP(append(dst, "gdpr/crypto/field/v1\x00"...), string(o.subject))
}

// fieldPartsAD appends the length-prefixed table, column and row.
func fieldPartsAD(dst []byte, f Field) []byte {
	if n := len(f.Table) + len(f.Column) + len(f.Row) + 3*binary.MaxVarintLen16; cap(dst)-len(dst) < n {
		dst = slices.Grow(dst, n)
	}
	return appendLP(appendLP(appendLP(dst, f.Table), f.Column), f.Row)
}

// appendLP appends the length of s as a uvarint, then s.
func appendLP(dst []byte, s string) []byte {
	if len(s) < 0x80 {
		dst = append(dst, byte(len(s)))
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
	}
	return append(dst, s...)
}

var adPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// FormatV1 is the first byte of every field ciphertext this package
// writes. (Every ciphertext of a subject's key carries the same 4-byte key
// ID in clear, so ciphertexts of one subject can be linked to each other,
// across tables and backups, even after a shred; they cannot be linked to
// the subject without other data.) Format 1 is exactly Tink's AEAD
// ciphertext with its TINK output prefix: 0x01, the 4-byte ID of the
// subject's key that encrypted it, a 12-byte nonce, the AES-256-GCM
// ciphertext and its 16-byte tag; 33 bytes of overhead. The associated
// data (not stored) binds subject, table, column and row. A later format
// will start with a byte Tink never writes first (0x00 and 0x01 are
// Tink's), so both can be told apart.
const FormatV1 byte = 0x01

// Encrypt encrypts plaintext for subject's field f, creating the subject's
// keyset on first use. It returns ErrShredded for a shredded subject (no new
// key is made for them: see Revive) and ErrInvalid for bad input (Field
// "ctx", "subject", "field", "actor" or "purpose"). Inside the host's own
// database transaction, encrypt through In instead, so that a new key
// commits or rolls back with the host's row (see the package doc,
// Transactions).
func (k *Keyring) Encrypt(ctx context.Context, subject gdpr.SubjectID, f Field, plaintext []byte) ([]byte, error) {
	return k.encrypt(ctx, "encrypt", owner{subject: subject}, f, plaintext, nil)
}

// encrypt encrypts for o; with a non-nil tx, a key not in the cache is
// read or created through tx (see primitive).
func (k *Keyring) encrypt(ctx context.Context, op string, o owner, f Field, plaintext []byte, tx Store) ([]byte, error) {
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	fields := [1]Field{f}
	a, err := k.encryptKey(ctx, o, fields[:], tx)
	if err != nil {
		return nil, wrap(op, err)
	}
	adp := adPool.Get().(*[]byte)
	*adp = ownerAD((*adp)[:0], o)
	ct, err := seal(a, adp, len(*adp), f, plaintext)
	adPool.Put(adp)
	if err != nil {
		return nil, wrap(op, err)
	}
	return ct, nil
}

// encryptKey validates the input of an encryption of fields for o (all of
// it, before anything is read or written) and returns o's primitive,
// creating o's key on first use.
//
// o is validated only when its key is not in the cache: nothing is cached
// but for an owner that was validated (every put follows a validation),
// and validation is a pure function of the ID, so a hit proves it valid,
// and the checks run in the same order (owner, fields, actor) either way.
func (k *Keyring) encryptKey(ctx context.Context, o owner, fields []Field, tx Store) (tink.AEAD, error) {
	a, cached := k.validCached(o)
	if !cached {
		if err := o.validate(); err != nil {
			return nil, err
		}
	}
	for i := range fields {
		if err := fields[i].validate(); err != nil {
			return nil, err
		}
	}
	w, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if cached {
		return a, nil
	}
	return k.reload(ctx, o, w, true, tx)
}

// validCached returns o's primitive if the cache holds it, which proves o
// valid (see encryptKey). A subject ID that starts with NUL is never
// looked up here: it is invalid, and it could be the cache key of a scope
// (see owner.key), which validation alone tells apart.
func (k *Keyring) validCached(o owner) (tink.AEAD, bool) {
	key := o.key()
	if !o.isScope && (key == "" || key[0] == 0) {
		return nil, false
	}
	return k.cache.get(key)
}

// seal encrypts plaintext of field f with a. The associated data is built
// in *adp, whose first pre bytes are the owner's part (ownerAD).
func seal(a tink.AEAD, adp *[]byte, pre int, f Field, plaintext []byte) ([]byte, error) {
	ad := fieldPartsAD((*adp)[:pre], f)
	ct, err := a.Encrypt(plaintext, ad)
	*adp = ad
	if err != nil || len(ct) == 0 || ct[0] != FormatV1 {
		return nil, errEncrypt
	}
	return ct, nil
}

// Decrypt decrypts a ciphertext of subject's field f. It never creates a
// key. Errors: ErrShredded once the subject's key is destroyed; ErrDecrypt
// for any ciphertext that does not open — altered, for another subject,
// table, column or row, of an unknown format, or for a subject without a
// key — saying nothing about which; ErrRestricted when the Guard refuses;
// ErrInvalid for bad input, as Encrypt. With WithDecryptAudit, each call
// records one event (see there).
func (k *Keyring) Decrypt(ctx context.Context, subject gdpr.SubjectID, f Field, ciphertext []byte) ([]byte, error) {
	return k.decrypt(ctx, "decrypt", owner{subject: subject}, f, ciphertext, nil)
}

// decrypt decrypts for o; with a non-nil tx, a key not in the cache is
// read through tx (see primitive).
func (k *Keyring) decrypt(ctx context.Context, op string, o owner, f Field, ciphertext []byte, tx Store) ([]byte, error) {
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	fields := [1]Field{f}
	var d decryption
	if err := k.startDecrypt(&d, ctx, op, o, fields[:], tx); err != nil {
		return nil, err
	}
	adp := adPool.Get().(*[]byte)
	*adp = ownerAD((*adp)[:0], o)
	p, err := d.open(f, ciphertext, adp, len(*adp))
	adPool.Put(adp)
	return p, err
}

// decryption is what the fields of one decrypt (or decryptRow) call
// share: who asks, and o's primitive once it is loaded.
type decryption struct {
	k      *Keyring
	ctx    context.Context
	op     string
	o      owner
	w      actor
	tx     Store
	a      tink.AEAD // nil until loaded
	cached bool      // a came from the cache (it may predate a rotation)
}

// startDecrypt sets d up for a decryption of fields for o: it validates
// the input (all of it, before any key is read) and asks the Guard, once; a refusal is
// recorded (with WithDecryptAudit) for fields[0], as a Decrypt of it
// would record it. Errors are wrapped for op.
//
// Without a Guard to ask (or for a scope, which it does not judge), the
// cache is read first, and a hit stands for the validation of o (see
// encryptKey). With one, the key is looked up only once the Guard has
// answered, as before: so a Shred during a slow Guard is seen.
func (k *Keyring) startDecrypt(d *decryption, ctx context.Context, op string, o owner, fields []Field, tx Store) error {
	d.k, d.ctx, d.op, d.o, d.tx = k, ctx, op, o, tx
	guarded := k.guard != nil && !o.isScope
	if !guarded {
		d.a, d.cached = k.validCached(o)
	}
	if !d.cached {
		if err := o.validate(); err != nil {
			return wrap(op, err)
		}
	}
	for i := range fields {
		if err := fields[i].validate(); err != nil {
			return wrap(op, err)
		}
	}
	if k.auditDecrypts { // read only when recorded: decryption is the hot path
		var err error
		if d.w, err = actorOf(ctx); err != nil {
			return wrap(op, err)
		}
	}
	if guarded {
		if err := k.guard(ctx, o.subject); err != nil {
			if k.auditDecrypts { // a refused access is on the trail too; the refusal stands either way
				_ = k.recordDecrypt(ctx, d.w, k.about(ctx, o, tx), fields[0], gdpr.Denied)
			}
			return wrap(op, restricted{err})
		}
	}
	return nil
}

// fail records a failed attempt at f (a forged or misplaced ciphertext, a
// key shredded or never made: on the trail too) about who; the failure
// stands whatever the Recorder says.
func (d *decryption) fail(who owner, f Field, err error) ([]byte, error) {
	if d.k.auditDecrypts {
		_ = d.k.recordDecrypt(d.ctx, d.w, who, f, gdpr.Failure)
	}
	return nil, wrap(d.op, err)
}

// open decrypts one ciphertext of field f, loading the primitive on first
// need, building the associated data in *adp after its first pre bytes,
// the owner's part (ownerAD), and records the outcome with
// WithDecryptAudit.
func (d *decryption) open(f Field, ciphertext []byte, adp *[]byte, pre int) ([]byte, error) {
	k, ctx, o := d.k, d.ctx, d.o
	if len(ciphertext) < 1 || ciphertext[0] != FormatV1 {
		if !k.auditDecrypts {
			return nil, wrap(d.op, ErrDecrypt)
		}
		return d.fail(k.about(ctx, o, d.tx), f, ErrDecrypt)
	}
	if d.a == nil {
		a, cached, err := k.primitive(ctx, o, d.w, false, d.tx)
		switch {
		case errors.Is(err, ErrNotFound): // no key: the ciphertext cannot be theirs
			return d.fail(o.unlinked(), f, ErrDecrypt)
		case errors.Is(err, ErrShredded):
			return d.fail(o.unlinked(), f, ErrShredded)
		case err != nil:
			return nil, wrap(d.op, err)
		}
		d.a, d.cached = a, cached
	}
	ad := fieldPartsAD((*adp)[:pre], f)
	*adp = ad
	p, err := d.a.Decrypt(ciphertext, ad)
	who := o
	if err != nil && d.cached {
		// The cached keyset may predate a rotation on another instance:
		// read the Store once more before giving up.
		a, rerr := k.reload(ctx, o, d.w, false, d.tx)
		if rerr == nil {
			d.a, d.cached = a, false
			p, err = a.Decrypt(ciphertext, ad)
		} else {
			who = o.unlinked() // the key is gone, or the Store cannot say
			if errors.Is(rerr, ErrShredded) {
				err = ErrShredded
			} else if !errors.Is(rerr, ErrNotFound) {
				return nil, wrap(d.op, rerr)
			}
		}
	}
	if errors.Is(err, ErrShredded) {
		return d.fail(who, f, ErrShredded)
	}
	if err != nil {
		return d.fail(who, f, ErrDecrypt)
	}
	if k.auditDecrypts {
		if err := k.recordDecrypt(ctx, d.w, o, f, gdpr.Success); err != nil {
			clear(p) // no record, no plaintext
			return nil, wrap(d.op, err)
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
// whatever the number of ciphertexts. It is idempotent. Its audit event,
// crypto.shred, names no subject: Resource "crypto_key" and
// Attrs["erased"], the number of live keys destroyed ("1" or "0").
//
// On this instance, no call that starts after Shred returned uses the key:
// the cache forgets it at once, a load of it already in flight (begun by a
// call before the Shred) is neither joined by later calls nor cached when
// it ends, and a TxKeyring reads the tombstone through its transaction
// (sqlkeys' Store.Tx reads a live key with a locking read, so an older
// snapshot of the host's transaction does not hide the Shred). A call that
// began before Shred returned may still finish with the key. Other
// instances forget it within the cache TTL (WithCache). A backup of the key Store taken before
// the shred still holds the key: keep key-store backups short-lived, or
// replay shreds after restoring one.
func (k *Keyring) Shred(ctx context.Context, subject gdpr.SubjectID) error {
	_, err := k.shred(ctx, "shred", owner{subject: subject})
	return err
}

// shred shreds o's key and reports how many live keys it destroyed (0 or
// 1). Its event names no subject (see record): the erasure is on the
// trail as the resource and that count.
func (k *Keyring) shred(ctx context.Context, op string, o owner) (int, error) {
	if err := checkCtx(op, ctx); err != nil {
		return 0, err
	}
	if err := o.validate(); err != nil {
		return 0, wrap(op, err)
	}
	w, err := actorOf(ctx)
	if err != nil {
		return 0, wrap(op, err)
	}
	ref := k.ref(o)
	_, err = k.store.Get(ctx, ref)
	erased := 0
	switch {
	case err == nil:
		erased = 1
	case !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrShredded):
		return 0, wrap(op, fromStore(err))
	}
	// Before the Store, so no load in progress re-caches the key, and
	// again after, with the loads in flight detached: a call that starts
	// once Shred returned loads the key anew, and finds the tombstone.
	k.cache.shred(o.key())
	if err := k.store.Shred(ctx, ref, k.now().UTC()); err != nil {
		k.detach(ref) // the Shred may have landed
		return 0, wrap(op, fromStore(err))
	}
	k.detach(ref)
	k.cache.shred(o.key())
	attrs := map[string]string{"erased": strconv.Itoa(erased)}
	if err := k.record(ctx, w, "crypto.shred", o.unlinked(), "crypto_key", gdpr.Success, nil, attrs); err != nil {
		return erased, wrap(op, err)
	}
	return erased, nil
}

var (
	_ gdpr.Eraser         = (*Keyring)(nil)
	_ gdpr.ErasureLatency = (*Keyring)(nil)
)

// ErasureLatency is the longest time after EraseSubject or Shred during
// which another instance can still decrypt the subject's data from its
// cache: the cache TTL (WithCache) and the 50 ms of its clock's refresh;
// zero with the cache disabled (gdpr.ErasureLatency). The request engine
// waits it out before it reports an erasure complete.
func (k *Keyring) ErasureLatency() time.Duration {
	if k.cache.size == 0 {
		return 0
	}
	return k.cache.ttl + 50*time.Millisecond
}

// EraseSubject shreds the subject's key (gdpr.Eraser). The report counts
// one record made unreadable, the key (the host's ciphertexts, however many,
// went with it), or none when the subject had no live key: unknown, or
// shredded before. Either way a tombstone stands afterwards. As Shred, it
// records crypto.shred without a subject, so that it links no one in an
// audit log erased before it.
func (k *Keyring) EraseSubject(ctx context.Context, subject gdpr.SubjectID) (gdpr.ErasureReport, error) {
	if err := checkCtx("erase", ctx); err != nil {
		return gdpr.ErasureReport{}, err
	}
	n, err := k.shred(ctx, "erase", owner{subject: subject})
	if err != nil {
		return gdpr.ErasureReport{}, err
	}
	return gdpr.ErasureReport{Erased: int64(n)}, nil
}

// Revive gives a shredded subject a new key: the explicit step for a
// returning subject (say, someone who signs up again after erasure). Their
// old ciphertexts stay unreadable. Revive on a subject that never had a key
// creates one; on a subject with a live key it returns ErrConflict.
func (k *Keyring) Revive(ctx context.Context, subject gdpr.SubjectID) error {
	const op = "revive"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	o := owner{subject: subject}
	if err := o.validate(); err != nil {
		return wrap(op, err)
	}
	w, err := actorOf(ctx)
	if err != nil {
		return wrap(op, err)
	}
	ref := k.ref(o)
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return wrap(op, err)
	}
	rec, err := k.wrap(ctx, ref, h)
	if err != nil {
		return wrap(op, err)
	}
	if err := k.store.Revive(ctx, rec); err != nil {
		return wrap(op, fromStore(err))
	}
	k.detach(ref)
	k.cache.forget(o.key())
	if err := k.record(ctx, w, "crypto.key_revived", o, "crypto_key", gdpr.Success, nil, nil); err != nil {
		return wrap(op, err)
	}
	return nil
}

// Rotate adds a new primary key to subject's keyset: new ciphertexts use it,
// old ones still decrypt (the old keys stay in the keyset; this package does
// not prune them). Reencrypt moves old values to the new key. Other
// instances whose cache holds the old keyset reload it when they meet a
// ciphertext it cannot open. It returns ErrShredded or ErrNotFound for a
// subject without a live key, and ErrConflict if another rotation won a
// race.
func (k *Keyring) Rotate(ctx context.Context, subject gdpr.SubjectID) error {
	const op = "rotate"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	o := owner{subject: subject}
	if err := o.validate(); err != nil {
		return wrap(op, err)
	}
	w, err := actorOf(ctx)
	if err != nil {
		return wrap(op, err)
	}
	ref := k.ref(o)
	r, err := k.store.Get(ctx, ref)
	if err != nil {
		return wrap(op, fromStore(err))
	}
	h, err := k.unwrap(ctx, r)
	if err != nil {
		return wrap(op, err)
	}
	m := keyset.NewManagerFromHandle(h)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return wrap(op, err)
	}
	if err := m.SetPrimary(id); err != nil {
		return wrap(op, err)
	}
	if h, err = m.Handle(); err != nil {
		return wrap(op, err)
	}
	next, err := k.wrap(ctx, ref, h)
	if err != nil {
		return wrap(op, err)
	}
	next.Version, next.Created = r.Version, r.Created
	if err := k.store.Update(ctx, next); err != nil {
		return wrap(op, fromStore(err))
	}
	k.detach(ref)
	if a, err := aead.New(h); err == nil {
		k.cache.replace(o.key(), a)
	} else {
		k.cache.forget(o.key())
	}
	if err := k.record(ctx, w, "crypto.key_rotated", o, "crypto_key", gdpr.Success, nil, map[string]string{"keys": strconv.Itoa(h.Len())}); err != nil {
		return wrap(op, err)
	}
	return nil
}

// Reencrypt decrypts a ciphertext and encrypts it again under the
// subject's current primary key, for use after Rotate. Errors as Decrypt
// and Encrypt.
func (k *Keyring) Reencrypt(ctx context.Context, subject gdpr.SubjectID, f Field, ciphertext []byte) ([]byte, error) {
	if err := checkCtx("reencrypt", ctx); err != nil {
		return nil, err
	}
	p, err := k.Decrypt(ctx, subject, f, ciphertext)
	if err != nil {
		return nil, err
	}
	defer clear(p)
	return k.Encrypt(ctx, subject, f, p)
}
