package memkeys

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
)

// Store is an in-memory crypto.Store, and a crypto.TombstoneReader,
// crypto.BatchUpdater and crypto.BatchGetter. The zero value is not
// usable; call New.
// A Store is safe for concurrent use by many goroutines.
type Store struct {
	mu   sync.RWMutex
	recs map[string]*entry // by Ref: a live record or a tombstone
	// order holds the Refs of recs for List and Refs, in ascending order
	// when sorted is set. A new Ref is appended, and clears sorted unless
	// it sorts last; the next List or Refs sorts order again.
	order  []string
	sorted bool
}

// entry is a live record (shredded is zero) or a tombstone (rec holds the
// Ref only).
type entry struct {
	rec      crypto.Record
	shredded time.Time
}

var (
	_ crypto.Store           = (*Store)(nil)
	_ crypto.TombstoneReader = (*Store)(nil)
	_ crypto.BatchUpdater    = (*Store)(nil)
	_ crypto.BatchGetter     = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	return &Store{recs: make(map[string]*entry), sorted: true}
}

// add puts a new Ref's entry in s, with s.mu held.
func (s *Store) add(ref string, e *entry) {
	s.recs[ref] = e
	if n := len(s.order); n > 0 && s.order[n-1] >= ref {
		s.sorted = false
	}
	s.order = append(s.order, ref)
}

// rlockSorted takes s.mu for reading, with s.order sorted.
func (s *Store) rlockSorted() {
	for {
		s.mu.RLock()
		if s.sorted {
			return
		}
		s.mu.RUnlock()
		s.mu.Lock()
		if !s.sorted {
			slices.Sort(s.order)
			// A Ref deleted from recs by hand (a test's partial
			// restore) and created again is in order twice.
			s.order = slices.Compact(s.order)
			s.sorted = true
		}
		s.mu.Unlock()
	}
}

// from returns the index in s.order of the first Ref greater than after,
// with s.mu held and s.order sorted.
func (s *Store) from(after string) int {
	i, found := slices.BinarySearch(s.order, after)
	if found {
		i++
	}
	return i
}

// errOf is the error of op about the Ref given: the sentinel, with a fixed
// detail. No error names the Ref or holds key material.
func errOf(op string, sentinel error, detail string) error {
	err := sentinel
	if detail != "" {
		err = fmt.Errorf("%w: %s", sentinel, detail)
	}
	return &crypto.Error{Op: op, Field: "ref", Err: err}
}

// errNilContext is the cause of every refusal of a nil context.
var errNilContext = fmt.Errorf("%w: nil context", crypto.ErrInvalid)

// check refuses a nil context, and returns ctx.Err() for a done one.
func check(op string, ctx context.Context) error {
	if ctx == nil {
		return &crypto.Error{Op: op, Field: "ctx", Err: errNilContext}
	}
	return ctx.Err()
}

// stored returns r as the Store keeps it: a deep copy, times to the
// microsecond in UTC.
func stored(r crypto.Record) crypto.Record {
	r.Wrapped = bytes.Clone(r.Wrapped)
	r.Created = norm(r.Created)
	r.Updated = norm(r.Updated)
	return r
}

