package crypto_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/gdprtest"
)

// Canaries: a subject ID and a plaintext that must never appear in an
// error, an audit attribute or a stored byte.
const (
	canarySubject = gdpr.SubjectID("canary-subject-5d1e@example.org")
	canaryValue   = "canary-plaintext-Ann Example, 1 High Street"
)

var (
	email   = crypto.Field{Table: "users", Column: "email"}
	phone   = crypto.Field{Table: "users", Column: "phone"}
	address = crypto.Field{Table: "addresses", Column: "line1", Row: "17"}
)

type fixture struct {
	t     testing.TB
	ctx   context.Context
	store *memkeys.Store
	kek   crypto.KEK
	k     *crypto.Keyring
	audit *auditLog
}

// auditLog is gdprtest's Recorder with a count of actions.
type auditLog struct{ gdprtest.Recorder }

func (a *auditLog) actions() map[string]int {
	m := map[string]int{}
	for _, act := range a.Actions() {
		m[act]++
	}
	return m
}

func newFixture(t testing.TB, opts ...crypto.Option) *fixture {
	t.Helper()
	kek, err := crypto.EphemeralKEK("test-kek-1")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: context.Background(), store: memkeys.New(), kek: kek, audit: &auditLog{}}
	f.k = f.keyring(kek, append([]crypto.Option{crypto.WithRecorder(f.audit), crypto.WithDecryptAudit()}, opts...)...)
	return f
}

func (f *fixture) keyring(kek crypto.KEK, opts ...crypto.Option) *crypto.Keyring {
	f.t.Helper()
	k, err := crypto.New(f.ctx, f.store, kek, opts...)
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

func (f *fixture) encrypt(s gdpr.SubjectID, fld crypto.Field, v string) []byte {
	f.t.Helper()
	ct, err := f.k.Encrypt(f.ctx, s, fld, []byte(v))
	if err != nil {
		f.t.Fatalf("Encrypt: %v", err)
	}
	return ct
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	for _, v := range []string{"", "a", canaryValue, strings.Repeat("x", 1<<16)} {
		ct := f.encrypt("alice", email, v)
		if ct[0] != crypto.FormatV1 || len(ct) != len(v)+33 {
			t.Fatalf("ciphertext of %d bytes: format %#x, length %d, want %#x and %d", len(v), ct[0], len(ct), crypto.FormatV1, len(v)+33)
		}
		if len(v) > 8 && bytes.Contains(ct, []byte(v)) {
			t.Fatal("ciphertext contains the plaintext")
		}
		p, err := f.k.Decrypt(f.ctx, "alice", email, ct)
		if err != nil || string(p) != v {
			t.Fatalf("Decrypt = %q, %v", p, err)
		}
	}
	// Another Keyring over the same Store (another instance) decrypts too.
	other := f.keyring(f.kek)
	ct := f.encrypt("alice", email, canaryValue)
	if p, err := other.Decrypt(f.ctx, "alice", email, ct); err != nil || string(p) != canaryValue {
		t.Fatalf("second instance Decrypt = %q, %v", p, err)
	}
}

// Ciphertexts are bound to subject, table, column and row.
func TestCiphertextMovedFails(t *testing.T) {
	f := newFixture(t)
	ct := f.encrypt("alice", address, canaryValue)
	f.encrypt("bob", address, "bob's") // bob has a key too
	for name, tc := range map[string]struct {
		s   gdpr.SubjectID
		fld crypto.Field
	}{
		"another subject":         {"bob", address},
		"another table":           {"alice", crypto.Field{Table: "orders", Column: "line1", Row: "17"}},
		"another column":          {"alice", crypto.Field{Table: "addresses", Column: "line2", Row: "17"}},
		"another row":             {"alice", crypto.Field{Table: "addresses", Column: "line1", Row: "18"}},
		"no row":                  {"alice", crypto.Field{Table: "addresses", Column: "line1"}},
		"a subject without a key": {"carol", address},
	} {
		_, err := f.k.Decrypt(f.ctx, tc.s, tc.fld, ct)
		if !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("%s: Decrypt = %v, want ErrDecrypt", name, err)
		}
	}
	if _, err := f.store.Get(f.ctx, f.k.Ref("carol")); !errors.Is(err, crypto.ErrNotFound) {
		t.Errorf("Decrypt for a subject without a key created one: %v", err)
	}
}

