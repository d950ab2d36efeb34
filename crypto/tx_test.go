package crypto_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// countingStore counts the Gets of subject keys it passes on.
type countingStore struct {
	crypto.Store
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, ref string) (crypto.Record, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, ref)
}

// In the tests below, a second memkeys.Store stands for the Keyring's Store
// as a transaction sees it: what is written there is what a transaction
// that has not committed (or that rolls back) wrote, invisible to the
// Keyring's own Store.

// A key created through In's Store is not cached: the Keyring's own path
// does not find it (had it been cached, the plain Decrypt would open the
// ciphertext), and In's Decrypt reads it through the transaction's Store.
func TestInCreatesUncached(t *testing.T) {
	f := newFixture(t)
	txStore := memkeys.New()
	in := f.k.In(txStore)
	ct, err := in.Encrypt(f.ctx, "ann", email, []byte("ann@example.org"))
	if err != nil {
		t.Fatalf("In(tx).Encrypt of a new subject: %v", err)
	}
	if _, err := txStore.Get(f.ctx, f.k.Ref("ann")); err != nil {
		t.Errorf("the key was not created in the transaction's Store: %v", err)
	}
	if _, err := f.store.Get(f.ctx, f.k.Ref("ann")); !errors.Is(err, crypto.ErrNotFound) {
		t.Errorf("the key reached the Keyring's own Store: %v", err)
	}
	if _, err := f.k.Decrypt(f.ctx, "ann", email, ct); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("plain Decrypt of a ciphertext whose key exists only in the (rolled-back) transaction: %v; want ErrDecrypt: the key must not be cached", err)
	}
	if pt, err := in.Decrypt(f.ctx, "ann", email, ct); err != nil || string(pt) != "ann@example.org" {
		t.Errorf("In(tx).Decrypt in the same transaction = %q, %v", pt, err)
	}
	// After a "rollback" a plain Encrypt makes a new key in the Keyring's
	// Store; the old ciphertext stays unreadable.
	ct2 := f.encrypt("ann", email, "ann@example.org")
	if _, err := f.k.Decrypt(f.ctx, "ann", email, ct); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("plain Decrypt of the rolled-back ciphertext after a new key: %v; want ErrDecrypt", err)
	}
	if pt, err := f.k.Decrypt(f.ctx, "ann", email, ct2); err != nil || string(pt) != "ann@example.org" {
		t.Errorf("plain Decrypt under the new key = %q, %v", pt, err)
	}

	// Scopes alike.
	ticket := crypto.Scope("ticket/4711")
	sct, err := in.EncryptScope(f.ctx, ticket, email, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.k.DecryptScope(f.ctx, ticket, email, sct); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("plain DecryptScope of a scope key made in the transaction: %v; want ErrDecrypt (not cached)", err)
	}
	if pt, err := in.DecryptScope(f.ctx, ticket, email, sct); err != nil || string(pt) != "x" {
		t.Errorf("In(tx).DecryptScope = %q, %v", pt, err)
	}
}

// A key read through In's Store is not cached either; a warm entry, put
// there by the Keyring's own path, is used without reading the Store.
func TestInReadsUncachedUsesWarmCache(t *testing.T) {
	f := newFixture(t)
	other := f.keyring(f.kek) // another instance: its key is not in f.k's cache
	ct, err := other.Encrypt(f.ctx, "bob", email, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: f.store}
	in := f.k.In(cs)
	for i := range 2 {
		if _, err := in.Decrypt(f.ctx, "bob", email, ct); err != nil {
			t.Fatal(err)
		}
		if got := cs.gets.Load(); got != int64(i+1) {
			t.Fatalf("after %d In(tx).Decrypt calls of a key read through tx, %d Gets; want %d: a key read through a transaction is never cached", i+1, got, i+1)
		}
	}
	// The Keyring's own path caches it; In then uses the warm entry.
	if _, err := f.k.Decrypt(f.ctx, "bob", email, ct); err != nil {
		t.Fatal(err)
	}
	before := cs.gets.Load()
	if _, err := in.Decrypt(f.ctx, "bob", email, ct); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Encrypt(f.ctx, "bob", email, []byte("w")); err != nil {
		t.Fatal(err)
	}
	if got := cs.gets.Load(); got != before {
		t.Errorf("In(tx) read the Store %d times for a subject in the cache; want none: a warm entry is used", got-before)
	}

	// A failing transaction Store does not matter for a cached subject,
	// and is reported for any other.
	down := &failingStore{Store: f.store, err: errors.New("connection refused")}
	if _, err := f.k.In(down).Encrypt(f.ctx, "bob", email, []byte("w")); err != nil {
		t.Errorf("In(failing).Encrypt of a cached subject: %v", err)
	}
	if _, err := f.k.In(down).Encrypt(f.ctx, "carol", email, []byte("w")); err == nil || errors.Is(err, crypto.ErrNotFound) {
		t.Errorf("In(failing).Encrypt of an uncached subject: %v; want the Store's failure", err)
	}
}

