package retentiontest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
)

func testRoundTrip(t *testing.T, s retention.Store) {
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	placed := time.Date(2025, time.March, 3, 14, 30, 0, 123456789, zone)
	subjectOnly := retention.Hold{
		ID: "case-2025-001", Subject: alice,
		Reason:   "Klage vor dem Landgericht, § 147 AO – Aufbewahrung 📎",
		PlacedBy: legal, Placed: placed,
	}
	categoriesOnly := retention.Hold{
		ID: "audit-2024", Categories: []string{"payments", "invoices"},
		Reason:   "tax audit of 2024",
		PlacedBy: system, Placed: placed.Add(time.Second), Until: placed.AddDate(0, 6, 0).Add(999),
	}
	both := retention.Hold{
		ID: "order-2025-17", Subject: bob, Categories: []string{"orders"},
		Reason:   "the subject disputes a delivery",
		PlacedBy: gdpr.SubjectActor(), Placed: placed.Add(2 * time.Second), Until: placed.Add(time.Hour + 1),
	}
	mustPlace(t, s, subjectOnly, categoriesOnly, both)
	for _, h := range []retention.Hold{subjectOnly, categoriesOnly, both} {
		wantHold(t, "GetHold("+h.ID+")", mustGet(t, s, h.ID), h)
	}
	got := mustList(t, s, retention.HoldFilter{})
	wantIDs(t, "ListHolds{}", holdIDs(got), []string{"audit-2024", "case-2025-001", "order-2025-17"}, listContract)
	if len(got) == 3 {
		wantHold(t, "ListHolds{}[0]", got[0], categoriesOnly)
		wantHold(t, "ListHolds{}[1]", got[1], subjectOnly)
		wantHold(t, "ListHolds{}[2]", got[2], both)
	}
	lh := mustHolds(t, s, bob, placed.Add(time.Minute))
	wantIDs(t, "Holds(bob, placed+1m)", legalIDs(lh), []string{"audit-2024", "order-2025-17"}, holdsContract)
	if len(lh) == 2 {
		for i, want := range []retention.Hold{categoriesOnly, both} {
			if d := legalDiff(lh[i], want); len(d) > 0 {
				t.Errorf("Holds(bob)[%d] differs from Hold.Legal of the hold placed (%s):\n\t%s", i, holdsContract, strings.Join(d, "\n\t"))
			}
		}
	}
}

func testTimes(t *testing.T, s retention.Store) {
	zone := time.FixedZone("UTC-03:00", -3*3600)
	// 06:00:00.999999999 at -03:00 is 09:00:00.999999 UTC, truncated.
	in := time.Date(2025, time.March, 3, 6, 0, 0, 999999999, zone)
	h := newHold("times", alice)
	h.Placed, h.Until = in, in.Add(48*time.Hour)
	mustPlace(t, s, h)
	got := mustGet(t, s, h.ID)
	if want := time.Date(2025, time.March, 3, 9, 0, 0, 999999000, time.UTC); !got.Placed.Equal(want) {
		t.Errorf("Placed = %s; want %s: times are kept truncated to the microsecond, not rounded", showTime(got.Placed), showTime(want))
	}
	if want := time.Date(2025, time.March, 5, 9, 0, 0, 999999000, time.UTC); !got.Until.Equal(want) {
		t.Errorf("Until = %s; want %s: times are kept truncated to the microsecond, not rounded", showTime(got.Until), showTime(want))
	}
	rel := in.Add(time.Hour + 999)
	r := mustRelease(t, s, h.ID, rel, system)
	if s := timeDiff(r.Released, rel); s != "" {
		t.Errorf("ReleaseHold at %s returned Released: %s: to the microsecond, truncated", showTime(rel), s)
	}
	if s := timeDiff(mustGet(t, s, h.ID).Released, rel); s != "" {
		t.Errorf("GetHold after ReleaseHold at %s: Released: %s: to the microsecond, truncated", showTime(rel), s)
	}
}