func TestEveryFlippedBitFails(t *testing.T) {
	f := newFixture(t)
	ct := f.encrypt("alice", email, "ann@example.org")
	for i := range len(ct) * 8 {
		c := bytes.Clone(ct)
		c[i/8] ^= 1 << (i % 8)
		if p, err := f.k.Decrypt(f.ctx, "alice", email, c); err == nil {
			t.Fatalf("bit %d flipped: decrypted to %q", i, p)
		} else if !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("bit %d flipped: %v, want ErrDecrypt", i, err)
		}
	}
	for _, c := range [][]byte{nil, {}, {crypto.FormatV1}, ct[:len(ct)-1], append(bytes.Clone(ct), 0)} {
		if _, err := f.k.Decrypt(f.ctx, "alice", email, c); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("Decrypt(%d bytes) = %v, want ErrDecrypt", len(c), err)
		}
	}
}

func TestShred(t *testing.T) {
	f := newFixture(t)
	// The host's rows, and a backup of them taken before the shred.
	rows := map[crypto.Field][]byte{email: f.encrypt(canarySubject, email, canaryValue), phone: f.encrypt(canarySubject, phone, "+44 20 7946 0000")}
	backup := map[crypto.Field][]byte{}
	for k, v := range rows {
		backup[k] = bytes.Clone(v)
	}
	f.encrypt("bob", email, "bob@example.org")
	other := f.keyring(f.kek) // another instance, cache warm
	if _, err := other.Decrypt(f.ctx, canarySubject, email, rows[email]); err != nil {
		t.Fatal(err)
	}
	if err := f.k.Shred(f.ctx, canarySubject); err != nil {
		t.Fatal(err)
	}
	for fld, ct := range backup { // restored from the backup
		if _, err := f.k.Decrypt(f.ctx, canarySubject, fld, ct); !errors.Is(err, crypto.ErrShredded) {
			t.Errorf("Decrypt of a restored %s after Shred: %v, want ErrShredded", fld, err)
		}
	}
	if _, err := f.k.Encrypt(f.ctx, canarySubject, email, []byte("new")); !errors.Is(err, crypto.ErrShredded) {
		t.Errorf("Encrypt after Shred: %v, want ErrShredded (no new key minted silently)", err)
	}
	if _, err := f.store.Get(f.ctx, f.k.Ref(canarySubject)); !errors.Is(err, crypto.ErrShredded) {
		t.Errorf("store after Shred: %v, want a tombstone", err)
	}
	// Idempotent; other subjects untouched.
	if err := f.k.Shred(f.ctx, canarySubject); err != nil {
		t.Errorf("second Shred: %v", err)
	}
	if _, err := f.k.Encrypt(f.ctx, "bob", email, []byte("x")); err != nil {
		t.Errorf("bob after alice's shred: %v", err)
	}
	if _, err := other.Encrypt(f.ctx, "bob", email, []byte("x")); err != nil {
		t.Errorf("bob on the other instance: %v", err)
	}
	// An instance with the key cached keeps it until its TTL: documented.
	// With a cache TTL passed, it sees the shred.
	fresh := f.keyring(f.kek, crypto.WithCache(0, 0))
	if _, err := fresh.Decrypt(f.ctx, canarySubject, email, backup[email]); !errors.Is(err, crypto.ErrShredded) {
		t.Errorf("uncached instance after Shred: %v", err)
	}
	// As a gdpr.Eraser: one key for a live subject, none for a shredded
	// or unknown one, and a tombstone either way.
	if rep, err := f.k.EraseSubject(f.ctx, canarySubject); err != nil || rep.Erased != 0 {
		t.Errorf("EraseSubject of a shredded subject = %+v, %v; want 0", rep, err)
	}
	if rep, err := f.k.EraseSubject(f.ctx, "bob"); err != nil || rep.Erased != 1 {
		t.Errorf("EraseSubject of a live subject = %+v, %v; want 1", rep, err)
	}
	if rep, err := f.k.EraseSubject(f.ctx, "never-seen"); err != nil || rep.Erased != 0 {
		t.Errorf("EraseSubject of an unknown subject = %+v, %v; want 0", rep, err)
	}
	if _, err := f.k.Encrypt(f.ctx, "never-seen", email, []byte("x")); !errors.Is(err, crypto.ErrShredded) {
		t.Errorf("Encrypt after erasing an unknown subject: %v, want ErrShredded", err)
	}
	// Revive gives a returning subject a new key; old data stays unreadable.
	if err := f.k.Revive(f.ctx, canarySubject); err != nil {
		t.Fatal(err)
	}
	if _, err := f.k.Decrypt(f.ctx, canarySubject, email, backup[email]); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("old ciphertext after Revive: %v, want ErrDecrypt", err)
	}
	ct := f.encrypt(canarySubject, email, "again")
	if p, err := f.k.Decrypt(f.ctx, canarySubject, email, ct); err != nil || string(p) != "again" {
		t.Errorf("after Revive: %q, %v", p, err)
	}
	if err := f.k.Revive(f.ctx, canarySubject); !errors.Is(err, crypto.ErrConflict) {
		t.Errorf("Revive of a live subject: %v, want ErrConflict", err)
	}
	acts := f.audit.actions()
	for _, a := range []string{"crypto.key_created", "crypto.shred", "crypto.key_revived", "crypto.decrypt"} {
		if acts[a] == 0 {
			t.Errorf("no %s audit event: %v", a, acts)
		}
	}
}

