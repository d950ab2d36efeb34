package keystest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/internal/suite"
)

// RunStoreTests runs the conformance suite of crypto.Store against the
// storages newStore makes, one subtest per behaviour.
//
// newStore is called once per subtest with that subtest's t. It returns two
// handles, s and other, on one fresh, empty storage that no other subtest
// uses, as two processes of one host would open it, registers any cleanup
// with t.Cleanup, and fails t itself if it cannot. For a store over a
// database, s and other are two Stores on two connection pools (two
// *sql.DB) to the same database, schema or file:
//
//	keystest.RunStoreTests(t, func(t *testing.T) (s, other crypto.Store) {
//		db := openTestDB(t)  // a fresh, empty database, dropped by t.Cleanup
//		db2 := reopen(t, db) // a second *sql.DB on the same database
//		a := mystore.New(db)
//		if err := a.Migrate(t.Context()); err != nil {
//			t.Fatal(err)
//		}
//		return a, mystore.New(db2)
//	})
//
// A store that lives in one process's memory has one handle on its
// storage: return the same value twice.
//
//	keystest.RunStoreTests(t, func(*testing.T) (s, other crypto.Store) {
//		s = memstore.New()
//		return s, s
//	})
//
// Most subtests use s alone. SharedStorage writes through one handle and
// reads back through the other; the Race subtests run the same Ref through
// both handles at once (goroutine g on s for even g, other for odd) and
// check only what the crypto.Store contract promises: of Creates of one
// Ref exactly one wins and the rest get ErrConflict (RaceCreates); of
// Updates from one Version exactly one wins (RaceUpdates); a Shred racing a
// Create always leaves the tombstone (RaceCreateShred); and a Revive racing
// a Shred ends as one of the two orders, never with the old key live
// (RaceReviveShred). A Store that is a crypto.BatchUpdater is held to its
// UpdateMany: each record on its own condition, in order (UpdateMany,
// UpdateManyLarge), and a batch racing Shreds of its Refs never leaves a
// shredded key live (RaceUpdateManyShred); the three skip for a Store that
// is not one. A Store that is a crypto.BatchGetter is held to its
// GetMany: each Ref answered in order as Get and Tombstone would answer
// it, repeats and unknown Refs included, nothing written (GetMany), over
// more Refs than one SQL statement reads (GetManyLarge), and, racing
// Shreds through the other handle, never an answer of nothing for a Ref
// that has a record or a tombstone (RaceGetManyShred); the three skip for
// a Store that is not one. For a SQL store these are where the database,
// not the Store value, has to serialise the writers.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) (s, other crypto.Store)) {
	tests := []suite.Test[crypto.Store]{
		{"SharedStorage", testSharedStorage},
		{"RoundTrip", suite.One(testRoundTrip)},
		{"TimesTruncatedToMicrosecondUTC", suite.One(testTimes)},
		{"CreateStoresVersion1", suite.One(testCreateVersion)},
		{"GetUnknown", suite.One(testGetUnknown)},
		{"CreateTwice", suite.One(testCreateTwice)},
		{"Update", suite.One(testUpdate)},
		{"UpdateWrongVersion", suite.One(testUpdateWrongVersion)},
		{"UpdateUnknown", suite.One(testUpdateUnknown)},
		{"Shred", suite.One(testShred)},
		{"CreateAfterShred", suite.One(testCreateAfterShred)},
		{"UpdateAfterShred", suite.One(testUpdateAfterShred)},
		{"ShredIdempotent", suite.One(testShredIdempotent)},
		{"ShredUnknown", suite.One(testShredUnknown)},
		{"ReviveAfterShred", suite.One(testReviveAfterShred)},
		{"ReviveLive", suite.One(testReviveLive)},
		{"ReviveUnknown", suite.One(testReviveUnknown)},
		{"ListPaging", suite.One(testListPaging)},
		{"RefsEmpty", suite.One(testRefsEmpty)},
		{"RefsPaging", suite.One(testRefsPaging)},
		{"RefsCompareByteForByte", suite.One(testByteExact)},
		{"WrappedNotAliased", suite.One(testNotAliased)},
		{"ConcurrentCreates", suite.One(testConcurrentCreates)},
		{"ConcurrentUpdates", suite.One(testConcurrentUpdates)},
		{"CreateRacingShred", suite.One(testCreateRacingShred)},
		{"Tombstone", suite.One(testTombstone)},
		{"RaceCreates", testRaceCreates},
		{"RaceUpdates", testRaceUpdates},
		{"RaceCreateShred", testRaceCreateShred},
		{"RaceReviveShred", testRaceReviveShred},
		{"UpdateMany", suite.One(testUpdateMany)},
		{"UpdateManyLarge", suite.One(testUpdateManyLarge)},
		{"RaceUpdateManyShred", testRaceUpdateManyShred},
		{"GetMany", suite.One(testGetMany)},
		{"GetManyLarge", suite.One(testGetManyLarge)},
		{"RaceGetManyShred", testRaceGetManyShred},
	}
	suite.Run(t, "crypto.Store", newStore, tests)
}