// key returns a valid key of n bytes beginning with prefix.
func key(prefix string, n int) string {
	return prefix + strings.Repeat("x", n-len(prefix))
}

func testHoldLimits(t *testing.T, s retention.Store) {
	cats := make([]string, retention.MaxHoldCategories)
	for i := range cats {
		cats[i] = key(fmt.Sprintf("category-%02d-", i), retention.MaxKeyLen)
	}
	h := retention.Hold{
		ID:         key("hold-", retention.MaxKeyLen),
		Subject:    gdpr.SubjectID(key("subject-", gdpr.MaxIDLen)),
		Categories: cats,
		Reason:     key("reason ", retention.MaxTextLen),
		PlacedBy:   gdpr.Staff(key("staff-", gdpr.MaxIDLen)),
		Placed:     at(-60),
	}
	if err := s.PlaceHold(t.Context(), cloneHold(h)); err != nil {
		t.Fatalf("PlaceHold of a hold at every limit (a %d-byte ID, subject and actor ID, %d categories of %d bytes, a %d-byte reason): %v; want nil: %s",
			retention.MaxKeyLen, retention.MaxHoldCategories, retention.MaxKeyLen, retention.MaxTextLen, err, limitsContract)
	}
	wantHold(t, "GetHold of a hold at every limit", mustGet(t, s, h.ID), h)
	got := mustList(t, s, retention.HoldFilter{Subject: h.Subject, Category: cats[retention.MaxHoldCategories-1]})
	wantIDs(t, "ListHolds{Subject, Category: its last category} of a hold at every limit", holdIDs(got), []string{h.ID}, listContract)
	if lh := mustHolds(t, s, h.Subject, at(0)); len(lh) != 1 {
		t.Errorf("Holds(its %d-byte subject) of a hold at every limit returned %d holds; want 1: %s", gdpr.MaxIDLen, len(lh), holdsContract)
	}
}

func testPlaceNotAliased(t *testing.T, s retention.Store) {
	h := newHold("alias", alice, "invoices", "orders")
	in := cloneHold(h)
	if err := s.PlaceHold(t.Context(), in); err != nil {
		t.Fatalf("PlaceHold: %v", err)
	}
	in.Categories[0] = "scribbled"
	wantHold(t, "GetHold after the caller changed the Categories it placed", mustGet(t, s, h.ID), h)
	if t.Failed() {
		t.Errorf("%s", copyContract)
	}
}

func testReturnedCopies(t *testing.T, s retention.Store) {
	h := newHold("copies", "", "invoices", "orders")
	mustPlace(t, s, h)
	g := mustGet(t, s, h.ID)
	g.Categories[0] = "scribbled"
	if l := mustList(t, s, retention.HoldFilter{}); len(l) == 1 {
		l[0].Categories[1] = "scribbled"
	}
	if r := mustRelease(t, s, h.ID, at(30), legal); len(r.Categories) == 2 {
		r.Categories[1] = "scribbled"
	}
	if lh := mustHolds(t, s, alice, at(0)); len(lh) == 1 && len(lh[0].Categories) == 2 {
		lh[0].Categories[0] = "scribbled"
	}
	want := h
	want.Released, want.ReleasedBy = at(30), legal
	got := mustGet(t, s, h.ID)
	if !slices.Equal(got.Categories, want.Categories) {
		t.Errorf("after the caller changed the Categories GetHold, ListHolds, ReleaseHold and Holds returned, GetHold returns %q; want %q: %s",
			got.Categories, want.Categories, copyContract)
	}
}

func testPlaceRetry(t *testing.T, s retention.Store) {
	h := newHold("retry", alice, "invoices")
	h.Until = at(600)
	mustPlace(t, s, h)
	if err := s.PlaceHold(t.Context(), cloneHold(h)); err != nil {
		t.Errorf("PlaceHold of the same hold again: %v; want nil: %s", err, retryContract)
	}
	wantHold(t, "GetHold after a retried PlaceHold", mustGet(t, s, h.ID), h)
	if got := mustList(t, s, retention.HoldFilter{}); len(got) != 1 {
		t.Errorf("ListHolds after a retried PlaceHold returned %d holds; want 1: a retry stores nothing more", len(got))
	}
}

