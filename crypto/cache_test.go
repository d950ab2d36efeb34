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
		c.put(fmt.Sprint(i), a, 1)
	}
	c.get("0") // 0 gets a second chance
	c.put("3", a, 1)
	if _, ok := c.get("0"); !ok {
		t.Error("a recently read entry was evicted first")
	}
	if _, ok := c.get("1"); ok {
		t.Error("the least recently used entry survived")
	}
	if c.ll.Len() != 3 || len(c.m) != 3 {
		t.Errorf("cache holds %d/%d entries, want 3", c.ll.Len(), len(c.m))
	}
	// A shred leaves a marker that a late load cannot overwrite.
	c.shred("0")
	c.put("0", a, 1)
	if _, ok := c.get("0"); ok {
		t.Error("a load that raced a shred put the key back")
	}
	// After the TTL the marker goes, and so do entries.
	now = now.Add(time.Minute)
	if _, ok := c.get("3"); ok {
		t.Error("an entry outlived its TTL")
	}
	c.put("0", a, 1)
	if _, ok := c.get("0"); !ok {
		t.Error("the shred marker outlived its TTL")
	}
	// A newer version is not replaced by an older one.
	c.put("9", a, 5)
	c.put("9", nopAEAD{}, 4)
	c.forget("9")
	if _, ok := c.get("9"); ok {
		t.Error("forget left the entry")
	}
	off := newCache(0, 0, time.Now)
	off.put("x", a, 1)
	if _, ok := off.get("x"); ok {
		t.Error("a disabled cache cached")
	}
}
