package consenttest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
)

// The tests of consent.StaleEventer.StaleEvents: the candidates of
// StaleSubjects, each with the latest of its non-pending events per (purpose, channel, kind),
// checked against a reference computed from the events appended.

// staleReference is what StaleEvents(q) must return for appended, the
// events in the order they were appended (which is Seq order).
func staleReference(appended []consent.Event, q consent.StaleQuery) []consent.Event {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var cands []gdpr.SubjectID
	for _, e := range appended {
		if e.Kind == consent.Given && e.Notice.ID == q.Notice && e.Notice.Version < q.Version &&
			(q.Purpose == "" || e.Purpose == q.Purpose) && e.Subject > q.After {
			cands = append(cands, e.Subject)
		}
	}
	slices.Sort(cands)
	cands = slices.Compact(cands)
	if len(cands) > limit {
		cands = cands[:limit]
	}
	type group struct {
		p gdpr.Purpose
		c consent.Contact
		k consent.Kind
	}
	var out []consent.Event
	for _, s := range cands {
		seen := map[group]bool{}
		var latest []consent.Event
		for i := len(appended) - 1; i >= 0; i-- {
			e := appended[i]
			g := group{e.Purpose, e.Contact, e.Kind}
			if e.Subject != s || e.Kind == consent.Pending || (q.Purpose != "" && e.Purpose != q.Purpose) || seen[g] {
				continue
			}
			seen[g] = true
			latest = append(latest, e)
		}
		slices.Reverse(latest) // Seq order
		out = append(out, latest...)
	}
	return out
}

// wantStaleEvents fails t unless StaleEvents(q) returns want (from
// staleReference), event for event and field for field.
func wantStaleEvents(t *testing.T, s consent.Store, q consent.StaleQuery, want []consent.Event, why string) []consent.Event {
	t.Helper()
	got, err := staleEventer(t, s).StaleEvents(t.Context(), q)
	if err != nil {
		t.Errorf("StaleEvents(%+v): %v; want %d events", q, err, len(want))
		return nil
	}
	describe := func(evs []consent.Event) string {
		var b strings.Builder
		for _, e := range evs {
			fmt.Fprintf(&b, "\n\t\t%s %s %s contact=%q %s", e.Subject, e.Purpose, e.Kind, e.Contact, e.ID)
		}
		return b.String()
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Errorf("StaleEvents(%+v) returned:%s\n\twant:%s\n\t(%s)", q, describe(got), describe(want), why)
		return got
	}
	for i := range got {
		wantEvent(t, fmt.Sprintf("StaleEvents(%+v)[%d]", q, i), got[i], want[i])
		if i > 0 && got[i].Subject == got[i-1].Subject && got[i].Seq <= got[i-1].Seq {
			t.Errorf("StaleEvents(%+v): a subject's events with Seq %d after %d; want Seq order", q, got[i].Seq, got[i-1].Seq)
		}
	}
	return got
}

// staleEventer returns s as a consent.StaleEventer, or skips the test for
// a Store that is none (the Ledger then reads each candidate's events).
func staleEventer(t *testing.T, s consent.Store) consent.StaleEventer {
	t.Helper()
	se, ok := s.(consent.StaleEventer)
	if !ok {
		t.Skip("the Store is not a consent.StaleEventer")
	}
	return se
}

// distinctSubjects lists the subjects of evs in order, without repeats.
func distinctSubjects(evs []consent.Event) []gdpr.SubjectID {
	var out []gdpr.SubjectID
	for _, e := range evs {
		if len(out) == 0 || out[len(out)-1] != e.Subject {
			out = append(out, e.Subject)
		}
	}
	return out
}