func testPlaceExists(t *testing.T, s retention.Store) {
	h := newHold("taken", alice, "invoices")
	h.Until = at(600)
	mustPlace(t, s, h)
	for what, edit := range map[string]func(*retention.Hold){
		"another Reason":           func(x *retention.Hold) { x.Reason = "another reason" },
		"another Subject":          func(x *retention.Hold) { x.Subject = bob },
		"no Subject":               func(x *retention.Hold) { x.Subject = "" },
		"another category":         func(x *retention.Hold) { x.Categories = []string{"orders"} },
		"one more category":        func(x *retention.Hold) { x.Categories = append(x.Categories, "orders") },
		"no category":              func(x *retention.Hold) { x.Categories = nil },
		"another Until":            func(x *retention.Hold) { x.Until = at(601) },
		"no Until":                 func(x *retention.Hold) { x.Until = time.Time{} },
		"another Placed":           func(x *retention.Hold) { x.Placed = x.Placed.Add(time.Second) },
		"another PlacedBy":         func(x *retention.Hold) { x.PlacedBy = gdpr.Staff("staff-other") },
		"PlacedBy of another kind": func(x *retention.Hold) { x.PlacedBy = gdpr.System(legal.ID) },
	} {
		x := cloneHold(h)
		edit(&x)
		wantErr(t, s.PlaceHold(t.Context(), x), retention.ErrExists, "PlaceHold of a hold of a taken ID with "+what, existsContract)
	}
	wantHold(t, "GetHold after PlaceHolds of other holds under its ID", mustGet(t, s, h.ID), h)
	if got := mustList(t, s, retention.HoldFilter{}); len(got) != 1 {
		t.Errorf("ListHolds after refused PlaceHolds returned %d holds; want 1: %s", len(got), existsContract)
	}
}

func testPlaceInvalid(t *testing.T, s retention.Store) {
	for what, edit := range map[string]func(*retention.Hold){
		"an empty ID":         func(x *retention.Hold) { x.ID = "" },
		"a 256-byte ID":       func(x *retention.Hold) { x.ID = key("hold-", retention.MaxKeyLen+1) },
		"a 256-byte subject":  func(x *retention.Hold) { x.Subject = gdpr.SubjectID(key("subject-", gdpr.MaxIDLen+1)) },
		"a 256-byte category": func(x *retention.Hold) { x.Categories = []string{"invoices", key("category-", retention.MaxKeyLen+1)} },
		"a 4097-byte reason":  func(x *retention.Hold) { x.Reason = key("reason ", retention.MaxTextLen+1) },
		"MaxHoldCategories+1 categories": func(x *retention.Hold) {
			x.Categories = nil
			for i := range retention.MaxHoldCategories + 1 {
				x.Categories = append(x.Categories, fmt.Sprintf("category-%02d", i))
			}
		},
	} {
		x := newHold("invalid", alice, "invoices")
		edit(&x)
		wantInvalid(t, s.PlaceHold(t.Context(), x), "PlaceHold of a hold with "+what)
	}
	if got := mustList(t, s, retention.HoldFilter{}); len(got) != 0 {
		t.Errorf("ListHolds after refused PlaceHolds returned %q; want none: %s", holdIDs(got), limitsContract)
	}
}

func testHoldUnknown(t *testing.T, s retention.Store) {
	mustPlace(t, s, newHold("known", alice))
	_, err := s.GetHold(t.Context(), "unknown")
	wantErr(t, err, retention.ErrNotFound, "GetHold of an ID no hold has", "GetHold of an unknown ID is ErrNotFound")
	_, err = s.ReleaseHold(t.Context(), "unknown", at(0), legal)
	wantErr(t, err, retention.ErrNotFound, "ReleaseHold of an ID no hold has", "ReleaseHold of an unknown ID is ErrNotFound")
	if got := mustList(t, s, retention.HoldFilter{}); len(got) != 1 {
		t.Errorf("ListHolds after a ReleaseHold of an unknown ID returned %q; want the one hold placed", holdIDs(got))
	}
}

