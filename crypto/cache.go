package crypto

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"
)

// cache is a bounded cache of unwrapped per-subject primitives, each kept
// for at most ttl, evicting by second chance (an approximation of LRU whose
// reads take only a read lock). A zero size disables it.
type cache struct {
	mu   sync.RWMutex
	size int
	ttl  time.Duration
	now  func() time.Time
	ll   *list.List
	m    map[string]*list.Element
	// gen changes with every shred, rotation and revive; shredded holds
	// the subjects shredded here, until their marker expires.
	gen      uint64
	shredded map[string]time.Time
}

type cacheEntry struct {
	ref     string // the subject ID: the cache lives in memory only
	aead    tink.AEAD
	expires time.Time
	used    atomic.Bool // read since it was last passed over for eviction
}

func newCache(size int, ttl time.Duration, now func() time.Time) *cache {
	return &cache{size: size, ttl: ttl, now: now, ll: list.New(), m: make(map[string]*list.Element),
		shredded: make(map[string]time.Time)}
}

func (c *cache) get(ref string) (tink.AEAD, bool) {
	if c.size <= 0 {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	el, ok := c.m[ref]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		return nil, false // expired: the caller reloads
	}
	if !e.used.Load() {
		e.used.Store(true) // written once per pass, not on every hit
	}
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
	e := &cacheEntry{ref: ref, aead: a, expires: now.Add(c.ttl)}
	if el, ok := c.m[ref]; ok {
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.m[ref] = c.ll.PushFront(e)
	for c.ll.Len() > c.size {
		last := c.ll.Back()
		e := last.Value.(*cacheEntry)
		if e.used.Load() && now.Before(e.expires) {
			e.used.Store(false) // a second chance
			c.ll.MoveToFront(last)
			continue
		}
		c.ll.Remove(last)
		delete(c.m, e.ref)
	}
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

func (c *cache) dropLocked(ref string) {
	if el, ok := c.m[ref]; ok {
		c.ll.Remove(el)
		delete(c.m, ref)
	}
}