// base is the suite's clock: a UTC instant on a whole second.
var base = time.Date(2025, time.March, 3, 9, 30, 0, 0, time.UTC)

// at returns base plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// Ref returns a Ref as the Keyring makes them: 64 lower-case hex characters,
// here the SHA-256 of name.
func Ref(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

// NewRecord returns a Record for ref with Version 1, Wrapped bytes derived
// from ref and seed, KEK "kek-1" and both times at minute n after the suite's
// base time.
func NewRecord(ref string, seed, n int) crypto.Record {
	w := sha256.Sum256(fmt.Appendf(nil, "%s/%d", ref, seed))
	return crypto.Record{
		Ref: ref, Wrapped: append([]byte{0x01, 0x00}, w[:]...), KEK: "kek-1",
		Version: 1, Created: at(n), Updated: at(n),
	}
}

func sentinelName(target error) (name string, root error) {
	switch target {
	case crypto.ErrNotFound:
		return "ErrNotFound", gdpr.ErrNotFound
	case crypto.ErrConflict:
		return "ErrConflict", gdpr.ErrConflict
	case crypto.ErrShredded:
		return "ErrShredded", gdpr.ErrShredded
	}
	return "ErrInvalid", gdpr.ErrInvalid
}

// wantErr fails t unless err wraps target (one of the crypto sentinels) and
// the root package's sentinel of the same name.
func wantErr(t *testing.T, err, target error, call, why string) {
	t.Helper()
	name, root := sentinelName(target)
	switch {
	case err == nil:
		t.Errorf("%s: got nil error, want an error wrapping crypto.%s: %s", call, name, why)
	case !errors.Is(err, target):
		t.Errorf("%s: got %v, want an error wrapping crypto.%s: %s", call, err, name, why)
	case !errors.Is(err, root):
		t.Errorf("%s: got %v, which wraps crypto.%s but not gdpr.%s; wrap the crypto sentinel itself", call, err, name, name)
	}
}

func mustCreate(t *testing.T, s crypto.Store, rs ...crypto.Record) {
	t.Helper()
	for _, r := range rs {
		if err := s.Create(t.Context(), r); err != nil {
			t.Fatalf("Create(%q): %v; want nil for a Ref with neither a record nor a tombstone", r.Ref, err)
		}
	}
}

func mustShred(t *testing.T, s crypto.Store, ref string, when time.Time) {
	t.Helper()
	if err := s.Shred(t.Context(), ref, when); err != nil {
		t.Fatalf("Shred(%q): %v; want nil (Shred succeeds on live, shredded and unknown Refs)", ref, err)
	}
}

func mustGet(t *testing.T, s crypto.Store, ref string) crypto.Record {
	t.Helper()
	r, err := s.Get(t.Context(), ref)
	if err != nil {
		t.Fatalf("Get(%q): %v; want the live record", ref, err)
	}
	return r
}

// wantRecord fails t unless got equals want as a Store keeps it: Wrapped
// byte for byte, KEK, Version, and times to the microsecond in UTC.
func wantRecord(t *testing.T, call string, got, want crypto.Record) {
	t.Helper()
	if d := recordDiff(got, want); len(d) > 0 {
		t.Errorf("%s returned a record that differs from the one stored:\n\t%s", call, joinLines(d))
	}
}

func normTime(tm time.Time) time.Time { return tm.Truncate(time.Microsecond).UTC() }

func recordDiff(got, want crypto.Record) []string {
	var d []string
	if got.Ref != want.Ref {
		d = append(d, fmt.Sprintf("Ref = %q, want %q", got.Ref, want.Ref))
	}
	if !bytes.Equal(got.Wrapped, want.Wrapped) {
		d = append(d, fmt.Sprintf("Wrapped = %x, want %x (byte for byte)", got.Wrapped, want.Wrapped))
	}
	if got.KEK != want.KEK {
		d = append(d, fmt.Sprintf("KEK = %q, want %q", got.KEK, want.KEK))
	}
	if got.Version != want.Version {
		d = append(d, fmt.Sprintf("Version = %d, want %d", got.Version, want.Version))
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{{"Created", got.Created, want.Created}, {"Updated", got.Updated, want.Updated}} {
		w := normTime(f.want)
		if !f.got.Equal(w) {
			d = append(d, fmt.Sprintf("%s = %s, want %s (the stored time truncated to the microsecond)",
				f.name, f.got.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano)))
		} else if f.got.Location() != time.UTC {
			d = append(d, fmt.Sprintf("%s is in location %q, want UTC", f.name, f.got.Location()))
		}
	}
	return d
}

func joinLines(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "\n\t"
		}
		out += l
	}
	return out
}

