package memerasure

import (
	"bytes"
	"cmp"
	"context"
	"slices"

	"github.com/gdprkit/gdpr/erasure"
)

// This file holds the Store's restrictions and objections (Art. 18 and
// 21) and the supplementary statements of Art. 16, beside its requests,
// under the same mutex.

// storedRestriction returns x as the Store keeps it: a deep copy, its
// times to the microsecond in UTC.
func storedRestriction(x erasure.Restriction) erasure.Restriction {
	x = x.Clone()
	x.Since = norm(x.Since)
	x.Lifted = norm(x.Lifted)
	if x.Override != nil {
		x.Override.At = norm(x.Override.At)
	}
	return x
}

// storedStatement returns s as the Store keeps it: its Sealed bytes
// copied, its time to the microsecond in UTC.
func storedStatement(s erasure.Statement) erasure.Statement {
	s.Sealed = bytes.Clone(s.Sealed)
	s.At = norm(s.At)
	return s
}

// CreateRestriction implements erasure.Store. The stored Version is 1,
// whatever x.Version holds. An empty x.ID is an error wrapping
// erasure.ErrInvalid.
func (s *Store) CreateRestriction(ctx context.Context, x erasure.Restriction) error {
	const op = "create restriction"
	if err := check(op, ctx); err != nil {
		return err
	}
	if x.ID == "" {
		return fieldErr(op, "id", erasure.ErrInvalid, "empty restriction ID")
	}
	x = storedRestriction(x)
	x.Version = 1
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.restrictions[x.ID]; ok {
		return errorf(op, erasure.ErrConflict, "restriction %s exists", show(x.ID))
	}
	s.restrictions[x.ID] = &x
	return nil
}

// UpdateRestriction implements erasure.Store. An unknown ID is reported
// before a stale Version.
func (s *Store) UpdateRestriction(ctx context.Context, x erasure.Restriction) error {
	const op = "update restriction"
	if err := check(op, ctx); err != nil {
		return err
	}
	x = storedRestriction(x)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.restrictions[x.ID]
	if !ok {
		return errorf(op, erasure.ErrNotFound, "no restriction %s", show(x.ID))
	}
	if old.Version != x.Version {
		return errorf(op, erasure.ErrConflict, "restriction %s: stored version is %d, not %d", show(x.ID), old.Version, x.Version)
	}
	x.Version++
	s.restrictions[x.ID] = &x
	return nil
}

// GetRestriction implements erasure.Store.
func (s *Store) GetRestriction(ctx context.Context, id string) (erasure.Restriction, error) {
	const op = "get restriction"
	if err := check(op, ctx); err != nil {
		return erasure.Restriction{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.restrictions[id]
	if !ok {
		return erasure.Restriction{}, errorf(op, erasure.ErrNotFound, "no restriction %s", show(id))
	}
	return x.Clone(), nil
}

// ListRestrictions implements erasure.Store. It scans and sorts the
// matching restrictions on every call: fine for tests and tools.
func (s *Store) ListRestrictions(ctx context.Context, f erasure.RestrictionFilter) ([]erasure.Restriction, error) {
	const op = "list restrictions"
	if err := check(op, ctx); err != nil {
		return nil, err
	}
	limit := erasure.PageSize(f.Limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*erasure.Restriction
	for _, x := range s.restrictions {
		switch {
		case f.After != "" && x.ID <= f.After,
			f.SubjectRef != "" && x.SubjectRef != f.SubjectRef,
			!f.IncludeLifted && !x.Lifted.IsZero():
			continue
		}
		match = append(match, x)
	}
	slices.SortFunc(match, func(a, b *erasure.Restriction) int { return cmp.Compare(a.ID, b.ID) })
	if len(match) > limit {
		match = match[:limit]
	}
	out := make([]erasure.Restriction, len(match))
	for i, x := range match {
		out[i] = x.Clone()
	}
	return out, nil
}

// PutStatement implements erasure.Store. An empty s.ID is an error
// wrapping erasure.ErrInvalid.
func (s *Store) PutStatement(ctx context.Context, st erasure.Statement) error {
	const op = "put statement"
	if err := check(op, ctx); err != nil {
		return err
	}
	if st.ID == "" {
		return fieldErr(op, "id", erasure.ErrInvalid, "empty statement ID")
	}
	st = storedStatement(st)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.statements[st.ID]; !ok {
		s.statements[st.ID] = &st
	}
	return nil
}

// ListStatements implements erasure.Store. It scans every statement:
// fine for tests and tools.
func (s *Store) ListStatements(ctx context.Context, subjectRef string) ([]erasure.Statement, error) {
	const op = "list statements"
	if err := check(op, ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []erasure.Statement
	for _, st := range s.statements {
		if st.SubjectRef == subjectRef {
			c := *st
			c.Sealed = bytes.Clone(st.Sealed)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b erasure.Statement) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Forget implements erasure.Store. A forgotten statement's Sealed bytes
// are overwritten with zeros. The subject's requests are not touched.
func (s *Store) Forget(ctx context.Context, subjectRef string) (int64, error) {
	const op = "forget"
	if err := check(op, ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, x := range s.restrictions {
		if x.SubjectRef == subjectRef {
			delete(s.restrictions, id)
			n++
		}
	}
	for id, st := range s.statements {
		if st.SubjectRef == subjectRef {
			clear(st.Sealed)
			delete(s.statements, id)
			n++
		}
	}
	return n, nil
}