// Shredding costs the same whatever the number of ciphertexts: it touches
// one record.
func TestShredIsOneRecord(t *testing.T) {
	f := newFixture(t)
	for i := range 1000 {
		f.encrypt("dave", crypto.Field{Table: "notes", Column: "body", Row: fmt.Sprint(i)}, "note")
	}
	before, _ := f.store.List(f.ctx, "", 100)
	if err := f.k.Shred(f.ctx, "dave"); err != nil {
		t.Fatal(err)
	}
	after, _ := f.store.List(f.ctx, "", 100)
	if len(before)-len(after) != 1 {
		t.Fatalf("Shred removed %d records, want 1", len(before)-len(after))
	}
}

func TestConcurrentFirstUseMakesOneKey(t *testing.T) {
	f := newFixture(t)
	instances := []*crypto.Keyring{f.k, f.keyring(f.kek), f.keyring(f.kek), f.keyring(f.kek, crypto.WithCache(0, 0))}
	var wg sync.WaitGroup
	cts := make([][]byte, 32)
	for i := range cts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ct, err := instances[i%len(instances)].Encrypt(f.ctx, "erin", email, []byte("v"))
			if err != nil {
				t.Error(err)
			}
			cts[i] = ct
		}()
	}
	wg.Wait()
	for i, ct := range cts {
		for _, k := range instances {
			if _, err := k.Decrypt(f.ctx, "erin", email, ct); err != nil {
				t.Fatalf("ciphertext %d does not decrypt on every instance: %v (two keys were made)", i, err)
			}
		}
	}
	recs, _ := f.store.List(f.ctx, "", 100)
	if n := len(recs) - 2; n != 1 { // less the Keyring's own two keys
		t.Fatalf("%d subject keys stored, want 1", n)
	}
}