func testRoundTrip(t *testing.T, s crypto.Store) {
	r := NewRecord(Ref("alice"), 1, 0)
	r.KEK = "gcp-kms://projects/p/locations/eu/keyRings/r/cryptoKeys/k"
	r.Created, r.Updated = at(1), at(2)
	// Every byte value, as a wrapped keyset is arbitrary binary.
	r.Wrapped = make([]byte, 256)
	for i := range r.Wrapped {
		r.Wrapped[i] = byte(i)
	}
	mustCreate(t, s, r)
	wantRecord(t, "Get after Create", mustGet(t, s, r.Ref), r)

	recs, err := s.List(t.Context(), "", 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("List(\"\", 10) = %d records, %v; want the one record created", len(recs), err)
	}
	wantRecord(t, "List", recs[0], r)
}

func testTimes(t *testing.T, s crypto.Store) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	r := NewRecord(Ref("alice"), 1, 0)
	r.Created = time.Date(2025, 3, 3, 10, 30, 0, 123456789, paris)
	r.Updated = time.Date(2025, 3, 3, 10, 31, 0, 999999999, time.FixedZone("X", -7*3600))
	mustCreate(t, s, r)
	got := mustGet(t, s, r.Ref)
	wantRecord(t, "Get of a record whose times have nanoseconds and zones", got, r)
	if want := time.Date(2025, 3, 3, 9, 30, 0, 123456000, time.UTC); !got.Created.Equal(want) {
		t.Errorf("Created = %s, want %s: times are kept to the microsecond, truncated, in UTC", got.Created, want)
	}

	u := got
	u.Updated = time.Date(2025, 3, 4, 0, 0, 0, 1999, paris)
	if err := s.Update(t.Context(), u); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got = mustGet(t, s, r.Ref)
	if want := time.Date(2025, 3, 3, 23, 0, 0, 1000, time.UTC); !got.Updated.Equal(want) || got.Updated.Location() != time.UTC {
		t.Errorf("Updated after Update = %s, want %s: Update stores r.Updated to the microsecond, in UTC", got.Updated, want)
	}
}

func testCreateVersion(t *testing.T, s crypto.Store) {
	for i, v := range []int64{0, 1, 7} {
		r := NewRecord(Ref(fmt.Sprint("v", i)), 1, 0)
		r.Version = v
		mustCreate(t, s, r)
		if got := mustGet(t, s, r.Ref); got.Version != 1 {
			t.Errorf("Create of a record with Version %d stored Version %d; want 1: Create stores the first record with Version 1", v, got.Version)
		}
	}
}

func testGetUnknown(t *testing.T, s crypto.Store) {
	mustCreate(t, s, NewRecord(Ref("alice"), 1, 0))
	_, err := s.Get(t.Context(), Ref("bob"))
	wantErr(t, err, crypto.ErrNotFound, "Get of a Ref never created", "a Ref with neither a record nor a tombstone is not found")
}

func testCreateTwice(t *testing.T, s crypto.Store) {
	first := NewRecord(Ref("alice"), 1, 0)
	mustCreate(t, s, first)
	second := NewRecord(Ref("alice"), 2, 5)
	second.KEK = "kek-2"
	wantErr(t, s.Create(t.Context(), second), crypto.ErrConflict, "second Create of a Ref",
		"at most one live record per Ref; the loser of a race reads the winner's")
	wantRecord(t, "Get after a refused second Create", mustGet(t, s, first.Ref), first)
}