func testHoldIDInvalid(t *testing.T, s retention.Store) {
	h := newHold(key("hold-", retention.MaxKeyLen), alice)
	mustPlace(t, s, h)
	for what, id := range map[string]string{"an empty ID": "", "a 256-byte ID": h.ID + "x"} {
		_, err := s.GetHold(t.Context(), id)
		wantInvalid(t, err, "GetHold of "+what)
		_, err = s.ReleaseHold(t.Context(), id, at(0), legal)
		wantInvalid(t, err, "ReleaseHold of "+what)
	}
	wantHold(t, "GetHold after refused ReleaseHolds", mustGet(t, s, h.ID), h)
}

func testRelease(t *testing.T, s retention.Store) {
	open := newHold("open", alice)
	ending := newHold("ending", "", "invoices")
	ending.Until = at(120)
	bySubject := newHold("by-subject", bob, "orders")
	mustPlace(t, s, open, ending, bySubject)
	for _, c := range []struct {
		h    retention.Hold
		when time.Time
		by   gdpr.Actor
	}{
		{open, at(30).Add(123456789), legal},
		{ending, at(119), system},
		{bySubject, at(1), gdpr.SubjectActor()},
	} {
		want := c.h
		want.Released, want.ReleasedBy = c.when, c.by
		got := mustRelease(t, s, c.h.ID, c.when, c.by)
		call := fmt.Sprintf("ReleaseHold(%s, %s, %s)", c.h.ID, showTime(c.when), c.by.Kind)
		if d := holdDiff(got, want); len(d) > 0 {
			t.Errorf("%s returned a hold other than the one stored afterwards (%s):\n\t%s", call, releaseContract, strings.Join(d, "\n\t"))
		}
		if d := holdDiff(mustGet(t, s, c.h.ID), want); len(d) > 0 {
			t.Errorf("GetHold after %s differs from the hold released (%s):\n\t%s", call, releaseContract, strings.Join(d, "\n\t"))
		}
	}
}

func testReleaseNotInForce(t *testing.T, s retention.Store) {
	released := newHold("released", alice)
	ended := newHold("ended", alice)
	ended.Until = at(0)
	endsNow := newHold("ends-now", "", "invoices")
	endsNow.Until = at(10)
	mustPlace(t, s, released, ended, endsNow)

	first := mustRelease(t, s, released.ID, at(5), legal)
	again := mustRelease(t, s, released.ID, at(6), system)
	if d := holdDiff(again, first); len(d) > 0 {
		t.Errorf("a second ReleaseHold returned a changed hold; want the first release kept (%s):\n\t%s", releaseContract, strings.Join(d, "\n\t"))
	}
	if d := holdDiff(mustGet(t, s, released.ID), first); len(d) > 0 {
		t.Errorf("GetHold after a second ReleaseHold differs from the first release (%s):\n\t%s", releaseContract, strings.Join(d, "\n\t"))
	}

	got := mustRelease(t, s, ended.ID, at(5), legal)
	wantHold(t, "ReleaseHold after Until", got, ended)
	wantHold(t, "GetHold after a ReleaseHold after Until", mustGet(t, s, ended.ID), ended)

	got = mustRelease(t, s, endsNow.ID, endsNow.Until, legal)
	wantHold(t, "ReleaseHold at exactly Until", got, endsNow)
	wantHold(t, "GetHold after a ReleaseHold at exactly Until", mustGet(t, s, endsNow.ID), endsNow)
	justBefore := endsNow.Until.Add(-time.Microsecond)
	want := endsNow
	want.Released, want.ReleasedBy = justBefore, legal
	wantHold(t, "ReleaseHold a microsecond before Until", mustRelease(t, s, endsNow.ID, justBefore, legal), want)
}

