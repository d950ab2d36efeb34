package crypto_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// A Store that holds tombstones but lost the Keyring's own keys (a partial
// restore, or the meta rows deleted) is refused: new keys would change
// every Ref, no tombstone would match any more, and a shredded subject
// would silently get a fresh key. A Store with only live subject keys is
// refused too, and an empty one is accepted.
func TestStoreWithoutMetaKeysRefused(t *testing.T) {
	f := newFixture(t)
	f.encrypt("ann", email, "x")
	if err := f.k.Shred(f.ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if err := f.k.ShredScope(f.ctx, "ticket/1"); err != nil {
		t.Fatal(err)
	}
	for name, refs := range map[string][]string{
		"subject tombstone": {f.k.Ref("ann")},
		"scope tombstone":   {f.k.ScopeRef("ticket/1")},
		"both":              {f.k.Ref("ann"), f.k.ScopeRef("ticket/1")},
	} {
		t.Run(name, func(t *testing.T) {
			restored := memkeys.New() // the tombstones survived, the meta rows did not
			for _, ref := range refs {
				if err := restored.Shred(f.ctx, ref, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			k, err := crypto.New(f.ctx, restored, f.kek)
			var ce *crypto.Error
			if !errors.Is(err, crypto.ErrInvalid) || !errors.As(err, &ce) || ce.Op != "new" || ce.Field != "store" {
				t.Fatalf("New over a Store with tombstones but without the Keyring's own keys: %v; want *Error{Op: new, Field: store} wrapping ErrInvalid", err)
			}
			if k != nil {
				t.Fatal("New returned a Keyring with its error")
			}
			if recs, _ := restored.List(f.ctx, "", 10); len(recs) != 0 {
				t.Errorf("the refused New wrote %d records", len(recs))
			}
		})
	}
	if _, err := crypto.New(f.ctx, memkeys.New(), f.kek); err != nil {
		t.Errorf("New over an empty Store: %v", err)
	}
}
