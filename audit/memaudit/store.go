package memaudit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
)

// Store is an in-memory audit.Store. The zero value is not usable; call New.
// A Store is safe for concurrent use by many goroutines.
type Store struct {
	// appendMu is the append lock: Append holds it for the whole call,
	// fn included, so appends are serialised.
	appendMu sync.Mutex

	// mu guards everything below. Append takes it only to read the head,
	// to read hashes for fn and to apply a checked batch, so readers are
	// not held up while fn computes.
	mu          sync.RWMutex
	head        audit.Head
	hashes      hashList             // by storage index (tlog.StoredHashIndex)
	entries     []*audit.StoredEntry // by Index; nil where none is stored
	bySubject   postings             // unredacted entries' indexes by subject
	byActor     postings             // unredacted entries' indexes by actor
	salts       map[string][]byte    // by ref
	checkpoints map[int64][]byte     // by tree size
}

var (
	_ audit.Store        = (*Store)(nil)
	_ audit.SaltLookuper = (*Store)(nil)
)

// Format implements fmt.Formatter so that no verb prints what a Store
// holds: its salts (which, with the Log's pseudonym key, link a pseudonym
// back to an ID, and whose deletion is what erasure means), pseudonyms and
// entries. Every verb prints "memaudit.Store", %q quoted, and %#v
// "&memaudit.Store{…}".
func (s *Store) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, s.GoString())
	case verb == 'q':
		io.WriteString(f, `"memaudit.Store"`)
	default:
		io.WriteString(f, "memaudit.Store")
	}
}

// GoString returns "&memaudit.Store{…}", for %#v.
func (s *Store) GoString() string { return "&memaudit.Store{…}" }

// New returns an empty Store.
func New() *Store {
	return &Store{
		bySubject:   make(postings),
		byActor:     make(postings),
		salts:       make(map[string][]byte),
		checkpoints: make(map[int64][]byte),
	}
}

func errorf(op string, sentinel error, format string, args ...any) error {
	return &audit.Error{Op: op, Err: fmt.Errorf("memaudit: %w: "+format, append([]any{sentinel}, args...)...)}
}

// ctxErr returns the error of op for a nil ctx (an *audit.Error with
// Field "ctx" wrapping audit.ErrInvalid) or a done one (ctx.Err()).
func ctxErr(ctx context.Context, op string) error {
	if ctx == nil {
		return &audit.Error{Op: op, Field: "ctx", Err: fmt.Errorf("memaudit: %w: nil context", audit.ErrInvalid)}
	}
	return ctx.Err()
}

