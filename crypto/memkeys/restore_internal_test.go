package memkeys

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/crypto"
)

// A Store whose Keyring meta rows were deleted but which still holds a
// tombstone is refused by crypto.New: otherwise new meta keys would change
// every Ref, and the shredded subject would silently get a fresh key.
func TestNewRefusesTombstonesWithoutMetaRows(t *testing.T) {
	ctx := context.Background()
	kek, err := crypto.EphemeralKEK("restore")
	if err != nil {
		t.Fatal(err)
	}
	s := New()
	k, err := crypto.New(ctx, s, kek)
	if err != nil {
		t.Fatal(err)
	}
	f := crypto.Field{Table: "users", Column: "email"}
	if _, err := k.Encrypt(ctx, "ann", f, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := k.Shred(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	for ref := range s.recs {
		if strings.HasPrefix(ref, "meta/") {
			delete(s.recs, ref)
		}
	}
	n := len(s.recs)
	s.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d rows left, want the tombstone alone", n)
	}
	if _, err := crypto.New(ctx, s, kek); !errors.Is(err, crypto.ErrInvalid) {
		t.Fatalf("New over a Store with a tombstone and no meta rows: %v; want ErrInvalid", err)
	}
	s.mu.Lock()
	n = len(s.recs)
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("the refused New left %d rows; want the tombstone alone (nothing written)", n)
	}
	if _, err := crypto.New(ctx, New(), kek); err != nil {
		t.Errorf("New over a fresh Store: %v", err)
	}
}
