package memkeys_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/keystest"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

func TestStore(t *testing.T) {
	// One process's memory holds the storage: both handles are one Store.
	keystest.RunStoreTests(t, func(*testing.T) (s, other crypto.Store) {
		s = memkeys.New()
		return s, s
	})
}

func TestTypedErrors(t *testing.T) {
	ctx := t.Context()
	s := memkeys.New()
	ref := keystest.Ref("alice")
	_, err := s.Get(ctx, ref)
	var ce *crypto.Error
	if !errors.As(err, &ce) || ce.Op != "get" || !errors.Is(err, crypto.ErrNotFound) {
		t.Errorf("Get of an unknown Ref: %#v; want *crypto.Error{Op: \"get\"} wrapping crypto.ErrNotFound", err)
	}
	for name, err := range map[string]error{
		"Create with an empty Ref": s.Create(ctx, crypto.Record{}),
		"Revive with an empty Ref": s.Revive(ctx, crypto.Record{}),
		"Shred of an empty Ref":    s.Shred(ctx, "", time.Now()),
		"List with limit -1":       func() error { _, err := s.List(ctx, "", -1); return err }(),
		"Refs with limit -1":       func() error { _, err := s.Refs(ctx, "", -1); return err }(),
	} {
		if !errors.Is(err, crypto.ErrInvalid) {
			t.Errorf("%s: %v; want crypto.ErrInvalid", name, err)
		}
	}
}

// TestNoKeyMaterialInErrors checks that no error text carries Wrapped bytes.
func TestNoKeyMaterialInErrors(t *testing.T) {
	ctx := t.Context()
	s := memkeys.New()
	r := keystest.NewRecord(keystest.Ref("alice"), 1, 0)
	r.Wrapped = []byte("CANARY-KEY-MATERIAL")
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	bad := r
	bad.Version = 5
	for _, err := range []error{s.Create(ctx, r), s.Update(ctx, bad), s.Revive(ctx, r)} {
		if err == nil || strings.Contains(err.Error(), "CANARY") {
			t.Errorf("error %v; want an error without key material", err)
		}
	}
}

// A nil context is an error (Field "ctx") wrapping crypto.ErrInvalid,
// never a panic.
func TestNilContext(t *testing.T) {
	s := memkeys.New()
	var nilCtx context.Context
	r := keystest.NewRecord(keystest.Ref("a"), 1, 0)
	for op, call := range map[string]func() error{
		"get":       func() error { _, err := s.Get(nilCtx, r.Ref); return err },
		"create":    func() error { return s.Create(nilCtx, r) },
		"update":    func() error { return s.Update(nilCtx, r) },
		"shred":     func() error { return s.Shred(nilCtx, r.Ref, time.Now()) },
		"revive":    func() error { return s.Revive(nilCtx, r) },
		"list":      func() error { _, err := s.List(nilCtx, "", 1); return err },
		"refs":      func() error { _, err := s.Refs(nilCtx, "", 1); return err },
		"tombstone": func() error { _, err := s.Tombstone(nilCtx, r.Ref); return err },
	} {
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s with a nil context panicked: %v", op, p)
				}
			}()
			err = call()
		}()
		var ce *crypto.Error
		if !errors.As(err, &ce) || ce.Op != op || ce.Field != "ctx" || !errors.Is(err, crypto.ErrInvalid) {
			t.Errorf("%s with a nil context: %v; want *crypto.Error{Op: %q, Field: \"ctx\"} wrapping crypto.ErrInvalid", op, err, op)
		}
	}
	if _, err := s.Get(t.Context(), r.Ref); !errors.Is(err, crypto.ErrNotFound) {
		t.Errorf("a nil-context call wrote: %v", err)
	}
}

// Error texts name neither the Ref nor the package twice.
func TestErrorTexts(t *testing.T) {
	ctx := t.Context()
	s := memkeys.New()
	ref := keystest.Ref("alice")
	r := keystest.NewRecord(ref, 1, 0)
	_, getErr := s.Get(ctx, ref)
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	bad := r
	bad.Version = 5
	for err, want := range map[error]string{
		getErr:                         "crypto get: ref: not found",
		s.Create(ctx, r):               "crypto create: ref: conflict: a live key exists",
		s.Update(ctx, bad):             "crypto update: ref: conflict: stored version is 1, not 5",
		s.Revive(ctx, r):               "crypto revive: ref: conflict: a live key exists",
		s.Create(ctx, crypto.Record{}): "crypto create: ref: invalid input: empty ref",
	} {
		if err == nil || err.Error() != want {
			t.Errorf("error %v; want %q", err, want)
		}
		if err != nil && strings.Contains(err.Error(), ref[:16]) {
			t.Errorf("error %q names the Ref", err)
		}
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s := memkeys.New()
	if err := s.Create(ctx, keystest.NewRecord(keystest.Ref("a"), 1, 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a canceled context: %v; want context.Canceled", err)
	}
}

// BenchmarkGet compares Get with a plain map lookup of the same records, in
// the same random order, on 10,000 records.
func BenchmarkGet(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	s := memkeys.New()
	baseline := make(map[string]crypto.Record, n)
	refs := make([]string, n)
	for i := range refs {
		refs[i] = keystest.Ref(fmt.Sprint("subject-", i))
		r := keystest.NewRecord(refs[i], i, 0)
		if err := s.Create(ctx, r); err != nil {
			b.Fatal(err)
		}
		baseline[r.Ref] = r
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })

	b.Run("memkeys", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r, err := s.Get(ctx, refs[i%n])
			if err != nil || len(r.Wrapped) == 0 {
				b.Fatalf("Get: %v", err)
			}
			i++
		}
	})
	b.Run("map-baseline", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r, ok := baseline[refs[i%n]]
			if !ok || len(r.Wrapped) == 0 {
				b.Fatal("baseline lookup missed")
			}
			i++
		}
	})
}
