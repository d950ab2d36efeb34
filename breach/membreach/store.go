// Package membreach is an in-memory breach.Store: the fake for a host's
// unit tests, and the reference the SQL store is checked against. It is
// safe for concurrent use; its contents live as long as the Store.
package membreach

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/gdprkit/gdpr/breach"
)

// Store is an in-memory breach.Store. The zero value is not ready; use New.
type Store struct {
	mu      sync.Mutex
	events  map[string][]breach.Event
	notices map[string]map[string]breach.Notice // breach → ref → notice
}

var _ breach.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{events: map[string][]breach.Event{}, notices: map[string]map[string]breach.Notice{}}
}

// Append stores ev as event ev.Seq of its breach (see breach.Store).
func (s *Store) Append(ctx context.Context, ev breach.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := breach.CheckEvent(ev); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.events[ev.Breach]
	switch {
	case ev.Seq <= int64(len(evs)):
		return &breach.Error{Op: "append", Err: breach.ErrConflict}
	case ev.Seq > int64(len(evs))+1:
		return &breach.Error{Op: "append", Field: "Seq", Err: breach.ErrInvalid}
	}
	ev.Data = slices.Clone(ev.Data)
	s.events[ev.Breach] = append(evs, ev)
	return nil
}

// Events returns a breach's events in order (see breach.Store).
func (s *Store) Events(ctx context.Context, id string) ([]breach.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.events[id]
	if len(evs) == 0 {
		return nil, &breach.Error{Op: "events", Err: breach.ErrNotFound}
	}
	out := make([]breach.Event, len(evs))
	for i, ev := range evs {
		ev.Data = slices.Clone(ev.Data)
		out[i] = ev
	}
	return out, nil
}

// Breaches returns a page of breach IDs (see breach.Store).
func (s *Store) Breaches(ctx context.Context, after string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := breach.CheckLimit("breaches", limit); err != nil {
		return nil, err
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.events))
	for id := range s.events {
		if id > after {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, nil
}

// Claim claims a notice (see breach.Store).
func (s *Store) Claim(ctx context.Context, n breach.Notice, skipped bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := breach.CheckNotice("claim", n, true); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.events[n.Breach]) == 0 {
		return false, &breach.Error{Op: "claim", Err: breach.ErrNotFound}
	}
	m := s.notices[n.Breach]
	if m == nil {
		m = map[string]breach.Notice{}
		s.notices[n.Breach] = m
	}
	if old, ok := m[string(n.Ref)]; ok && old.Outcome != breach.Failed && !(skipped && old.Outcome == breach.Skipped) {
		return false, nil
	}
	n.Ref = slices.Clone(n.Ref)
	m[string(n.Ref)] = n
	return true, nil
}

// Settle records a claimed notice's outcome (see breach.Store).
func (s *Store) Settle(ctx context.Context, n breach.Notice) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := breach.CheckNotice("settle", n, false); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.notices[n.Breach][string(n.Ref)]
	if !ok {
		return &breach.Error{Op: "settle", Err: breach.ErrNotFound}
	}
	if old.Outcome == breach.Sent || old.Outcome == breach.Skipped {
		return &breach.Error{Op: "settle", Err: breach.ErrConflict}
	}
	n.Ref = slices.Clone(n.Ref)
	s.notices[n.Breach][string(n.Ref)] = n
	return nil
}

// Notices returns a page of a breach's notices (see breach.Store).
func (s *Store) Notices(ctx context.Context, id string, after []byte, limit int) ([]breach.Notice, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := breach.CheckLimit("notices", limit); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var out []breach.Notice
	for _, n := range s.notices[id] {
		if bytes.Compare(n.Ref, after) > 0 {
			n.Ref = slices.Clone(n.Ref)
			out = append(out, n)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Ref, out[j].Ref) < 0 })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