func TestRotateAndReencrypt(t *testing.T) {
	f := newFixture(t)
	old := f.encrypt("fay", email, "fay@example.org")
	if err := f.k.Rotate(f.ctx, "fay"); err != nil {
		t.Fatal(err)
	}
	newer := f.encrypt("fay", email, "fay@example.org")
	if bytes.Equal(old[1:5], newer[1:5]) {
		t.Fatal("after Rotate the new ciphertext names the old key")
	}
	for _, ct := range [][]byte{old, newer} {
		if p, err := f.k.Decrypt(f.ctx, "fay", email, ct); err != nil || string(p) != "fay@example.org" {
			t.Fatalf("Decrypt after Rotate: %q, %v", p, err)
		}
	}
	re, err := f.k.Reencrypt(f.ctx, "fay", email, old)
	if err != nil || !bytes.Equal(re[1:5], newer[1:5]) {
		t.Fatalf("Reencrypt: key prefix %x, want %x; %v", re[1:5], newer[1:5], err)
	}
	if err := f.k.Rotate(f.ctx, "nobody"); !errors.Is(err, crypto.ErrNotFound) {
		t.Errorf("Rotate without a key: %v", err)
	}
}

func TestKEKRotation(t *testing.T) {
	f := newFixture(t)
	cts := map[gdpr.SubjectID][]byte{}
	for i := range 25 {
		s := gdpr.SubjectID(fmt.Sprintf("subject-%d", i))
		cts[s] = f.encrypt(s, email, string(s))
	}
	idx1 := mustIndex(t, f.k, email)
	newKEK, _ := crypto.EphemeralKEK("test-kek-2")
	// Without the old KEK, the new one opens nothing.
	if _, err := crypto.New(f.ctx, f.store, newKEK); !errors.Is(err, crypto.ErrDecrypt) {
		t.Fatalf("New with a KEK that wrapped nothing: %v, want ErrDecrypt", err)
	}
	k2 := f.keyring(newKEK, crypto.WithPreviousKEKs(f.kek))
	var reports []crypto.RewrapProgress
	// A first pass interrupted after one batch, then resumed from its cursor.
	ctx, cancel := context.WithCancel(f.ctx)
	p, err := k2.Rewrap(ctx, "", 10, func(p crypto.RewrapProgress) { reports = append(reports, p); cancel() })
	if err == nil || p.Done || p.Rewrapped != 10 {
		t.Fatalf("interrupted Rewrap = %+v, %v", p, err)
	}
	p, err = k2.Rewrap(f.ctx, p.Cursor, 10, func(p crypto.RewrapProgress) { reports = append(reports, p) })
	if err != nil || !p.Done || p.Rewrapped != 17 { // 25 subjects + 2 Keyring keys - 10
		t.Fatalf("resumed Rewrap = %+v, %v", p, err)
	}
	if p, _ := k2.Rewrap(f.ctx, "", 10, nil); p.Rewrapped != 0 || p.Skipped != 27 {
		t.Fatalf("second pass = %+v, want everything skipped", p)
	}
	// Now the old KEK can go.
	k3 := f.keyring(newKEK)
	for s, ct := range cts {
		if p, err := k3.Decrypt(f.ctx, s, email, ct); err != nil || string(p) != string(s) {
			t.Fatalf("after KEK rotation: %q, %v", p, err)
		}
	}
	if !bytes.Equal(mustIndex(t, k3, email).Sum("x"), idx1.Sum("x")) {
		t.Fatal("blind index changed with the KEK")
	}
	if len(reports) < 3 {
		t.Errorf("progress reported %d times", len(reports))
	}
}

