package webhook

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"
)

// SeenStore remembers the IDs of accepted deliveries, so that a Verifier
// refuses a second delivery of one ID within the tolerance window: a
// captured delivery replayed, or the sender's retry of one it took
// already. A claim is pending while the host processes the message and
// done once it has (Verifier.Done), so that a retry of a processed
// message can be acknowledged (ErrDuplicate, a 200 from Handler) while
// one in processing is refused (ErrReplayed, a 409). A host with several
// instances plugs in a store they share (a Redis SET with NX and an
// expiry, a table with a unique key); MemSeen is the default, for one
// process.
type SeenStore interface {
	// Claim records id as claimed, pending, until the time until, and
	// returns ClaimNew; if id was claimed before and that claim has not
	// expired by now, it changes nothing and returns ClaimPending or
	// ClaimDone. It is atomic: of concurrent claims of one id, one alone
	// is new. A store that cannot take the claim (full, unreachable)
	// returns an error; the Verifier then refuses the delivery, which the
	// sender tries again. It is safe for concurrent use.
	Claim(ctx context.Context, id string, now, until time.Time) (Claim, error)
	// Done marks id's claim as done: the message was processed. A claim
	// that expired or was forgotten is not an error. It is safe for
	// concurrent use.
	Done(ctx context.Context, id string) error
	// Forget drops id's claim, so that a delivery the host accepted but
	// could not process is taken when the sender tries again. Forgetting
	// an unknown id is not an error. It is safe for concurrent use.
	Forget(ctx context.Context, id string) error
}

// Claim is the state of an ID in a SeenStore, as Claim found it.
type Claim int

// The states of a claim.
const (
	// ClaimNew: the ID was not claimed (or its claim had expired); it is
	// claimed now, pending.
	ClaimNew Claim = iota + 1
	// ClaimPending: the ID is claimed and not done: its message is being
	// processed, or its processing stopped without a Forget.
	ClaimPending
	// ClaimDone: the ID is claimed and its message was processed.
	ClaimDone
)

// MemSeen is a SeenStore in memory, for one process, holding at most a
// fixed number of unexpired IDs. When it is full a Claim fails with
// ErrSeenFull rather than forget an ID that could still be replayed; only
// deliveries whose signature was verified are claimed, so an attacker
// without the secret cannot fill it. It is safe for concurrent use.
type MemSeen struct {
	mu  sync.Mutex
	max int
	ids map[string]claim
	exp expiries // every claim, by until; stale entries are skipped
}

type claim struct {
	until time.Time
	done  bool
}

// NewMemSeen returns an empty MemSeen that holds at most max IDs;
// DefaultSeenCapacity if max < 1.
func NewMemSeen(max int) *MemSeen {
	if max < 1 {
		max = DefaultSeenCapacity
	}
	return &MemSeen{max: max, ids: map[string]claim{}}
}

var _ SeenStore = (*MemSeen)(nil)

// Claim implements SeenStore.
func (s *MemSeen) Claim(_ context.Context, id string, now, until time.Time) (Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if c, ok := s.ids[id]; ok && c.until.After(now) {
		if c.done {
			return ClaimDone, nil
		}
		return ClaimPending, nil
	}
	if len(s.ids) >= s.max {
		return 0, &Error{Op: "claim", Err: ErrSeenFull}
	}
	s.ids[id] = claim{until: until}
	heap.Push(&s.exp, expiry{id: id, until: until})
	if len(s.exp) > 2*s.max+64 {
		s.compact()
	}
	return ClaimNew, nil
}

// Done implements SeenStore.
func (s *MemSeen) Done(_ context.Context, id string) error {
	s.mu.Lock()
	if c, ok := s.ids[id]; ok {
		c.done = true
		s.ids[id] = c
	}
	s.mu.Unlock()
	return nil
}

// Forget implements SeenStore.
func (s *MemSeen) Forget(_ context.Context, id string) error {
	s.mu.Lock()
	delete(s.ids, id)
	s.mu.Unlock()
	return nil
}

// Len returns how many IDs s holds, expired ones it has not dropped yet
// included.
func (s *MemSeen) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

// String returns "webhook.MemSeen(<n> IDs)"; the IDs are not printed.
func (s *MemSeen) String() string { return fmt.Sprintf("webhook.MemSeen(%d IDs)", s.Len()) }

// Format prints String whatever the verb.
func (s *MemSeen) Format(f fmt.State, verb rune) { mask(f, verb, s.String(), s.String()) }

// expire drops the claims whose time is up by now.
func (s *MemSeen) expire(now time.Time) {
	for len(s.exp) > 0 && !s.exp[0].until.After(now) {
		e := heap.Pop(&s.exp).(expiry)
		if c, ok := s.ids[e.id]; ok && c.until.Equal(e.until) {
			delete(s.ids, e.id)
		}
	}
}

// compact rebuilds the heap from the map, dropping the entries of
// forgotten or re-claimed IDs.
func (s *MemSeen) compact() {
	s.exp = s.exp[:0]
	for id, c := range s.ids {
		s.exp = append(s.exp, expiry{id: id, until: c.until})
	}
	heap.Init(&s.exp)
}

type expiry struct {
	id    string
	until time.Time
}

// expiries is a min-heap of expiry by until.
type expiries []expiry

func (h expiries) Len() int           { return len(h) }
func (h expiries) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h expiries) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiries) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiries) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
