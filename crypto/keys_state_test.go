package crypto_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// countingAEAD is a KEK's AEAD that counts its calls: the KMS calls a
// Keyring makes.
type countingAEAD struct {
	a     tink.AEAD
	calls *atomic.Int64
}

func (c countingAEAD) Encrypt(p, ad []byte) ([]byte, error) {
	c.calls.Add(1)
	return c.a.Encrypt(p, ad)
}

func (c countingAEAD) Decrypt(ct, ad []byte) ([]byte, error) {
	c.calls.Add(1)
	return c.a.Decrypt(ct, ad)
}

// countingKEK returns a KEK named id whose calls are counted in calls.
func countingKEK(t testing.TB, id string, calls *atomic.Int64) crypto.KEK {
	t.Helper()
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		t.Fatal(err)
	}
	a, err := aead.New(h)
	if err != nil {
		t.Fatal(err)
	}
	return crypto.NewKEK(id, countingAEAD{a: a, calls: calls})
}

// spyStore is a memkeys.Store (so a TombstoneReader, BatchUpdater and
// BatchGetter) that counts the calls SubjectKeys may make and fails the
// test on any write.
type spyStore struct {
	*memkeys.Store
	t                         testing.TB
	gets, getManys, tombstone atomic.Int64
	writing                   atomic.Bool // writes allowed
}

func newSpyStore(t testing.TB) *spyStore {
	s := &spyStore{Store: memkeys.New(), t: t}
	s.writing.Store(true)
	return s
}

func (s *spyStore) Get(ctx context.Context, ref string) (crypto.Record, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, ref)
}

func (s *spyStore) GetMany(ctx context.Context, refs []string) ([]crypto.RefState, error) {
	s.getManys.Add(1)
	return s.Store.GetMany(ctx, refs)
}

func (s *spyStore) Tombstone(ctx context.Context, ref string) (time.Time, error) {
	s.tombstone.Add(1)
	return s.Store.Tombstone(ctx, ref)
}

func (s *spyStore) write(op string) {
	if !s.writing.Load() {
		s.t.Errorf("SubjectKeys called the Store's %s; it writes nothing", op)
	}
}

func (s *spyStore) Create(ctx context.Context, r crypto.Record) error {
	s.write("Create")
	return s.Store.Create(ctx, r)
}

func (s *spyStore) Update(ctx context.Context, r crypto.Record) error {
	s.write("Update")
	return s.Store.Update(ctx, r)
}

func (s *spyStore) UpdateMany(ctx context.Context, rs []crypto.Record) ([]error, error) {
	s.write("UpdateMany")
	return s.Store.UpdateMany(ctx, rs)
}

func (s *spyStore) Shred(ctx context.Context, ref string, at time.Time) error {
	s.write("Shred")
	return s.Store.Shred(ctx, ref, at)
}

func (s *spyStore) Revive(ctx context.Context, r crypto.Record) error {
	s.write("Revive")
	return s.Store.Revive(ctx, r)
}

// bareStore is a Store and nothing else: no BatchGetter, no
// TombstoneReader.
type bareStore struct{ crypto.Store }

// tombStore is a Store and a TombstoneReader, but no BatchGetter.
type tombStore struct {
	crypto.Store
	tr crypto.TombstoneReader
}

func (s tombStore) Tombstone(ctx context.Context, ref string) (time.Time, error) {
	return s.tr.Tombstone(ctx, ref)
}

// keyStates is a fixture for SubjectKeys: a Keyring over a spyStore with
// a clock the test moves, a counted KEK and a Recorder.
type keyStates struct {
	t     *testing.T
	ctx   context.Context
	store *spyStore
	calls *atomic.Int64
	kek   crypto.KEK
	clock *fakeClock
	audit *auditLog
	k     *crypto.Keyring
}

// fakeClock is a clock a test sets.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var t0 = time.Date(2026, time.March, 1, 9, 0, 0, 0, time.UTC)

func newKeyStates(t *testing.T) *keyStates {
	f := &keyStates{t: t, ctx: t.Context(), store: newSpyStore(t), calls: new(atomic.Int64),
		clock: &fakeClock{now: t0}, audit: &auditLog{}}
	f.kek = countingKEK(t, "kek-1", f.calls)
	f.k = f.keyring(f.kek)
	return f
}