// filterSet are holds of alice, bob and of categories alone, placed in
// an order that is not their IDs'.
func filterSet() []retention.Hold {
	return []retention.Hold{
		newHold("h-6", alice),
		newHold("h-2", "", "invoices"),
		newHold("h-5", "", "payments", "invoices"),
		newHold("h-1", alice, "payments"),
		newHold("h-4", bob),
		newHold("h-3", bob, "invoices"),
	}
}

func testListBySubject(t *testing.T, s retention.Store) {
	mustPlace(t, s, filterSet()...)
	for _, c := range []struct {
		name    string
		subject gdpr.SubjectID
		want    []string
	}{
		{"alice", alice, []string{"h-1", "h-2", "h-5", "h-6"}},
		{"bob", bob, []string{"h-2", "h-3", "h-4", "h-5"}},
		{"carol, with no hold naming her", carol, []string{"h-2", "h-5"}},
	} {
		got := mustList(t, s, retention.HoldFilter{Subject: c.subject})
		wantIDs(t, "ListHolds{Subject: "+c.name+"}", holdIDs(got), c.want,
			"Subject selects the holds naming the subject and those naming no subject, in ID order")
	}
	wantIDs(t, "ListHolds{}", holdIDs(mustList(t, s, retention.HoldFilter{})), []string{"h-1", "h-2", "h-3", "h-4", "h-5", "h-6"}, listContract)
}

func testListByCategory(t *testing.T, s retention.Store) {
	mustPlace(t, s, filterSet()...)
	for _, c := range []struct {
		category string
		want     []string
	}{
		{"invoices", []string{"h-2", "h-3", "h-4", "h-5", "h-6"}},
		{"payments", []string{"h-1", "h-4", "h-5", "h-6"}},
		{"contacts", []string{"h-4", "h-6"}},
	} {
		got := mustList(t, s, retention.HoldFilter{Category: c.category})
		wantIDs(t, "ListHolds{Category: "+c.category+"}", holdIDs(got), c.want,
			"Category selects the holds naming the category and those naming no category, in ID order")
	}
}

// inForceSet places holds around now = at(0), each on a boundary of
// Hold.InForce.
func inForceSet(t *testing.T, s retention.Store) {
	t.Helper()
	now := at(0)
	hold := func(id string, edit func(*retention.Hold)) retention.Hold {
		h := newHold(id, alice)
		edit(&h)
		return h
	}
	mustPlace(t, s,
		hold("placed-before", func(*retention.Hold) {}),
		hold("placed-at-now", func(h *retention.Hold) { h.Placed = now }),
		hold("placed-after", func(h *retention.Hold) { h.Placed = now.Add(time.Microsecond) }),
		hold("until-before", func(h *retention.Hold) { h.Until = now.Add(-time.Minute) }),
		hold("until-at-now", func(h *retention.Hold) { h.Until = now }),
		hold("until-after", func(h *retention.Hold) { h.Until = now.Add(time.Microsecond) }),
		hold("released-before", func(*retention.Hold) {}),
		hold("released-at-now", func(*retention.Hold) {}),
		hold("released-after", func(*retention.Hold) {}),
	)
	mustRelease(t, s, "released-before", now.Add(-time.Minute), legal)
	mustRelease(t, s, "released-at-now", now, legal)
	mustRelease(t, s, "released-after", now.Add(time.Microsecond), legal)
}

