package exporttest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/internal/suite"
)

// RunStoreTests runs the conformance suite of export.Store against the
// stores newStore makes, one subtest per behaviour (see the package
// documentation for the list).
//
// newStore is called once per subtest with that subtest's t. It returns
// a fresh, empty store that no other subtest uses, registers any
// cleanup with t.Cleanup, and fails t itself if it cannot:
//
//	exporttest.RunStoreTests(t, func(t *testing.T) export.Store {
//		return memexport.New()
//	})
//
// The race subtests run many goroutines on that one store. A store over
// a database should also be raced from several connection pools (as
// several instances of a host share the database); the suite cannot
// open those, so that is the store's own test to write (package
// github.com/gdprkit/gdpr/integration/export/sqlexport does it for
// sqlexport).
func RunStoreTests(t *testing.T, newStore func(t *testing.T) export.Store) {
	tests := []suite.Test[export.Store]{
		{"CreateGetRoundTrip", suite.One(testRoundTrip)},
		{"TimesToTheMicrosecond", suite.One(testTimes)},
		{"CreateDoesNotAliasInput", suite.One(testCreateNotAliased)},
		{"ReturnedDeliveriesAreCopies", suite.One(testReturnedCopies)},
		{"CreateInvalid", suite.One(testCreateInvalid)},
		{"CreateDuplicateID", suite.One(testCreateDuplicateID)},
		{"CreateDuplicateTokenHash", suite.One(testCreateDuplicateHash)},
		{"CreateDuplicateTokenHashInOneDelivery", suite.One(testCreateDuplicateHashWithin)},
		{"GetUnknown", suite.One(testGetUnknown)},
		{"Claim", suite.One(testClaim)},
		{"ClaimEveryPart", suite.One(testClaimEveryPart)},
		{"ClaimTwice", suite.One(testClaimTwice)},
		{"ClaimUnknown", suite.One(testClaimUnknown)},
		{"ClaimAfterExpiry", suite.One(testClaimAfterExpiry)},
		{"ClaimAtExpires", suite.One(testClaimAtExpires)},
		{"ClaimErrorsAlike", suite.One(testClaimErrorsAlike)},
		{"ListOrder", suite.One(testListOrder)},
		{"ListFilters", suite.One(testListFilters)},
		{"ListFinished", suite.One(testListFinished)},
		{"ListLimit", suite.One(testListLimit)},
		{"ListDefaultLimit", suite.One(testListDefaultLimit)},
		{"ListMaxLimit", suite.One(testListMaxLimit)},
		{"Delete", suite.One(testDelete)},
		{"CanceledContext", suite.One(testCanceled)},
		{"ErrorsHoldNoPersonalData", suite.One(testErrorTexts)},
		{"RaceClaim", testRaceClaim},
		{"RaceCreateDuplicateID", testRaceCreateID},
		{"RaceCreateDuplicateTokenHash", testRaceCreateHash},
	}
	suite.Run(t, "export.Store", func(t *testing.T) (s, other export.Store) {
		s = newStore(t)
		return s, s
	}, tests)
}

const (
	alice gdpr.SubjectID = "subject-alice"
	bob   gdpr.SubjectID = "subject-bob"
)

// The contract, quoted in failure messages.
const (
	roundTripContract = "Get, List and Claim return the delivery as it was created, every time to the microsecond"
	createContract    = "Create stores nothing when it fails"
	conflictContract  = "a delivery with an existing ID, or with a TokenHash another part holds, is ErrConflict, and nothing is stored"
	claimContract     = "Claim marks a part downloaded at now only if it was not downloaded before and the delivery has not expired at now (Expires after now); anything else is ErrNotFound"
	listContract      = "List returns the deliveries f selects, ordered by Created then ID, at most f.Limit of them (0: 100; more than 1000: 1000)"
	finishedContract  = "Finished selects the deliveries over at that time: expired (Expires at or before it), or with every part downloaded (at or before it)"
	copyContract      = "a Store keeps no reference to the caller's slices, and returns none to its own"
)

func mustCreate(t *testing.T, s export.Store, ds ...export.Delivery) {
	t.Helper()
	for _, d := range ds {
		if err := s.Create(t.Context(), clone(d)); err != nil {
			t.Fatalf("Create(a valid delivery with %d parts): %v; want nil", len(d.Parts), err)
		}
	}
}

func mustGet(t *testing.T, s export.Store, id string) export.Delivery {
	t.Helper()
	d, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s) of a delivery created: %v; want it", id, err)
	}
	return d
}

func mustList(t *testing.T, s export.Store, f export.DeliveryFilter) []export.Delivery {
	t.Helper()
	ds, err := s.List(t.Context(), f)
	if err != nil {
		t.Fatalf("List: %v; want nil", err)
	}
	return ds
}

