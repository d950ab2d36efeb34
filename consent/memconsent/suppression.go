package memconsent

import (
	"context"
	"sync"

	"github.com/gdprkit/gdpr/consent"
)

// suppressions is the Store's suppression list (consent.Suppressions), under
// its own lock: entries are opaque hashes, apart from the events, and
// DeleteSubject never touches them. The zero value is an empty list.
type suppressions struct {
	mu sync.RWMutex
	m  map[string]consent.Suppression // by string(Hash)
}

// Suppress implements consent.Suppressions: each entry is kept, an entry
// kept already keeps the later of its two times.
func (s *suppressions) Suppress(ctx context.Context, entries ...consent.Suppression) error {
	if err := checkCtx("suppress", ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]consent.Suppression)
	}
	for _, e := range entries {
		k := string(e.Hash)
		t := norm(e.Time)
		if old, ok := s.m[k]; ok && !t.After(old.Time) {
			continue
		}
		s.m[k] = consent.Suppression{Hash: []byte(k), Time: t}
	}
	return nil
}

// Suppressed implements consent.Suppressions.
func (s *suppressions) Suppressed(ctx context.Context, hashes [][]byte) ([]consent.Suppression, error) {
	if err := checkCtx("suppressed", ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []consent.Suppression
	seen := map[string]bool{}
	for _, h := range hashes {
		k := string(h)
		if e, ok := s.m[k]; ok && !seen[k] {
			seen[k] = true
			out = append(out, consent.Suppression{Hash: []byte(k), Time: e.Time})
		}
	}
	return out, nil
}
