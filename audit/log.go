package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
)

// Log is a tamper-evident audit log over a Store. It is a gdpr.Recorder,
// so every other package of the module records into it, and a gdpr.Eraser
// and gdpr.Exporter for the subjects it pseudonymises.
//
// Appends from many goroutines are gathered into batches, one Store
// transaction each (group commit); appends from many processes are
// serialised by the Store's append lock. A Log signs a checkpoint every
// so many entries or seconds (WithCheckpoints), and on Close, and
// publishes it to its Anchor.
//
// A Log is safe for concurrent use. Call Close when done.
type Log struct {
	store    Store
	signer   *secretSigner
	verifier note.Verifier
	origin   string
	anchor   Anchor
	ps       *pseudonymizer
	now      func() time.Time
	onError  func(error)

	maxBatch     int
	flushTimeout time.Duration
	cpEvery      int64
	cpInterval   time.Duration

	// The queue of the group commit: Record and Append enqueue under
	// closeMu's read lock; Close takes the write lock to stop them.
	queue   chan *request
	closeMu sync.RWMutex
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup

	treeMu sync.Mutex
	tree   treeState // the last head this Log committed

	// eagerSalts is set once the Store's append reader proved not to be
	// a SaltReader: salts are then created before the append.
	eagerSalts atomic.Bool

	cpMu     sync.Mutex   // one checkpoint at a time
	lastCP   atomic.Int64 // size of the last checkpoint this Log signed or saw
	lastSeen Checkpoint   // that checkpoint; guarded by cpMu
	cpKick   chan struct{}
}

// request is one Record or Append call waiting for its batch.
type request struct {
	recs  []record
	first int64 // the index of recs[0], once written
	done  chan error
}

// record is an encoded entry and its query columns.
type record struct {
	time    time.Time
	subject []byte
	actor   []byte
	body    []byte
	// pend, if not nil, is an entry whose pseudonyms are not all known
	// yet: their salts are got or created in the batch's transaction
	// (SaltReader), and the entry encoded there.
	pend *pending
}

// pending is what encoding a record still needs.
type pending struct {
	ev      gdpr.Event // checked; its Subject and Actor IDs still in clear
	en      Entry      // checked, with its time and nonce
	actor   Pseudonym  // the actor's pseudonym, if known
	subject bool       // the subject's pseudonym is to be made
	actorPs bool       // the actor's pseudonym is to be made
}

// Option configures a Log in New. Options are made by this package's With
// functions only. New checks each: an option whose argument is nil or out
// of range makes New fail with an *Error whose Op is "new" and whose Field
// is the option's name (e.g. "WithClock"), wrapping ErrInvalid.
type Option interface{ apply(*Log) error }

// option is an Option named after the With function that made it.
type option struct {
	name string
	fn   func(*Log) error
}

func (o option) apply(l *Log) error {
	if err := o.fn(l); err != nil {
		return &Error{Op: "new", Field: o.name, Err: err}
	}
	return nil
}

// WithOrigin sets the origin line of the Log's checkpoints, a name unique
// to this log, e.g. "example.com/audit": a printable line of 1 to 256
// bytes. Default: the signer's name.
func WithOrigin(origin string) Option {
	return option{"WithOrigin", func(l *Log) error {
		if origin == "" || !printable(origin) || len(origin) > 256 {
			return fmt.Errorf("%w: the origin is a printable line of 1 to 256 bytes", ErrInvalid)
		}
		l.origin = origin
		return nil
	}}
}

// WithAnchor publishes every checkpoint to a. New also checks the log
// against a's latest checkpoint. A nil a, a nil *FileAnchor and a
// FileAnchor without a Dir or with a negative Keep are refused. Default:
// no anchor; checkpoints are kept in the Store only, where an insider can
// cut them with the log.
func WithAnchor(a Anchor) Option {
	return option{"WithAnchor", func(l *Log) error {
		if a == nil {
			return fmt.Errorf("%w: nil anchor", ErrInvalid)
		}
		if fa, ok := a.(*FileAnchor); ok {
			if _, err := fa.check(); err != nil {
				return err
			}
		}
		l.anchor = a
		return nil
	}}
}