func testUpdate(t *testing.T, s crypto.Store) {
	r := NewRecord(Ref("alice"), 1, 0)
	mustCreate(t, s, r)
	for v := int64(1); v <= 3; v++ {
		next := NewRecord(r.Ref, int(v)+1, int(v))
		next.Version, next.Created, next.KEK = v, r.Created, fmt.Sprint("kek-", v+1)
		if err := s.Update(t.Context(), next); err != nil {
			t.Fatalf("Update from the stored Version %d: %v; want nil", v, err)
		}
		want := next
		want.Version = v + 1
		wantRecord(t, fmt.Sprintf("Get after Update from Version %d (Wrapped, KEK and Updated replaced, Version incremented)", v),
			mustGet(t, s, r.Ref), want)
	}
}

func testUpdateWrongVersion(t *testing.T, s crypto.Store) {
	r := NewRecord(Ref("alice"), 1, 0)
	mustCreate(t, s, r)
	for _, v := range []int64{0, 2, -1} {
		next := NewRecord(r.Ref, 9, 9)
		next.Version, next.KEK = v, "kek-9"
		wantErr(t, s.Update(t.Context(), next), crypto.ErrConflict, fmt.Sprintf("Update with Version %d of a record at Version 1", v),
			"Update replaces only the Version it was given (optimistic locking)")
	}
	wantRecord(t, "Get after refused Updates", mustGet(t, s, r.Ref), r)
}

func testUpdateUnknown(t *testing.T, s crypto.Store) {
	wantErr(t, s.Update(t.Context(), NewRecord(Ref("nobody"), 1, 0)), crypto.ErrNotFound,
		"Update of a Ref never created", "Update does not create")
	_, err := s.Get(t.Context(), Ref("nobody"))
	wantErr(t, err, crypto.ErrNotFound, "Get after Update of an unknown Ref", "a refused Update writes nothing")
}

func testShred(t *testing.T, s crypto.Store) {
	a, b := NewRecord(Ref("alice"), 1, 0), NewRecord(Ref("bob"), 1, 0)
	mustCreate(t, s, a, b)
	mustShred(t, s, a.Ref, at(10))
	_, err := s.Get(t.Context(), a.Ref)
	wantErr(t, err, crypto.ErrShredded, "Get of a shredded Ref", "Shred leaves a tombstone that Get reports")
	wantRecord(t, "Get of another Ref after a shred", mustGet(t, s, b.Ref), b)
	recs, err := s.List(t.Context(), "", 10)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(recs) != 1 || recs[0].Ref != b.Ref {
		t.Errorf("List after shredding %q = %v; want only %q: List returns live records only", a.Ref, refsOf(recs), b.Ref)
	}
}

func testCreateAfterShred(t *testing.T, s crypto.Store) {
	r := NewRecord(Ref("alice"), 1, 0)
	mustCreate(t, s, r)
	mustShred(t, s, r.Ref, at(10))
	wantErr(t, s.Create(t.Context(), NewRecord(r.Ref, 2, 20)), crypto.ErrShredded, "Create after Shred",
		"no Create passes a tombstone; only Revive re-creates a key")
	_, err := s.Get(t.Context(), r.Ref)
	wantErr(t, err, crypto.ErrShredded, "Get after a refused Create of a shredded Ref", "the refused Create writes nothing")
}

func testUpdateAfterShred(t *testing.T, s crypto.Store) {
	r := NewRecord(Ref("alice"), 1, 0)
	mustCreate(t, s, r)
	mustShred(t, s, r.Ref, at(10))
	next := NewRecord(r.Ref, 2, 20)
	wantErr(t, s.Update(t.Context(), next), crypto.ErrShredded, "Update (from the last live Version) after Shred",
		"a shredded key is not rewritten (a rotation or rewrap racing a shred loses)")
	for _, v := range []int64{0, 2} {
		next.Version = v
		wantErr(t, s.Update(t.Context(), next), crypto.ErrShredded, fmt.Sprintf("Update with Version %d after Shred", v),
			"Update of a Ref with a tombstone reports ErrShredded whatever the Version")
	}
	_, err := s.Get(t.Context(), r.Ref)
	wantErr(t, err, crypto.ErrShredded, "Get after a refused Update of a shredded Ref", "the refused Update writes nothing")
}