func mustClaim(t *testing.T, s export.Store, hash []byte, now time.Time) (export.Delivery, int) {
	t.Helper()
	d, i, err := s.Claim(t.Context(), bytes.Clone(hash), now)
	if err != nil {
		t.Fatalf("Claim of a part not downloaded, at %s before Expires: %v; want the delivery (%s)", showTime(now), err, claimContract)
	}
	return d, i
}

// wantGone fails t unless the delivery id is not stored: Get is
// ErrNotFound and none of the hashes can be claimed.
func wantGone(t *testing.T, s export.Store, what, id string, hashes ...[]byte) {
	t.Helper()
	if _, err := s.Get(t.Context(), id); !isNotFound(err) {
		t.Errorf("%s: Get = %v; want ErrNotFound", what, err)
	}
	for i, h := range hashes {
		if _, _, err := s.Claim(t.Context(), h, at(1)); !isNotFound(err) {
			t.Errorf("%s: Claim of its token %d = %v; want ErrNotFound", what, i, err)
		}
	}
}

func testRoundTrip(t *testing.T, s export.Store) {
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	created := time.Date(2025, time.March, 3, 14, 30, 0, 123456789, zone)
	full := NewDelivery(alice, created, 3)
	full.Request = NewID()
	full.Kind = gdpr.KindPortability
	full.Expires = created.Add(72*time.Hour + 987654321)
	full.Parts[1].Downloaded = created.Add(time.Hour + 111)
	full.Parts[2].Size = 0
	mustCreate(t, s, full)
	wantDelivery(t, "Get", mustGet(t, s, full.ID), full)
	if ds := mustList(t, s, export.DeliveryFilter{}); len(ds) != 1 {
		t.Errorf("List of a store with one delivery returned %d; want 1", len(ds))
	} else {
		wantDelivery(t, "List", ds[0], full)
	}
	// Claim returns the delivery with the part's Downloaded set.
	got, i := mustClaim(t, s, full.Parts[0].TokenHash, created.Add(2*time.Hour))
	want := clone(full)
	want.Parts[0].Downloaded = created.Add(2 * time.Hour)
	if i != 0 {
		t.Errorf("Claim of part 0 returned index %d", i)
	}
	wantDelivery(t, "Claim", got, want)
	wantDelivery(t, "Get after Claim", mustGet(t, s, full.ID), want)

	// A delivery with no Request, an access bundle, one part.
	plain := NewDelivery(bob, at(0), 1)
	mustCreate(t, s, plain)
	wantDelivery(t, "Get of a delivery with no Request", mustGet(t, s, plain.ID), plain)
}

func testTimes(t *testing.T, s export.Store) {
	zone := time.FixedZone("UTC-03:00", -3*3600)
	// 06:00:00.999999999 at -03:00 is 09:00:00.999999 UTC, truncated.
	in := time.Date(2025, time.March, 3, 6, 0, 0, 999999999, zone)
	d := NewDelivery(alice, in, 1)
	d.Expires = in.Add(time.Hour)
	mustCreate(t, s, d)
	got := mustGet(t, s, d.ID)
	if wantC := time.Date(2025, time.March, 3, 9, 0, 0, 999999000, time.UTC); !got.Created.Equal(wantC) {
		t.Errorf("Created = %s; want %s: truncated to the microsecond, not rounded", showTime(got.Created), showTime(wantC))
	}
	now := in.Add(time.Minute + 999)
	c, _ := mustClaim(t, s, d.Parts[0].TokenHash, now)
	if !c.Parts[0].Downloaded.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("Claim at %s: Downloaded = %s; want now truncated to the microsecond", showTime(now), showTime(c.Parts[0].Downloaded))
	}
	if g := mustGet(t, s, d.ID); !g.Parts[0].Downloaded.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("Get after Claim at %s: Downloaded = %s; want now truncated to the microsecond", showTime(now), showTime(g.Parts[0].Downloaded))
	}
}

// scribble overwrites every slice d holds.
func scribble(d *export.Delivery) {
	for i := range d.Parts {
		for j := range d.Parts[i].TokenHash {
			d.Parts[i].TokenHash[j] ^= 0xff
		}
		d.Parts[i].Blob = "scribbled"
		d.Parts[i].Size = -1
	}
	if len(d.Parts) > 0 {
		d.Parts = d.Parts[:1]
	}
}

func testCreateNotAliased(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 2)
	want := clone(d)
	if err := s.Create(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	scribble(&d)
	if d2 := mustGet(t, s, want.ID); len(deliveryDiff(d2, stored(want))) > 0 {
		t.Errorf("changing the delivery passed to Create changed the stored one (%s):\n\t%s", copyContract, strings.Join(deliveryDiff(d2, stored(want)), "\n\t"))
	}
}

func testReturnedCopies(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 3)
	mustCreate(t, s, d)
	g := mustGet(t, s, d.ID)
	scribble(&g)
	wantDelivery(t, "Get after a caller changed what an earlier Get returned", mustGet(t, s, d.ID), d)
	ls := mustList(t, s, export.DeliveryFilter{})
	scribble(&ls[0])
	wantDelivery(t, "Get after a caller changed what List returned", mustGet(t, s, d.ID), d)
	c, _ := mustClaim(t, s, d.Parts[2].TokenHash, at(1))
	scribble(&c)
	want := clone(d)
	want.Parts[2].Downloaded = at(1)
	wantDelivery(t, "Get after a caller changed what Claim returned", mustGet(t, s, d.ID), want)
}