// testStaleEvents checks StaleEvents on the StaleSubjects fixture, with a
// history for some subjects (several events per purpose, channel and kind,
// pending ones, later consents), for the queries of testStaleSubjects.
func testStaleEvents(t *testing.T, s consent.Store) {
	ctx := t.Context()
	all, newsOnly, adsOnly := staleFixture(t, s)
	var appended []consent.Event
	for _, subj := range []gdpr.SubjectID{"stale-01", "stale-02", "stale-03", "stale-04", "stale-05", "stale-06", "stale-07", "stale-08"} {
		appended = append(appended, mustEvents(t, s, subj, "")...)
	}
	slices.SortFunc(appended, func(a, b consent.Event) int { return int(a.Seq - b.Seq) })
	more := func(e consent.Event) { mustAppend(t, s, e); appended = append(appended, e) }
	ev := func(subj gdpr.SubjectID, p gdpr.Purpose, k consent.Kind, c consent.Contact, notice string, v int, n int) consent.Event {
		e := NewEvent(subj, p, k, at(n))
		e.Contact = c
		if notice != "" {
			e.Notice = consent.NoticeRef{ID: notice, Version: v}
		}
		return e
	}
	// stale-01: a second old consent for e-mail, two withdrawals by SMS,
	// a pending consent and a consent under the current version for SMS.
	more(ev("stale-01", news, consent.Given, consent.Email, "terms", 2, 10))
	more(ev("stale-01", news, consent.Withdrawn, consent.SMS, "", 0, 11))
	more(ev("stale-01", news, consent.Withdrawn, consent.SMS, "", 0, 12))
	more(ev("stale-01", news, consent.Pending, consent.Push, "terms", 3, 13))
	more(ev("stale-01", news, consent.Given, consent.SMS, "terms", 3, 14))
	// stale-06: a later consent for ads under another notice, and an
	// objection.
	more(ev("stale-06", ads, consent.Given, consent.AllContacts, "other", 1, 10))
	more(ev("stale-06", news, consent.Objected, consent.AllContacts, "", 0, 11))
	// stale-03: only a pending event more, which does not count.
	more(ev("stale-03", ads, consent.Pending, consent.AllContacts, "terms", 3, 10))

	for _, c := range []struct {
		q    consent.StaleQuery
		subj []gdpr.SubjectID
	}{
		{consent.StaleQuery{Notice: "terms", Version: 3, Limit: 100}, all},
		{consent.StaleQuery{Notice: "terms", Version: 3, Purpose: news, Limit: 100}, newsOnly},
		{consent.StaleQuery{Notice: "terms", Version: 3, Purpose: ads, Limit: 100}, adsOnly},
		{consent.StaleQuery{Notice: "terms", Version: 2, Limit: 100}, []gdpr.SubjectID{"stale-01", "stale-06", "stale-08"}},
		{consent.StaleQuery{Notice: "terms", Version: 3, After: "stale-03", Limit: 100}, all[2:]},
		{consent.StaleQuery{Notice: "terms", Version: 3, Limit: 2}, all[:2]},
		{consent.StaleQuery{Notice: "terms", Version: 3, Limit: 0}, all},
	} {
		got := wantStaleEvents(t, s, c.q, staleReference(appended, c.q),
			"for each subject StaleSubjects(q) lists, the latest non-pending event of each purpose (q.Purpose only, when set), channel and kind, by subject and then Seq")
		if subj := distinctSubjects(got); !slices.Equal(subj, c.subj) {
			t.Errorf("StaleEvents(%+v) is about subjects %v; want StaleSubjects(q)'s, %v", c.q, subj, c.subj)
		}
		if cands, err := s.StaleSubjects(ctx, c.q); err != nil || !slices.Equal(cands, distinctSubjects(got)) {
			t.Errorf("StaleSubjects(%+v) = %v, %v; StaleEvents(q) is about %v: want the same subjects", c.q, cands, err, distinctSubjects(got))
		}
	}
}

// testStaleEventsReference checks StaleEvents against the reference on a
// random history of several subjects over every kind and a few channels,
// purposes and notice versions.
func testStaleEventsReference(t *testing.T, s consent.Store) {
	rng := rand.New(rand.NewPCG(15, 2025))
	kinds := []consent.Kind{consent.Given, consent.Given, consent.Refused, consent.Withdrawn, consent.Expired,
		consent.Pending, consent.Objected, consent.Overridden, consent.SoftOptIn}
	contacts := []consent.Contact{consent.AllContacts, consent.Email, consent.SMS}
	purposes := []gdpr.Purpose{news, ads}
	subjects := []gdpr.SubjectID{"ref-a", "ref-b", "ref-c", "ref-d", "ref-e", "ref-f"}
	var appended []consent.Event
	for range 150 {
		k := kinds[rng.IntN(len(kinds))]
		e := NewEvent(subjects[rng.IntN(len(subjects))], purposes[rng.IntN(len(purposes))], k, at(rng.IntN(30)))
		e.Contact = contacts[rng.IntN(len(contacts))]
		switch k {
		case consent.Given, consent.Refused, consent.Pending:
			e.Notice = consent.NoticeRef{ID: []string{"terms", "terms", "other"}[rng.IntN(3)], Version: 1 + rng.IntN(3)}
		case consent.SoftOptIn:
			e.Contact = consent.Email
			e.Notice = consent.NoticeRef{ID: "terms", Version: 1}
		}
		mustAppend(t, s, e)
		appended = append(appended, e)
	}
	for _, notice := range []string{"terms", "other"} {
		for v := 1; v <= 4; v++ {
			for _, p := range []gdpr.Purpose{"", news, ads} {
				for _, after := range []gdpr.SubjectID{"", "ref-b", "ref-f"} {
					for _, limit := range []int{1, 3, 100} {
						q := consent.StaleQuery{Notice: notice, Version: v, Purpose: p, After: after, Limit: limit}
						wantStaleEvents(t, s, q, staleReference(appended, q),
							"for each candidate, the latest non-pending event of each purpose (q.Purpose only, when set), channel and kind")
					}
				}
			}
		}
	}
}

