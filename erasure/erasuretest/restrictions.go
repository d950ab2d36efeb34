package erasuretest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
)

// The subtests in this file check the Store's restrictions and objections
// (CreateRestriction, UpdateRestriction, GetRestriction,
// ListRestrictions), its supplementary statements (PutStatement,
// ListStatements), Forget, and the fields of a Request and a Step that
// restriction, objection and rectification requests carry (Ask,
// Step.Field, Step.Recipient).

// The contracts, quoted in failure messages.
const (
	restrictionVersionContract = "UpdateRestriction writes only from the stored Version, and stores Version+1"
	restrictionIDContract      = "CreateRestriction of an existing ID is an error wrapping ErrConflict, and nothing is written"
	liftedContract             = "RestrictionFilter.Lifted false keeps only the restrictions not lifted (Lifted zero; an overridden objection is not lifted), true keeps every one"
	statementContract          = "a statement whose ID is stored already is left as it is, and PutStatement succeeds"
	forgetContract             = "Forget deletes every restriction and statement of the subject, and returns how many it deleted"
)

// newRestriction returns a restriction of kind for subject in force since
// since, as the Engine creates it: a fresh ID, Version 1.
func newRestriction(kind gdpr.RequestKind, subject gdpr.SubjectID, since time.Time) erasure.Restriction {
	x := erasure.Restriction{ID: NewID(), Kind: kind, SubjectRef: Ref(subject), Since: since, Version: 1}
	if kind == gdpr.KindRestriction {
		x.Ground = erasure.GroundAccuracy
	}
	return x
}

// lifted returns x lifted at when by a new lift request.
func lifted(x erasure.Restriction, when time.Time) erasure.Restriction {
	x = x.Clone()
	x.Lifted, x.LiftedBy = when, NewID()
	return x
}

// overridden returns x with an Override recorded at when.
func overridden(x erasure.Restriction, when time.Time) erasure.Restriction {
	x = x.Clone()
	x.Override = &erasure.Override{Reference: "assessment-2025-017", Reasons: "fraud prevention outweighs the objection",
		Actor: gdpr.Staff("staff-0042"), At: when}
	return x
}

// fullRestriction returns a restriction with every field set, whatever
// the Engine would write together (a Store keeps what it is given): a
// Ground, Purposes, DirectMarketing, an Override and a lift, with times
// that have nanoseconds and a zone other than UTC.
func fullRestriction(subject gdpr.SubjectID) erasure.Restriction {
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	since := base.Add(123456789 * time.Nanosecond).In(zone)
	x := newRestriction(gdpr.KindObjection, subject, since)
	x.Ground = erasure.GroundObjection
	x.Purposes = []gdpr.Purpose{"marketing", "profiling", "analytics"}
	x.DirectMarketing = true
	x = overridden(x, since.Add(time.Hour+999*time.Nanosecond).In(berlin))
	return lifted(x, since.Add(2*time.Hour+1001*time.Nanosecond))
}

// restrictionDiff lists how a stored restriction differs from want, field
// by field. Nil and empty Purposes are the same.
func restrictionDiff(got, want erasure.Restriction) []string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s: got %#v, want %#v", field, g, w)) }
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if got.Kind != want.Kind {
		add("Kind", got.Kind, want.Kind)
	}
	if got.SubjectRef != want.SubjectRef {
		add("SubjectRef", got.SubjectRef, want.SubjectRef)
	}
	if got.Ground != want.Ground {
		add("Ground", got.Ground, want.Ground)
	}
	if !slices.Equal(got.Purposes, want.Purposes) {
		add("Purposes", got.Purposes, want.Purposes)
	}
	if got.DirectMarketing != want.DirectMarketing {
		add("DirectMarketing", got.DirectMarketing, want.DirectMarketing)
	}
	if s := timeDiff(got.Since, want.Since); s != "" {
		d = append(d, "Since: "+s)
	}
	if s := timeDiff(got.Lifted, want.Lifted); s != "" {
		d = append(d, "Lifted: "+s)
	}
	if got.LiftedBy != want.LiftedBy {
		add("LiftedBy", got.LiftedBy, want.LiftedBy)
	}
	switch g, w := got.Override, want.Override; {
	case g == nil && w == nil:
	case g == nil || w == nil:
		d = append(d, fmt.Sprintf("Override: got set %v, want set %v", g != nil, w != nil))
	default:
		if g.Reference != w.Reference || g.Reasons != w.Reasons || g.Actor != w.Actor {
			d = append(d, fmt.Sprintf("Override (At aside): got %q, %q, %v, want %q, %q, %v", g.Reference, g.Reasons, g.Actor, w.Reference, w.Reasons, w.Actor))
		}
		if s := timeDiff(g.At, w.At); s != "" {
			d = append(d, "Override.At: "+s)
		}
	}
	if got.Version != want.Version {
		add("Version", got.Version, want.Version)
	}
	return d
}

// wantRestriction fails t unless got, as returned by call, is want as a
// Store gives it back.
func wantRestriction(t *testing.T, call string, got, want erasure.Restriction) {
	t.Helper()
	if d := restrictionDiff(got, want); len(d) > 0 {
		t.Errorf("%s returned a restriction that differs from the one written:\n\t%s", call, strings.Join(d, "\n\t"))
	}
}

