package memexport_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/memexport"
)

// The store as a fake: a part's token is claimed once, a used or expired
// token is not found, and a delivery is over once every part was
// downloaded.
func Example() {
	ctx := context.Background()
	store := memexport.New()
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	hash := func(token string) []byte { h := sha256.Sum256([]byte(token)); return h[:] }

	err := store.Create(ctx, export.Delivery{
		ID: "0195a1b2-0000-7000-8000-000000000001", Request: "0195a1b2-0000-7000-8000-0000000000aa",
		Kind: gdpr.KindAccess, Subject: "user-1", Created: t0, Expires: t0.Add(7 * 24 * time.Hour),
		Parts: []export.DeliveryPart{
			{TokenHash: hash("token-one"), Blob: "0195a1b2-0000-7000-8000-000000000001-1", Size: 1 << 20},
			{TokenHash: hash("token-two"), Blob: "0195a1b2-0000-7000-8000-000000000001-2", Size: 4096},
		},
	})
	fmt.Println("created:", err)

	d, i, err := store.Claim(ctx, hash("token-one"), t0.Add(time.Hour))
	fmt.Println("claimed part", i+1, "of", len(d.Parts), err, "done:", d.Done())
	_, _, err = store.Claim(ctx, hash("token-one"), t0.Add(2*time.Hour))
	fmt.Println("again, not found:", errors.Is(err, export.ErrNotFound))
	_, _, err = store.Claim(ctx, hash("token-two"), t0.Add(8*24*time.Hour))
	fmt.Println("after expiry, not found:", errors.Is(err, export.ErrNotFound))

	d, _, _ = store.Claim(ctx, hash("token-two"), t0.Add(3*time.Hour))
	fmt.Println("done:", d.Done())
	over, _ := store.List(ctx, export.DeliveryFilter{Finished: t0.Add(4 * time.Hour)})
	fmt.Println("over:", len(over))
	_ = store.Delete(ctx, d.ID)
	_, err = store.Get(ctx, d.ID)
	fmt.Println("deleted, not found:", errors.Is(err, export.ErrNotFound))
	// Output:
	// created: <nil>
	// claimed part 1 of 2 <nil> done: false
	// again, not found: true
	// after expiry, not found: true
	// done: true
	// over: 1
	// deleted, not found: true
}

// A blob exists once its writer is closed.
func ExampleBlobs() {
	ctx := context.Background()
	blobs := memexport.NewBlobs()
	w, _ := blobs.Create(ctx, "part-1")
	io.WriteString(w, "encrypted bytes")
	_, err := blobs.Open(ctx, "part-1")
	fmt.Println("before Close, not found:", errors.Is(err, export.ErrNotFound))
	w.Close()
	r, _ := blobs.Open(ctx, "part-1")
	b, _ := io.ReadAll(r)
	fmt.Printf("after Close: %q\n", b)
	_ = blobs.Remove(ctx, "part-1")
	fmt.Println("left:", blobs.Len())
	// Output:
	// before Close, not found: true
	// after Close: "encrypted bytes"
	// left: 0
}
