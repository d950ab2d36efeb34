package memkeys_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// The store's life cycle for one Ref: first use, a lost race, a rotation,
// a shred that no Create passes, and the explicit Revive.
func Example() {
	ctx := context.Background()
	store := memkeys.New()
	ref := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

	_ = store.Create(ctx, crypto.Record{Ref: ref, Wrapped: []byte{0x01}, KEK: "kek-1", Created: now, Updated: now})
	err := store.Create(ctx, crypto.Record{Ref: ref, Wrapped: []byte{0x02}, KEK: "kek-1"})
	fmt.Println("second create, conflict:", errors.Is(err, crypto.ErrConflict))

	r, _ := store.Get(ctx, ref)
	r.Wrapped, r.KEK, r.Updated = []byte{0x03}, "kek-2", now.Add(time.Hour)
	err = store.Update(ctx, r) // from Version 1
	r, _ = store.Get(ctx, ref)
	fmt.Println("rewrapped:", err, r.KEK, "version", r.Version)

	_ = store.Shred(ctx, ref, now.Add(2*time.Hour))
	_, err = store.Get(ctx, ref)
	fmt.Println("after shred, get:", errors.Is(err, crypto.ErrShredded))
	err = store.Create(ctx, crypto.Record{Ref: ref, Wrapped: []byte{0x04}, KEK: "kek-2"})
	fmt.Println("after shred, create:", errors.Is(err, crypto.ErrShredded))

	err = store.Revive(ctx, crypto.Record{Ref: ref, Wrapped: []byte{0x05}, KEK: "kek-2", Created: now, Updated: now})
	r, _ = store.Get(ctx, ref)
	fmt.Println("revived:", err, "version", r.Version)
	// Output:
	// second create, conflict: true
	// rewrapped: <nil> kek-2 version 2
	// after shred, get: true
	// after shred, create: true
	// revived: <nil> version 1
}