func mustCreateRestriction(t *testing.T, s erasure.Store, xs ...erasure.Restriction) []erasure.Restriction {
	t.Helper()
	out := make([]erasure.Restriction, len(xs))
	for i, x := range xs {
		if err := s.CreateRestriction(t.Context(), x.Clone()); err != nil {
			t.Fatalf("CreateRestriction(%s %s): %v; want nil for a new ID", x.Kind, x.ID, err)
		}
		out[i] = x.Clone()
		out[i].Version = 1
	}
	return out
}

func mustGetRestriction(t *testing.T, s erasure.Store, id string) erasure.Restriction {
	t.Helper()
	x, err := s.GetRestriction(t.Context(), id)
	if err != nil {
		t.Fatalf("GetRestriction(%s): %v; want the stored restriction", id, err)
	}
	return x
}

// mustUpdateRestriction writes x from its Version and returns it as stored
// now.
func mustUpdateRestriction(t *testing.T, s erasure.Store, x erasure.Restriction) erasure.Restriction {
	t.Helper()
	if err := s.UpdateRestriction(t.Context(), x.Clone()); err != nil {
		t.Fatalf("UpdateRestriction(%s from Version %d): %v; want nil", x.ID, x.Version, err)
	}
	return mustGetRestriction(t, s, x.ID)
}

func mustListRestrictions(t *testing.T, s erasure.Store, f erasure.RestrictionFilter) []erasure.Restriction {
	t.Helper()
	xs, err := s.ListRestrictions(t.Context(), f)
	if err != nil {
		t.Fatalf("ListRestrictions(%s): %v; want nil", fmtRestrictionFilter(f), err)
	}
	return xs
}

func restrictionIDs(xs []erasure.Restriction) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.ID
	}
	return out
}

func sortedRestrictionIDs(xs ...erasure.Restriction) []string {
	out := restrictionIDs(xs)
	slices.Sort(out)
	return out
}

