package audit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/gdprkit/gdpr/internal/clock"
)

// MinKeySize is the shortest pseudonym key New accepts.
const MinKeySize = 32

// saltSize is the size of a pseudonym salt.
const saltSize = 32

// saltRefSize is the size of a salt's ref (an HMAC-SHA-256).
const saltRefSize = 32

// Namespaces of pseudonyms: a subject and a staff member with the same ID
// get unrelated pseudonyms.
const (
	nsSubject = "subject"
	nsStaff   = "staff"
)

// pseudonymizer turns IDs into pseudonyms: HMAC-SHA-256 under the key of
// a domain label, the namespace, the ID's salt and the ID. Salts live in the
// Store under a ref, itself an HMAC of the ID, so the Store holds no ID.
type pseudonymizer struct {
	store Store
	macs  sync.Pool // hash.Hash: HMAC-SHA-256 under the key

	ttl  time.Duration
	size int
	now  func() time.Time

	mu    sync.RWMutex
	cache map[cacheKey]cachedPseudonym
	// forgets counts forget calls: a get that read a salt before a forget
	// finished must not cache it after (it may be the deleted salt).
	forgets uint64
}

type cacheKey struct{ ns, id string }

type cachedPseudonym struct {
	p       Pseudonym
	expires time.Time
}

func newPseudonymizer(store Store, key []byte, size int, ttl time.Duration) *pseudonymizer {
	key = append([]byte(nil), key...)
	return &pseudonymizer{
		store: store,
		macs:  sync.Pool{New: func() any { return hmac.New(sha256.New, key) }},
		ttl:   ttl, size: size, now: clock.Coarse,
		cache: make(map[cacheKey]cachedPseudonym),
	}
}

func (p *pseudonymizer) mac(parts ...string) (out [32]byte) {
	m := p.macs.Get().(hash.Hash)
	m.Reset()
	for _, s := range parts {
		m.Write([]byte(s))
	}
	m.Sum(out[:0])
	p.macs.Put(m)
	return out
}

// ref is where the salt of id in namespace ns is stored.
func (p *pseudonymizer) ref(ns, id string) []byte {
	r := p.refSum(ns, id)
	return r[:]
}

// refSum is ref as an array.
func (p *pseudonymizer) refSum(ns, id string) [saltRefSize]byte {
	return p.mac("gdpr/audit/salt-ref/v1\x00", ns, "\x00", id)
}

func (p *pseudonymizer) derive(ns, id string, salt []byte) Pseudonym {
	return p.mac("gdpr/audit/pseudonym/v1\x00", ns, "\x00", string(salt), id)
}

// saltFunc gets or creates a salt, as Store.Salt does.
type saltFunc func(ctx context.Context, ref, fresh []byte) ([]byte, error)

// salts says where get finds salts: the Store, whose salts are committed
// and may be cached, or a caller's transaction, whose may yet roll back.
type salts struct {
	get       saltFunc
	committed bool
	// deferNew leaves the pseudonyms not cached to the batch's
	// transaction (SaltReader) rather than getting them through get.
	deferNew bool
}

// cachedLocked returns the cached pseudonym of id, if there is one at
// now; p.mu is held.
func (p *pseudonymizer) cachedLocked(ns, id string, now time.Time) (Pseudonym, bool) {
	c, ok := p.cache[cacheKey{ns, id}]
	return c.p, ok && now.Before(c.expires)
}

// generation returns the count of forgets, for put.
func (p *pseudonymizer) generation() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.forgets
}

// get returns the pseudonym of id, creating its salt with salt if it has
// none.
func (p *pseudonymizer) get(ctx context.Context, ns, id string, salt salts) (Pseudonym, error) {
	ck := cacheKey{ns, id}
	now := p.now()
	p.mu.RLock()
	c, ok := p.cache[ck]
	gen := p.forgets
	p.mu.RUnlock()
	if ok && now.Before(c.expires) {
		return c.p, nil
	}
	fresh := make([]byte, saltSize)
	rand.Read(fresh)
	s, err := salt.get(ctx, p.ref(ns, id), fresh)
	if err != nil {
		return Pseudonym{}, err
	}
	if len(s) != saltSize {
		return Pseudonym{}, fmt.Errorf("%w: the store returned a salt of %d bytes", ErrTampered, len(s))
	}
	ps := p.derive(ns, id, s)
	if salt.committed {
		p.put(ck, ps, now, gen)
	}
	return ps, nil
}

