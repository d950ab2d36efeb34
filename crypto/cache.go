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
}

type cacheEntry struct {
	ref     string // the subject ID: the cache lives in memory only
	aead    tink.AEAD
	version int64
	expires time.Time
	used    atomic.Bool // read since it was last passed over for eviction
}

// coarseNow is the time, to within coarseTick: reading the clock on every
// cache hit costs more than the rest of a hit on some virtual machines, so
// one goroutine per process refreshes this value instead.
func coarseNow() time.Time {
	coarse.once.Do(func() {
		coarse.ns.Store(time.Now().UnixNano())
		go func() {
			for t := range time.Tick(coarseTick) {
				coarse.ns.Store(t.UnixNano())
			}
		}()
	})
	return time.Unix(0, coarse.ns.Load())
}

const coarseTick = 50 * time.Millisecond

var coarse struct {
	once sync.Once
	ns   atomic.Int64
}

func newCache(size int, ttl time.Duration, now func() time.Time) *cache {
	return &cache{size: size, ttl: ttl, now: now, ll: list.New(), m: make(map[string]*list.Element)}
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
	if e.aead == nil || !c.now().Before(e.expires) {
		return nil, false // shredded here, or expired: the caller reloads
	}
	if !e.used.Load() {
		e.used.Store(true) // written once per pass, not on every hit
	}
	return e.aead, true
}

func (c *cache) put(ref string, a tink.AEAD, version int64) {
	if c.size <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &cacheEntry{ref: ref, aead: a, version: version, expires: c.now().Add(c.ttl)}
	if el, ok := c.m[ref]; ok {
		old := el.Value.(*cacheEntry)
		if old.version > version && c.now().Before(old.expires) {
			return // a newer keyset (after a rotation), or a shred marker
		}
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.m[ref] = c.ll.PushFront(e)
	c.trim()
}

// trim evicts from the back until the cache fits, giving entries read
// since the last pass a second chance. Called with mu held.
func (c *cache) trim() {
	for c.ll.Len() > c.size {
		last := c.ll.Back()
		e := last.Value.(*cacheEntry)
		if e.used.Load() && c.now().Before(e.expires) {
			e.used.Store(false)
			c.ll.MoveToFront(last)
			continue
		}
		c.ll.Remove(last)
		delete(c.m, e.ref)
	}
}

// shred drops ref's primitive and leaves a marker for one TTL, so that a
// load that started before the shred cannot put the primitive back.
func (c *cache) shred(ref string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[ref]; ok {
		c.ll.Remove(el)
		delete(c.m, ref)
	}
	if c.size > 0 {
		c.m[ref] = c.ll.PushFront(&cacheEntry{ref: ref, version: 1<<63 - 1, expires: c.now().Add(c.ttl)})
		c.trim()
	}
}

// forget drops whatever is cached for ref, marker included.
func (c *cache) forget(ref string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[ref]; ok {
		c.ll.Remove(el)
		delete(c.m, ref)
	}
}