func (f *keyStates) keyring(kek crypto.KEK, opts ...crypto.Option) *crypto.Keyring {
	f.t.Helper()
	k, err := crypto.New(f.ctx, f.store, kek, append([]crypto.Option{crypto.WithClock(f.clock.Now),
		crypto.WithRecorder(f.audit), crypto.WithDecryptAudit()}, opts...)...)
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

func (f *keyStates) encrypt(s gdpr.SubjectID) []byte {
	f.t.Helper()
	ct, err := f.k.Encrypt(f.ctx, s, email, []byte("value of "+string(s)))
	if err != nil {
		f.t.Fatalf("Encrypt: %v", err)
	}
	return ct
}

// records returns the number of Refs the Store holds, live or shredded.
func (f *keyStates) records() int {
	f.t.Helper()
	refs, err := f.store.Store.Refs(f.ctx, "", 1_000_000)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(refs)
}

// ask calls SubjectKeys on k with the Store's writes forbidden, and
// checks that it created nothing, called no KEK and recorded nothing.
func (f *keyStates) ask(k *crypto.Keyring, subjects ...gdpr.SubjectID) []gdpr.SubjectKey {
	f.t.Helper()
	n, calls, events := f.records(), f.calls.Load(), len(f.audit.Actions())
	f.store.writing.Store(false)
	got, err := k.SubjectKeys(f.ctx, subjects)
	f.store.writing.Store(true)
	if err != nil {
		f.t.Fatalf("SubjectKeys: %v", err)
	}
	if len(got) != len(subjects) {
		f.t.Fatalf("SubjectKeys of %d subjects: %d answers", len(subjects), len(got))
	}
	if m := f.records(); m != n {
		f.t.Errorf("SubjectKeys changed the number of records in the Store from %d to %d; it creates nothing", n, m)
	}
	if c := f.calls.Load() - calls; c != 0 {
		f.t.Errorf("SubjectKeys called the KEK %d times; it unwraps nothing", c)
	}
	if e := f.audit.Actions()[events:]; len(e) != 0 {
		f.t.Errorf("SubjectKeys recorded %q; it records nothing", e)
	}
	return got
}

func wantKey(t *testing.T, what string, got gdpr.SubjectKey, state gdpr.KeyState, kek string, since time.Time) {
	t.Helper()
	if got.State != state || got.KEK != kek || !got.Since.Equal(since) {
		t.Errorf("%s: {%s %q %s}; want {%s %q %s}", what, got.State, got.KEK, got.Since.Format(time.RFC3339Nano),
			state, kek, since.Format(time.RFC3339Nano))
	}
}

// Live, shredded and unknown subjects, over the Store as it is (a
// BatchGetter: one GetMany, no Get), and in the order asked, with
// repeats.
func TestSubjectKeys(t *testing.T) {
	f := newKeyStates(t)
	f.encrypt("ann")
	f.clock.set(t0.Add(time.Hour))
	f.encrypt("bob")
	f.clock.set(t0.Add(2 * time.Hour))
	if err := f.k.Shred(f.ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := f.k.Shred(f.ctx, "dan"); err != nil { // shredded without a key ever made
		t.Fatal(err)
	}
	f.store.gets.Store(0)
	got := f.ask(f.k, "carol", "bob", "ann", "dan", "ann", "carol")
	wantKey(t, "a subject without a key", got[0], gdpr.KeyNone, "", time.Time{})
	wantKey(t, "a shredded subject", got[1], gdpr.KeyShredded, "", t0.Add(2*time.Hour))
	wantKey(t, "a live subject", got[2], gdpr.KeyLive, "kek-1", t0)
	wantKey(t, "a subject shredded before any key", got[3], gdpr.KeyShredded, "", t0.Add(2*time.Hour))
	wantKey(t, "a live subject asked twice", got[4], gdpr.KeyLive, "kek-1", t0)
	wantKey(t, "a subject without a key asked twice", got[5], gdpr.KeyNone, "", time.Time{})
	if n, m := f.store.getManys.Load(), f.store.gets.Load(); n != 1 || m != 0 {
		t.Errorf("SubjectKeys over a BatchGetter: %d GetMany and %d Get calls; want one GetMany and no Get", n, m)
	}
	// Carol still has no key: Decrypt finds none, and only Encrypt makes it.
	if _, err := f.k.Decrypt(f.ctx, "carol", email, f.encrypt("ann")); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("Decrypt for a subject SubjectKeys was asked about: %v; want ErrDecrypt (no key)", err)
	}
	if _, err := f.store.Store.Get(f.ctx, f.k.Ref("carol")); !errors.Is(err, crypto.ErrNotFound) {
		t.Errorf("Get of the Ref of a subject SubjectKeys was asked about: %v; want ErrNotFound: it creates no key", err)
	}
}

// Without a BatchGetter, SubjectKeys reads one Get per distinct subject,
// and the tombstone time only from a TombstoneReader; the answers are
// those of the batch path otherwise.
func TestSubjectKeysWithoutBatchGetter(t *testing.T) {
	f := newKeyStates(t)
	f.encrypt("ann")
	f.clock.set(t0.Add(time.Hour))
	f.encrypt("bob")
	f.clock.set(t0.Add(2 * time.Hour))
	if err := f.k.Shred(f.ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	subjects := []gdpr.SubjectID{"ann", "bob", "carol", "bob", "ann"}
	batch := f.ask(f.k, subjects...)
	for _, tc := range []struct {
		name  string
		store crypto.Store
		since time.Time // of bob's shred
	}{
		{"TombstoneReader", tombStore{Store: f.store, tr: f.store}, t0.Add(2 * time.Hour)},
		{"StoreOnly", bareStore{f.store}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.store.(crypto.BatchGetter); ok {
				t.Fatal("the wrapper is a BatchGetter")
			}
			k, err := crypto.New(f.ctx, tc.store, f.kek, crypto.WithRecorder(f.audit))
			if err != nil {
				t.Fatal(err)
			}
			f.store.gets.Store(0)
			f.store.getManys.Store(0)
			f.store.tombstone.Store(0)
			got := f.ask(k, subjects...)
			for i, s := range subjects {
				want := batch[i]
				if s == "bob" {
					want.Since = tc.since
				}
				wantKey(t, fmt.Sprintf("subject %d", i), got[i], want.State, want.KEK, want.Since)
			}
			if n := f.store.gets.Load(); n != 3 {
				t.Errorf("SubjectKeys of 3 distinct subjects without a BatchGetter: %d Gets; want 3", n)
			}
			if n := f.store.getManys.Load(); n != 0 {
				t.Errorf("SubjectKeys called GetMany through a Store that does not offer it (%d)", n)
			}
			if n, want := f.store.tombstone.Load(), int64(0); tc.since.IsZero() && n != want {
				t.Errorf("SubjectKeys read %d tombstones through a Store that is no TombstoneReader", n)
			} else if !tc.since.IsZero() && n != 1 {
				t.Errorf("SubjectKeys read %d tombstones for one shredded subject; want 1", n)
			}
		})
	}
}

// A rotated key reports a later Since; a key rewrapped under a new KEK
// reports that KEK, and the time of the rewrap; a revived key, the new
// key's creation. Nothing SubjectKeys does unwraps: the second instance's
// cache is still empty, and its first Decrypt calls the KEK.
func TestSubjectKeysAfterRotateAndRewrap(t *testing.T) {
	f := newKeyStates(t)
	ct := f.encrypt("ann")
	f.encrypt("bob")
	wantKey(t, "a new key", f.ask(f.k, "ann")[0], gdpr.KeyLive, "kek-1", t0)

	f.clock.set(t0.Add(time.Hour))
	if err := f.k.Rotate(f.ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	got := f.ask(f.k, "ann", "bob")
	wantKey(t, "a rotated key", got[0], gdpr.KeyLive, "kek-1", t0.Add(time.Hour))
	wantKey(t, "a key not rotated", got[1], gdpr.KeyLive, "kek-1", t0)

	f.clock.set(t0.Add(2 * time.Hour))
	kek2 := countingKEK(t, "kek-2", f.calls)
	k2 := f.keyring(kek2, crypto.WithPreviousKEKs(f.kek))
	if p, err := k2.Rewrap(f.ctx, "", 100, nil); err != nil || p.Rewrapped != 4 { // ann, bob and the Keyring's own two
		t.Fatalf("Rewrap = %+v, %v; want 4 records rewrapped", p, err)
	}
	k3 := f.keyring(kek2) // a fresh instance: an empty cache
	got = f.ask(k3, "ann", "bob")
	wantKey(t, "a key rewrapped under a new KEK", got[0], gdpr.KeyLive, "kek-2", t0.Add(2*time.Hour))
	wantKey(t, "a key rewrapped under a new KEK", got[1], gdpr.KeyLive, "kek-2", t0.Add(2*time.Hour))
	before := f.calls.Load()
	if p, err := k3.Decrypt(f.ctx, "ann", email, ct); err != nil || string(p) != "value of ann" {
		t.Fatalf("Decrypt after Rewrap: %q, %v", p, err)
	}
	if n := f.calls.Load() - before; n != 1 {
		t.Errorf("the first Decrypt on an instance after SubjectKeys called the KEK %d times; want 1: SubjectKeys must not cache the key", n)
	}

	f.clock.set(t0.Add(3 * time.Hour))
	if err := k3.Shred(f.ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	wantKey(t, "a shredded key", f.ask(k3, "ann")[0], gdpr.KeyShredded, "", t0.Add(3*time.Hour))
	f.clock.set(t0.Add(4 * time.Hour))
	if err := k3.Revive(f.ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	wantKey(t, "a revived key", f.ask(k3, "ann")[0], gdpr.KeyLive, "kek-2", t0.Add(4*time.Hour))
}

func TestSubjectKeysEmpty(t *testing.T) {
	f := newKeyStates(t)
	f.store.gets.Store(0)
	for _, subjects := range [][]gdpr.SubjectID{nil, {}} {
		got, err := f.k.SubjectKeys(f.ctx, subjects)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("SubjectKeys(%#v) = %#v, %v; want an empty slice and nil", subjects, got, err)
		}
	}
	if n, m := f.store.getManys.Load(), f.store.gets.Load(); n != 0 || m != 0 {
		t.Errorf("SubjectKeys of no subjects read the Store (%d GetMany, %d Get); want nothing read", n, m)
	}
}

// A bad subject ID is refused by index, before anything is read, without
// the ID in the text; a nil context is refused too.
func TestSubjectKeysInvalid(t *testing.T) {
	f := newKeyStates(t)
	f.encrypt("ann")
	f.store.gets.Store(0)
	for _, tc := range []struct {
		subjects []gdpr.SubjectID
		field    string
		text     string
	}{
		{[]gdpr.SubjectID{"ann", ""}, "subjects[1]", "crypto subject_keys: subjects[1]: invalid input: empty subject ID"},
		{[]gdpr.SubjectID{"ann", "bob", canarySubject + "\n"}, "subjects[2]",
			"crypto subject_keys: subjects[2]: invalid input: subject ID contains a control character"},
		{[]gdpr.SubjectID{gdpr.SubjectID(strings.Repeat("x", gdpr.MaxIDLen+1)), ""}, "subjects[0]", ""},
		{[]gdpr.SubjectID{"ann", canarySubject + "\xff"}, "subjects[1]", ""},
	} {
		got, err := f.k.SubjectKeys(f.ctx, tc.subjects)
		if got != nil {
			t.Errorf("SubjectKeys with %s invalid returned answers with its error", tc.field)
		}
		wantFieldErr(t, "SubjectKeys with "+tc.field+" invalid", err, "subject_keys", tc.field)
		if err == nil {
			continue
		}
		if tc.text != "" && err.Error() != tc.text {
			t.Errorf("SubjectKeys with %s invalid: %q; want %q", tc.field, err, tc.text)
		}
		if strings.Contains(err.Error(), "canary") || strings.Contains(err.Error(), "xxxx") {
			t.Errorf("the error of an invalid subject quotes it: %q", err)
		}
	}
	if n, m := f.store.getManys.Load(), f.store.gets.Load(); n != 0 || m != 0 {
		t.Errorf("SubjectKeys with an invalid subject read the Store (%d GetMany, %d Get); want nothing read", n, m)
	}
	var nilCtx context.Context
	_, err := f.k.SubjectKeys(nilCtx, []gdpr.SubjectID{"ann"})
	wantFieldErr(t, "SubjectKeys(nil ctx)", err, "subject_keys", "ctx")
}

// failingBatch is a BatchGetter whose GetMany fails, or answers for
// another number of Refs.
type failingBatch struct {
	crypto.Store
	err   error
	short bool
}

func (s failingBatch) GetMany(ctx context.Context, refs []string) ([]crypto.RefState, error) {
	if s.short {
		return make([]crypto.RefState, len(refs)-1), nil
	}
	return nil, s.err
}

// A Store's failure is passed on behind "store", with no answers; a
// BatchGetter that answers for another number of Refs is refused.
func TestSubjectKeysStoreErrors(t *testing.T) {
	f := newFixture(t)
	f.encrypt("ann", email, "x")
	down := errors.New("connection refused")
	storeErr := &crypto.Error{Op: "get", Err: down}
	for _, tc := range []struct {
		name  string
		store crypto.Store
		text  string
	}{
		{"Get", failingStore{Store: f.store, err: storeErr}, "crypto subject_keys: store get: connection refused"},
		{"GetMany", failingBatch{Store: f.store, err: storeErr}, "crypto subject_keys: store get: connection refused"},
	} {
		k, err := crypto.New(f.ctx, tc.store, f.kek)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.SubjectKeys(f.ctx, []gdpr.SubjectID{"ann", "bob"})
		if got != nil || !errors.Is(err, down) || err.Error() != tc.text {
			t.Errorf("SubjectKeys over a failing %s: %d answers, %v; want none and %q", tc.name, len(got), err, tc.text)
		}
	}
	k, err := crypto.New(f.ctx, failingBatch{Store: f.store, short: true}, f.kek)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.SubjectKeys(f.ctx, []gdpr.SubjectID{"ann", "bob"})
	var ce *crypto.Error
	if got != nil || !errors.As(err, &ce) || ce.Field != "store" || !errors.Is(err, crypto.ErrInvalid) {
		t.Errorf("SubjectKeys over a GetMany that answers one Ref short: %d answers, %v; want none and ErrInvalid, Field \"store\"", len(got), err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := f.k.SubjectKeys(ctx, []gdpr.SubjectID{"ann"}); !errors.Is(err, context.Canceled) {
		t.Errorf("SubjectKeys with a cancelled context: %v; want context.Canceled", err)
	}
}

// SubjectKeys is safe beside Encrypt and Shred of the same subjects:
// every answer is live or shredded, and once the Shreds have returned,
// shredded.
func TestSubjectKeysConcurrent(t *testing.T) {
	f := newFixture(t)
	subjects := make([]gdpr.SubjectID, 50)
	for i := range subjects {
		subjects[i] = gdpr.SubjectID(fmt.Sprint("subject-", i))
		f.encrypt(subjects[i], email, "x")
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				got, err := f.k.SubjectKeys(f.ctx, subjects)
				if err != nil {
					t.Errorf("SubjectKeys: %v", err)
					return
				}
				for i, sk := range got {
					if sk.State == gdpr.KeyNone {
						t.Errorf("goroutine %d: subject %d has no key, while it has a live or shredded one", g, i)
						return
					}
				}
			}
		}()
	}
	for _, s := range subjects {
		if err := f.k.Shred(f.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	got, err := f.k.SubjectKeys(f.ctx, subjects)
	if err != nil {
		t.Fatal(err)
	}
	for i, sk := range got {
		if sk.State != gdpr.KeyShredded || sk.Since.IsZero() {
			t.Errorf("subject %d after its Shred: %s since %s; want shredded, with the time", i, sk.State, sk.Since)
		}
	}
}