func testListInForce(t *testing.T, s retention.Store) {
	inForceSet(t, s)
	now := at(0)
	for _, c := range []struct {
		now  time.Time
		want []string
	}{
		{now, []string{"placed-at-now", "placed-before", "released-after", "until-after"}},
		{now.Add(time.Microsecond), []string{"placed-after", "placed-at-now", "placed-before"}},
	} {
		got := mustList(t, s, retention.HoldFilter{InForce: c.now})
		wantIDs(t, "ListHolds{InForce: "+showTime(c.now)+"}", holdIDs(got), c.want, inForceContract)
		// The suite's expectations are Hold.InForce's.
		var model []string
		for _, h := range mustList(t, s, retention.HoldFilter{}) {
			if h.InForce(c.now) {
				model = append(model, h.ID)
			}
		}
		wantIDs(t, "Hold.InForce("+showTime(c.now)+") of the holds ListHolds{} returns", model, c.want, inForceContract)
	}
}

func testListCombined(t *testing.T, s retention.Store) {
	mustPlace(t, s, filterSet()...)
	mustRelease(t, s, "h-5", at(0), legal)
	for _, c := range []struct {
		f    retention.HoldFilter
		want []string
	}{
		{retention.HoldFilter{Subject: alice, Category: "invoices"}, []string{"h-2", "h-5", "h-6"}},
		{retention.HoldFilter{Subject: bob, Category: "payments"}, []string{"h-4", "h-5"}},
		{retention.HoldFilter{Subject: alice, Category: "invoices", InForce: at(1)}, []string{"h-2", "h-6"}},
		{retention.HoldFilter{Category: "payments", InForce: at(1)}, []string{"h-1", "h-4", "h-6"}},
		{retention.HoldFilter{Subject: carol, Category: "payments", InForce: at(-1)}, []string{"h-5"}},
	} {
		got := mustList(t, s, c.f)
		wantIDs(t, "ListHolds"+showFilter(c.f), holdIDs(got), c.want, "the filter's fields are ANDed: "+listContract)
	}
}

// pagingIDs are hold IDs whose byte order differs from a
// case-insensitive or locale collation's, and from their numbers'.
var pagingIDs = []string{
	"A", "B", "Z", "_", "a", "b", "z", "~", "0", "9", "a-1", "a-10", "a-2", "a-9",
	"Ä", "ä", "é", "case-01", "case-1", "case-10", "case-2", "Case-3", "x y",
}

func testListPaging(t *testing.T, s retention.Store) {
	for i, id := range pagingIDs {
		mustPlace(t, s, newHold(id, alice, fmt.Sprintf("category-%d", i)))
	}
	want := slices.Clone(pagingIDs)
	slices.Sort(want) // Go orders strings by their bytes
	var got []string
	after := ""
	for page := 0; page < len(want)+2; page++ {
		hs := mustList(t, s, retention.HoldFilter{After: after, Limit: 4})
		if len(hs) > 4 {
			t.Fatalf("ListHolds{After: %q, Limit: 4} returned %d holds; want at most 4: %s", after, len(hs), listContract)
		}
		if len(hs) == 0 {
			break
		}
		got = append(got, holdIDs(hs)...)
		after = hs[len(hs)-1].ID
	}
	wantIDs(t, "ListHolds{After, Limit: 4}, page after page,", got, want,
		"every hold once, in ID order — byte order: a store over SQL compares IDs with a binary collation (COLLATE \"C\", utf8mb4_bin), in which \"A\" and \"a\" are two IDs")
	if hs := mustList(t, s, retention.HoldFilter{After: want[len(want)-1]}); len(hs) != 0 {
		t.Errorf("ListHolds{After: the last ID} returned %q; want none", holdIDs(hs))
	}
	i, _ := slices.BinarySearch(want, "a-11")
	wantIDs(t, `ListHolds{After: "a-11", an ID no hold has}`, holdIDs(mustList(t, s, retention.HoldFilter{After: "a-11"})), want[i:],
		"After selects the holds whose ID is after it in byte order, whether or not a hold has it")
}

