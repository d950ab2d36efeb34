package crypto_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// gateStore is a Store whose next Get of an armed Ref reads the record and
// then waits until released: a key load in flight that holds what the
// Store said before a Shred, as a slow KMS call or database read would.
type gateStore struct {
	crypto.Store
	mu      sync.Mutex
	ref     string
	entered chan struct{}
	release chan struct{}
}

// arm makes the next Get of ref block after reading it. entered is closed
// once that Get has read; closing release lets it return.
func (s *gateStore) arm(ref string) (entered, release chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ref, s.entered, s.release = ref, make(chan struct{}), make(chan struct{})
	return s.entered, s.release
}

func (s *gateStore) Get(ctx context.Context, ref string) (crypto.Record, error) {
	r, err := s.Store.Get(ctx, ref)
	s.mu.Lock()
	armed := s.ref != "" && s.ref == ref
	entered, release := s.entered, s.release
	if armed {
		s.ref = "" // once
	}
	s.mu.Unlock()
	if armed {
		close(entered)
		<-release
	}
	return r, err
}

// A call that starts after Shred (or ShredScope) returned never uses the
// key, even when a load of that key began before the Shred and is still in
// flight, with the cache on and off, for Encrypt and Decrypt, for subjects
// and scopes, on the Keyring and through a TxKeyring. The call that began
// the load started before the Shred, so it may still use the key; nothing
// it loaded reaches the cache.
func TestNoKeyAfterShredFromLoadInFlight(t *testing.T) {
	kek, err := crypto.EphemeralKEK("race-kek")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	caches := []struct {
		name string
		opt  crypto.Option
	}{{"cache", crypto.WithCache(100, time.Hour)}, {"nocache", crypto.WithCache(0, 0)}}
	type ops struct {
		encrypt func(context.Context, *crypto.Keyring, crypto.Store) ([]byte, error)
		decrypt func(context.Context, *crypto.Keyring, crypto.Store, []byte) ([]byte, error)
		shred   func(context.Context, *crypto.Keyring) error
		ref     func(*crypto.Keyring) string
	}
	// tx nil: the Keyring's own method; else through k.In(tx).
	owners := map[string]ops{
		"subject": {
			encrypt: func(ctx context.Context, k *crypto.Keyring, tx crypto.Store) ([]byte, error) {
				if tx != nil {
					return k.In(tx).Encrypt(ctx, "ann", email, []byte("v"))
				}
				return k.Encrypt(ctx, "ann", email, []byte("v"))
			},
			decrypt: func(ctx context.Context, k *crypto.Keyring, tx crypto.Store, ct []byte) ([]byte, error) {
				if tx != nil {
					return k.In(tx).Decrypt(ctx, "ann", email, ct)
				}
				return k.Decrypt(ctx, "ann", email, ct)
			},
			shred: func(ctx context.Context, k *crypto.Keyring) error { return k.Shred(ctx, "ann") },
			ref:   func(k *crypto.Keyring) string { return k.Ref("ann") },
		},
		"scope": {
			encrypt: func(ctx context.Context, k *crypto.Keyring, tx crypto.Store) ([]byte, error) {
				if tx != nil {
					return k.In(tx).EncryptScope(ctx, "ticket/1", email, []byte("v"))
				}
				return k.EncryptScope(ctx, "ticket/1", email, []byte("v"))
			},
			decrypt: func(ctx context.Context, k *crypto.Keyring, tx crypto.Store, ct []byte) ([]byte, error) {
				if tx != nil {
					return k.In(tx).DecryptScope(ctx, "ticket/1", email, ct)
				}
				return k.DecryptScope(ctx, "ticket/1", email, ct)
			},
			shred: func(ctx context.Context, k *crypto.Keyring) error { return k.ShredScope(ctx, "ticket/1") },
			ref:   func(k *crypto.Keyring) string { return k.ScopeRef("ticket/1") },
		},
	}
	type result struct {
		out []byte
		err error
	}
	for _, c := range caches {
		for oname, o := range owners {
			for _, op := range []string{"Encrypt", "Decrypt"} {
				for _, via := range []string{"Keyring", "TxKeyring"} {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", c.name, oname, op, via), func(t *testing.T) {
						store := &gateStore{Store: memkeys.New()}
						// The key and a ciphertext, made by another instance:
						// k's cache is cold, so its call loads the key.
						k0, err := crypto.New(ctx, store, kek)
						if err != nil {
							t.Fatal(err)
						}
						ct, err := o.encrypt(ctx, k0, nil)
						if err != nil {
							t.Fatal(err)
						}
						k, err := crypto.New(ctx, store, kek, c.opt)
						if err != nil {
							t.Fatal(err)
						}
						call := func(tx crypto.Store) result {
							var r result
							if op == "Encrypt" {
								r.out, r.err = o.encrypt(ctx, k, tx)
							} else {
								r.out, r.err = o.decrypt(ctx, k, tx, ct)
							}
							return r
						}
						var tx crypto.Store
						if via == "TxKeyring" {
							tx = store // the transaction's view: here the Store itself
						}

						entered, release := store.arm(o.ref(k))
						first := make(chan result, 1)
						go func() { first <- call(nil) }() // loads the key, then waits
						<-entered
						if err := o.shred(ctx, k); err != nil {
							t.Fatal(err)
						}
						later := make(chan result, 1)
						go func() { later <- call(tx) }() // starts after Shred returned
						var r result
						select {
						case r = <-later:
							close(release)
						case <-time.After(2 * time.Second):
							// Still waiting: it joined the load begun before
							// the Shred. Let that load finish, and see.
							close(release)
							r = <-later
						}
						<-first
						if !errors.Is(r.err, crypto.ErrShredded) {
							t.Errorf("%s through the %s, started after the Shred returned while a load begun before it was in flight: (%d bytes, %v); want ErrShredded (the key was used after Shred)",
								op, via, len(r.out), r.err)
						}
						// What the first load read reaches no cache.
						for _, via := range []crypto.Store{nil, store} {
							if r := call(via); !errors.Is(r.err, crypto.ErrShredded) {
								t.Errorf("%s (tx %v) after the load begun before Shred ended: (%d bytes, %v); want ErrShredded", op, via != nil, len(r.out), r.err)
							}
						}
					})
				}
			}
		}
	}
}