// lookup returns the pseudonym of id if it has a salt, and false if not:
// it never creates one, so a query for someone never recorded leaves no
// trace.
func (p *pseudonymizer) lookup(ctx context.Context, ns, id string) (Pseudonym, bool, error) {
	salt, err := p.store.LookupSalt(ctx, p.ref(ns, id))
	if errors.Is(err, ErrNotFound) {
		return Pseudonym{}, false, nil
	}
	if err != nil {
		return Pseudonym{}, false, err
	}
	if len(salt) != saltSize {
		return Pseudonym{}, false, fmt.Errorf("%w: the store returned a salt of %d bytes", ErrTampered, len(salt))
	}
	return p.derive(ns, id, salt), true, nil
}

// lookupBatch is the most refs lookupAll asks the Store for in one call.
const lookupBatch = 1000

// lookupAll is lookup for many IDs of namespace ns: for each ids[i], its
// pseudonym and true if it has a salt, the zero Pseudonym and false if
// not. A pseudonym in the cache answers without the Store; the others'
// salts are read lookupBatch at a time, with one SaltLookuper call each
// when the Store is one and one LookupSalt a ref when not. It never
// creates a salt, and caches nothing: a sweep of many candidates leaves
// the cache to the IDs being recorded.
func (p *pseudonymizer) lookupAll(ctx context.Context, ns string, ids []string) ([]Pseudonym, []bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	ps := make([]Pseudonym, len(ids))
	found := make([]bool, len(ids))
	var miss []int
	now := p.now()
	p.mu.RLock()
	for i, id := range ids {
		if c, ok := p.cachedLocked(ns, id, now); ok {
			ps[i], found[i] = c, true
		} else {
			miss = append(miss, i)
		}
	}
	p.mu.RUnlock()
	sl, batched := p.store.(SaltLookuper)
	buf := make([]byte, min(len(miss), lookupBatch)*saltRefSize)
	refs := make([][]byte, 0, min(len(miss), lookupBatch))
	for len(miss) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		batch := miss[:min(len(miss), lookupBatch)]
		miss = miss[len(batch):]
		refs = refs[:0]
		for k, i := range batch {
			r := p.refSum(ns, ids[i])
			ref := buf[k*saltRefSize : (k+1)*saltRefSize : (k+1)*saltRefSize]
			copy(ref, r[:])
			refs = append(refs, ref)
		}
		var salts [][]byte
		if batched {
			var err error
			if salts, err = sl.LookupSalts(ctx, refs); err != nil {
				return nil, nil, err
			}
			if len(salts) != len(refs) {
				return nil, nil, fmt.Errorf("the store returned %d salts for %d refs", len(salts), len(refs))
			}
		} else {
			salts = make([][]byte, len(refs))
			for k, ref := range refs {
				switch s, err := p.store.LookupSalt(ctx, ref); {
				case errors.Is(err, ErrNotFound):
				case err != nil:
					return nil, nil, err
				default:
					salts[k] = s
				}
			}
		}
		for k, i := range batch {
			switch s := salts[k]; {
			case s == nil:
			case len(s) != saltSize:
				return nil, nil, fmt.Errorf("%w: the store returned a salt of %d bytes", ErrTampered, len(s))
			default:
				ps[i], found[i] = p.derive(ns, ids[i], s), true
			}
		}
	}
	return ps, found, nil
}

// forget deletes the salt of id, and reports whether it had one. A get
// running meanwhile may still use the old pseudonym for the entry it is
// making, but never caches it.
func (p *pseudonymizer) forget(ctx context.Context, ns, id string) (bool, error) {
	p.mu.Lock()
	p.forgets++
	delete(p.cache, cacheKey{ns, id})
	p.mu.Unlock()
	ok, err := p.store.DeleteSalt(ctx, p.ref(ns, id))
	p.mu.Lock()
	p.forgets++
	delete(p.cache, cacheKey{ns, id})
	p.mu.Unlock()
	return ok, err
}

// put caches ps unless a forget happened since gen was read.
func (p *pseudonymizer) put(ck cacheKey, ps Pseudonym, now time.Time, gen uint64) {
	if p.size <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.forgets != gen {
		return
	}
	if len(p.cache) >= p.size {
		// Evict an eighth, at random (map order), and expired ones.
		n := max(1, p.size/8)
		for k, v := range p.cache {
			if n <= 0 && now.Before(v.expires) {
				continue
			}
			delete(p.cache, k)
			n--
		}
	}
	p.cache[ck] = cachedPseudonym{p: ps, expires: now.Add(p.ttl)}
}