func fmtRestrictionFilter(f erasure.RestrictionFilter) string {
	var parts []string
	if f.SubjectRef != "" {
		parts = append(parts, "SubjectRef: "+f.SubjectRef[:min(12, len(f.SubjectRef))]+"…")
	}
	parts = append(parts, fmt.Sprintf("IncludeLifted: %v", f.IncludeLifted))
	if f.After != "" {
		parts = append(parts, "After: "+f.After)
	}
	if f.Limit != 0 {
		parts = append(parts, fmt.Sprintf("Limit: %d", f.Limit))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func testRestrictionRoundTrip(t *testing.T, s, other erasure.Store) {
	ctx := t.Context()
	full := fullRestriction(alice)
	if err := s.CreateRestriction(ctx, full.Clone()); err != nil {
		t.Fatalf("CreateRestriction(a restriction with every field set): %v; want nil", err)
	}
	wantRestriction(t, "GetRestriction", mustGetRestriction(t, s, full.ID), full)
	if g, err := other.GetRestriction(ctx, full.ID); err != nil {
		t.Errorf("GetRestriction through the other handle: %v; want the restriction created through the first: %s", err, sharedHint)
	} else {
		wantRestriction(t, "GetRestriction through the other handle", g, full)
	}
	if xs := mustListRestrictions(t, s, erasure.RestrictionFilter{IncludeLifted: true}); len(xs) != 1 {
		t.Errorf("ListRestrictions(IncludeLifted: true) of a storage with one restriction returned %d; want 1", len(xs))
	} else {
		wantRestriction(t, "ListRestrictions", xs[0], full)
	}
	if got := mustGetRestriction(t, s, full.ID); got.Since.Nanosecond() != 123456000 || got.Since.Location() != time.UTC {
		t.Errorf("Since = %s; want 2025-03-03T09:30:00.123456Z: truncated to the microsecond, not rounded, in UTC", got.Since.Format(time.RFC3339Nano))
	}

	// A restriction as the Engine first writes it: no Purposes, no
	// Override, not lifted; every field then written by an Update.
	plain := mustCreateRestriction(t, s, newRestriction(gdpr.KindRestriction, bob, at(0)))[0]
	got := mustGetRestriction(t, s, plain.ID)
	wantRestriction(t, "GetRestriction of a restriction without Purposes, Override or lift", got, plain)
	if got.Override != nil || !got.Lifted.IsZero() || !got.InForce() {
		t.Errorf("GetRestriction of a restriction created without Override and Lifted: Override set %v, Lifted %s; want nil and zero, in force",
			got.Override != nil, got.Lifted.Format(time.RFC3339Nano))
	}
	up := got.Clone()
	up.Kind, up.Ground = gdpr.KindObjection, erasure.GroundObjection
	up.Purposes = []gdpr.Purpose{"newsletter"}
	up.DirectMarketing = true
	up.Since = full.Since
	up = lifted(overridden(up, full.Override.At), full.Lifted)
	got = mustUpdateRestriction(t, s, up)
	up.Version = 2
	wantRestriction(t, "GetRestriction after an Update of every field", got, up)
	if g, err := other.GetRestriction(ctx, plain.ID); err != nil {
		t.Errorf("GetRestriction through the other handle after an Update: %v", err)
	} else {
		wantRestriction(t, "GetRestriction through the other handle after an Update", g, up)
	}

	// And back: an Update may clear what it set.
	back := got.Clone()
	back.Purposes, back.Override, back.Lifted, back.LiftedBy, back.DirectMarketing = nil, nil, time.Time{}, "", false
	got = mustUpdateRestriction(t, s, back)
	back.Version = 3
	wantRestriction(t, "GetRestriction after an Update that cleared Purposes, Override and the lift", got, back)
}

func testRestrictionVersion1(t *testing.T, s erasure.Store) {
	for _, v := range []int64{0, 7} {
		x := newRestriction(gdpr.KindRestriction, gdpr.SubjectID(fmt.Sprint("subject-v", v)), at(0))
		x.Version = v
		if err := s.CreateRestriction(t.Context(), x.Clone()); err != nil {
			t.Fatalf("CreateRestriction(Version %d): %v", v, err)
		}
		if g := mustGetRestriction(t, s, x.ID); g.Version != 1 {
			t.Errorf("GetRestriction after CreateRestriction(Version %d) = Version %d; want 1: CreateRestriction stores x with Version 1", v, g.Version)
		}
	}
}

func testRestrictionDuplicateID(t *testing.T, s erasure.Store) {
	first := mustCreateRestriction(t, s, newRestriction(gdpr.KindRestriction, alice, at(0)))[0]
	dup := fullRestriction(bob)
	dup.ID = first.ID
	wantErr(t, s.CreateRestriction(t.Context(), dup), erasure.ErrConflict, "CreateRestriction of an existing ID", restrictionIDContract)
	wantRestriction(t, "GetRestriction after a refused CreateRestriction of its ID", mustGetRestriction(t, s, first.ID), first)
	if xs := mustListRestrictions(t, s, erasure.RestrictionFilter{SubjectRef: Ref(bob), IncludeLifted: true}); len(xs) != 0 {
		t.Errorf("ListRestrictions of the refused restriction's subject = %v; want none: %s", restrictionIDs(xs), restrictionIDContract)
	}
}

func testGetRestrictionUnknown(t *testing.T, s erasure.Store) {
	_, err := s.GetRestriction(t.Context(), NewID())
	wantErr(t, err, erasure.ErrNotFound, "GetRestriction of an unknown ID", "GetRestriction returns an error wrapping ErrNotFound for an unknown ID")
	x := mustCreateRestriction(t, s, newRestriction(gdpr.KindRestriction, alice, at(0)))[0]
	_, err = s.GetRestriction(t.Context(), NewID())
	wantErr(t, err, erasure.ErrNotFound, "GetRestriction of an unknown ID beside a stored restriction",
		"GetRestriction returns an error wrapping ErrNotFound for an unknown ID")
	// A request's ID is not a restriction's: they are apart.
	r := mustCreate(t, s, NewRequest(gdpr.KindAccess, bob, at(0)))[0]
	_, err = s.GetRestriction(t.Context(), r.ID)
	wantErr(t, err, erasure.ErrNotFound, "GetRestriction of the ID of a request, not a restriction", "restrictions and requests are kept apart")
	if _, err := s.Get(t.Context(), x.ID); err == nil {
		t.Errorf("Get(the ID of a restriction) found a request; want ErrNotFound: restrictions and requests are kept apart")
	}
}

func testUpdateRestriction(t *testing.T, s erasure.Store) {
	x := mustCreateRestriction(t, s, newRestriction(gdpr.KindObjection, alice, at(0)))[0]
	for v := int64(1); v <= 3; v++ {
		next := mustGetRestriction(t, s, x.ID)
		if next.Version != v {
			t.Fatalf("GetRestriction before Update %d = Version %d; want %d: %s", v, next.Version, v, restrictionVersionContract)
		}
		next.Purposes = append(next.Purposes, gdpr.Purpose(fmt.Sprint("purpose-", v)))
		got := mustUpdateRestriction(t, s, next)
		next.Version = v + 1
		wantRestriction(t, fmt.Sprintf("GetRestriction after UpdateRestriction from Version %d (%s)", v, restrictionVersionContract), got, next)
	}
}

func testUpdateRestrictionConflict(t *testing.T, s erasure.Store) {
	x := mustCreateRestriction(t, s, newRestriction(gdpr.KindObjection, alice, at(0)))[0]
	x2 := mustUpdateRestriction(t, s, overridden(x, at(1))) // Version 2
	for _, v := range []int64{1, 3, 0} {
		stale := lifted(x2, at(2))
		stale.Override = nil
		stale.Version = v
		err := s.UpdateRestriction(t.Context(), stale)
		wantErr(t, err, erasure.ErrConflict, fmt.Sprintf("UpdateRestriction from Version %d of a restriction stored at Version 2", v), restrictionVersionContract)
		wantRestriction(t, fmt.Sprintf("GetRestriction after a refused UpdateRestriction from Version %d", v), mustGetRestriction(t, s, x.ID), x2)
	}
}

func testUpdateRestrictionUnknown(t *testing.T, s erasure.Store) {
	x := newRestriction(gdpr.KindRestriction, alice, at(0))
	err := s.UpdateRestriction(t.Context(), x)
	wantErr(t, err, erasure.ErrNotFound, "UpdateRestriction of an unknown ID", "an unknown ID is an error wrapping ErrNotFound")
	if _, err := s.GetRestriction(t.Context(), x.ID); err == nil {
		t.Errorf("GetRestriction after an UpdateRestriction of an unknown ID found it; want nothing written")
	}
	if xs := mustListRestrictions(t, s, erasure.RestrictionFilter{IncludeLifted: true}); len(xs) != 0 {
		t.Errorf("ListRestrictions after a refused UpdateRestriction = %v; want none", restrictionIDs(xs))
	}
}

func testListRestrictionsFilters(t *testing.T, s erasure.Store) {
	a1 := mustCreateRestriction(t, s, newRestriction(gdpr.KindRestriction, alice, at(0)))[0]
	a2 := mustCreateRestriction(t, s, overridden(newRestriction(gdpr.KindObjection, alice, at(1)), at(2)))[0]
	a3 := mustCreateRestriction(t, s, newRestriction(gdpr.KindRestriction, alice, at(3)))[0]
	a3 = mustUpdateRestriction(t, s, lifted(a3, at(4))) // lifted by an Update
	b1 := mustCreateRestriction(t, s, newRestriction(gdpr.KindObjection, bob, at(5)))[0]
	b2 := mustCreateRestriction(t, s, lifted(newRestriction(gdpr.KindRestriction, bob, at(6)), at(7)))[0] // created lifted
	c1 := mustCreateRestriction(t, s, newRestriction(gdpr.KindRestriction, carol, at(8)))[0]
	// An overridden objection, then lifted: lifted.
	c2 := mustCreateRestriction(t, s, newRestriction(gdpr.KindObjection, carol, at(9)))[0]
	c2 = mustUpdateRestriction(t, s, overridden(c2, at(10)))
	c2 = mustUpdateRestriction(t, s, lifted(c2, at(11)))
	all := []erasure.Restriction{a1, a2, a3, b1, b2, c1, c2}
	byID := map[string]erasure.Restriction{}
	for _, x := range all {
		byID[x.ID] = x
	}
	notLifted := sortedRestrictionIDs(a1, a2, b1, c1)
	for _, c := range []struct {
		f    erasure.RestrictionFilter
		want []string
		why  string
	}{
		{erasure.RestrictionFilter{}, notLifted, liftedContract},
		{erasure.RestrictionFilter{IncludeLifted: true}, sortedRestrictionIDs(all...), liftedContract},
		{erasure.RestrictionFilter{SubjectRef: Ref(alice)}, sortedRestrictionIDs(a1, a2), "SubjectRef keeps one subject's restrictions; " + liftedContract},
		{erasure.RestrictionFilter{SubjectRef: Ref(alice), IncludeLifted: true}, sortedRestrictionIDs(a1, a2, a3), "SubjectRef keeps one subject's restrictions"},
		{erasure.RestrictionFilter{SubjectRef: Ref(bob)}, sortedRestrictionIDs(b1), "SubjectRef keeps one subject's restrictions; " + liftedContract},
		{erasure.RestrictionFilter{SubjectRef: Ref(carol), IncludeLifted: true}, sortedRestrictionIDs(c1, c2), "SubjectRef keeps one subject's restrictions"},
		{erasure.RestrictionFilter{SubjectRef: Ref(dave), IncludeLifted: true}, nil, "SubjectRef keeps one subject's restrictions"},
		{erasure.RestrictionFilter{After: notLifted[1]}, notLifted[2:], "After keeps the restrictions whose ID sorts after it; " + liftedContract},
	} {
		got := mustListRestrictions(t, s, c.f)
		if !slices.Equal(restrictionIDs(got), c.want) {
			t.Errorf("ListRestrictions(%s) = %v; want %v, in ID order: %s", fmtRestrictionFilter(c.f), restrictionIDs(got), c.want, c.why)
		}
		// The restrictions come back whole.
		for _, g := range got {
			if w, ok := byID[g.ID]; ok {
				wantRestriction(t, fmt.Sprintf("ListRestrictions(%s)", fmtRestrictionFilter(c.f)), g, w)
			}
		}
	}
}

func testListRestrictionsPaging(t *testing.T, s erasure.Store) {
	var xs, notLifted []erasure.Restriction
	for i := range 25 {
		x := newRestriction(gdpr.KindRestriction, gdpr.SubjectID(fmt.Sprintf("subject-%02d", i)), at(i))
		if i%3 == 0 {
			x = lifted(x, at(i+1))
		} else {
			notLifted = append(notLifted, x)
		}
		xs = append(xs, x)
	}
	mustCreateRestriction(t, s, xs...)
	for _, c := range []struct {
		lifted bool
		want   []string
	}{{true, sortedRestrictionIDs(xs...)}, {false, sortedRestrictionIDs(notLifted...)}} {
		var got []string
		after := ""
		for page := 0; ; page++ {
			f := erasure.RestrictionFilter{IncludeLifted: c.lifted, After: after, Limit: 10}
			p := mustListRestrictions(t, s, f)
			if len(p) > 10 {
				t.Fatalf("ListRestrictions(%s) returned %d restrictions; want at most 10", fmtRestrictionFilter(f), len(p))
			}
			if len(p) == 0 {
				break
			}
			if page > 3 {
				t.Fatalf("ListRestrictions pages past the 25 restrictions stored: After is not honoured")
			}
			got = append(got, restrictionIDs(p)...)
			after = p[len(p)-1].ID
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("pages of ListRestrictions(IncludeLifted: %v, Limit 10) followed by After = %v; want every matching restriction once, in ID order %v",
				c.lifted, got, c.want)
		}
	}
	all := sortedRestrictionIDs(xs...)
	if p := mustListRestrictions(t, s, erasure.RestrictionFilter{IncludeLifted: true, After: all[9], Limit: 3}); !slices.Equal(restrictionIDs(p), all[10:13]) {
		t.Errorf("ListRestrictions(IncludeLifted: true, After the 10th ID, Limit 3) = %v; want %v", restrictionIDs(p), all[10:13])
	}
	if p := mustListRestrictions(t, s, erasure.RestrictionFilter{IncludeLifted: true, After: all[24]}); len(p) != 0 {
		t.Errorf("ListRestrictions(After the last ID) = %v; want none", restrictionIDs(p))
	}
}

func testListRestrictionsDefaultLimit(t *testing.T, s erasure.Store) {
	n := erasure.DefaultLimit + 5
	for i := range n {
		mustCreateRestriction(t, s, newRestriction(gdpr.KindObjection, gdpr.SubjectID(fmt.Sprintf("subject-%03d", i)), at(0)))
	}
	for _, limit := range []int{0, -1} {
		if p := mustListRestrictions(t, s, erasure.RestrictionFilter{Limit: limit}); len(p) != erasure.DefaultLimit {
			t.Errorf("ListRestrictions(Limit %d) of %d restrictions returned %d; want DefaultLimit, %d", limit, n, len(p), erasure.DefaultLimit)
		}
	}
}

func testListRestrictionsMaxLimit(t *testing.T, s erasure.Store) {
	if testing.Short() {
		t.Skip("creates more than erasure.MaxLimit restrictions; skipped in -short mode")
	}
	n := erasure.MaxLimit + 3
	for i := range n {
		mustCreateRestriction(t, s, newRestriction(gdpr.KindObjection, gdpr.SubjectID(fmt.Sprintf("subject-%04d", i)), at(0)))
	}
	if p := mustListRestrictions(t, s, erasure.RestrictionFilter{Limit: erasure.MaxLimit * 5}); len(p) != erasure.MaxLimit {
		t.Errorf("ListRestrictions(Limit %d) of %d restrictions returned %d; want MaxLimit, %d", erasure.MaxLimit*5, n, len(p), erasure.MaxLimit)
	}
}

// scribbleRestriction changes every reference field of x in place.
func scribbleRestriction(x *erasure.Restriction) {
	for i := range x.Purposes {
		x.Purposes[i] = "scribbled"
	}
	if x.Override != nil {
		x.Override.Reference, x.Override.Reasons, x.Override.At = "scribbled", "scribbled", far
	}
}

func testRestrictionsAreCopies(t *testing.T, s erasure.Store) {
	ctx := t.Context()
	x := fullRestriction(alice)
	want := x.Clone()
	check := func(after string) {
		t.Helper()
		if d := restrictionDiff(mustGetRestriction(t, s, want.ID), want); len(d) > 0 {
			t.Fatalf("after a caller changed the Purposes and Override of the restriction %s, the stored restriction changed; %s:\n\t%s",
				after, copyContract, strings.Join(d, "\n\t"))
		}
	}
	if err := s.CreateRestriction(ctx, x); err != nil {
		t.Fatalf("CreateRestriction: %v", err)
	}
	scribbleRestriction(&x)
	check("it passed to CreateRestriction")
	g := mustGetRestriction(t, s, want.ID)
	scribbleRestriction(&g)
	check("GetRestriction returned")
	ls := mustListRestrictions(t, s, erasure.RestrictionFilter{IncludeLifted: true})
	for i := range ls {
		scribbleRestriction(&ls[i])
	}
	check("ListRestrictions returned")
	up := mustGetRestriction(t, s, want.ID)
	up.Purposes = append(up.Purposes, "newsletter")
	want = up.Clone()
	want.Version++
	if err := s.UpdateRestriction(ctx, up); err != nil {
		t.Fatalf("UpdateRestriction: %v", err)
	}
	scribbleRestriction(&up)
	check("it passed to UpdateRestriction")
}

// newStatement returns the supplementary statement n of request for
// subject, sealed as bytes that are no text.
func newStatement(request string, n int, subject gdpr.SubjectID, when time.Time) erasure.Statement {
	return erasure.Statement{ID: fmt.Sprintf("%s/%d", request, n), SubjectRef: Ref(subject), Target: "crm", Field: "address",
		Sealed: []byte{0x00, byte(n), 0xff, 0xfe, 's', 0x00}, At: when}
}

// statementDiff lists how a stored statement differs from want.
func statementDiff(got, want erasure.Statement) []string {
	var d []string
	if got.ID != want.ID || got.SubjectRef != want.SubjectRef || got.Target != want.Target || got.Field != want.Field {
		d = append(d, fmt.Sprintf("ID, SubjectRef, Target, Field: got %s, %.12s…, %s, %s, want %s, %.12s…, %s, %s",
			got.ID, got.SubjectRef, got.Target, got.Field, want.ID, want.SubjectRef, want.Target, want.Field))
	}
	if !bytes.Equal(got.Sealed, want.Sealed) {
		d = append(d, fmt.Sprintf("Sealed: got %x, want %x (the bytes as written, any bytes)", got.Sealed, want.Sealed))
	}
	if s := timeDiff(got.At, want.At); s != "" {
		d = append(d, "At: "+s)
	}
	return d
}

func mustPutStatement(t *testing.T, s erasure.Store, ss ...erasure.Statement) {
	t.Helper()
	for _, st := range ss {
		c := st
		c.Sealed = bytes.Clone(st.Sealed)
		if err := s.PutStatement(t.Context(), c); err != nil {
			t.Fatalf("PutStatement(%s): %v; want nil", st.ID, err)
		}
	}
}

func mustListStatements(t *testing.T, s erasure.Store, subjectRef string) []erasure.Statement {
	t.Helper()
	ss, err := s.ListStatements(t.Context(), subjectRef)
	if err != nil {
		t.Fatalf("ListStatements(%.12s…): %v; want nil", subjectRef, err)
	}
	return ss
}

// wantStatements fails t unless got, as returned by call, is want, in
// that order.
func wantStatements(t *testing.T, call string, got, want []erasure.Statement, why string) {
	t.Helper()
	gotIDs, wantIDs := make([]string, len(got)), make([]string, len(want))
	for i := range got {
		gotIDs[i] = got[i].ID
	}
	for i := range want {
		wantIDs[i] = want[i].ID
	}
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("%s = %v; want %v: %s", call, gotIDs, wantIDs, why)
		return
	}
	for i := range want {
		if d := statementDiff(got[i], want[i]); len(d) > 0 {
			t.Errorf("%s returned statement %s differing from the one written:\n\t%s", call, want[i].ID, strings.Join(d, "\n\t"))
		}
	}
}

func testPutStatementIdempotent(t *testing.T, s, other erasure.Store) {
	zone := time.FixedZone("UTC-03:00", -3*3600)
	first := newStatement(NewID(), 0, alice, base.Add(987654321*time.Nanosecond).In(zone))
	mustPutStatement(t, s, first)
	again := first
	again.Target, again.Field, again.Sealed, again.At = "billing", "name", []byte("another sealing"), at(30)
	for _, h := range []erasure.Store{s, other} {
		if err := h.PutStatement(t.Context(), again); err != nil {
			t.Errorf("PutStatement of a stored ID, with other fields: %v; want nil: %s", err, statementContract)
		}
	}
	wantStatements(t, "ListStatements after a second PutStatement of one ID", mustListStatements(t, other, first.SubjectRef),
		[]erasure.Statement{first}, statementContract)
	if got := mustListStatements(t, s, first.SubjectRef); len(got) == 1 && (got[0].At.Nanosecond() != 987654000 || got[0].At.Location() != time.UTC) {
		t.Errorf("At = %s; want it truncated to the microsecond in UTC", got[0].At.Format(time.RFC3339Nano))
	}
	if got := mustListStatements(t, s, Ref(bob)); len(got) != 0 {
		t.Errorf("ListStatements of a subject with no statement = %d statements; want none", len(got))
	}
}

func testListStatements(t *testing.T, s erasure.Store) {
	r1, r2 := NewID(), NewID()
	// Put out of order, and n = 10 sorts before n = 2 byte by byte.
	var want []erasure.Statement
	for _, n := range []int{2, 0, 10, 1} {
		want = append(want, newStatement(r1, n, alice, at(n)))
	}
	want = append(want, newStatement(r2, 0, alice, at(20)))
	bobs := newStatement(r1, 3, bob, at(3))
	mustPutStatement(t, s, want[0], want[1], bobs, want[2], want[4], want[3])
	slices.SortFunc(want, func(a, b erasure.Statement) int { return strings.Compare(a.ID, b.ID) })
	wantStatements(t, "ListStatements(alice)", mustListStatements(t, s, Ref(alice)), want,
		"ListStatements returns the statements of one subject, in ID order (byte order)")
	wantStatements(t, "ListStatements(bob)", mustListStatements(t, s, Ref(bob)), []erasure.Statement{bobs},
		"ListStatements returns the statements of one subject")
	if got := mustListStatements(t, s, Ref(carol)); len(got) != 0 {
		t.Errorf("ListStatements of a subject with no statement = %d statements; want none", len(got))
	}
}

func testStatementsAreCopies(t *testing.T, s erasure.Store) {
	st := newStatement(NewID(), 0, alice, at(0))
	want := st
	want.Sealed = bytes.Clone(st.Sealed)
	if err := s.PutStatement(t.Context(), st); err != nil {
		t.Fatalf("PutStatement: %v", err)
	}
	for i := range st.Sealed {
		st.Sealed[i] ^= 0xff
	}
	wantStatements(t, "ListStatements after the caller changed the Sealed bytes it had put", mustListStatements(t, s, want.SubjectRef),
		[]erasure.Statement{want}, copyContract)
	got := mustListStatements(t, s, want.SubjectRef)
	for i := range got {
		for j := range got[i].Sealed {
			got[i].Sealed[j] ^= 0xff
		}
	}
	wantStatements(t, "ListStatements after the caller changed the Sealed bytes ListStatements returned", mustListStatements(t, s, want.SubjectRef),
		[]erasure.Statement{want}, copyContract)
}

func testForget(t *testing.T, s, other erasure.Store) {
	ctx := t.Context()
	rid := NewID()
	alices := mustCreateRestriction(t, s,
		newRestriction(gdpr.KindRestriction, alice, at(0)),
		lifted(newRestriction(gdpr.KindRestriction, alice, at(1)), at(2)),
		overridden(newRestriction(gdpr.KindObjection, alice, at(3)), at(4)))
	mustPutStatement(t, s, newStatement(rid, 0, alice, at(5)), newStatement(rid, 1, alice, at(6)))
	bobs := mustCreateRestriction(t, s, newRestriction(gdpr.KindObjection, bob, at(0)))
	bobStatement := newStatement(NewID(), 0, bob, at(7))
	mustPutStatement(t, s, bobStatement)
	req := mustCreate(t, s, NewRequest(gdpr.KindRectification, alice, at(0)))[0]

	n, err := other.Forget(ctx, Ref(alice))
	if err != nil || n != 5 {
		t.Errorf("Forget of a subject with 3 restrictions (one lifted, one overridden) and 2 statements = %d, %v; want 5, nil: %s", n, err, forgetContract)
	}
	for _, x := range alices {
		_, err := s.GetRestriction(ctx, x.ID)
		wantErr(t, err, erasure.ErrNotFound, "GetRestriction of a forgotten subject's restriction", forgetContract)
	}
	if xs := mustListRestrictions(t, s, erasure.RestrictionFilter{SubjectRef: Ref(alice), IncludeLifted: true}); len(xs) != 0 {
		t.Errorf("ListRestrictions of a forgotten subject = %v; want none: %s", restrictionIDs(xs), forgetContract)
	}
	if ss := mustListStatements(t, s, Ref(alice)); len(ss) != 0 {
		t.Errorf("ListStatements of a forgotten subject = %d statements; want none: %s", len(ss), forgetContract)
	}
	// Another subject's stay, whole; and the subject's requests are not
	// restrictions or statements.
	wantRestriction(t, "GetRestriction of another subject's restriction after Forget", mustGetRestriction(t, s, bobs[0].ID), bobs[0])
	wantStatements(t, "ListStatements of another subject after Forget", mustListStatements(t, s, Ref(bob)), []erasure.Statement{bobStatement},
		"Forget deletes only the restrictions and statements of the subject it is given")
	wantRequest(t, "Get of the forgotten subject's request", mustGet(t, s, req.ID), req)

	if n, err := s.Forget(ctx, Ref(alice)); err != nil || n != 0 {
		t.Errorf("Forget of a subject forgotten already = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.Forget(ctx, Ref(dave)); err != nil || n != 0 {
		t.Errorf("Forget of a subject with nothing stored = %d, %v; want 0, nil", n, err)
	}
}

// testAskRoundTrip: what a restriction, lift, objection or rectification
// asks (Request.Ask), and the Field and Recipient of its steps, come back
// as written through Create, Get, List and Update, times to the
// microsecond in UTC, a sealed value's bytes whole.
func testAskRoundTrip(t *testing.T, s, other erasure.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	in := base.Add(123456789 * time.Nanosecond).In(zone)
	r := NewRequest(gdpr.KindRectification, alice, in)
	r.State = erasure.StateInProgress
	r.Ask = erasure.Ask{
		Ground: erasure.GroundAccuracy, Purposes: []gdpr.Purpose{"marketing"}, DirectMarketing: true, Restriction: NewID(),
		Corrections: []erasure.Correction{
			{Target: "crm", Field: "email", Sealed: []byte{0x00, 0xff, 0x80, 0x7f}},
			{Target: "crm", Field: "notes", Supplement: true, Sealed: bytes.Repeat([]byte{0xab}, 4096)},
		},
	}
	r.Steps = []erasure.Step{
		{Target: "crm", Field: "email", Outcome: erasure.OutcomeApplied, Attempts: 1, At: in.Add(time.Minute)},
		{Target: "crm", Field: "notes"},
		{Target: "recipients", Outcome: erasure.OutcomeApplied, Count: 2, At: in.Add(2 * time.Minute)},
		{Target: "recipient", Recipient: &gdpr.Disclosure{Recipient: "Mailer GmbH", Kind: gdpr.Processor, Reference: "cust-0042",
			Categories: []string{"contact"}, At: in.Add(-time.Hour).In(berlin)}},
		{Target: "recipient", Outcome: erasure.OutcomeNotNotified, Error: "no contact on record",
			Recipient: &gdpr.Disclosure{Recipient: "Tax Office", Kind: gdpr.PublicAuthority}},
	}
	got := mustCreate(t, s, r)[0]
	wantRequest(t, "Create of a request with an Ask and steps with a Field and a Recipient", got, r)
	wantRequest(t, "Get of a request with an Ask and steps with a Field and a Recipient", mustGet(t, s, r.ID), r)
	if g, err := other.Get(ctx, r.ID); err != nil {
		t.Errorf("Get through the other handle: %v", err)
	} else {
		wantRequest(t, "Get through the other handle of a request with an Ask", g, r)
	}
	if ls := mustList(t, s, erasure.Filter{SubjectRef: Ref(alice)}); len(ls) != 1 {
		t.Errorf("List of the subject's requests = %v; want the one request", ids(ls))
	} else {
		wantRequest(t, "List of a request with an Ask", ls[0], r)
	}
	if rc := mustGet(t, s, r.ID).Steps[3].Recipient; rc != nil && (rc.At.Location() != time.UTC || rc.At.Nanosecond() != 123456000) {
		t.Errorf("Steps[3].Recipient.At = %s; want it truncated to the microsecond in UTC", rc.At.Format(time.RFC3339Nano))
	}

	// The first correction applied: its sealed value gone; a recipient told.
	up := got.Clone()
	up.Ask.Corrections[0].Sealed = nil
	up.Ask.Purposes = append(up.Ask.Purposes, "analytics")
	up.Steps[1].Outcome, up.Steps[1].At = erasure.OutcomeApplied, in.Add(3*time.Minute)
	up.Steps[3].Outcome, up.Steps[3].At = erasure.OutcomeNotified, in.Add(4*time.Minute)
	got = mustUpdate(t, s, up, nil, in)
	up.Version = 2
	wantRequest(t, "Get after an Update of the Ask and the steps", got, up)

	// Closed as the Engine closes it: no sealed value, no recipient's
	// reference for the subject; the rest of the Ask stays.
	done := closeAs(got, erasure.StateCompleted, in.Add(5*time.Minute))
	got = mustUpdate(t, other, done, nil, done.Closed)
	done.Version = 3
	wantRequest(t, "Get after the Update that closed the request", got, done)
	if got.Ask.Ground != erasure.GroundAccuracy || len(got.Ask.Corrections) != 2 || got.Steps[3].Recipient == nil {
		t.Errorf("after the request closed: Ask.Ground %q, %d corrections, Steps[3].Recipient set %v; want the Ask and the recipients kept",
			got.Ask.Ground, len(got.Ask.Corrections), got.Steps[3].Recipient != nil)
	}

	// A request without an Ask comes back without one.
	plain := mustCreate(t, s, NewRequest(gdpr.KindAccess, bob, at(0)))[0]
	if g := mustGet(t, s, plain.ID); len(askDiff(g.Ask, erasure.Ask{})) > 0 {
		t.Errorf("Get of a request created without an Ask: %s; want a zero Ask", strings.Join(askDiff(g.Ask, erasure.Ask{}), "; "))
	}
}

// testRaceCreateRestrictionDuplicateID races CreateRestrictions of one ID
// for different subjects from both handles: exactly one succeeds, the
// others get ErrConflict, and the stored restriction is the winner's.
func testRaceCreateRestrictionDuplicateID(t *testing.T, s, other erasure.Store) {
	const rounds, goroutines = 5, 8
	for round := range rounds {
		id := NewID()
		xs := make([]erasure.Restriction, goroutines)
		for g := range xs {
			xs[g] = newRestriction(gdpr.KindRestriction, gdpr.SubjectID(fmt.Sprintf("subject-dup-%d-%d", round, g)), at(g))
			xs[g].ID = id
		}
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.Store) error {
			return h.CreateRestriction(ctx, xs[g].Clone())
		})
		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: racing CreateRestrictions #%d and #%d of one ID both succeeded; want exactly one: %s", round, winner, g, restrictionIDContract)
			case err == nil:
				winner = g
			default:
				wantErr(t, err, erasure.ErrConflict, fmt.Sprintf("round %d: racing CreateRestriction #%d of one ID", round, g), restrictionIDContract)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: of %d racing CreateRestrictions of one new ID none succeeded; want exactly one", round, goroutines)
		}
		want := xs[winner].Clone()
		want.Version = 1
		wantRestriction(t, fmt.Sprintf("round %d: GetRestriction through the other handle after racing CreateRestrictions", round),
			mustGetRestriction(t, other, id), want)
	}
}