func testCreateInvalid(t *testing.T, s export.Store) {
	ctx := t.Context()
	valid := NewDelivery(alice, at(0), 2)
	for _, c := range []struct {
		name string
		edit func(d *export.Delivery)
	}{
		{"an empty ID", func(d *export.Delivery) { d.ID = "" }},
		{"no parts", func(d *export.Delivery) { d.Parts = nil }},
		{"an empty Parts slice", func(d *export.Delivery) { d.Parts = []export.DeliveryPart{} }},
		{"a nil TokenHash", func(d *export.Delivery) { d.Parts[1].TokenHash = nil }},
		{"a 31-byte TokenHash", func(d *export.Delivery) { d.Parts[1].TokenHash = d.Parts[1].TokenHash[:31] }},
		{"a 33-byte TokenHash", func(d *export.Delivery) { d.Parts[0].TokenHash = append(d.Parts[0].TokenHash, 0) }},
		{"an empty Blob", func(d *export.Delivery) { d.Parts[1].Blob = "" }},
		{"a negative Size", func(d *export.Delivery) { d.Parts[0].Size = -1 }},
		{"Expires equal to Created", func(d *export.Delivery) { d.Expires = d.Created }},
		{"Expires before Created", func(d *export.Delivery) { d.Expires = d.Created.Add(-time.Second) }},
		{"Expires and Created both zero", func(d *export.Delivery) { d.Created, d.Expires = time.Time{}, time.Time{} }},
	} {
		d := clone(valid)
		c.edit(&d)
		if err := s.Create(ctx, d); !isInvalid(err) {
			t.Errorf("Create of a delivery with %s: %v; want an error wrapping export.ErrInvalid and gdpr.ErrInvalid", c.name, err)
		}
	}
	if ds := mustList(t, s, export.DeliveryFilter{}); len(ds) != 0 {
		t.Errorf("after refused Creates, List returned %d deliveries; want none (%s)", len(ds), createContract)
	}
	// Nothing of the refused ones holds the ID or the hashes.
	mustCreate(t, s, valid)
	wantDelivery(t, "Get of a valid delivery created after refused ones of its ID and hashes", mustGet(t, s, valid.ID), valid)
}

func testCreateDuplicateID(t *testing.T, s export.Store) {
	first := NewDelivery(alice, at(0), 2)
	mustCreate(t, s, first)
	second := NewDelivery(bob, at(5), 3)
	second.ID = first.ID
	err := s.Create(t.Context(), clone(second))
	if !isConflict(err) {
		t.Fatalf("Create of a delivery whose ID exists: %v; want an error wrapping export.ErrConflict and gdpr.ErrConflict (%s)", err, conflictContract)
	}
	wantDelivery(t, "Get after a refused Create of its ID", mustGet(t, s, first.ID), first)
	for i, p := range second.Parts {
		if _, _, err := s.Claim(t.Context(), p.TokenHash, at(1)); !isNotFound(err) {
			t.Errorf("Claim of part %d of the refused delivery: %v; want ErrNotFound (%s)", i, err, conflictContract)
		}
	}
	if ds := mustList(t, s, export.DeliveryFilter{}); len(ds) != 1 {
		t.Errorf("List after a refused Create: %d deliveries; want 1", len(ds))
	}
	// The refused hashes are free.
	third := NewDelivery(bob, at(6), 0)
	third.Parts = clone(second).Parts
	mustCreate(t, s, third)
}

func testCreateDuplicateHash(t *testing.T, s export.Store) {
	first := NewDelivery(alice, at(0), 2)
	mustCreate(t, s, first)
	second := NewDelivery(bob, at(5), 3)
	second.Parts[2].TokenHash = bytes.Clone(first.Parts[1].TokenHash)
	if err := s.Create(t.Context(), clone(second)); !isConflict(err) {
		t.Fatalf("Create of a delivery with a TokenHash another delivery's part holds: %v; want ErrConflict (%s)", err, conflictContract)
	}
	wantGone(t, s, "the delivery refused for its TokenHash", second.ID, second.Parts[0].TokenHash, second.Parts[1].TokenHash)
	wantDelivery(t, "Get of the delivery that held the TokenHash", mustGet(t, s, first.ID), first)
	if ds := mustList(t, s, export.DeliveryFilter{Subject: bob}); len(ds) != 0 {
		t.Errorf("List of the refused delivery's subject: %d; want none (%s)", len(ds), conflictContract)
	}
	// The part that holds the hash is the first delivery's still.
	got, i := mustClaim(t, s, first.Parts[1].TokenHash, at(1))
	if got.ID != first.ID || i != 1 {
		t.Errorf("Claim of the shared TokenHash returned delivery %s part %d; want %s part 1", got.ID, i, first.ID)
	}
	// A downloaded part holds its hash too.
	third := NewDelivery(bob, at(6), 1)
	third.Parts[0].TokenHash = bytes.Clone(first.Parts[1].TokenHash)
	if err := s.Create(t.Context(), clone(third)); !isConflict(err) {
		t.Errorf("Create with the TokenHash of a part already downloaded: %v; want ErrConflict (TokenHash is unique across the Store)", err)
	}
	wantGone(t, s, "the delivery refused for a downloaded part's TokenHash", third.ID)
	// The refused delivery's other hashes are free.
	fourth := NewDelivery(bob, at(7), 0)
	fourth.Parts = clone(second).Parts[:2]
	mustCreate(t, s, fourth)
}