// testStaleEventsPaging pages through StaleEvents, passing the last
// subject as q.After, and checks it visits StaleSubjects's subjects once.
func testStaleEventsPaging(t *testing.T, s consent.Store) {
	all, _, _ := staleFixture(t, s)
	for _, limit := range []int{1, 2, 3, len(all), len(all) + 1} {
		var seen []gdpr.SubjectID
		var after gdpr.SubjectID
		for page := 0; ; page++ {
			if page > len(all)+1 {
				t.Fatalf("StaleEvents paging with Limit %d did not end after %d pages; want an empty or short page at the end", limit, page)
			}
			got, err := staleEventer(t, s).StaleEvents(t.Context(), consent.StaleQuery{Notice: "terms", Version: 3, After: after, Limit: limit})
			if err != nil {
				t.Fatalf("StaleEvents(After %q, Limit %d): %v", after, limit, err)
			}
			subj := distinctSubjects(got)
			if len(subj) > limit {
				t.Errorf("StaleEvents(Limit %d) is about %d subjects; want at most Limit", limit, len(subj))
			}
			if len(subj) == 0 {
				break
			}
			seen = append(seen, subj...)
			after = subj[len(subj)-1]
			if len(subj) < limit {
				break
			}
		}
		if !slices.Equal(seen, all) {
			t.Errorf("paging StaleEvents with Limit %d, passing the last subject as After, visited %v; want every candidate once, ascending: %v", limit, seen, all)
		}
	}
}

// testStaleEventsEdges checks the queries with nothing to return, the
// default limit and the refusal of an empty notice.
func testStaleEventsEdges(t *testing.T, s consent.Store) {
	ctx := t.Context()
	none := func(q consent.StaleQuery, why string) {
		t.Helper()
		if got, err := staleEventer(t, s).StaleEvents(ctx, q); err != nil || len(got) != 0 {
			t.Errorf("StaleEvents(%+v) = %d events, %v; want none and no error: %s", q, len(got), err, why)
		}
	}
	none(consent.StaleQuery{Notice: "terms", Version: 3, Limit: 10}, "an empty store")
	_, err := staleEventer(t, s).StaleEvents(ctx, consent.StaleQuery{Version: 3, Limit: 10})
	if !errors.Is(err, consent.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
		t.Errorf("StaleEvents with no notice = %v; want an error wrapping consent.ErrInvalid", err)
	}

	// 101 candidates: the default limit is 100.
	var want []gdpr.SubjectID
	for i := range 101 {
		subj := gdpr.SubjectID(fmt.Sprintf("edge-%03d", i))
		e := NewEvent(subj, news, consent.Given, at(i))
		e.Notice = consent.NoticeRef{ID: "terms", Version: 1}
		mustAppend(t, s, e)
		want = append(want, subj)
	}
	none(consent.StaleQuery{Notice: "unknown", Version: 3, Limit: 10}, "no event references the notice")
	none(consent.StaleQuery{Notice: "terms", Version: 1, Limit: 10}, "no version is below 1")
	none(consent.StaleQuery{Notice: "terms", Version: 0, Limit: 10}, "no version is below 0")
	none(consent.StaleQuery{Notice: "terms", Version: 3, After: "edge-100", Limit: 10}, "no subject after the last one")
	none(consent.StaleQuery{Notice: "terms", Version: 3, Purpose: ads, Limit: 10}, "no Given event for the purpose")
	for _, limit := range []int{0, -1} {
		got, err := staleEventer(t, s).StaleEvents(ctx, consent.StaleQuery{Notice: "terms", Version: 3, Limit: limit})
		if subj := distinctSubjects(got); err != nil || !slices.Equal(subj, want[:100]) {
			t.Errorf("StaleEvents(Limit %d) is about %d subjects, %v; want the first 100, the default", limit, len(subj), err)
		}
	}
}