func testListPagingFiltered(t *testing.T, s retention.Store) {
	var want []string
	for i := range 15 {
		id := fmt.Sprintf("p-%02d", 14-i)
		switch (14 - i) % 3 {
		case 0:
			mustPlace(t, s, newHold(id, alice))
			want = append(want, id)
		case 1:
			mustPlace(t, s, newHold(id, bob))
		case 2:
			mustPlace(t, s, newHold(id, "", "invoices"))
			want = append(want, id)
		}
	}
	slices.Sort(want)
	var got []string
	after := ""
	for range 20 {
		hs := mustList(t, s, retention.HoldFilter{Subject: alice, After: after, Limit: 3})
		if len(hs) > 3 {
			t.Fatalf("ListHolds{Subject, After: %q, Limit: 3} returned %d holds; want at most 3: %s", after, len(hs), listContract)
		}
		if len(hs) == 0 {
			break
		}
		got = append(got, holdIDs(hs)...)
		after = hs[len(hs)-1].ID
	}
	wantIDs(t, "ListHolds{Subject: alice, After, Limit: 3}, page after page,", got, want,
		"Limit counts the holds the filter selects: "+listContract)
}

func testListDefaultLimit(t *testing.T, s retention.Store) {
	var want []string
	for i := range retention.DefaultLimit + 1 {
		id := fmt.Sprintf("d-%03d", retention.DefaultLimit-i)
		mustPlace(t, s, newHold(id, alice))
		want = append(want, id)
	}
	slices.Sort(want)
	got := holdIDs(mustList(t, s, retention.HoldFilter{}))
	if len(got) != retention.DefaultLimit || !slices.Equal(got, want[:min(len(got), len(want))]) {
		t.Errorf("ListHolds{Limit: 0} of %d holds returned %d holds; want the first %d in ID order: Limit 0 means DefaultLimit",
			len(want), len(got), retention.DefaultLimit)
	}
	if got := mustList(t, s, retention.HoldFilter{Limit: retention.MaxLimit}); len(got) != len(want) {
		t.Errorf("ListHolds{Limit: MaxLimit} of %d holds returned %d; want all", len(want), len(got))
	}
}

func testListLimitRange(t *testing.T, s retention.Store) {
	mustPlace(t, s, newHold("l-1", alice), newHold("l-2", bob))
	for _, limit := range []int{retention.MaxLimit + 1, -1} {
		_, err := s.ListHolds(t.Context(), retention.HoldFilter{Limit: limit})
		wantErr(t, err, retention.ErrInvalid, fmt.Sprintf("ListHolds{Limit: %d}", limit),
			"a Limit is 0 (DefaultLimit) or 1 to MaxLimit; any other is ErrInvalid")
	}
	wantIDs(t, "ListHolds{Limit: 1}", holdIDs(mustList(t, s, retention.HoldFilter{Limit: 1})), []string{"l-1"}, listContract)
	wantIDs(t, "ListHolds{Limit: MaxLimit}", holdIDs(mustList(t, s, retention.HoldFilter{Limit: retention.MaxLimit})), []string{"l-1", "l-2"}, listContract)
}