func norm(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// copyOut returns a copy of r that shares nothing with the Store.
func copyOut(r crypto.Record) crypto.Record {
	r.Wrapped = bytes.Clone(r.Wrapped)
	return r
}

// Get implements crypto.Store.
func (s *Store) Get(ctx context.Context, ref string) (crypto.Record, error) {
	if err := check("get", ctx); err != nil {
		return crypto.Record{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.recs[ref]
	switch {
	case !ok:
		return crypto.Record{}, errOf("get", crypto.ErrNotFound, "")
	case !e.shredded.IsZero():
		return crypto.Record{}, errOf("get", crypto.ErrShredded, "")
	}
	return copyOut(e.rec), nil
}

// Create implements crypto.Store. The stored Version is 1 whatever r.Version
// holds.
func (s *Store) Create(ctx context.Context, r crypto.Record) error {
	if err := check("create", ctx); err != nil {
		return err
	}
	if r.Ref == "" {
		return errOf("create", crypto.ErrInvalid, "empty ref")
	}
	r = stored(r)
	r.Version = 1
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.recs[r.Ref]; ok {
		if !e.shredded.IsZero() {
			return errOf("create", crypto.ErrShredded, "")
		}
		return errOf("create", crypto.ErrConflict, "a live key exists")
	}
	s.add(r.Ref, &entry{rec: r})
	return nil
}

// GetMany implements crypto.BatchGetter: the state of every Ref of refs,
// read under one lock (so, here, at one moment).
func (s *Store) GetMany(ctx context.Context, refs []string) ([]crypto.RefState, error) {
	if err := check("get", ctx); err != nil {
		return nil, err
	}
	out := make([]crypto.RefState, len(refs))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, ref := range refs {
		switch e, ok := s.recs[ref]; {
		case !ok:
		case !e.shredded.IsZero():
			out[i] = crypto.RefState{State: gdpr.KeyShredded, Shredded: e.shredded}
		default:
			out[i] = crypto.RefState{State: gdpr.KeyLive, Record: copyOut(e.rec)}
		}
	}
	return out, nil
}

// Update implements crypto.Store. It replaces Wrapped, KEK and Updated;
// Created keeps its stored value.
func (s *Store) Update(ctx context.Context, r crypto.Record) error {
	if err := check("update", ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.update(r)
}

// UpdateMany implements crypto.BatchUpdater: the Updates of rs under one
// lock, each on its own Version.
func (s *Store) UpdateMany(ctx context.Context, rs []crypto.Record) ([]error, error) {
	if err := check("update", ctx); err != nil {
		return nil, err
	}
	seen := make(map[string]struct{}, len(rs))
	for _, r := range rs {
		if _, ok := seen[r.Ref]; ok {
			return nil, errOf("update", crypto.ErrInvalid, "a ref repeated in one UpdateMany")
		}
		seen[r.Ref] = struct{}{}
	}
	errs := make([]error, len(rs))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range rs {
		errs[i] = s.update(r)
	}
	return errs, nil
}

// update is Update, with s.mu held.
func (s *Store) update(r crypto.Record) error {
	e, ok := s.recs[r.Ref]
	switch {
	case !ok:
		return errOf("update", crypto.ErrNotFound, "")
	case !e.shredded.IsZero():
		return errOf("update", crypto.ErrShredded, "")
	case e.rec.Version != r.Version:
		return errOf("update", crypto.ErrConflict, fmt.Sprintf("stored version is %d, not %d", e.rec.Version, r.Version))
	}
	clear(e.rec.Wrapped)
	e.rec.Wrapped = bytes.Clone(r.Wrapped)
	e.rec.KEK = r.KEK
	e.rec.Updated = norm(r.Updated)
	e.rec.Version++
	return nil
}

// Shred implements crypto.Store. Shredding a shredded Ref keeps the first
// tombstone's time.
func (s *Store) Shred(ctx context.Context, ref string, at time.Time) error {
	if err := check("shred", ctx); err != nil {
		return err
	}
	if ref == "" {
		return errOf("shred", crypto.ErrInvalid, "empty ref")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.recs[ref]; ok {
		if e.shredded.IsZero() {
			clear(e.rec.Wrapped)
			e.rec = crypto.Record{Ref: ref}
			e.shredded = norm(at)
		}
		return nil
	}
	s.add(ref, &entry{rec: crypto.Record{Ref: ref}, shredded: norm(at)})
	return nil
}

// Revive implements crypto.Store. The stored Version is 1 whatever r.Version
// holds.
func (s *Store) Revive(ctx context.Context, r crypto.Record) error {
	if err := check("revive", ctx); err != nil {
		return err
	}
	if r.Ref == "" {
		return errOf("revive", crypto.ErrInvalid, "empty ref")
	}
	r = stored(r)
	r.Version = 1
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.recs[r.Ref]
	switch {
	case !ok:
		s.add(r.Ref, &entry{rec: r})
	case e.shredded.IsZero():
		return errOf("revive", crypto.ErrConflict, "a live key exists")
	default:
		s.recs[r.Ref] = &entry{rec: r}
	}
	return nil
}

// List implements crypto.Store. It keeps the Refs sorted, and sorts them
// again on the first List or Refs after a Create of a Ref that does not
// sort last: a pass over n records without new ones costs O(n log n)
// once, then O(limit + log n) a page.
func (s *Store) List(ctx context.Context, after string, limit int) ([]crypto.Record, error) {
	if err := check("list", ctx); err != nil {
		return nil, err
	}
	if limit < 0 {
		return nil, &crypto.Error{Op: "list", Field: "limit", Err: fmt.Errorf("%w: negative limit", crypto.ErrInvalid)}
	}
	s.rlockSorted()
	defer s.mu.RUnlock()
	out := make([]crypto.Record, 0, min(limit, 1024))
	for _, ref := range s.order[s.from(after):] {
		if len(out) == limit {
			break
		}
		if e, ok := s.recs[ref]; ok && e.shredded.IsZero() {
			out = append(out, copyOut(e.rec))
		}
	}
	return out, nil
}

// Refs implements crypto.Store: live and shredded Refs alike, in the order
// List keeps.
func (s *Store) Refs(ctx context.Context, after string, limit int) ([]string, error) {
	if err := check("refs", ctx); err != nil {
		return nil, err
	}
	if limit < 0 {
		return nil, &crypto.Error{Op: "refs", Field: "limit", Err: fmt.Errorf("%w: negative limit", crypto.ErrInvalid)}
	}
	s.rlockSorted()
	defer s.mu.RUnlock()
	refs := make([]string, 0, min(limit, 1024))
	for _, ref := range s.order[s.from(after):] {
		if len(refs) == limit {
			break
		}
		if _, ok := s.recs[ref]; ok {
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

// Tombstone implements crypto.TombstoneReader: the time of ref's
// tombstone, or an error wrapping crypto.ErrNotFound for a live or unknown
// Ref.
func (s *Store) Tombstone(ctx context.Context, ref string) (time.Time, error) {
	if err := check("tombstone", ctx); err != nil {
		return time.Time{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.recs[ref]
	if !ok || e.shredded.IsZero() {
		return time.Time{}, errOf("tombstone", crypto.ErrNotFound, "no tombstone")
	}
	return e.shredded, nil
}