func testCreateDuplicateHashWithin(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 3)
	d.Parts[2].TokenHash = bytes.Clone(d.Parts[0].TokenHash)
	if err := s.Create(t.Context(), clone(d)); !isConflict(err) {
		t.Fatalf("Create of a delivery two of whose parts have one TokenHash: %v; want ErrConflict (%s)", err, conflictContract)
	}
	wantGone(t, s, "the delivery refused for two parts of one TokenHash", d.ID, d.Parts[0].TokenHash, d.Parts[1].TokenHash)
	if ds := mustList(t, s, export.DeliveryFilter{}); len(ds) != 0 {
		t.Errorf("List after the refused Create: %d; want none", len(ds))
	}
}

func testGetUnknown(t *testing.T, s export.Store) {
	if _, err := s.Get(t.Context(), NewID()); !isNotFound(err) {
		t.Errorf("Get of an unknown ID: %v; want an error wrapping export.ErrNotFound and gdpr.ErrNotFound", err)
	}
	mustCreate(t, s, NewDelivery(alice, at(0), 1))
	if _, err := s.Get(t.Context(), ""); !isNotFound(err) {
		t.Errorf("Get of the empty ID: %v; want ErrNotFound", err)
	}
}

func testClaim(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 3)
	mustCreate(t, s, d)
	now := at(30).Add(123456789)
	got, i := mustClaim(t, s, d.Parts[1].TokenHash, now)
	if i != 1 {
		t.Errorf("Claim of the second part returned index %d; want 1", i)
	}
	want := clone(d)
	want.Parts[1].Downloaded = now
	wantDelivery(t, "Claim", got, want)
	wantDelivery(t, "Get after Claim", mustGet(t, s, d.ID), want)
	if got.Done() {
		t.Error("Done() of a delivery with one part of three downloaded is true")
	}
}

func testClaimEveryPart(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 4)
	other := NewDelivery(alice, at(0), 1)
	mustCreate(t, s, d, other)
	want := clone(d)
	for _, i := range []int{3, 0, 2, 1} {
		got, gi := mustClaim(t, s, d.Parts[i].TokenHash, at(10+i))
		if gi != i {
			t.Errorf("Claim of part %d returned index %d", i, gi)
		}
		want.Parts[i].Downloaded = at(10 + i)
		wantDelivery(t, fmt.Sprintf("Claim of part %d", i), got, want)
		if done := got.Done(); done != (i == 1) {
			t.Errorf("after claiming part %d, Done() = %v", i, done)
		}
	}
	if !mustGet(t, s, d.ID).Done() {
		t.Error("Get after every part was claimed: Done() is false")
	}
	wantDelivery(t, "Get of another delivery", mustGet(t, s, other.ID), other)
}

func testClaimTwice(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 2)
	mustCreate(t, s, d)
	mustClaim(t, s, d.Parts[0].TokenHash, at(1))
	if _, _, err := s.Claim(t.Context(), d.Parts[0].TokenHash, at(2)); !isNotFound(err) {
		t.Errorf("second Claim of a part: %v; want ErrNotFound (%s)", err, claimContract)
	}
	want := clone(d)
	want.Parts[0].Downloaded = at(1)
	wantDelivery(t, "Get after a second Claim of a part", mustGet(t, s, d.ID), want)
}

func testClaimUnknown(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 1)
	mustCreate(t, s, d)
	h := d.Parts[0].TokenHash
	flipped := bytes.Clone(h)
	flipped[31] ^= 1
	for name, hash := range map[string][]byte{
		"an unknown hash":               randomHash(),
		"a hash one bit off a part's":   flipped,
		"a part's hash cut to 31 bytes": bytes.Clone(h[:31]),
		"a part's hash and one byte":    append(bytes.Clone(h), 0),
		"nil":                           nil,
		"the empty hash":                {},
	} {
		if _, _, err := s.Claim(t.Context(), hash, at(1)); !isNotFound(err) {
			t.Errorf("Claim of %s: %v; want ErrNotFound", name, err)
		}
	}
	wantDelivery(t, "Get after Claims of unknown hashes", mustGet(t, s, d.ID), d)
}

