package crypto

import (
	"fmt"
	"io"
	"strconv"
)

// String returns crypto.Keyring{kek: "<KEK ID>"}: the Keyring's keys (its
// Ref key, its blind-index key, the cached subject keys) never print.
func (k *Keyring) String() string {
	if k == nil {
		return "(*crypto.Keyring)(nil)"
	}
	return "crypto.Keyring{kek: " + strconv.Quote(k.kek.ID) + "}"
}

// GoString returns the same as String, for %#v.
func (k *Keyring) GoString() string { return k.String() }

// Format prints String under every verb (%v, %+v, %#v, %s, %x, %q, …).
func (k *Keyring) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// String returns crypto.BlindIndex{size: <n>}: the index's key never
// prints.
func (b *BlindIndex) String() string {
	if b == nil {
		return "(*crypto.BlindIndex)(nil)"
	}
	return "crypto.BlindIndex{size: " + strconv.Itoa(b.size) + "}"
}

// GoString returns the same as String, for %#v.
func (b *BlindIndex) GoString() string { return b.String() }

// Format prints String under every verb (%v, %+v, %#v, %s, %x, %q, …).
func (b *BlindIndex) Format(f fmt.State, _ rune) { io.WriteString(f, b.String()) }
