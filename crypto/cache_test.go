package crypto

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"
)

type nopAEAD struct{ tink.AEAD }

func TestCache(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCache(3, time.Minute, func() time.Time { return now })
	a := nopAEAD{}
	for i := range 3 {
		c.put(fmt.Sprint(i), a, c.generation())
	}
	c.get("0") // 0 gets a second chance
	c.put("3", a, c.generation())
	if _, ok := c.get("0"); !ok {
		t.Error("a recently read entry was evicted first")
	}
	if _, ok := c.get("1"); ok {
		t.Error("the least recently used entry survived")
	}
	if len(c.ring) != 3 || len(c.m) != 3 || len(c.used) != 3 {
		t.Errorf("cache holds %d/%d entries, want 3", len(c.ring), len(c.m))
	}
	// A load that started before a shred cannot put the key back, even
	// after the cache has filled up with other subjects.
	gen := c.generation()
	c.shred("0")
	for i := range 10 {
		c.put(fmt.Sprint("other", i), a, c.generation())
	}
	c.put("0", a, gen)
	if _, ok := c.get("0"); ok {
		t.Error("a load that raced a shred put the key back")
	}
	c.put("0", a, c.generation()) // a load that started after the shred
	if _, ok := c.get("0"); ok {
		t.Error("a load after a shred cached the key within the marker's TTL")
	}
	// After the TTL the marker goes, and so do entries.
	now = now.Add(time.Minute)
	if _, ok := c.get("3"); ok {
		t.Error("an entry outlived its TTL")
	}
	c.put("0", a, c.generation())
	if _, ok := c.get("0"); !ok {
		t.Error("the shred marker outlived its TTL")
	}
	c.forget("0")
	if _, ok := c.get("0"); ok {
		t.Error("forget left the entry")
	}
	off := newCache(0, 0, time.Now)
	off.put("x", a, off.generation())
	if _, ok := off.get("x"); ok {
		t.Error("a disabled cache cached")
	}
}

// checkCache fails unless the map, the ring and the second-chance bits
// describe the same entries, within the size bound.
func checkCache(t *testing.T, c *cache) {
	t.Helper()
	if len(c.m) != len(c.ring) || len(c.used) != len(c.ring) || len(c.ring) > c.size {
		t.Fatalf("map %d, ring %d, used %d entries, size %d", len(c.m), len(c.ring), len(c.used), c.size)
	}
	for i, ref := range c.ring {
		if e, ok := c.m[ref]; !ok || e.slot != i {
			t.Fatalf("slot %d: ref %q maps to slot %d (present %v)", i, ref, e.slot, ok)
		}
	}
}

// Random puts, hits, shreds, rotations and revives keep the cache's
// structures consistent and bounded, and a shredded ref is never served
// within its marker's TTL.
func TestCacheOperationsKeepItConsistent(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCache(8, time.Minute, func() time.Time { return now })
	a := nopAEAD{}
	shredAt := map[string]time.Time{}
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 20_000 {
		ref := fmt.Sprint(r.IntN(20))
		switch op := r.IntN(10); {
		case op < 4:
			c.put(ref, a, c.generation())
		case op < 7:
			_, ok := c.get(ref)
			if at, shredded := shredAt[ref]; ok && shredded && now.Sub(at) < time.Minute {
				t.Fatalf("op %d: a shredded ref was served", i)
			}
		case op < 8:
			c.shred(ref)
			shredAt[ref] = now
		case op < 9:
			c.replace(ref, a)
		default:
			c.forget(ref)
			delete(shredAt, ref)
		}
		if r.IntN(50) == 0 {
			now = now.Add(10 * time.Second)
		}
		checkCache(t, c)
	}
}

// The hand gives every read entry a second chance: of a full cache whose
// entries were all read but one, that one goes first, wherever it is, and
// the read ones stay.
func TestCacheEvictsTheUnreadEntry(t *testing.T) {
	a := nopAEAD{}
	for unread := range 5 {
		c := newCache(5, time.Minute, time.Now)
		for i := range 5 {
			c.put(fmt.Sprint(i), a, c.generation())
		}
		for i := range 5 {
			if i != unread {
				c.get(fmt.Sprint(i))
			}
		}
		c.put("new", a, c.generation())
		checkCache(t, c)
		for i := range 5 {
			if _, ok := c.get(fmt.Sprint(i)); ok == (i == unread) {
				t.Errorf("unread %d: entry %d cached %v", unread, i, ok)
			}
		}
	}
}