func testClaimAfterExpiry(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 2)
	mustCreate(t, s, d)
	if _, _, err := s.Claim(t.Context(), d.Parts[0].TokenHash, d.Expires.Add(time.Hour)); !isNotFound(err) {
		t.Errorf("Claim an hour after Expires: %v; want ErrNotFound (%s)", err, claimContract)
	}
	wantDelivery(t, "Get after a Claim past Expires", mustGet(t, s, d.ID), d)
}

func testClaimAtExpires(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 2)
	mustCreate(t, s, d)
	if _, _, err := s.Claim(t.Context(), d.Parts[0].TokenHash, d.Expires); !isNotFound(err) {
		t.Errorf("Claim at exactly Expires: %v; want ErrNotFound (the delivery has expired at Expires: %s)", err, claimContract)
	}
	if _, _, err := s.Claim(t.Context(), d.Parts[0].TokenHash, d.Expires.Add(time.Microsecond)); !isNotFound(err) {
		t.Errorf("Claim a microsecond after Expires: %v; want ErrNotFound", err)
	}
	wantDelivery(t, "Get after a Claim at Expires", mustGet(t, s, d.ID), d)
	just := d.Expires.Add(-time.Microsecond)
	got, _ := mustClaim(t, s, d.Parts[1].TokenHash, just)
	want := clone(d)
	want.Parts[1].Downloaded = just
	wantDelivery(t, "Claim a microsecond before Expires", got, want)
}

func testClaimErrorsAlike(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 2)
	mustCreate(t, s, d)
	mustClaim(t, s, d.Parts[0].TokenHash, at(1))
	_, _, unknown := s.Claim(t.Context(), randomHash(), at(2))
	_, _, used := s.Claim(t.Context(), d.Parts[0].TokenHash, at(2))
	_, _, expired := s.Claim(t.Context(), d.Parts[1].TokenHash, d.Expires)
	for name, err := range map[string]error{"unknown": unknown, "used": used, "expired": expired} {
		if !isNotFound(err) {
			t.Errorf("Claim of an %s token: %v; want ErrNotFound", name, err)
		}
	}
	if unknown != nil && used != nil && expired != nil &&
		(unknown.Error() != used.Error() || unknown.Error() != expired.Error()) {
		t.Errorf("Claim errors tell tokens apart: unknown %q, used %q, expired %q; "+
			"want one error alike for all three, so a caller learns nothing about tokens it does not hold", unknown, used, expired)
	}
}

// testListOrder creates deliveries out of order, two of them at one
// instant, and wants them by Created then ID.
func testListOrder(t *testing.T, s export.Store) {
	mk := func(id string, created time.Time) export.Delivery {
		d := NewDelivery(alice, created, 1)
		d.ID = id
		return d
	}
	a := mk("0195a000-0000-7000-8000-00000000000c", at(3))
	b := mk("0195a000-0000-7000-8000-00000000000a", at(1))
	c := mk("0195a000-0000-7000-8000-00000000000b", at(1))
	e := mk("0195a000-0000-7000-8000-000000000001", at(2))
	f := mk("0195a000-0000-7000-8000-000000000002", at(1).Add(time.Microsecond))
	mustCreate(t, s, a, b, c, e, f)
	want := []string{b.ID, c.ID, f.ID, e.ID, a.ID}
	// Eight at one instant, created in reverse ID order: by ID.
	var tied []string
	for i := 8; i > 0; i-- {
		d := mk(fmt.Sprintf("0195a000-0000-7000-8000-0000000001%02d", i), at(4))
		mustCreate(t, s, d)
		tied = append([]string{d.ID}, tied...)
	}
	want = append(want, tied...)
	if got := ids(mustList(t, s, export.DeliveryFilter{})); !slices.Equal(got, want) {
		t.Errorf("List = %v; want %v (%s)", got, want, listContract)
	}
}