// testRaceUpdateRestriction races UpdateRestrictions of one restriction
// from one Version, through both handles: exactly one wins, the others
// get ErrConflict, and the stored restriction is the winner's, at
// Version+1.
func testRaceUpdateRestriction(t *testing.T, s, other erasure.Store) {
	const rounds, goroutines = 5, 8
	x := mustCreateRestriction(t, s, newRestriction(gdpr.KindObjection, alice, at(0)))[0]
	for round := range rounds {
		from := mustGetRestriction(t, s, x.ID)
		ups := make([]erasure.Restriction, goroutines)
		for g := range ups {
			ups[g] = from.Clone()
			ups[g].Purposes = []gdpr.Purpose{gdpr.Purpose(fmt.Sprint("instance-", g))}
			ups[g].LiftedBy = fmt.Sprint("instance-", g)
		}
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.Store) error {
			return h.UpdateRestriction(ctx, ups[g].Clone())
		})
		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: racing UpdateRestrictions #%d and #%d from Version %d both succeeded; want exactly one: %s",
					round, winner, g, from.Version, restrictionVersionContract)
			case err == nil:
				winner = g
			default:
				wantErr(t, err, erasure.ErrConflict, fmt.Sprintf("round %d: racing UpdateRestriction #%d from one Version", round, g), restrictionVersionContract)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: of %d racing UpdateRestrictions from the stored Version none succeeded; want exactly one", round, goroutines)
		}
		want := ups[winner].Clone()
		want.Version = from.Version + 1
		wantRestriction(t, fmt.Sprintf("round %d: GetRestriction through the other handle after racing UpdateRestrictions", round),
			mustGetRestriction(t, other, x.ID), want)
	}
}