func testShredIdempotent(t *testing.T, s crypto.Store) {
	r := NewRecord(Ref("alice"), 1, 0)
	mustCreate(t, s, r)
	mustShred(t, s, r.Ref, at(10))
	mustShred(t, s, r.Ref, at(11))
	mustShred(t, s, r.Ref, at(5))
	_, err := s.Get(t.Context(), r.Ref)
	wantErr(t, err, crypto.ErrShredded, "Get after three Shreds", "Shred is idempotent")
	wantErr(t, s.Create(t.Context(), r), crypto.ErrShredded, "Create after repeated Shreds", "the tombstone stays")
}

func testShredUnknown(t *testing.T, s crypto.Store) {
	ref := Ref("never-seen")
	mustShred(t, s, ref, at(0))
	_, err := s.Get(t.Context(), ref)
	wantErr(t, err, crypto.ErrShredded, "Get after Shred of a Ref never created",
		"Shred of an unknown Ref leaves a tombstone (an erasure that runs before first use still holds)")
	wantErr(t, s.Create(t.Context(), NewRecord(ref, 1, 1)), crypto.ErrShredded, "Create after Shred of an unknown Ref",
		"no Create passes a tombstone")
	recs, err := s.List(t.Context(), "", 10)
	if err != nil || len(recs) != 0 {
		t.Errorf("List with only a tombstone stored = %v, %v; want no records", refsOf(recs), err)
	}
	if refs, err := s.Refs(t.Context(), "", 10); err != nil || !slices.Equal(refs, []string{ref}) {
		t.Errorf("Refs with only a tombstone stored = %q, %v; want the tombstone's Ref (Refs lists tombstones too)", refs, err)
	}
}

func testReviveAfterShred(t *testing.T, s crypto.Store) {
	r := NewRecord(Ref("alice"), 1, 0)
	mustCreate(t, s, r)
	u := NewRecord(r.Ref, 2, 1)
	if err := s.Update(t.Context(), u); err != nil {
		t.Fatalf("Update: %v", err)
	}
	mustShred(t, s, r.Ref, at(10))
	back := NewRecord(r.Ref, 3, 20)
	back.KEK = "kek-2"
	back.Version = 2 // ignored: a revived record starts at Version 1
	if err := s.Revive(t.Context(), back); err != nil {
		t.Fatalf("Revive of a shredded Ref: %v; want nil", err)
	}
	want := back
	want.Version = 1
	wantRecord(t, "Get after Revive (a new record with Version 1)", mustGet(t, s, r.Ref), want)

	next := NewRecord(r.Ref, 4, 21)
	if err := s.Update(t.Context(), next); err != nil {
		t.Errorf("Update from Version 1 of a revived record: %v; want nil", err)
	}
	mustShred(t, s, r.Ref, at(30))
	_, err := s.Get(t.Context(), r.Ref)
	wantErr(t, err, crypto.ErrShredded, "Get after shredding a revived record", "a revived Ref can be shredded again")
}

func testReviveLive(t *testing.T, s crypto.Store) {
	r := NewRecord(Ref("alice"), 1, 0)
	mustCreate(t, s, r)
	wantErr(t, s.Revive(t.Context(), NewRecord(r.Ref, 2, 5)), crypto.ErrConflict, "Revive of a Ref with a live record",
		"Revive replaces a tombstone, never a live key")
	wantRecord(t, "Get after a refused Revive", mustGet(t, s, r.Ref), r)
}

func testReviveUnknown(t *testing.T, s crypto.Store) {
	r := NewRecord(Ref("newcomer"), 1, 0)
	r.Version = 0
	if err := s.Revive(t.Context(), r); err != nil {
		t.Fatalf("Revive of a Ref never seen: %v; want nil (it succeeds as Create does)", err)
	}
	want := r
	want.Version = 1
	wantRecord(t, "Get after Revive of an unknown Ref", mustGet(t, s, r.Ref), want)
	wantErr(t, s.Create(t.Context(), r), crypto.ErrConflict, "Create after Revive", "Revive made a live record")
}