func testListFilters(t *testing.T, s export.Store) {
	r1, r2 := NewID(), NewID()
	mk := func(subject gdpr.SubjectID, request string, n int) export.Delivery {
		d := NewDelivery(subject, at(n), 1)
		d.Request = request
		return d
	}
	a1 := mk(alice, r1, 0)
	a2 := mk(alice, r2, 1)
	a3 := mk(alice, "", 2)
	b1 := mk(bob, r1, 3)
	b2 := mk(bob, "", 4)
	mustCreate(t, s, a1, a2, a3, b1, b2)
	// a2 is done at minute 10; b1 expires.
	mustClaim(t, s, a2.Parts[0].TokenHash, at(10))
	finished := b1.Expires
	for _, c := range []struct {
		name string
		f    export.DeliveryFilter
		want []export.Delivery
	}{
		{"the zero filter", export.DeliveryFilter{}, []export.Delivery{a1, a2, a3, b1, b2}},
		{"Request", export.DeliveryFilter{Request: r1}, []export.Delivery{a1, b1}},
		{"an unknown Request", export.DeliveryFilter{Request: NewID()}, nil},
		{"Subject", export.DeliveryFilter{Subject: alice}, []export.Delivery{a1, a2, a3}},
		{"an unknown Subject", export.DeliveryFilter{Subject: "subject-nobody"}, nil},
		{"Subject and Request", export.DeliveryFilter{Subject: bob, Request: r1}, []export.Delivery{b1}},
		{"Finished", export.DeliveryFilter{Finished: at(11)}, []export.Delivery{a2}},
		{"Finished at b1's Expires", export.DeliveryFilter{Finished: finished}, []export.Delivery{a1, a2, a3, b1}},
		{"Finished and Subject", export.DeliveryFilter{Finished: finished, Subject: bob}, []export.Delivery{b1}},
		{"Finished, Subject and Request", export.DeliveryFilter{Finished: finished, Subject: alice, Request: r2}, []export.Delivery{a2}},
		{"Subject and Limit", export.DeliveryFilter{Subject: alice, Limit: 2}, []export.Delivery{a1, a2}},
	} {
		got := mustList(t, s, c.f)
		if !slices.Equal(ids(got), ids(c.want)) {
			t.Errorf("List(%s) = %v; want %v (%s; set fields are ANDed)", c.name, ids(got), ids(c.want), listContract)
			continue
		}
		for i := range got {
			if got[i].ID == a2.ID {
				w := clone(a2)
				w.Parts[0].Downloaded = at(10)
				wantDelivery(t, "List("+c.name+")", got[i], w)
			} else {
				wantDelivery(t, "List("+c.name+")", got[i], c.want[i])
			}
		}
	}
}

func testListFinished(t *testing.T, s export.Store) {
	cut := at(60)
	mk := func(n int, expires time.Time, parts int) export.Delivery {
		d := NewDelivery(alice, at(n), parts)
		d.Expires = expires
		return d
	}
	expiredBefore := mk(0, cut.Add(-time.Minute), 1)
	expiredAt := mk(1, cut, 2)
	expiresAfter := mk(2, cut.Add(time.Microsecond), 1)
	allDone := mk(3, cut.Add(time.Hour), 2)
	partDone := mk(4, cut.Add(time.Hour), 2)
	doneAfter := mk(5, cut.Add(2*time.Hour), 1)
	doneAtCut := mk(6, cut.Add(time.Hour), 1)
	mustCreate(t, s, expiredBefore, expiredAt, expiresAfter, allDone, partDone, doneAfter, doneAtCut)
	mustClaim(t, s, allDone.Parts[0].TokenHash, at(10))
	mustClaim(t, s, allDone.Parts[1].TokenHash, at(11))
	mustClaim(t, s, partDone.Parts[1].TokenHash, at(12))
	mustClaim(t, s, doneAfter.Parts[0].TokenHash, cut.Add(time.Minute))
	mustClaim(t, s, doneAtCut.Parts[0].TokenHash, cut)
	want := []string{expiredBefore.ID, expiredAt.ID, allDone.ID, doneAtCut.ID}
	if got := ids(mustList(t, s, export.DeliveryFilter{Finished: cut})); !slices.Equal(got, want) {
		t.Errorf("List(Finished: %s) = %v; want %v: expired before, expired at, all parts downloaded, downloaded at the cut "+
			"(not: expiring a microsecond after, one part of two downloaded, downloaded after the cut) (%s)",
			showTime(cut), got, want, finishedContract)
	}
	later := cut.Add(3 * time.Hour)
	if got := ids(mustList(t, s, export.DeliveryFilter{Finished: later})); len(got) != 7 {
		t.Errorf("List(Finished: after every Expires) = %d deliveries; want all 7", len(got))
	}
}

func testListLimit(t *testing.T, s export.Store) {
	var all []export.Delivery
	for i := range 5 {
		all = append(all, NewDelivery(alice, at(i), 1))
	}
	mustCreate(t, s, all...)
	for _, n := range []int{1, 2, 5, 6} {
		got := ids(mustList(t, s, export.DeliveryFilter{Limit: n}))
		want := ids(all[:min(n, 5)])
		if !slices.Equal(got, want) {
			t.Errorf("List(Limit: %d) = %v; want %v (%s)", n, got, want, listContract)
		}
	}
}

// createMany creates n deliveries, from 8 goroutines at once.
func createMany(t *testing.T, s export.Store, n int) {
	t.Helper()
	const workers = 8
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n && errs[w] == nil; i += workers {
				errs[w] = s.Create(t.Context(), NewDelivery(alice, at(0).Add(time.Duration(i)*time.Second), 1))
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Create of one of %d deliveries, from %d goroutines at once: %v; want nil", n, workers, err)
		}
	}
}

func testListDefaultLimit(t *testing.T, s export.Store) {
	createMany(t, s, 101)
	if got := mustList(t, s, export.DeliveryFilter{}); len(got) != 100 {
		t.Errorf("List(Limit: 0) of 101 deliveries returned %d; want the default page of 100", len(got))
	}
	if got := mustList(t, s, export.DeliveryFilter{Limit: 101}); len(got) != 101 {
		t.Errorf("List(Limit: 101) of 101 deliveries returned %d; want 101", len(got))
	}
}