func norm(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// stored returns e as the Store keeps it: a deep copy, its time to the
// microsecond in UTC.
func stored(e audit.StoredEntry) *audit.StoredEntry {
	e = clone(e)
	e.Time = norm(e.Time)
	return &e
}

// clone returns a deep copy of e, its byte slices in one allocation.
func clone(e audit.StoredEntry) audit.StoredEntry {
	buf := make([]byte, 0, len(e.Subject)+len(e.Actor)+len(e.Body))
	e.Subject, buf = cloneInto(buf, e.Subject)
	e.Actor, buf = cloneInto(buf, e.Actor)
	e.Body, _ = cloneInto(buf, e.Body)
	return e
}

// cloneInto copies b to the free capacity of buf (nil stays nil) and
// returns the copy, capped, and the rest of buf.
func cloneInto(buf, b []byte) ([]byte, []byte) {
	if b == nil {
		return nil, buf
	}
	n := len(buf)
	buf = append(buf, b...)
	return buf[n:len(buf):len(buf)], buf
}

// hashList is a list of hashes in chunks of fixed size, so that growing
// it never copies what it holds.
type hashList struct {
	chunks [][]tlog.Hash
	n      int64
}

const chunkSize = 1 << 14

func (l *hashList) len() int64 { return l.n }

func (l *hashList) at(i int64) *tlog.Hash { return &l.chunks[i/chunkSize][i%chunkSize] }

func (l *hashList) append(hs []tlog.Hash) {
	for len(hs) > 0 {
		if l.n%chunkSize == 0 && l.n/chunkSize == int64(len(l.chunks)) {
			l.chunks = append(l.chunks, make([]tlog.Hash, 0, chunkSize))
		}
		c := &l.chunks[l.n/chunkSize]
		k := min(len(hs), chunkSize-len(*c))
		*c = append(*c, hs[:k]...)
		hs = hs[k:]
		l.n += int64(k)
	}
}

// truncate keeps the first n hashes.
func (l *hashList) truncate(n int64) {
	for l.n > n {
		c := &l.chunks[(l.n-1)/chunkSize]
		k := min(int64(len(*c)), l.n-n)
		*c = (*c)[:int64(len(*c))-k]
		l.n -= k
	}
}

// copyOut returns a copy of *e that shares nothing with the Store.
func copyOut(e *audit.StoredEntry) audit.StoredEntry { return clone(*e) }

// Head implements audit.Store.
func (s *Store) Head(ctx context.Context) (audit.Head, error) {
	if err := ctxErr(ctx, "head"); err != nil {
		return audit.Head{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.head, nil
}

// ReadHashes implements audit.Store.
func (s *Store) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	if err := ctxErr(ctx, "read hashes"); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.readHashes("read hashes", indexes)
}

// readHashes reads stored hashes; s.mu is held.
func (s *Store) readHashes(op string, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= s.hashes.len() {
			return nil, errorf(op, audit.ErrNotFound, "no hash at storage index %d", x)
		}
		out[i] = *s.hashes.at(x)
	}
	return out, nil
}

// appendReader is the tlog.HashReader and audit.SaltReader that Append
// gives fn: it reads the committed hashes and salts, and keeps the salts
// fn creates until the batch is applied.
type appendReader struct {
	s      *Store
	staged map[string][]byte // new salts by ref
	done   bool              // fn returned: the reader is no longer valid
}

func (r *appendReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	r.s.mu.RLock()
	defer r.s.mu.RUnlock()
	return r.s.readHashes("append", indexes)
}

// Salts implements audit.SaltReader. No salt can be created meanwhile:
// Store.Salt waits for the append lock, so a staged salt is still new
// when the batch is applied.
func (r *appendReader) Salts(refs, fresh [][]byte) ([][]byte, error) {
	if r.done {
		return nil, errorf("salt", audit.ErrInvalid, "Salts called after the append function returned")
	}
	if len(refs) != len(fresh) {
		return nil, errorf("salt", audit.ErrInvalid, "%d refs and %d fresh salts", len(refs), len(fresh))
	}
	for i := range refs {
		if len(refs[i]) == 0 || len(fresh[i]) == 0 {
			return nil, errorf("salt", audit.ErrInvalid, "empty ref or salt")
		}
	}
	out := make([][]byte, len(refs))
	r.s.mu.RLock()
	defer r.s.mu.RUnlock()
	for i, ref := range refs {
		salt, ok := r.s.salts[string(ref)]
		if !ok {
			if salt, ok = r.staged[string(ref)]; !ok {
				if r.staged == nil {
					r.staged = make(map[string][]byte)
				}
				salt = bytes.Clone(fresh[i])
				r.staged[string(ref)] = salt
			}
		}
		out[i] = bytes.Clone(salt)
	}
	return out, nil
}

// Append implements audit.Appender. It calls fn once, holding the append
// lock but not blocking readers. A nil Batch writes nothing, and so does a
// Batch without entries that leaves the head as it is (any other is
// refused with audit.ErrConflict). An entry with a nil Body (it would read
// back as redacted) is refused with an error wrapping audit.ErrInvalid.
func (s *Store) Append(ctx context.Context, fn audit.AppendFunc) error {
	if err := ctxErr(ctx, "append"); err != nil {
		return err
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()

	s.mu.RLock()
	h := s.head
	s.mu.RUnlock()

	r := &appendReader{s: s}
	b, err := fn(h, r)
	r.done = true
	if err != nil {
		return err
	}
	if b == nil {
		return nil
	}
	if err := checkBatch(h, b); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(b.Entries) == 0 {
		return nil
	}

	// Copies of the entries, in two allocations for the batch: the
	// entries and their bytes.
	size := 0
	for _, e := range b.Entries {
		size += len(e.Subject) + len(e.Actor) + len(e.Body)
	}
	buf := make([]byte, 0, size)
	slab := make([]audit.StoredEntry, len(b.Entries))
	entries := make([]*audit.StoredEntry, len(b.Entries))
	for i, e := range b.Entries {
		e.Subject, buf = cloneInto(buf, e.Subject)
		e.Actor, buf = cloneInto(buf, e.Actor)
		e.Body, buf = cloneInto(buf, e.Body)
		e.Time = norm(e.Time)
		slab[i] = e
		entries[i] = &slab[i]
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if start := tlog.StoredHashIndex(0, h.Size); s.hashes.len() != start {
		return errorf("append", audit.ErrConflict, "%d hashes stored, want %d for a log of %d entries", s.hashes.len(), start, h.Size)
	}
	for _, e := range entries {
		if e.Index < int64(len(s.entries)) && s.entries[e.Index] != nil {
			return errorf("append", audit.ErrConflict, "index %d already stored", e.Index)
		}
	}
	for ref, salt := range r.staged {
		s.salts[ref] = salt
	}
	s.hashes.append(b.Hashes)
	if n := int(b.Size) - len(s.entries); n > 0 {
		s.entries = slices.Grow(s.entries, n)[:b.Size]
	}
	for _, e := range entries {
		s.entries[e.Index] = e
		s.index(e)
	}
	s.head = audit.Head{Size: b.Size, Root: b.Root}
	return nil
}

// checkBatch returns an error unless b appends to a log whose head is h as
// the audit.Appender contract says.
func checkBatch(h audit.Head, b *audit.Batch) error {
	n := int64(len(b.Entries))
	if n > 0 && b.Entries[0].Index != h.Size {
		return errorf("append", audit.ErrConflict, "batch starts at index %d, head is at size %d", b.Entries[0].Index, h.Size)
	}
	if b.Size != h.Size+n {
		return errorf("append", audit.ErrConflict, "batch of %d entries moves the head from size %d to %d", n, h.Size, b.Size)
	}
	for i, e := range b.Entries {
		if want := h.Size + int64(i); e.Index != want {
			return errorf("append", audit.ErrConflict, "batch entry %d has index %d, want %d", i, e.Index, want)
		}
		if e.Body == nil {
			return errorf("append", audit.ErrInvalid, "entry %d has no body", e.Index)
		}
	}
	if want := tlog.StoredHashCount(b.Size) - tlog.StoredHashCount(h.Size); int64(len(b.Hashes)) != want {
		return errorf("append", audit.ErrConflict, "batch from size %d to %d has %d hashes, want %d", h.Size, b.Size, len(b.Hashes), want)
	}
	if n == 0 && b.Root != h.Root {
		return errorf("append", audit.ErrConflict, "batch without entries changes the root at size %d", h.Size)
	}
	return nil
}

// index adds the unredacted entry e to the query indexes; s.mu is held.
func (s *Store) index(e *audit.StoredEntry) {
	if e.Body == nil {
		return
	}
	if len(e.Subject) > 0 {
		s.bySubject.add(e.Subject, e.Index)
	}
	if len(e.Actor) > 0 {
		s.byActor.add(e.Actor, e.Index)
	}
}

// postings maps a subject or actor to the ascending indexes of its
// entries. The lists are held by pointer so that adding to a known key
// neither allocates the key again nor writes the map.
type postings map[string]*[]int64

func (p postings) add(key []byte, i int64) {
	if l, ok := p[string(key)]; ok {
		*l = insert(*l, i)
		return
	}
	p[string(key)] = &[]int64{i}
}

// get returns the list of key; nil if none.
func (p postings) get(key string) []int64 {
	if l, ok := p[key]; ok {
		return *l
	}
	return nil
}

// unindex removes e from the query indexes; s.mu is held.
func (s *Store) unindex(e *audit.StoredEntry) {
	if len(e.Subject) > 0 {
		remove(s.bySubject, string(e.Subject), e.Index)
	}
	if len(e.Actor) > 0 {
		remove(s.byActor, string(e.Actor), e.Index)
	}
}

// insert adds i to the ascending list l.
func insert(l []int64, i int64) []int64 {
	if n := len(l); n == 0 || l[n-1] < i {
		return append(l, i) // the common case: an append
	}
	j, found := slices.BinarySearch(l, i)
	if found {
		return l
	}
	return slices.Insert(l, j, i)
}

// remove deletes i from the ascending list m[key].
func remove(m postings, key string, i int64) {
	l, ok := m[key]
	if !ok {
		return
	}
	j, found := slices.BinarySearch(*l, i)
	if !found {
		return
	}
	if *l = slices.Delete(*l, j, j+1); len(*l) == 0 {
		delete(m, key)
	}
}

// Entries implements audit.Store. A negative limit is refused with an
// error wrapping audit.ErrInvalid; a zero one returns no entries. A
// negative from counts as 0.
func (s *Store) Entries(ctx context.Context, from int64, limit int) ([]audit.StoredEntry, error) {
	if err := ctxErr(ctx, "entries"); err != nil {
		return nil, err
	}
	if limit < 0 {
		return nil, errorf("entries", audit.ErrInvalid, "negative limit %d", limit)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []audit.StoredEntry
	for i := max(from, 0); i < int64(len(s.entries)) && len(out) < limit; i++ {
		if e := s.entries[i]; e != nil {
			out = append(out, copyOut(e))
		}
	}
	return out, nil
}

// Query implements audit.Store. With Subject or Actor set it reads that
// subject's or actor's index (the shorter, if both are set) rather than
// every entry. A negative From counts as 0.
func (s *Store) Query(ctx context.Context, f audit.StoreFilter) ([]audit.StoredEntry, error) {
	if err := ctxErr(ctx, "query"); err != nil {
		return nil, err
	}
	if f.Limit < 1 {
		return nil, errorf("query", audit.ErrInvalid, "limit %d is less than 1", f.Limit)
	}
	from := max(f.From, 0)
	s.mu.RLock()
	defer s.mu.RUnlock()

	var out []audit.StoredEntry
	visit := func(i int64) bool {
		if e := s.entries[i]; e != nil && matches(e, f) {
			out = append(out, copyOut(e))
		}
		return len(out) < f.Limit
	}
	l, indexed := s.candidates(f)
	if !indexed {
		for i := from; i < int64(len(s.entries)) && visit(i); i++ {
		}
		return out, nil
	}
	j, _ := slices.BinarySearch(l, from)
	for _, i := range l[j:] {
		if !visit(i) {
			break
		}
	}
	return out, nil
}

// candidates returns the ascending indexes of the unredacted entries with
// f's Subject or Actor, and whether f sets either; s.mu is held.
func (s *Store) candidates(f audit.StoreFilter) ([]int64, bool) {
	switch {
	case len(f.Subject) > 0 && len(f.Actor) > 0:
		l, m := s.bySubject.get(string(f.Subject)), s.byActor.get(string(f.Actor))
		if len(m) < len(l) {
			return m, true
		}
		return l, true
	case len(f.Subject) > 0:
		return s.bySubject.get(string(f.Subject)), true
	case len(f.Actor) > 0:
		return s.byActor.get(string(f.Actor)), true
	}
	return nil, false
}

// matches reports whether the stored entry e matches every non-zero field
// of f but Limit.
func matches(e *audit.StoredEntry, f audit.StoreFilter) bool {
	return e.Body != nil &&
		e.Index >= f.From &&
		(len(f.Subject) == 0 || bytes.Equal(e.Subject, f.Subject)) &&
		(len(f.Actor) == 0 || bytes.Equal(e.Actor, f.Actor)) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until))
}

// Redact implements audit.Store. The dropped bytes are overwritten with
// zeros, since they may stay reachable in memory until collected.
func (s *Store) Redact(ctx context.Context, index int64) error {
	if err := ctxErr(ctx, "redact"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if index < 0 || index >= int64(len(s.entries)) || s.entries[index] == nil {
		return errorf("redact", audit.ErrNotFound, "no entry at index %d", index)
	}
	e := s.entries[index]
	if e.Body == nil {
		return nil
	}
	s.unindex(e)
	clear(e.Body)
	clear(e.Subject)
	clear(e.Actor)
	s.entries[index] = &audit.StoredEntry{Index: index}
	return nil
}

// Salt implements audit.Store. It waits for an append in progress, which
// may be creating salts of its own (audit.SaltReader).
func (s *Store) Salt(ctx context.Context, ref []byte, fresh []byte) ([]byte, error) {
	if err := ctxErr(ctx, "salt"); err != nil {
		return nil, err
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	salt, ok := s.salts[string(ref)]
	if !ok {
		salt = bytes.Clone(fresh)
		s.salts[string(ref)] = salt
	}
	return bytes.Clone(salt), nil
}

// LookupSalt implements audit.Store.
func (s *Store) LookupSalt(ctx context.Context, ref []byte) ([]byte, error) {
	if err := ctxErr(ctx, "lookup salt"); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	salt, ok := s.salts[string(ref)]
	if !ok {
		return nil, errorf("lookup salt", audit.ErrNotFound, "no salt under the ref")
	}
	return bytes.Clone(salt), nil
}

// LookupSalts implements audit.SaltLookuper: every ref under one read
// lock, the salts copied into one allocation. An empty ref is refused
// with an error wrapping audit.ErrInvalid, as the reader of an append
// refuses one.
func (s *Store) LookupSalts(ctx context.Context, refs [][]byte) ([][]byte, error) {
	if err := ctxErr(ctx, "lookup salts"); err != nil {
		return nil, err
	}
	for _, ref := range refs {
		if len(ref) == 0 {
			return nil, errorf("lookup salts", audit.ErrInvalid, "empty ref")
		}
	}
	out := make([][]byte, len(refs))
	size := 0
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, ref := range refs {
		out[i] = s.salts[string(ref)]
		size += len(out[i])
	}
	// Copies, so that the caller shares no bytes with the Store.
	buf := make([]byte, 0, size)
	for i := range out {
		out[i], buf = cloneInto(buf, out[i])
	}
	return out, nil
}

// DeleteSalt implements audit.Store. The deleted salt's bytes are
// overwritten with zeros.
func (s *Store) DeleteSalt(ctx context.Context, ref []byte) (bool, error) {
	if err := ctxErr(ctx, "delete salt"); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	salt, ok := s.salts[string(ref)]
	if ok {
		clear(salt)
		delete(s.salts, string(ref))
	}
	return ok, nil
}

// PutCheckpoint implements audit.Store.
func (s *Store) PutCheckpoint(ctx context.Context, size int64, note []byte) error {
	if err := ctxErr(ctx, "put checkpoint"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.checkpoints[size]; !ok {
		s.checkpoints[size] = bytes.Clone(note)
	}
	return nil
}

// LatestCheckpoint implements audit.Store.
func (s *Store) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	if err := ctxErr(ctx, "latest checkpoint"); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var (
		latest []byte
		size   int64
		found  bool
	)
	for n, note := range s.checkpoints {
		if !found || n > size {
			latest, size, found = note, n, true
		}
	}
	if !found {
		return nil, errorf("latest checkpoint", audit.ErrNotFound, "no checkpoint")
	}
	return bytes.Clone(latest), nil
}