// WithCheckpoints sets how often the Log signs a checkpoint: after every
// entries entries it appends, and every interval while the log grows.
// Zero turns either off; negative values are refused. Default: 1000
// entries, 10 seconds.
func WithCheckpoints(entries int64, interval time.Duration) Option {
	return option{"WithCheckpoints", func(l *Log) error {
		if entries < 0 || interval < 0 {
			return fmt.Errorf("%w: negative checkpoint interval", ErrInvalid)
		}
		l.cpEvery, l.cpInterval = entries, interval
		return nil
	}}
}

// WithMaxBatch sets how many entries at most one Store transaction
// appends, 1 to MaxAppend (4096); an Append of more events is still one
// transaction. Default: 512.
func WithMaxBatch(n int) Option {
	return option{"WithMaxBatch", func(l *Log) error {
		if n < 1 || n > MaxAppend {
			return fmt.Errorf("%w: batch size must be 1 to %d", ErrInvalid, MaxAppend)
		}
		l.maxBatch = n
		return nil
	}}
}

// WithPseudonymCache sets how many pseudonyms the Log keeps in memory, and
// for how long. After EraseSubject or ForgetActor on one instance, other
// instances may write the old pseudonym for up to ttl: those entries stay
// linked to the subject's earlier ones, but, the salt gone, to no ID.
// size 0 or ttl 0 turns the cache off; negative values are refused. The
// cache's expiry reads the system clock, not WithClock's. Default: 10,000
// pseudonyms for 1 minute.
func WithPseudonymCache(size int, ttl time.Duration) Option {
	return option{"WithPseudonymCache", func(l *Log) error {
		if size < 0 || ttl < 0 {
			return fmt.Errorf("%w: negative cache size or TTL", ErrInvalid)
		}
		l.ps.size, l.ps.ttl = size, ttl
		return nil
	}}
}

// WithClock sets the clock that stamps events recorded without a time:
// now is called once per Append (or Record) that needs it, from the
// caller's goroutine, and must be safe for concurrent use. A nil now is
// refused. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return option{"WithClock", func(l *Log) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		l.now = now
		return nil
	}}
}

// WithErrorHandler sets the function that receives the errors of the
// Log's background work (periodic checkpoints); they carry no personal
// data. f is called from the Log's own goroutine and must not call Close.
// A nil f is refused. Default: each error is logged with log/slog's
// default logger at level Error.
func WithErrorHandler(f func(error)) Option {
	return option{"WithErrorHandler", func(l *Log) error {
		if f == nil {
			return fmt.Errorf("%w: nil error handler", ErrInvalid)
		}
		l.onError = f
		return nil
	}}
}

// MaxAppend is the most events one Append call takes.
const MaxAppend = 4096

