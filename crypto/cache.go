package crypto

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"
)

// cache is a bounded cache of unwrapped per-subject primitives, each kept
// for at most ttl, evicting by second chance (CLOCK: an approximation of
// LRU whose reads take only a read lock). A zero size disables it.
//
// Layout: a hit is one map probe. The map's value holds what the hit
// needs (the primitive and its expiry) inline, not behind a pointer, so a
// lookup among thousands of subjects, whose memory is not in the CPU's
// caches, waits for the map's memory alone and not for a chain of
// dependent reads after it. Eviction's state lives apart: ring holds each
// cached ref at the entry's slot, used its second-chance bit (4 bytes a
// slot: 40 KB for the default 10,000, which stays in the CPU's caches).
type cache struct {
	mu   sync.RWMutex
	size int
	ttl  time.Duration
	now  func() time.Time
	m    map[string]cacheEntry
	ring []string // ring[e.slot] is e's ref; the CLOCK hand sweeps it
	used []uint32 // used[slot] != 0: read since the hand last passed it (atomic)
	hand int
	// gen changes with every shred, rotation and revive; shredded holds
	// the subjects shredded here, until their marker expires.
	gen      uint64
	shredded map[string]time.Time
}

type cacheEntry struct {
	aead    tink.AEAD
	expires time.Time
	slot    int // in ring and used
}

func newCache(size int, ttl time.Duration, now func() time.Time) *cache {
	return &cache{size: size, ttl: ttl, now: now, m: make(map[string]cacheEntry),
		shredded: make(map[string]time.Time)}
}

func (c *cache) get(ref string) (tink.AEAD, bool) {
	if c.size <= 0 {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[ref]
	if !ok || !c.now().Before(e.expires) { // expired: the caller reloads
		c.mu.RUnlock()
		return nil, false
	}
	if u := &c.used[e.slot]; atomic.LoadUint32(u) == 0 {
		atomic.StoreUint32(u, 1) // written once per pass, not on every hit
	}
	c.mu.RUnlock()
	return e.aead, true
}

// generation returns a number that changes whenever a shred or a rotation
// invalidates what a load in progress may have read. A load takes it before
// reading the Store and hands it to put.
func (c *cache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches a primitive loaded at generation gen, unless a shred or
// rotation happened meanwhile, or ref was shredded here within the TTL.
func (c *cache) put(ref string, a tink.AEAD, gen uint64) {
	if c.size <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(ref, a, gen)
}

func (c *cache) putLocked(ref string, a tink.AEAD, gen uint64) {
	if gen != c.gen {
		return
	}
	now := c.now()
	if until, ok := c.shredded[ref]; ok {
		if now.Before(until) {
			return
		}
		delete(c.shredded, ref)
	}
	expires := now.Add(c.ttl)
	if e, ok := c.m[ref]; ok { // reloaded (expired, or stale after a rotation)
		e.aead, e.expires = a, expires
		c.m[ref] = e
		atomic.StoreUint32(&c.used[e.slot], 1)
		return
	}
	for len(c.ring) >= c.size { // full: the hand finds a victim
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		victim := c.ring[c.hand]
		if atomic.LoadUint32(&c.used[c.hand]) != 0 && now.Before(c.m[victim].expires) {
			atomic.StoreUint32(&c.used[c.hand], 0) // a second chance
			c.hand++
			continue
		}
		c.dropLocked(victim) // moves the last slot here
	}
	c.m[ref] = cacheEntry{aead: a, expires: expires, slot: len(c.ring)}
	c.ring = append(c.ring, ref)
	c.used = append(c.used, 0)
}

// shred drops ref's primitive, invalidates every load in progress, and
// keeps a marker for one TTL (outside the size bound, so it cannot be
// pushed out) that no later put can pass.
func (c *cache) shred(ref string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.dropLocked(ref)
	if c.size > 0 {
		now := c.now()
		for r, until := range c.shredded { // markers are few; prune the expired
			if !now.Before(until) {
				delete(c.shredded, r)
			}
		}
		c.shredded[ref] = now.Add(c.ttl)
	}
}

// replace swaps in the primitive of a rotated keyset and invalidates loads
// in progress, which may have read the old one.
func (c *cache) replace(ref string, a tink.AEAD) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.dropLocked(ref)
	if c.size > 0 {
		c.putLocked(ref, a, c.gen)
	}
}

// forget drops whatever is cached for ref, shred marker included (Revive).
func (c *cache) forget(ref string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.dropLocked(ref)
	delete(c.shredded, ref)
}

// dropLocked removes ref's entry, moving the entry of the ring's last slot
// into its slot, so the ring stays dense. The hand stays where it is: the
// moved entry is swept from there on.
func (c *cache) dropLocked(ref string) {
	e, ok := c.m[ref]
	if !ok {
		return
	}
	delete(c.m, ref)
	last := len(c.ring) - 1
	if e.slot != last {
		moved := c.ring[last]
		me := c.m[moved]
		me.slot = e.slot
		c.m[moved] = me
		c.ring[e.slot] = moved
		atomic.StoreUint32(&c.used[e.slot], atomic.LoadUint32(&c.used[last]))
	}
	c.ring[last] = "" // no reference to the ID is kept
	c.ring, c.used = c.ring[:last], c.used[:last]
}