func testListMaxLimit(t *testing.T, s export.Store) {
	if testing.Short() {
		t.Skip("creates 1001 deliveries; skipped with -short")
	}
	createMany(t, s, 1001)
	if got := mustList(t, s, export.DeliveryFilter{Limit: 5000}); len(got) != 1000 {
		t.Errorf("List(Limit: 5000) of 1001 deliveries returned %d; want 1000 (more than 1000 is cut to 1000)", len(got))
	}
}

func testDelete(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 3)
	other := NewDelivery(alice, at(1), 1)
	mustCreate(t, s, d, other)
	mustClaim(t, s, d.Parts[0].TokenHash, at(2))
	if err := s.Delete(t.Context(), d.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantGone(t, s, "a deleted delivery", d.ID, d.Parts[1].TokenHash, d.Parts[2].TokenHash)
	if got := ids(mustList(t, s, export.DeliveryFilter{})); !slices.Equal(got, []string{other.ID}) {
		t.Errorf("List after Delete = %v; want only the other delivery", got)
	}
	wantDelivery(t, "Get of another delivery after a Delete", mustGet(t, s, other.ID), other)
	if err := s.Delete(t.Context(), d.ID); err != nil {
		t.Errorf("Delete of a delivery deleted already: %v; want nil", err)
	}
	if err := s.Delete(t.Context(), NewID()); err != nil {
		t.Errorf("Delete of an unknown ID: %v; want nil", err)
	}
	// The parts went with it: their hashes are free.
	again := NewDelivery(bob, at(3), 0)
	again.Parts = clone(d).Parts
	again.Parts[0].Downloaded = time.Time{}
	mustCreate(t, s, again)
	got, i := mustClaim(t, s, d.Parts[0].TokenHash, at(4))
	if got.ID != again.ID || i != 0 {
		t.Errorf("Claim of a hash reused after Delete: delivery %s part %d; want %s part 0", got.ID, i, again.ID)
	}
}

func testCanceled(t *testing.T, s export.Store) {
	d := NewDelivery(alice, at(0), 2)
	mustCreate(t, s, d)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	fresh := NewDelivery(bob, at(1), 1)
	errCreate := s.Create(ctx, clone(fresh))
	_, errGet := s.Get(ctx, d.ID)
	_, _, errClaim := s.Claim(ctx, d.Parts[0].TokenHash, at(2))
	_, errList := s.List(ctx, export.DeliveryFilter{})
	errDelete := s.Delete(ctx, d.ID)
	for name, err := range map[string]error{"Create": errCreate, "Get": errGet, "Claim": errClaim, "List": errList, "Delete": errDelete} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v; want an error wrapping context.Canceled", name, err)
		}
	}
	wantGone(t, s, "a delivery whose Create had a canceled context", fresh.ID, fresh.Parts[0].TokenHash)
	wantDelivery(t, "Get after a Claim and a Delete with a canceled context", mustGet(t, s, d.ID), d)
}

func testErrorTexts(t *testing.T, s export.Store) {
	const canary gdpr.SubjectID = "CANARY-ann.example@example.org"
	ctx := t.Context()
	d := NewDelivery(canary, at(0), 2)
	mustCreate(t, s, d)
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	dup := NewDelivery(canary, at(1), 1)
	dup.ID = d.ID
	add(s.Create(ctx, clone(dup)))
	shared := NewDelivery(canary, at(1), 2)
	shared.Parts[1].TokenHash = bytes.Clone(d.Parts[0].TokenHash)
	add(s.Create(ctx, clone(shared)))
	within := NewDelivery(canary, at(1), 2)
	within.Parts[1].TokenHash = bytes.Clone(within.Parts[0].TokenHash)
	add(s.Create(ctx, clone(within)))
	bad := NewDelivery(canary, at(1), 2)
	bad.Parts[1].TokenHash = bad.Parts[1].TokenHash[:16]
	add(s.Create(ctx, clone(bad)))
	late := NewDelivery(canary, at(1), 1)
	late.Expires = late.Created
	add(s.Create(ctx, clone(late)))
	_, err := s.Get(ctx, NewID())
	add(err)
	mustClaim(t, s, d.Parts[0].TokenHash, at(1))
	_, _, err = s.Claim(ctx, d.Parts[0].TokenHash, at(2))
	add(err)
	_, _, err = s.Claim(ctx, d.Parts[1].TokenHash, d.Expires)
	add(err)
	_, _, err = s.Claim(ctx, shared.Parts[0].TokenHash, at(2))
	add(err)
	if len(errs) < 9 {
		t.Fatalf("only %d of 9 calls failed", len(errs))
	}
	var secrets []string
	for _, x := range []export.Delivery{d, shared, within, bad} {
		for _, p := range x.Parts {
			if len(p.TokenHash) >= 8 {
				secrets = append(secrets, hex.EncodeToString(p.TokenHash), strings.ToUpper(hex.EncodeToString(p.TokenHash)),
					base64.StdEncoding.EncodeToString(p.TokenHash), base64.RawURLEncoding.EncodeToString(p.TokenHash),
					string(p.TokenHash), fmt.Sprint(p.TokenHash), fmt.Sprintf("%x", p.TokenHash[:8]))
			}
		}
	}
	for _, err := range errs {
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(text, string(canary)) || strings.Contains(strings.ToLower(text), "canary") {
				t.Errorf("an error names the subject: %q; errors hold no personal data", err)
			}
			for _, sec := range secrets {
				if strings.Contains(text, sec) {
					t.Errorf("an error holds a token hash: %q; errors hold no token hash", err)
					break
				}
			}
		}
	}
}