// New opens the log kept in store. key is the secret pseudonym key, at
// least MinKeySize random bytes, kept outside the database (a secrets
// manager, a KMS-decrypted file); losing it loses the way from a subject to
// their entries, and anyone holding it with the salt table can test a guess
// of an ID. signer signs checkpoints and verifier checks them; NewSigner
// returns both for an Ed25519 key.
//
// New checks, with consistency proofs from the stored hashes, that the log
// extends its latest stored checkpoint and, if an anchor is set, the
// anchor's latest, and returns an error wrapping ErrTampered if it does
// not: the log was rewritten, cut short, or restored from a backup older
// than the checkpoint. A store error while it reads a proof (a timeout, a
// lost connection, ctx done) is returned wrapped, not as ErrTampered; a
// hash the proof needs that is not stored is tampering. It does not read
// the entries; Verify does.
func New(ctx context.Context, store Store, key []byte, signer note.Signer, verifier note.Verifier, opts ...Option) (*Log, error) {
	if err := checkCtx(ctx, "new"); err != nil {
		return nil, err
	}
	switch {
	case store == nil:
		return nil, wrap("new", invalid("store", "nil store"))
	case len(key) < MinKeySize:
		return nil, wrap("new", invalid("key", fmt.Sprintf("the pseudonym key needs at least %d bytes", MinKeySize)))
	case signer == nil:
		return nil, wrap("new", invalid("signer", "nil signer"))
	case verifier == nil:
		return nil, wrap("new", invalid("verifier", "nil verifier"))
	}
	l := &Log{
		store: store, signer: &secretSigner{signer}, verifier: verifier, origin: signer.Name(),
		ps:  newPseudonymizer(store, key, 10_000, time.Minute),
		now: time.Now, maxBatch: 512, flushTimeout: time.Minute,
		cpEvery: 1000, cpInterval: 10 * time.Second,
		queue: make(chan *request, 4096), stop: make(chan struct{}), cpKick: make(chan struct{}, 1),
	}
	l.onError = func(err error) { slog.Error("audit log background work failed", "err", err) }
	for _, o := range opts {
		if o == nil {
			return nil, wrap("new", invalid("opts", "nil option"))
		}
		if err := o.apply(l); err != nil {
			return nil, err
		}
	}
	// A signer and verifier that do not match would sign checkpoints no
	// one can check: refuse them now.
	probe, err := signCheckpoint(Checkpoint{Origin: l.origin}, signer)
	if err != nil {
		return nil, wrap("new", &Error{Field: "signer", Err: err})
	}
	if _, err := openCheckpoint(probe.Note, l.origin, verifier); err != nil {
		return nil, wrap("new", invalid("verifier", "the verifier does not check the signer's signatures"))
	}
	l.lastCP.Store(-1) // an empty log gets a checkpoint too
	// The checkpoints first, then the head: a checkpoint is stored only
	// after its head committed, so a head read after it is never shorter,
	// whatever other instances append meanwhile.
	var cps []Checkpoint
	for _, src := range l.trustedSources() {
		cp, err := src.load(ctx, l)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, wrap("new", fmt.Errorf("%s: %w", src.name, err))
		}
		cps = append(cps, cp)
	}
	h, err := store.Head(ctx)
	if err != nil {
		return nil, wrap("new", err)
	}
	for _, cp := range cps {
		if err := l.extends(ctx, h, cp); err != nil {
			return nil, wrap("new", err)
		}
		if cp.Size > l.lastCP.Load() {
			l.lastCP.Store(cp.Size)
			l.lastSeen = cp
		}
	}
	l.wg.Add(2)
	go l.flusher()
	go l.checkpointer()
	return l, nil
}

// Origin returns the origin line of the Log's checkpoints.
func (l *Log) Origin() string { return l.origin }

// Verifier returns the verifier of the Log's checkpoints.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// Format implements fmt.Formatter so that no verb prints what a Log
// holds: its pseudonym key, its signer, its cached pseudonyms. %#v prints
// GoString, %q the quoted text of %v, and every other verb (%v, %+v, %s,
// %x, …) "audit.Log(<origin>)"; the origin is public, in every checkpoint.
func (l *Log) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, l.GoString())
	case verb == 'q':
		io.WriteString(f, strconv.Quote(l.String()))
	default:
		io.WriteString(f, l.String())
	}
}

// String returns "audit.Log(<origin>)".
func (l *Log) String() string {
	if l == nil {
		return "audit.Log(nil)"
	}
	return "audit.Log(" + l.origin + ")"
}

// GoString returns `&audit.Log{origin: "<origin>"}`, for %#v.
func (l *Log) GoString() string {
	if l == nil {
		return "(*audit.Log)(nil)"
	}
	return "&audit.Log{origin: " + strconv.Quote(l.origin) + "}"
}

// secretSigner holds a Log's signer behind a pointer, so that even a Log
// printed field by field through reflection (a copy of the struct, not
// the *Log, whose Format masks everything) shows an address rather than a
// signer that keeps its private key in its value.
type secretSigner struct{ s note.Signer }

// Record appends e to the log and returns once it is durably stored.
//
// Before it checks e, Record fills in what the call's context says: an
// event whose Actor is zero takes gdpr.ActorFrom(ctx), and one whose
// Purpose is empty takes gdpr.PurposeFrom(ctx) (see gdpr.WithActor and
// gdpr.WithPurpose); an Actor or Purpose set on e wins over the
// context's. It then replaces e.Subject, and the ID of a staff or subject
// actor, with their pseudonyms; an event without a time gets the current
// time (WithClock).
//
// The error is an *Error with Op "record". It wraps ErrInvalid for a nil
// ctx (Field "ctx") and for an event the log cannot hold (see Entry's
// limits; an event without an actor, in e or in ctx, is one), and
// ErrClosed after Close; any error means the event was not recorded,
// unless the Store lost its connection while committing, when it may have
// been. Record implements gdpr.Recorder.
func (l *Log) Record(ctx context.Context, e gdpr.Event) error {
	_, err := l.Append(ctx, e)
	return err
}