func testHolds(t *testing.T, s retention.Store) {
	now := at(0)
	hold := func(id string, subject gdpr.SubjectID, edit func(*retention.Hold), cats ...string) retention.Hold {
		h := newHold(id, subject, cats...)
		edit(&h)
		return h
	}
	none := func(*retention.Hold) {}
	mustPlace(t, s,
		hold("i-release-later", "", func(h *retention.Hold) { h.Until = at(120) }, "contracts"),
		hold("a-subject", alice, none),
		hold("b-categories", "", func(h *retention.Hold) { h.Until = at(60) }, "invoices"),
		hold("c-both", alice, func(h *retention.Hold) { h.Reason = "another claim" }, "orders", "payments"),
		hold("d-bob", bob, none),
		hold("e-bob-categories", bob, none, "invoices"),
		hold("f-future", alice, func(h *retention.Hold) { h.Placed = at(1) }),
		hold("g-ended", alice, func(h *retention.Hold) { h.Until = now }),
		hold("h-released", alice, none),
	)
	mustRelease(t, s, "h-released", at(-1), legal)
	mustRelease(t, s, "i-release-later", at(30), legal)
	for _, c := range []struct {
		name    string
		subject gdpr.SubjectID
		want    []string
	}{
		{"alice", alice, []string{"a-subject", "b-categories", "c-both", "i-release-later"}},
		{"bob", bob, []string{"b-categories", "d-bob", "e-bob-categories", "i-release-later"}},
		{"carol, with no hold naming her", carol, []string{"b-categories", "i-release-later"}},
	} {
		got := mustHolds(t, s, c.subject, now)
		call := "Holds(" + c.name + ", " + showTime(now) + ")"
		wantIDs(t, call, legalIDs(got), c.want, holdsContract)
		if len(got) != len(c.want) {
			continue
		}
		for i, g := range got {
			if d := legalDiff(g, mustGet(t, s, g.ID)); len(d) > 0 {
				t.Errorf("%s[%d] differs from Hold.Legal of the hold stored (%s):\n\t%s", call, i, holdsContract, strings.Join(d, "\n\t"))
			}
		}
	}
	if got := mustHolds(t, s, alice, at(0)); len(got) == 4 && !got[3].Until.Equal(at(30)) {
		t.Errorf("Holds of a hold with Until %s released at %s gives Until %s; want %s: Hold.Legal gives the earlier of Until and Released",
			showTime(at(120)), showTime(at(30)), showTime(got[3].Until), showTime(at(30)))
	}
}

func testHoldsNone(t *testing.T, s retention.Store) {
	if got, err := s.Holds(t.Context(), alice, at(0)); err != nil || len(got) != 0 {
		t.Errorf("Holds of a store with no holds = %q, %v; want none and no error: no hold is not an error", legalIDs(got), err)
	}
	mustPlace(t, s, newHold("bob", bob), newHold("future", alice, "invoices"))
	mustRelease(t, s, "future", at(-30), legal)
	if got, err := s.Holds(t.Context(), alice, at(0)); err != nil || len(got) != 0 {
		t.Errorf("Holds of a subject with no hold in force = %q, %v; want none and no error", legalIDs(got), err)
	}
}

func testHoldsMany(t *testing.T, s retention.Store) {
	n := retention.MaxLimit + 100
	var want, categoryOnly []string
	for i := n - 1; i >= 0; i-- {
		id := fmt.Sprintf("m-%05d", i)
		if i%3 == 0 {
			mustPlace(t, s, newHold(id, "", "invoices"))
			categoryOnly = append(categoryOnly, id)
		} else {
			mustPlace(t, s, newHold(id, alice))
		}
		want = append(want, id)
	}
	for i := range 5 {
		mustPlace(t, s, newHold(fmt.Sprintf("bob-%d", i), bob))
	}
	slices.Sort(want)
	got := legalIDs(mustHolds(t, s, alice, at(0)))
	if !slices.Equal(got, want) {
		t.Errorf("Holds of a subject with %d holds in force (more than MaxLimit) returned %d holds; want all %d in ID order: %s",
			n, len(got), n, holdsContract)
	}
	slices.Sort(categoryOnly)
	wantBob := append([]string{"bob-0", "bob-1", "bob-2", "bob-3", "bob-4"}, categoryOnly...)
	if got := legalIDs(mustHolds(t, s, bob, at(0))); !slices.Equal(got, wantBob) {
		t.Errorf("Holds of another subject returned %d holds; want its 5 and the %d holds of categories alone, in ID order: %s",
			len(got), len(categoryOnly), holdsContract)
	}
}

func testHoldsInvalid(t *testing.T, s retention.Store) {
	mustPlace(t, s, newHold("everyone", "", "invoices"))
	for what, subject := range map[string]gdpr.SubjectID{
		"an empty subject":   "",
		"a 256-byte subject": gdpr.SubjectID(key("subject-", gdpr.MaxIDLen+1)),
	} {
		_, err := s.Holds(t.Context(), subject, at(0))
		wantInvalid(t, err, "Holds of "+what)
	}
}