func mustIndex(t *testing.T, k *crypto.Keyring, f crypto.Field, opts ...crypto.IndexOption) *crypto.BlindIndex {
	t.Helper()
	b, err := k.BlindIndex(f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A copy of the key Store without the KEK reveals nothing, and a wrapped
// key moved to another subject does not open.
func TestStoreCopyWithoutKEK(t *testing.T) {
	f := newFixture(t)
	ct := f.encrypt(canarySubject, email, canaryValue)
	f.encrypt("bob", email, "bob@example.org")
	recs, _ := f.store.List(f.ctx, "", 100)
	for _, r := range recs {
		for _, needle := range []string{string(canarySubject), canaryValue} {
			if bytes.Contains(r.Wrapped, []byte(needle)) || strings.Contains(r.Ref, needle) {
				t.Fatalf("record %s holds a canary in clear", r.Ref)
			}
		}
	}
	// Another KEK over a copy of the store: nothing opens.
	thief, _ := crypto.EphemeralKEK("test-kek-1") // same ID, different key
	if _, err := crypto.New(f.ctx, f.store, thief); !errors.Is(err, crypto.ErrDecrypt) {
		t.Fatalf("a Keyring with another KEK under the same ID: %v, want ErrDecrypt", err)
	}
	// Move alice's wrapped keyset onto bob's ref.
	a, _ := f.store.Get(f.ctx, f.k.Ref(canarySubject))
	b, _ := f.store.Get(f.ctx, f.k.Ref("bob"))
	b.Wrapped = a.Wrapped
	if err := f.store.Update(f.ctx, b); err != nil {
		t.Fatal(err)
	}
	uncached := f.keyring(f.kek, crypto.WithCache(0, 0))
	if _, err := uncached.Encrypt(f.ctx, "bob", email, []byte("x")); !errors.Is(err, crypto.ErrDecrypt) {
		t.Fatalf("bob with alice's wrapped keyset: %v, want ErrDecrypt", err)
	}
	if _, err := uncached.Decrypt(f.ctx, "bob", email, ct); !errors.Is(err, crypto.ErrDecrypt) {
		t.Fatalf("alice's ciphertext through bob's moved key: %v, want ErrDecrypt", err)
	}
}

// No plaintext, subject ID or key material in any error or audit attribute.
func TestNoPersonalDataInErrors(t *testing.T) {
	f := newFixture(t, crypto.WithGuard(func(context.Context, gdpr.SubjectID) error { return nil }))
	ct := f.encrypt(canarySubject, email, canaryValue)
	var errs []error
	collect := func(_ []byte, err error) { errs = append(errs, err) }
	collect(f.k.Decrypt(f.ctx, canarySubject, phone, ct))
	collect(f.k.Decrypt(f.ctx, "other", email, ct))
	bad := bytes.Clone(ct)
	bad[10] ^= 1
	collect(f.k.Decrypt(f.ctx, canarySubject, email, bad))
	collect(f.k.Encrypt(f.ctx, canarySubject, crypto.Field{}, []byte(canaryValue)))
	collect(f.k.Encrypt(f.ctx, "", email, []byte(canaryValue)))
	_ = f.k.Shred(f.ctx, canarySubject)
	collect(f.k.Encrypt(f.ctx, canarySubject, email, []byte(canaryValue)))
	collect(f.k.Decrypt(f.ctx, canarySubject, email, ct))
	errs = append(errs, f.k.Rotate(f.ctx, canarySubject))
	guarded := f.keyring(f.kek, crypto.WithGuard(func(context.Context, gdpr.SubjectID) error { return errors.New("restricted") }))
	collect(guarded.Decrypt(f.ctx, "bob", email, ct))
	for _, err := range errs {
		if err == nil {
			t.Fatal("an operation that should fail succeeded")
		}
		for _, needle := range []string{string(canarySubject), canaryValue, "Ann"} {
			if strings.Contains(err.Error(), needle) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), needle) {
				t.Errorf("error %q holds personal data", err)
			}
		}
		var ce *crypto.Error
		if !errors.As(err, &ce) || ce.Op == "" {
			t.Errorf("%v is not a *crypto.Error", err)
		}
	}
	if !errors.Is(errs[len(errs)-1], crypto.ErrRestricted) || !errors.Is(errs[len(errs)-1], gdpr.ErrRestricted) {
		t.Errorf("Guard refusal: %v, want ErrRestricted", errs[len(errs)-1])
	}
	for _, e := range f.audit.Events() {
		for k, v := range e.Attrs {
			if strings.Contains(k+v+e.Resource, canaryValue) || strings.Contains(k+v+e.Resource, string(canarySubject)) {
				t.Errorf("audit event %s holds personal data", e.Action)
			}
		}
	}
}