// testTombstone checks crypto.TombstoneReader, for a Store that implements
// it (the Keyring's export then names the time of a shred), and skips
// otherwise.
func testTombstone(t *testing.T, s crypto.Store) {
	tr, ok := s.(crypto.TombstoneReader)
	if !ok {
		t.Skip("the Store does not implement crypto.TombstoneReader (optional)")
	}
	r := NewRecord(Ref("alice"), 1, 0)
	mustCreate(t, s, r)
	_, err := tr.Tombstone(t.Context(), r.Ref)
	wantErr(t, err, crypto.ErrNotFound, "Tombstone of a live Ref", "a live record has no tombstone")
	_, err = tr.Tombstone(t.Context(), Ref("nobody"))
	wantErr(t, err, crypto.ErrNotFound, "Tombstone of a Ref never seen", "an unknown Ref has no tombstone")

	paris := time.FixedZone("CET", 3600)
	when := time.Date(2025, 3, 3, 10, 45, 0, 123456789, paris)
	mustShred(t, s, r.Ref, when)
	mustShred(t, s, r.Ref, when.Add(time.Hour))
	got, err := tr.Tombstone(t.Context(), r.Ref)
	want := normTime(when)
	switch {
	case err != nil:
		t.Errorf("Tombstone of a shredded Ref: %v; want the time of its Shred", err)
	case !got.Equal(want) || got.Location() != time.UTC:
		t.Errorf("Tombstone = %s, want %s: the time of the first Shred, to the microsecond, in UTC",
			got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if err := s.Revive(t.Context(), NewRecord(r.Ref, 2, 30)); err != nil {
		t.Fatalf("Revive: %v", err)
	}
	_, err = tr.Tombstone(t.Context(), r.Ref)
	wantErr(t, err, crypto.ErrNotFound, "Tombstone after Revive", "Revive removes the tombstone")
}

func refsOf(recs []crypto.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Ref
	}
	return out
}

func testListPaging(t *testing.T, s crypto.Store) {
	ctx := t.Context()
	var live []string
	refs := []string{"A", "a", "a ", "meta/index"}
	for i := range 30 {
		refs = append(refs, Ref(fmt.Sprint("subject-", i)))
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
	for i, ref := range refs {
		mustCreate(t, s, NewRecord(ref, i, i))
		if i%4 == 1 {
			mustShred(t, s, ref, at(100))
		} else {
			live = append(live, ref)
		}
	}
	mustShred(t, s, Ref("tombstone-only"), at(100))
	slices.Sort(live) // byte order, as Go compares strings

	for _, limit := range []int{1, 3, 7, len(live), len(live) + 5} {
		var got []string
		after := ""
		for page := 0; ; page++ {
			if page > len(live)+1 {
				t.Fatalf("List with limit %d did not end after %d pages", limit, page)
			}
			recs, err := s.List(ctx, after, limit)
			if err != nil {
				t.Fatalf("List(%q, %d): %v", after, limit, err)
			}
			if len(recs) > limit {
				t.Fatalf("List(%q, %d) returned %d records; want at most limit", after, limit, len(recs))
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				if r.Ref <= after {
					t.Errorf("List(%q, %d) returned %q; want only Refs greater than the cursor, in byte order", after, limit, r.Ref)
				}
				if len(r.Wrapped) == 0 || r.Version != 1 {
					t.Errorf("List returned %q with %d Wrapped bytes and Version %d; want the full live record", r.Ref, len(r.Wrapped), r.Version)
				}
				got = append(got, r.Ref)
			}
			after = recs[len(recs)-1].Ref
		}
		if !slices.Equal(got, live) {
			t.Errorf("paging through List with limit %d visited\n\t%q\nwant every live Ref exactly once, ascending byte order, no tombstones:\n\t%q", limit, got, live)
		}
	}
	// A cursor that is not a stored Ref.
	recs, err := s.List(ctx, "a!", 2)
	if err != nil {
		t.Fatalf("List(\"a!\", 2): %v", err)
	}
	var want []string
	for _, ref := range live {
		if ref > "a!" && len(want) < 2 {
			want = append(want, ref)
		}
	}
	if got := refsOf(recs); !slices.Equal(got, want) {
		t.Errorf("List(\"a!\", 2) = %q; want %q (the first live Refs after the cursor in byte order)", got, want)
	}
}

func testRefsEmpty(t *testing.T, s crypto.Store) {
	refs, err := s.Refs(t.Context(), "", 10)
	if err != nil || len(refs) != 0 {
		t.Errorf("Refs of an empty Store = %q, %v; want none", refs, err)
	}
	_, err = s.Refs(t.Context(), "", -1)
	wantErr(t, err, crypto.ErrInvalid, "Refs with a negative limit", "a negative limit is refused")
}

// testRefsPaging checks Refs: every Ref with a live record or a tombstone
// (a tombstone alone too), once, in byte order, paged by the cursor. The
// Keyring relies on it to refuse a Store that lost its own keys but still
// holds tombstones.
func testRefsPaging(t *testing.T, s crypto.Store) {
	ctx := t.Context()
	var all []string
	refs := []string{"A", "a", "a ", "meta/index"}
	for i := range 20 {
		refs = append(refs, Ref(fmt.Sprint("subject-", i)))
	}
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
	for i, ref := range refs {
		mustCreate(t, s, NewRecord(ref, i, i))
		if i%3 == 1 {
			mustShred(t, s, ref, at(100))
		}
		all = append(all, ref)
	}
	for _, name := range []string{"tombstone-only-1", "tombstone-only-2"} {
		mustShred(t, s, Ref(name), at(100))
		all = append(all, Ref(name))
	}
	slices.Sort(all)

	for _, limit := range []int{1, 4, len(all), len(all) + 5} {
		var got []string
		after := ""
		for page := 0; ; page++ {
			if page > len(all)+1 {
				t.Fatalf("Refs with limit %d did not end after %d pages", limit, page)
			}
			rs, err := s.Refs(ctx, after, limit)
			if err != nil {
				t.Fatalf("Refs(%q, %d): %v", after, limit, err)
			}
			if len(rs) > limit {
				t.Fatalf("Refs(%q, %d) returned %d Refs; want at most limit", after, limit, len(rs))
			}
			if len(rs) == 0 {
				break
			}
			for _, r := range rs {
				if r <= after {
					t.Errorf("Refs(%q, %d) returned %q; want only Refs greater than the cursor, in byte order", after, limit, r)
				}
			}
			got = append(got, rs...)
			after = rs[len(rs)-1]
		}
		if !slices.Equal(got, all) {
			t.Errorf("paging through Refs with limit %d visited\n\t%q\nwant every Ref, live or tombstone, exactly once, ascending byte order:\n\t%q", limit, got, all)
		}
	}
	if rs, err := s.Refs(ctx, "", 0); err != nil || len(rs) != 0 {
		t.Errorf("Refs with limit 0 = %q, %v; want none", rs, err)
	}
}

func testByteExact(t *testing.T, s crypto.Store) {
	refs := []string{"a", "A", "a "}
	for i, ref := range refs {
		mustCreate(t, s, NewRecord(ref, i, i))
	}
	for i, ref := range refs {
		wantRecord(t, fmt.Sprintf("Get(%q) among %q", ref, refs), mustGet(t, s, ref), NewRecord(ref, i, i))
	}
	for _, ref := range []string{"a  ", "\u00e1", "A "} {
		_, err := s.Get(t.Context(), ref)
		wantErr(t, err, crypto.ErrNotFound, fmt.Sprintf("Get(%q) with only %q stored", ref, refs),
			"Refs compare byte for byte (no case folding, accent folding or PAD SPACE)")
	}
	recs, err := s.List(t.Context(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := refsOf(recs), []string{"A", "a", "a "}; !slices.Equal(got, want) {
		t.Errorf("List = %q; want %q (byte order)", got, want)
	}
	mustShred(t, s, "a", at(10))
	_, err = s.Get(t.Context(), "a")
	wantErr(t, err, crypto.ErrShredded, `Get("a") after Shred("a")`, "the shredded Ref has a tombstone")
	for _, ref := range []string{"A", "a "} {
		if _, err := s.Get(t.Context(), ref); err != nil {
			t.Errorf("Get(%q) after Shred(\"a\"): %v; want the live record: a shred affects its own Ref, byte for byte", ref, err)
		}
	}
}

func testNotAliased(t *testing.T, s crypto.Store) {
	ctx := t.Context()
	r := NewRecord(Ref("alice"), 1, 0)
	want := r
	want.Wrapped = bytes.Clone(r.Wrapped)
	mustCreate(t, s, r)
	r.Wrapped[0] ^= 0xff
	wantRecord(t, "Get after the caller changed the Wrapped bytes it created with", mustGet(t, s, r.Ref), want)

	got := mustGet(t, s, r.Ref)
	got.Wrapped[1] ^= 0xff
	wantRecord(t, "Get after the caller changed the Wrapped bytes of an earlier Get", mustGet(t, s, r.Ref), want)

	recs, err := s.List(ctx, "", 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("List: %v, %v", refsOf(recs), err)
	}
	recs[0].Wrapped[2] ^= 0xff
	wantRecord(t, "Get after the caller changed the Wrapped bytes List returned", mustGet(t, s, r.Ref), want)

	u := NewRecord(r.Ref, 2, 1)
	u.Created = r.Created
	wantU := u
	wantU.Wrapped, wantU.Version = bytes.Clone(u.Wrapped), 2
	if err := s.Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.Wrapped[0] ^= 0xff
	wantRecord(t, "Get after the caller changed the Wrapped bytes it updated with", mustGet(t, s, r.Ref), wantU)

	mustShred(t, s, r.Ref, at(2))
	v := NewRecord(r.Ref, 3, 3)
	wantV := v
	wantV.Wrapped = bytes.Clone(v.Wrapped)
	if err := s.Revive(ctx, v); err != nil {
		t.Fatal(err)
	}
	v.Wrapped[0] ^= 0xff
	wantRecord(t, "Get after the caller changed the Wrapped bytes it revived with", mustGet(t, s, r.Ref), wantV)
}

func testConcurrentCreates(t *testing.T, s crypto.Store) {
	const goroutines = 16
	ref := Ref("first-use")
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[g] = s.Create(t.Context(), NewRecord(ref, g, g))
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for g, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("Creates %d and %d of the same Ref both succeeded; want exactly one (at most one live record per Ref)", winner, g)
		case err == nil:
			winner = g
		default:
			wantErr(t, err, crypto.ErrConflict, fmt.Sprintf("concurrent Create #%d of the same Ref", g), "the losers of a first-use race get ErrConflict")
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d concurrent Creates of a new Ref succeeded; want exactly one", goroutines)
	}
	wantRecord(t, "Get after concurrent Creates", mustGet(t, s, ref), NewRecord(ref, winner, winner))
}

func testConcurrentUpdates(t *testing.T, s crypto.Store) {
	const goroutines = 8
	ref := Ref("rotating")
	mustCreate(t, s, NewRecord(ref, 0, 0))
	for round := int64(1); round <= 3; round++ {
		errs := make([]error, goroutines)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := NewRecord(ref, int(round)*100+g, g)
				r.Version, r.Created = round, at(0)
				errs[g] = s.Update(t.Context(), r)
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: Updates %d and %d from the same Version %d both succeeded; want exactly one (optimistic locking)", round, winner, g, round)
			case err == nil:
				winner = g
			default:
				wantErr(t, err, crypto.ErrConflict, fmt.Sprintf("round %d: concurrent Update #%d from Version %d", round, g, round),
					"the losers of an Update race get ErrConflict")
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: none of %d concurrent Updates from the stored Version succeeded; want exactly one", round, goroutines)
		}
		want := NewRecord(ref, int(round)*100+winner, winner)
		want.Version, want.Created = round+1, at(0)
		wantRecord(t, fmt.Sprintf("round %d: Get after concurrent Updates", round), mustGet(t, s, ref), want)
	}
}

func testCreateRacingShred(t *testing.T, s crypto.Store) {
	const rounds = 50
	ctx := t.Context()
	for i := range rounds {
		ref := Ref(fmt.Sprint("race-", i))
		var createErr, shredErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			createErr = s.Create(ctx, NewRecord(ref, i, i))
		}()
		go func() {
			defer wg.Done()
			<-start
			shredErr = s.Shred(ctx, ref, at(i))
		}()
		close(start)
		wg.Wait()
		if shredErr != nil {
			t.Fatalf("round %d: Shred racing Create: %v; want nil", i, shredErr)
		}
		if createErr != nil {
			wantErr(t, createErr, crypto.ErrShredded, fmt.Sprintf("round %d: Create racing Shred", i),
				"a Create that loses to a Shred sees the tombstone")
		}
		_, err := s.Get(ctx, ref)
		wantErr(t, err, crypto.ErrShredded, fmt.Sprintf("round %d: Get after Create and Shred raced (Create returned %v)", i, createErr),
			"once Shred has returned, no live record exists for the Ref: the tombstone wins whichever ran first")
		wantErr(t, s.Create(ctx, NewRecord(ref, i, i)), crypto.ErrShredded, fmt.Sprintf("round %d: Create after the race", i),
			"no Create passes a tombstone")
	}
}
