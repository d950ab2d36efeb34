package crypto

import (
	"fmt"
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
	if c.ll.Len() != 3 || len(c.m) != 3 {
		t.Errorf("cache holds %d/%d entries, want 3", c.ll.Len(), len(c.m))
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