func testRaceClaim(t *testing.T, s, other export.Store) {
	d := NewDelivery(alice, at(0), 2)
	mustCreate(t, s, d)
	const n = 16
	now := func(g int) time.Time { return at(1).Add(time.Duration(g) * time.Second) }
	idx := make([]int, n)
	errs := suite.Race(t, n, s, other, func(ctx context.Context, g int, h export.Store) error {
		_, i, err := h.Claim(ctx, bytes.Clone(d.Parts[1].TokenHash), now(g))
		idx[g] = i
		return err
	})
	winner := -1
	for g, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("goroutines %d and %d both claimed one part: of concurrent claims of one part exactly one succeeds", winner, g)
		case err == nil:
			winner = g
			if idx[g] != 1 {
				t.Errorf("the winning Claim returned index %d; want 1", idx[g])
			}
		case !isNotFound(err):
			t.Errorf("a losing concurrent Claim: %v; want ErrNotFound", err)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d concurrent Claims of one part succeeded: exactly one must", n)
	}
	want := clone(d)
	want.Parts[1].Downloaded = now(winner)
	wantDelivery(t, "Get after the race (Downloaded is the winner's now)", mustGet(t, s, d.ID), want)
}

func testRaceCreateID(t *testing.T, s, other export.Store) {
	const n = 16
	id := NewID()
	cands := make([]export.Delivery, n)
	for g := range cands {
		cands[g] = NewDelivery(alice, at(g), 1+g%3)
		cands[g].ID = id
	}
	errs := suite.Race(t, n, s, other, func(ctx context.Context, g int, h export.Store) error {
		return h.Create(ctx, clone(cands[g]))
	})
	winner := -1
	for g, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("goroutines %d and %d both created delivery ID %s: exactly one Create of an ID succeeds", winner, g, id)
		case err == nil:
			winner = g
		case !isConflict(err):
			t.Errorf("a losing concurrent Create of one ID: %v; want ErrConflict", err)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d concurrent Creates of one ID succeeded", n)
	}
	wantDelivery(t, "Get after the race (the winner's delivery)", mustGet(t, s, id), cands[winner])
	for g, c := range cands {
		if g == winner {
			continue
		}
		for i, p := range c.Parts {
			if _, _, err := s.Claim(t.Context(), p.TokenHash, at(1)); !isNotFound(err) {
				t.Errorf("Claim of part %d of losing Create %d: %v; want ErrNotFound (nothing of a refused Create is stored)", i, g, err)
			}
		}
	}
}

func testRaceCreateHash(t *testing.T, s, other export.Store) {
	const n = 16
	shared := randomHash()
	cands := make([]export.Delivery, n)
	for g := range cands {
		cands[g] = NewDelivery(bob, at(g), 3)
		cands[g].Parts[g%3].TokenHash = bytes.Clone(shared)
	}
	errs := suite.Race(t, n, s, other, func(ctx context.Context, g int, h export.Store) error {
		return h.Create(ctx, clone(cands[g]))
	})
	winner := -1
	for g, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("goroutines %d and %d both stored a part with one TokenHash: a TokenHash is unique across the Store", winner, g)
		case err == nil:
			winner = g
		case !isConflict(err):
			t.Errorf("a losing concurrent Create of a shared TokenHash: %v; want ErrConflict", err)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d concurrent Creates sharing a TokenHash succeeded", n)
	}
	if got := ids(mustList(t, s, export.DeliveryFilter{})); !slices.Equal(got, []string{cands[winner].ID}) {
		t.Errorf("List after the race = %v; want only the winner's delivery", got)
	}
	for g, c := range cands {
		if g == winner {
			continue
		}
		var own [][]byte
		for i, p := range c.Parts {
			if i != g%3 {
				own = append(own, p.TokenHash)
			}
		}
		wantGone(t, s, fmt.Sprintf("losing Create %d", g), c.ID, own...)
	}
	got, _ := mustClaim(t, s, shared, at(1))
	if got.ID != cands[winner].ID {
		t.Errorf("Claim of the shared TokenHash returned delivery %s; want the winner's %s", got.ID, cands[winner].ID)
	}
}