// Shred semantics are unchanged: a shredded subject gets no key through
// In either, and the key_created event of a key made in a transaction says
// so.
func TestInShreddedAndAudited(t *testing.T) {
	f := newFixture(t)
	if err := f.k.Shred(f.ctx, "dan"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.k.In(f.store).Encrypt(f.ctx, "dan", email, []byte("v")); !errors.Is(err, crypto.ErrShredded) {
		t.Errorf("In(tx).Encrypt of a shredded subject: %v; want ErrShredded", err)
	}

	f.audit.Reset()
	if _, err := f.k.In(memkeys.New()).Encrypt(f.ctx, "erin", email, []byte("v")); err != nil {
		t.Fatal(err)
	}
	f.encrypt("frank", email, "v")
	var created []gdpr.Event
	for _, e := range f.audit.Events() {
		if e.Action == "crypto.key_created" {
			created = append(created, e)
		}
	}
	if len(created) != 2 {
		t.Fatalf("%d key_created events, want 2", len(created))
	}
	if got := created[0].Attrs["transaction"]; got != "caller" || created[0].Subject != "erin" {
		t.Errorf("key_created of a key made in the caller's transaction: subject %q, Attrs %v; want Attrs[\"transaction\"] = \"caller\"", created[0].Subject, created[0].Attrs)
	}
	if _, ok := created[1].Attrs["transaction"]; ok {
		t.Errorf("key_created of a key made by the Keyring itself: Attrs %v; want no \"transaction\"", created[1].Attrs)
	}
}

// In(nil) and a nil context are refused, not panics; a TxKeyring prints
// no key.
func TestInRefusals(t *testing.T) {
	f := newFixture(t)
	var nilCtx context.Context
	for what, c := range map[string]struct {
		err   error
		field string
	}{
		"Encrypt through In(nil)":      {func() error { _, err := f.k.In(nil).Encrypt(f.ctx, "ann", email, nil); return err }(), "store"},
		"Decrypt through In(nil)":      {func() error { _, err := f.k.In(nil).Decrypt(f.ctx, "ann", email, nil); return err }(), "store"},
		"EncryptScope through In(nil)": {func() error { _, err := f.k.In(nil).EncryptScope(f.ctx, "t/1", email, nil); return err }(), "store"},
		"DecryptScope through In(nil)": {func() error { _, err := f.k.In(nil).DecryptScope(f.ctx, "t/1", email, nil); return err }(), "store"},
		"Encrypt with a nil context":   {func() error { _, err := f.k.In(f.store).Encrypt(nilCtx, "ann", email, nil); return err }(), "ctx"},
		"Decrypt with a nil context":   {func() error { _, err := f.k.In(f.store).Decrypt(nilCtx, "ann", email, nil); return err }(), "ctx"},
		"Encrypt with a bad subject":   {func() error { _, err := f.k.In(f.store).Encrypt(f.ctx, "", email, nil); return err }(), "subject"},
	} {
		var ce *crypto.Error
		if !errors.As(c.err, &ce) || ce.Field != c.field || !errors.Is(c.err, crypto.ErrInvalid) {
			t.Errorf("%s: %v; want *crypto.Error{Field: %q} wrapping ErrInvalid", what, c.err, c.field)
		}
	}
	in := f.k.In(f.store)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(verb, in); got != `crypto.TxKeyring{kek: "test-kek-1"}` {
			t.Errorf("TxKeyring printed with %s: %s", verb, got)
		}
	}
}