// Append appends events to the log in one transaction, at consecutive
// indexes, and returns the index of the first. It does what Record does for
// each event, the context's actor and purpose included; if one is invalid,
// none is appended. It takes 1 to MaxAppend events.
func (l *Log) Append(ctx context.Context, events ...gdpr.Event) (int64, error) {
	if err := checkCtx(ctx, "record"); err != nil {
		return 0, err
	}
	if err := checkReserved(events); err != nil {
		return 0, wrap("record", err)
	}
	return l.append(ctx, events)
}

// checkReserved refuses events whose action is the Log's own.
func checkReserved(events []gdpr.Event) error {
	for _, e := range events {
		if strings.HasPrefix(e.Action, reservedPrefix) {
			return invalid("Action", "actions "+reservedPrefix+"… are the log's own")
		}
	}
	return nil
}

// reservedPrefix starts the actions only the Log itself records, such as
// audit.redact: a caller who could record one could make a deleted entry
// look redacted.
const reservedPrefix = "audit."

func (l *Log) append(ctx context.Context, events []gdpr.Event) (int64, error) {
	l.closeMu.RLock()
	closed := l.closed
	l.closeMu.RUnlock()
	if closed {
		return 0, wrap("record", ErrClosed) // before a salt is made
	}
	salt := salts{get: l.store.Salt, committed: true, deferNew: !l.eagerSalts.Load()}
	recs, err := l.prepare(ctx, events, salt)
	if err != nil {
		return 0, wrap("record", err)
	}
	r := &request{recs: recs, done: make(chan error, 1)}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return 0, wrap("record", ErrClosed)
	}
	l.queue <- r
	l.closeMu.RUnlock()
	// Once queued the entry is written or refused by the flusher, within
	// its own timeout: waiting for the outcome, rather than returning on
	// ctx's cancellation, keeps "an error means not recorded" true.
	if err := <-r.done; err != nil {
		return 0, wrap("record", err)
	}
	return r.first, nil
}

// AppendTx appends events through a, typically a SQL store's appender
// bound to the caller's own transaction (sqlaudit's Store.Tx), so that the
// audit entries commit or roll back with the caller's change. It fills in
// the context's actor and purpose as Record does. It bypasses the group
// commit, and the append lock is held until the caller's transaction
// ends: keep that transaction short. If a is a SaltAppender, new salts are
// created through it, in the same transaction, and the pseudonyms made
// from them are not cached, so a rolled-back salt is never used again. A
// nil ctx or a nil a is refused with ErrInvalid (Field "ctx", "a").
func (l *Log) AppendTx(ctx context.Context, a Appender, events ...gdpr.Event) (int64, error) {
	if err := checkCtx(ctx, "record"); err != nil {
		return 0, err
	}
	if a == nil {
		return 0, wrap("record", invalid("a", "nil appender"))
	}
	if err := checkReserved(events); err != nil {
		return 0, wrap("record", err)
	}
	l.closeMu.RLock()
	closed := l.closed
	l.closeMu.RUnlock()
	if closed {
		return 0, wrap("record", ErrClosed)
	}
	salt := salts{get: l.store.Salt, committed: true}
	if sa, ok := a.(SaltAppender); ok {
		salt = salts{get: sa.Salt}
	}
	recs, err := l.prepare(ctx, events, salt)
	if err != nil {
		return 0, wrap("record", err)
	}
	var first int64
	err = a.Append(ctx, func(h Head, r tlog.HashReader) (*Batch, error) {
		b, err := l.build(h, r, recs)
		if err == nil {
			first = h.Size
		}
		return b, err
	})
	// The caller may still roll back: the Log's view of the tree is not
	// moved; the next batch reads the head again.
	return first, wrap("record", err)
}