func TestDecryptAuditCarriesPurpose(t *testing.T) {
	f := newFixture(t)
	ct := f.encrypt("gil", email, "x")
	if _, err := f.k.Decrypt(gdpr.WithPurpose(f.ctx, "support_ticket"), "gil", email, ct); err != nil {
		t.Fatal(err)
	}
	last := f.audit.Events()[f.audit.Len()-1]
	if last.Action != "crypto.decrypt" || last.Purpose != "support_ticket" || last.Subject != "gil" || last.Resource != "users.email" {
		t.Fatalf("decrypt audit event %+v", last)
	}
}

func TestBlindIndex(t *testing.T) {
	f := newFixture(t)
	b := mustIndex(t, f.k, email)
	x, y := b.Sum("Ann@Example.org "), b.Sum("ann@example.org")
	if !bytes.Equal(x, y) || len(x) != 16 {
		t.Fatalf("normalised values differ or wrong size: %x %x", x, y)
	}
	if bytes.Equal(b.Sum("ann@example.org"), b.Sum("bob@example.org")) {
		t.Fatal("distinct values share an index")
	}
	if bytes.Equal(mustIndex(t, f.k, phone).Sum("x"), b.Sum("x")) {
		t.Fatal("two fields share an index key")
	}
	other := f.keyring(f.kek)
	if !bytes.Equal(mustIndex(t, other, email).Sum("x"), b.Sum("x")) {
		t.Fatal("two instances over one Store disagree")
	}
	kek2, _ := crypto.EphemeralKEK("k")
	f2 := &fixture{t: t, ctx: f.ctx, store: memkeys.New()}
	if bytes.Equal(mustIndex(t, f2.keyring(kek2), email).Sum("x"), b.Sum("x")) {
		t.Fatal("two Stores share an index key")
	}
	short := mustIndex(t, f.k, email, crypto.WithIndexSize(8), crypto.WithIndexNormalizer(crypto.NormalizeNone))
	if s := short.Sum("A"); len(s) != 8 || bytes.Equal(s, short.Sum("a")) {
		t.Fatalf("size 8 without normalisation: %x", s)
	}
	for _, n := range []int{0, 3, 33} {
		if _, err := f.k.BlindIndex(email, crypto.WithIndexSize(n)); !errors.Is(err, crypto.ErrInvalid) {
			t.Errorf("IndexSize(%d): %v", n, err)
		}
	}
}

func TestCacheTTL(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	f := newFixture(t, crypto.WithClock(clock), crypto.WithCache(10, time.Minute))
	ct := f.encrypt("hal", email, "x")
	other := f.keyring(f.kek, crypto.WithClock(clock), crypto.WithCache(10, time.Minute))
	if _, err := other.Decrypt(f.ctx, "hal", email, ct); err != nil {
		t.Fatal(err)
	}
	if err := f.k.Shred(f.ctx, "hal"); err != nil {
		t.Fatal(err)
	}
	// Within the TTL the other instance still holds the key (documented);
	// after it, it does not.
	if _, err := other.Decrypt(f.ctx, "hal", email, ct); err != nil {
		t.Fatalf("other instance within the TTL: %v (the documented window)", err)
	}
	now = now.Add(time.Minute)
	if _, err := other.Decrypt(f.ctx, "hal", email, ct); !errors.Is(err, crypto.ErrShredded) {
		t.Fatalf("other instance after the TTL: %v, want ErrShredded", err)
	}
}

