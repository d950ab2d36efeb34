package consenttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/consent"
)

// supHash is a 32-byte suppression hash, as the Ledger makes them.
func supHash(name string) []byte {
	h := sha256.Sum256([]byte("consenttest suppression " + name))
	return h[:]
}

func suppressed(t *testing.T, s consent.Store, hashes ...[]byte) map[string]time.Time {
	t.Helper()
	got, err := s.Suppressed(t.Context(), hashes)
	if err != nil {
		t.Fatalf("Suppressed: %v", err)
	}
	m := map[string]time.Time{}
	for _, e := range got {
		if _, dup := m[string(e.Hash)]; dup {
			t.Errorf("Suppressed returned the entry %x twice; the contract: each at most once", e.Hash[:4])
		}
		m[string(e.Hash)] = e.Time
	}
	return m
}

// testSuppressRoundTrip: what one handle keeps, the other finds, with its
// time in UTC to the microsecond; an unknown hash and an empty request give
// nothing and no error; the Store keeps no reference to the caller's slice.
func testSuppressRoundTrip(t *testing.T, s, other consent.Store) {
	ctx := t.Context()
	when := base.Add(1234567 * time.Nanosecond).In(time.FixedZone("CET", 3600))
	a, b := supHash("a"), supHash("b")
	if err := s.Suppress(ctx, consent.Suppression{Hash: a, Time: when}); err != nil {
		t.Fatalf("Suppress: %v", err)
	}
	a[0] ^= 0xff // the caller's slice changes after the call
	got := suppressed(t, other, supHash("a"), b)
	tm, ok := got[string(supHash("a"))]
	if !ok || len(got) != 1 {
		t.Fatalf("Suppressed through the other handle = %d entries; want exactly the one kept (a Store must copy the hash it is given)", len(got))
	}
	if want := when.Truncate(time.Microsecond).UTC(); !tm.Equal(want) || tm.Location() != time.UTC {
		t.Errorf("the entry's Time = %v; want %v, in UTC to the microsecond", tm, want)
	}
	if got := suppressed(t, other); len(got) != 0 {
		t.Errorf("Suppressed with no hashes = %d entries; want none", len(got))
	}
	if got := suppressed(t, s, supHash("unknown")); len(got) != 0 {
		t.Errorf("Suppressed of an unknown hash = %d entries; want none and no error", len(got))
	}
}

// testSuppressKeepsLater: a hash kept twice keeps the later time, in
// either order.
func testSuppressKeepsLater(t *testing.T, s consent.Store) {
	ctx := t.Context()
	h1, h2 := supHash("later-second"), supHash("later-first")
	for _, c := range []struct {
		h            []byte
		first, again time.Time
	}{{h1, at(1), at(5)}, {h2, at(9), at(2)}} {
		if err := s.Suppress(ctx, consent.Suppression{Hash: c.h, Time: c.first}); err != nil {
			t.Fatal(err)
		}
		if err := s.Suppress(ctx, consent.Suppression{Hash: c.h, Time: c.again}); err != nil {
			t.Fatalf("Suppress of a hash kept already: %v; want nil", err)
		}
	}
	got := suppressed(t, s, h1, h2)
	if !got[string(h1)].Equal(at(5)) || !got[string(h2)].Equal(at(9)) {
		t.Errorf("after keeping a hash twice: %v and %v; want the later time each (%v, %v)", got[string(h1)], got[string(h2)], at(5), at(9))
	}
}

// testSuppressOutlivesDelete: DeleteSubject leaves the list alone.
func testSuppressOutlivesDelete(t *testing.T, s, other consent.Store) {
	ctx := t.Context()
	h := supHash("outlives")
	if err := s.Suppress(ctx, consent.Suppression{Hash: h, Time: at(1)}); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, fullEvent("alice", "newsletter", consent.Given, at(1)))
	if _, err := other.DeleteSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := suppressed(t, s, h); len(got) != 1 {
		t.Error("DeleteSubject removed a suppression entry; the contract: entries outlive erasure")
	}
}

// testRaceSuppress: many keep the same hashes through both handles at
// once; each is kept once, with the latest time given.
func testRaceSuppress(t *testing.T, s, other consent.Store) {
	const n = 8
	hashes := [][]byte{supHash("race-0"), supHash("race-1"), supHash("race-2")}
	race(t, n, s, other, func(g int, h consent.Store) {
		var es []consent.Suppression
		for _, x := range hashes {
			es = append(es, consent.Suppression{Hash: x, Time: at(g)})
		}
		if err := h.Suppress(context.Background(), es...); err != nil {
			t.Errorf("goroutine %d: Suppress: %v", g, err)
		}
	})
	got := suppressed(t, other, hashes...)
	for i, x := range hashes {
		if tm, ok := got[string(x)]; !ok || !tm.Equal(at(n-1)) {
			t.Errorf("hash %d after %d racing Suppress calls: %v, %v; want kept once with the latest time %v", i, n, tm, ok, at(n-1))
		}
	}
	if !bytes.Equal(hashes[0], supHash("race-0")) {
		t.Fatal("the Store changed the caller's hash")
	}
}