// prepare turns events into records: completed from ctx, checked,
// pseudonymised, encoded.
func (l *Log) prepare(ctx context.Context, events []gdpr.Event, salt salts) ([]record, error) {
	if len(events) == 0 || len(events) > MaxAppend {
		return nil, invalid("events", fmt.Sprintf("append 1 to %d events", MaxAppend))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctxActor, hasActor := gdpr.ActorFrom(ctx)
	ctxPurpose, hasPurpose := gdpr.PurposeFrom(ctx)
	if hasActor || hasPurpose {
		// Fill in a copy: the caller's slice is theirs.
		events = slices.Clone(events)
		for i := range events {
			if hasActor && events[i].Actor.IsZero() {
				events[i].Actor = ctxActor
			}
			if hasPurpose && events[i].Purpose == "" {
				events[i].Purpose = ctxPurpose
			}
		}
	}
	entries := make([]Entry, len(events))
	var now time.Time
	for i, ev := range events {
		en := &entries[i]
		if ev.Time.IsZero() {
			if now.IsZero() {
				now = l.now()
			}
			ev.Time = now
		}
		*en = Entry{Time: ev.Time.Truncate(time.Microsecond).UTC(), Actor: ev.Actor, Action: ev.Action,
			Purpose: ev.Purpose, Categories: ev.Categories, Resource: ev.Resource, Outcome: ev.Outcome, Attrs: ev.Attrs}
		// Check everything before a salt is made: placeholders stand in
		// for the pseudonyms.
		if err := ev.Actor.Validate(); err != nil {
			return nil, invalid("Actor", "bad actor")
		}
		if ev.Actor.Kind != gdpr.ActorSystem && ev.Actor.ID != "" {
			en.Actor.ID = placeholder
		}
		if ev.Subject != "" {
			if err := ev.Subject.Validate(); err != nil {
				return nil, invalid("Subject", "bad subject ID")
			}
		}
		if err := en.validate(); err != nil {
			return nil, err
		}
	}
	recs := make([]record, len(events))
	nonces := make([]byte, NonceSize*len(events))
	rand.Read(nonces)
	var one [1]Pseudonym // no allocation for a single event
	actors := one[:]
	if len(events) > 1 {
		actors = make([]Pseudonym, len(events))
	}
	if salt.deferNew {
		// Known pseudonyms from the cache, under one lock; the others
		// are made in the batch's transaction.
		now := l.ps.now()
		l.ps.mu.RLock()
		for i := range events {
			ev, en := &events[i], &entries[i]
			var pend *pending
			if ev.Subject != "" {
				if p, ok := l.ps.cachedLocked(nsSubject, string(ev.Subject), now); ok {
					en.Subject = p
				} else {
					pend = &pending{subject: true}
				}
			}
			if ev.Actor.Kind != gdpr.ActorSystem && ev.Actor.ID != "" {
				if p, ok := l.ps.cachedLocked(actorNS(ev.Actor), ev.Actor.ID, now); ok {
					actors[i] = p
				} else {
					if pend == nil {
						pend = &pending{}
					}
					pend.actorPs = true
				}
			}
			recs[i].pend = pend
		}
		l.ps.mu.RUnlock()
	} else {
		for i, ev := range events {
			en := &entries[i]
			if ev.Subject != "" {
				p, err := l.ps.get(ctx, nsSubject, string(ev.Subject), salt)
				if err != nil {
					return nil, err
				}
				en.Subject = p
			}
			if ev.Actor.Kind != gdpr.ActorSystem && ev.Actor.ID != "" {
				p, err := l.ps.get(ctx, actorNS(ev.Actor), ev.Actor.ID, salt)
				if err != nil {
					return nil, err
				}
				actors[i] = p
			}
		}
	}
	// One allocation holds the columns and bodies of every record.
	total := 0
	for i := range events {
		if recs[i].pend == nil {
			total += recordSize(&entries[i], &events[i])
		}
	}
	slab := make([]byte, 0, total)
	for i := range events {
		en := &entries[i]
		copy(en.Nonce[:], nonces[i*NonceSize:])
		if p := recs[i].pend; p != nil {
			p.ev, p.en, p.actor = events[i], *en, actors[i]
			recs[i].time = en.Time
			continue
		}
		slab = encode(&recs[i], en, &events[i], actors[i], slab)
	}
	return recs, nil
}

// actorNS is the namespace of a staff or subject actor's pseudonym.
func actorNS(a gdpr.Actor) string {
	if a.Kind == gdpr.ActorSubject {
		return nsSubject
	}
	return nsStaff
}

// recordSize is the room encode takes for a record of en, for ev.
func recordSize(en *Entry, ev *gdpr.Event) int {
	return 2*len(Pseudonym{}) + len(ev.Actor.Kind) + 1 + len(ev.Actor.ID) + en.size()
}

// encode fills rec from the checked entry en of event ev, whose subject
// pseudonym is set and whose actor's pseudonym is actor, in the free
// capacity of slab if it has recordSize, and returns the rest of slab.
func encode(rec *record, en *Entry, ev *gdpr.Event, actor Pseudonym, slab []byte) []byte {
	var buf []byte
	if need := recordSize(en, ev); cap(slab)-len(slab) >= need {
		buf, slab = slab[len(slab):len(slab):len(slab)+need], slab[:len(slab)+need]
	} else {
		buf = make([]byte, 0, need)
	}
	rec.subject = nil
	if ev.Subject != "" {
		buf = append(buf, en.Subject[:]...)
		rec.subject = buf[:len(buf):len(buf)]
	}
	n := len(buf)
	buf = append(append(buf, ev.Actor.Kind...), ':')
	switch {
	case ev.Actor.Kind == gdpr.ActorSystem:
		buf = append(buf, ev.Actor.ID...)
	case ev.Actor.ID != "":
		buf = append(buf, actor[:]...)
	}
	rec.actor = buf[n:len(buf):len(buf)]
	rec.time = en.Time
	rec.body = en.appendBinary(buf[len(buf):], actor[:])
	return slab
}

// errNoSaltReader is what a batch's append function returns when the
// Store's reader is not a SaltReader: the flusher then creates the salts
// through Store.Salt, before the append, from then on.
var errNoSaltReader = errors.New("audit: the store's append reader is not a SaltReader")

// newPseudonym is a pseudonym made in a batch, to cache once it commits.
type newPseudonym struct {
	k cacheKey
	p Pseudonym
}

// resolve encodes the pending records of recs, getting or creating their
// salts through r in the batch's transaction, one call for the batch. It
// returns the pseudonyms it made, for the cache.
func (l *Log) resolve(r tlog.HashReader, recs []record) ([]newPseudonym, error) {
	var keys []cacheKey
	var at map[cacheKey]int
	add := func(k cacheKey) {
		if _, ok := at[k]; !ok {
			if at == nil {
				at = make(map[cacheKey]int)
			}
			at[k] = len(keys)
			keys = append(keys, k)
		}
	}
	for i := range recs {
		if p := recs[i].pend; p != nil {
			if p.subject {
				add(cacheKey{nsSubject, string(p.ev.Subject)})
			}
			if p.actorPs {
				add(cacheKey{actorNS(p.ev.Actor), p.ev.Actor.ID})
			}
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	sr, ok := r.(SaltReader)
	if !ok {
		return nil, errNoSaltReader
	}
	refs := make([][]byte, len(keys))
	fresh := make([][]byte, len(keys))
	buf := make([]byte, 2*saltSize*len(keys))
	rand.Read(buf[saltSize*len(keys):])
	for k, key := range keys {
		ref := l.ps.mac("gdpr/audit/salt-ref/v1\x00", key.ns, "\x00", key.id)
		refs[k] = append(buf[k*saltSize:k*saltSize:(k+1)*saltSize], ref[:]...)
		off := saltSize * (len(keys) + k)
		fresh[k] = buf[off : off+saltSize : off+saltSize]
	}
	got, err := sr.Salts(refs, fresh)
	if err != nil {
		return nil, err
	}
	if len(got) != len(keys) {
		return nil, fmt.Errorf("%w: the store returned %d salts for %d refs", ErrTampered, len(got), len(keys))
	}
	made := make([]newPseudonym, len(keys))
	for k, key := range keys {
		if len(got[k]) != saltSize {
			return nil, fmt.Errorf("%w: the store returned a salt of %d bytes", ErrTampered, len(got[k]))
		}
		made[k] = newPseudonym{key, l.ps.derive(key.ns, key.id, got[k])}
	}
	for i := range recs {
		p := recs[i].pend
		if p == nil {
			continue
		}
		en := p.en
		actor := p.actor
		if p.subject {
			en.Subject = made[at[cacheKey{nsSubject, string(p.ev.Subject)}]].p
		}
		if p.actorPs {
			actor = made[at[cacheKey{actorNS(p.ev.Actor), p.ev.Actor.ID}]].p
		}
		encode(&recs[i], &en, &p.ev, actor, nil)
	}
	return made, nil
}

// resolveEager encodes the pending records of recs with salts got or
// created through Store.Salt, outside any append.
func (l *Log) resolveEager(ctx context.Context, recs []record) error {
	salt := salts{get: l.store.Salt, committed: true}
	for i := range recs {
		p := recs[i].pend
		if p == nil {
			continue
		}
		en := p.en
		actor := p.actor
		if p.subject {
			ps, err := l.ps.get(ctx, nsSubject, string(p.ev.Subject), salt)
			if err != nil {
				return err
			}
			en.Subject = ps
		}
		if p.actorPs {
			ps, err := l.ps.get(ctx, actorNS(p.ev.Actor), p.ev.Actor.ID, salt)
			if err != nil {
				return err
			}
			actor = ps
		}
		encode(&recs[i], &en, &p.ev, actor, nil)
		recs[i].pend = nil
	}
	return nil
}

const placeholder = "0000000000000000000000000000000000000000000000000000000000000000"

// actorColumn returns the Actor column value for a, or false if a has no
// pseudonym yet (nothing was ever recorded for it).
func (l *Log) actorColumn(ctx context.Context, a gdpr.Actor) ([]byte, bool, error) {
	if err := a.Validate(); err != nil {
		return nil, false, invalid("Actor", "bad actor")
	}
	switch {
	case a.Kind == gdpr.ActorSystem:
		return []byte("system:" + a.ID), true, nil
	case a.ID == "":
		return []byte(string(a.Kind) + ":"), true, nil
	}
	ns := nsStaff
	if a.Kind == gdpr.ActorSubject {
		ns = nsSubject
	}
	p, ok, err := l.ps.lookup(ctx, ns, a.ID)
	if !ok || err != nil {
		return nil, false, err
	}
	return append([]byte(string(a.Kind)+":"), p[:]...), true, nil
}

// flusher is the group commit: it takes every request waiting, up to
// maxBatch entries (a larger request goes alone), and appends them in one
// Store transaction, with those that arrived while it waited for the
// append lock.
func (l *Log) flusher() {
	defer l.wg.Done()
	var carry *request
	for {
		var first *request
		if carry != nil {
			first, carry = carry, nil
		} else {
			select {
			case first = <-l.queue:
			case <-l.stop:
				// Close stopped new requests before closing stop: what
				// is queued is all there will be. Write it in batches,
				// then return.
				select {
				case first = <-l.queue:
				default:
					return
				}
			}
		}
		b := &gathered{l: l, n: len(first.recs)}
		b.one[0] = first
		b.reqs = b.one[:]
		l.gather(b)
		l.flush(b)
		carry = b.carry
	}
}

// gathered is the requests of one batch, and what its append made.
type gathered struct {
	l     *Log
	one   [1]*request // reqs while there is one
	reqs  []*request
	n     int      // their entries
	carry *request // the first request that did not fit, for the next batch

	recs  []record       // the records of reqs, in order
	out   *Batch         // the batch of the last call of build
	edge  []tlog.Hash    // its frontier
	start int64          // its first index
	made  []newPseudonym // the pseudonyms its salts gave
}

// build is the AppendFunc of the batch.
func (b *gathered) build(h Head, r tlog.HashReader) (*Batch, error) {
	l := b.l
	// The requests queued while this append waited for the lock join
	// it: under contention the batch is as large as it can be.
	l.gather(b)
	if len(b.reqs) == 1 {
		b.recs = b.reqs[0].recs
	} else {
		b.recs = b.recs[:0]
		for _, q := range b.reqs {
			b.recs = append(b.recs, q.recs...)
		}
	}
	var err error
	if b.made, err = l.resolve(r, b.recs); err != nil {
		b.out = nil
		return nil, err
	}
	bt, f, err := l.buildFrontier(h, r, b.recs)
	b.out, b.edge, b.start = bt, f, h.Size
	return bt, err
}

// gather adds the requests waiting in the queue to b, up to maxBatch
// entries, without waiting.
func (l *Log) gather(b *gathered) {
	for b.carry == nil && b.n < l.maxBatch {
		select {
		case r := <-l.queue:
			if b.n+len(r.recs) > l.maxBatch {
				b.carry = r
				return
			}
			b.reqs = append(b.reqs, r)
			b.n += len(r.recs)
		default:
			return
		}
	}
}

func (l *Log) flush(b *gathered) {
	ctx, cancel := context.WithTimeout(context.Background(), l.flushTimeout)
	defer cancel()
	gen := l.ps.generation()
	fn := b.build
	err := l.store.Append(ctx, fn)
	for errors.Is(err, errNoSaltReader) {
		// A Store whose reader cannot create salts: create them before
		// the append, as Store.Salt does, for this batch and the next.
		// (Requests made before then and gathered by the next try may
		// need this again; they are finitely many.)
		l.eagerSalts.Store(true)
		for _, q := range b.reqs {
			if err = l.resolveEager(ctx, q.recs); err != nil {
				break
			}
		}
		if err == nil {
			err = l.store.Append(ctx, fn)
		}
	}
	out, start := b.out, b.start
	if err == nil && out == nil {
		err = errors.New("the store's Append did not call the append function")
	}
	if err == nil {
		l.treeMu.Lock()
		l.tree = treeState{size: out.Size, root: out.Root, frontier: b.edge}
		l.treeMu.Unlock()
		now := l.ps.now()
		for _, m := range b.made {
			l.ps.put(m.k, m.p, now, gen)
		}
	}
	for _, r := range b.reqs {
		r.first = start
		start += int64(len(r.recs))
		r.done <- err
	}
	if err == nil && l.cpEvery > 0 && out.Size-l.lastCP.Load() >= l.cpEvery {
		select {
		case l.cpKick <- struct{}{}:
		default:
		}
	}
}

// checkpointer signs checkpoints when kicked by the flusher or when the
// interval passes.
func (l *Log) checkpointer() {
	defer l.wg.Done()
	var tick <-chan time.Time
	if l.cpInterval > 0 {
		t := time.NewTicker(l.cpInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-l.stop:
			return
		case <-l.cpKick:
		case <-tick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.flushTimeout)
		if _, err := l.checkpointIfGrown(ctx); err != nil {
			l.onError(err)
		}
		cancel()
	}
}

func (l *Log) checkpointIfGrown(ctx context.Context) (bool, error) {
	h, err := l.store.Head(ctx)
	if err != nil {
		return false, wrap("checkpoint", err)
	}
	if h.Size <= l.lastCP.Load() {
		return false, nil
	}
	_, err = l.Checkpoint(ctx)
	return err == nil, err
}

// Close stops new appends, writes those already queued, signs a last
// checkpoint if the log grew, and stops the Log's goroutines. The last
// checkpoint is refused as Checkpoint refuses one: Close returns an error
// wrapping ErrTampered, and signs nothing, if the log no longer extends
// what this Log wrote or a checkpoint it knows of. It does not
// close the Store. The queued appends are written whatever ctx says (each
// within the Log's own timeout), so that no caller waiting for one is left
// without an answer; ctx bounds the last checkpoint. Calls after the first
// return nil at once. A nil ctx is refused with ErrInvalid (Field "ctx")
// and closes nothing.
func (l *Log) Close(ctx context.Context) error {
	if err := checkCtx(ctx, "close"); err != nil {
		return err
	}
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	l.closeMu.Unlock()
	close(l.stop)
	l.wg.Wait()
	_, err := l.checkpointIfGrown(ctx)
	return err
}