// Another instance with the old keyset cached reloads it when it meets a
// ciphertext made under a rotated key.
func TestRotationAcrossInstances(t *testing.T) {
	f := newFixture(t)
	other := f.keyring(f.kek)
	old := f.encrypt("ida", email, "x")
	if _, err := other.Decrypt(f.ctx, "ida", email, old); err != nil { // other caches the old keyset
		t.Fatal(err)
	}
	if err := f.k.Rotate(f.ctx, "ida"); err != nil {
		t.Fatal(err)
	}
	newer := f.encrypt("ida", email, "y")
	if p, err := other.Decrypt(f.ctx, "ida", email, newer); err != nil || string(p) != "y" {
		t.Fatalf("other instance, ciphertext under the rotated key: %q, %v", p, err)
	}
	// Still opaque for a real forgery.
	bad := bytes.Clone(newer)
	bad[len(bad)-1] ^= 1
	if _, err := other.Decrypt(f.ctx, "ida", email, bad); !errors.Is(err, crypto.ErrDecrypt) {
		t.Fatalf("forged ciphertext: %v", err)
	}
}

// A store that lost the Keyring's own keys but holds subject keys (a
// partial restore) is refused, rather than given new keys that would
// orphan every record and tombstone.
func TestPartialRestoreRefused(t *testing.T) {
	f := newFixture(t)
	f.encrypt("jon", email, "x")
	copyStore := memkeys.New()
	recs, _ := f.store.List(f.ctx, "", 100)
	for _, r := range recs {
		if !strings.HasPrefix(r.Ref, "meta/") {
			if err := copyStore.Create(f.ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := crypto.New(f.ctx, copyStore, f.kek); !errors.Is(err, crypto.ErrInvalid) {
		t.Fatalf("New over a store without its Ref key: %v, want ErrInvalid", err)
	}
}

// The guard's own error text never reaches the caller.
func TestGuardErrorTextFixed(t *testing.T) {
	f := newFixture(t)
	ct := f.encrypt(canarySubject, email, "x")
	cause := fmt.Errorf("subject %s is restricted", canarySubject)
	g := f.keyring(f.kek, crypto.WithGuard(func(context.Context, gdpr.SubjectID) error { return cause }))
	_, err := g.Decrypt(f.ctx, canarySubject, email, ct)
	if !errors.Is(err, crypto.ErrRestricted) || !errors.Is(err, cause) || strings.Contains(err.Error(), string(canarySubject)) {
		t.Fatalf("guard refusal: %v", err)
	}
}

func TestDecryptFailuresAudited(t *testing.T) {
	f := newFixture(t)
	ct := f.encrypt("kit", email, "x")
	bad := bytes.Clone(ct)
	bad[len(bad)-1] ^= 1
	if _, err := f.k.Decrypt(f.ctx, "kit", email, bad); !errors.Is(err, crypto.ErrDecrypt) {
		t.Fatal(err)
	}
	guarded := f.keyring(f.kek, crypto.WithRecorder(f.audit), crypto.WithDecryptAudit(),
		crypto.WithGuard(func(context.Context, gdpr.SubjectID) error { return errors.New("restricted") }))
	if _, err := guarded.Decrypt(f.ctx, "kit", email, ct); !errors.Is(err, crypto.ErrRestricted) {
		t.Fatal(err)
	}
	outcomes := map[gdpr.Outcome]int{}
	for _, e := range f.audit.Events() {
		if e.Action == "crypto.decrypt" {
			outcomes[e.Outcome]++
		}
	}
	if outcomes[gdpr.Failure] != 1 || outcomes[gdpr.Denied] != 1 {
		t.Fatalf("decrypt outcomes on the trail: %v, want one failure and one denial", outcomes)
	}
}

func TestErasureLatencyIsTheCacheTTL(t *testing.T) {
	f := newFixture(t, crypto.WithCache(10, 2*time.Minute))
	if got := f.k.ErasureLatency(); got < 2*time.Minute || got > 2*time.Minute+time.Second {
		t.Errorf("ErasureLatency = %v, want the cache TTL", got)
	}
	if got := newFixture(t, crypto.WithCache(0, 0)).k.ErasureLatency(); got != 0 {
		t.Errorf("without a cache: %v, want 0", got)
	}
}