// testRacePutStatement races PutStatements of one ID with different
// contents through both handles: every one succeeds, and one of them is
// stored, whole.
func testRacePutStatement(t *testing.T, s, other erasure.Store) {
	const rounds, goroutines = 5, 8
	for round := range rounds {
		rid := NewID()
		ss := make([]erasure.Statement, goroutines)
		for g := range ss {
			ss[g] = newStatement(rid, 0, alice, at(g))
			ss[g].Field = fmt.Sprint("field-", g)
			ss[g].Sealed = []byte(fmt.Sprint("sealed-", g))
		}
		errs := race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.Store) error {
			c := ss[g]
			c.Sealed = bytes.Clone(ss[g].Sealed)
			return h.PutStatement(ctx, c)
		})
		for g, err := range errs {
			if err != nil {
				t.Errorf("round %d: racing PutStatement #%d of one ID: %v; want nil: %s", round, g, err, statementContract)
			}
		}
		var mine []erasure.Statement
		for _, st := range mustListStatements(t, other, Ref(alice)) {
			if st.ID == ss[0].ID {
				mine = append(mine, st)
			}
		}
		if len(mine) != 1 {
			t.Fatalf("round %d: after racing PutStatements of one ID, ListStatements has it %d times; want once", round, len(mine))
		}
		found := false
		for _, st := range ss {
			if len(statementDiff(mine[0], st)) == 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("round %d: after racing PutStatements of one ID the stored statement (Field %s) is none of those put, whole: %s",
				round, mine[0].Field, statementContract)
		}
	}
}
