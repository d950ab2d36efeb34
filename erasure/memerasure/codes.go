package memerasure

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gdprkit/gdpr/erasure"
)

// CodeStore is an in-memory erasure.CodeStore. The zero value is not
// usable; call NewCodeStore. It is safe for concurrent use by many
// goroutines: a sync.Mutex makes every method atomic, so n concurrent
// Attempts raise a code's Attempts by exactly n.
type CodeStore struct {
	mu    sync.Mutex
	codes map[string]erasure.Code // by Request
}

var _ erasure.CodeStore = (*CodeStore)(nil)

// NewCodeStore returns an empty CodeStore.
func NewCodeStore() *CodeStore {
	return &CodeStore{codes: make(map[string]erasure.Code)}
}

// Format implements fmt.Formatter: every verb prints
// "memerasure.CodeStore" (%#v "&memerasure.CodeStore{…}"), never a hash.
func (s *CodeStore) Format(f fmt.State, verb rune) { format(f, verb, "CodeStore") }

// GoString returns "&memerasure.CodeStore{…}", for %#v.
func (s *CodeStore) GoString() string { return "&memerasure.CodeStore{…}" }

// storedCode returns c as the CodeStore keeps it: its Hash copied, its
// times to the microsecond in UTC.
func storedCode(c erasure.Code) erasure.Code {
	c.Hash = bytes.Clone(c.Hash)
	c.Created = norm(c.Created)
	c.Expires = norm(c.Expires)
	c.Reminded = norm(c.Reminded)
	return c
}

// copyCode returns a copy of c that shares nothing with the store.
func copyCode(c erasure.Code) erasure.Code {
	c.Hash = bytes.Clone(c.Hash)
	return c
}

// PutCode implements erasure.CodeStore. An empty c.Request is an error
// wrapping erasure.ErrInvalid.
func (s *CodeStore) PutCode(ctx context.Context, c erasure.Code) error {
	const op = "put code"
	if err := check(op, ctx); err != nil {
		return err
	}
	if c.Request == "" {
		return fieldErr(op, "request", erasure.ErrInvalid, "empty request ID")
	}
	c = storedCode(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.codes[c.Request]; ok {
		clear(old.Hash)
	}
	s.codes[c.Request] = c
	return nil
}

// Attempt implements erasure.CodeStore.
func (s *CodeStore) Attempt(ctx context.Context, request string) (erasure.Code, error) {
	const op = "attempt"
	if err := check(op, ctx); err != nil {
		return erasure.Code{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[request]
	if !ok {
		return erasure.Code{}, errorf(op, erasure.ErrNotFound, "no code for request %s", show(request))
	}
	c.Attempts++
	s.codes[request] = c
	return copyCode(c), nil
}

// DeleteCode implements erasure.CodeStore. The hash's bytes are
// overwritten with zeros.
func (s *CodeStore) DeleteCode(ctx context.Context, request string) error {
	const op = "delete code"
	if err := check(op, ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.codes[request]; ok {
		clear(c.Hash)
		delete(s.codes, request)
	}
	return nil
}

// DueReminders implements erasure.CodeStore: codes created at the same
// instant come in Request order. A limit below 1 is an error wrapping
// erasure.ErrInvalid.
func (s *CodeStore) DueReminders(ctx context.Context, createdBefore time.Time, limit int) ([]erasure.Code, error) {
	const op = "due reminders"
	if err := check(op, ctx); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, fieldErr(op, "limit", erasure.ErrInvalid, "must be 1 or more")
	}
	createdBefore = norm(createdBefore)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []erasure.Code
	for _, c := range s.codes {
		if c.Reminded.IsZero() && !c.Created.After(createdBefore) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b erasure.Code) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Request, b.Request))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		out[i] = copyCode(out[i])
	}
	return out, nil
}

// MarkReminded implements erasure.CodeStore.
func (s *CodeStore) MarkReminded(ctx context.Context, request string, at time.Time) error {
	const op = "mark reminded"
	if err := check(op, ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[request]
	if !ok {
		return errorf(op, erasure.ErrNotFound, "no code for request %s", show(request))
	}
	c.Reminded = norm(at)
	s.codes[request] = c
	return nil
}
