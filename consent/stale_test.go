package consent_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/consenttest"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

// countingStore counts the read calls the Ledger makes of a Store: each is
// one statement on sqlconsent.
type countingStore struct {
	consent.Store
	calls atomic.Int64
}

func (c *countingStore) Latest(ctx context.Context, q consent.Query) (consent.Current, error) {
	c.calls.Add(1)
	return c.Store.Latest(ctx, q)
}

func (c *countingStore) Events(ctx context.Context, s gdpr.SubjectID, p gdpr.Purpose) ([]consent.Event, error) {
	c.calls.Add(1)
	return c.Store.Events(ctx, s, p)
}

func (c *countingStore) Notices(ctx context.Context, id string) ([]consent.Notice, error) {
	c.calls.Add(1)
	return c.Store.Notices(ctx, id)
}

func (c *countingStore) StaleSubjects(ctx context.Context, q consent.StaleQuery) ([]gdpr.SubjectID, error) {
	c.calls.Add(1)
	return c.Store.StaleSubjects(ctx, q)
}

func (c *countingStore) StaleEvents(ctx context.Context, q consent.StaleQuery) ([]consent.Event, error) {
	c.calls.Add(1)
	return c.Store.(consent.StaleEventer).StaleEvents(ctx, q)
}

var staleNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// staleGiven is a Given event of subject for newsletter under version v of
// notice "terms".
func staleGiven(subject gdpr.SubjectID, v int) consent.Event {
	e := consenttest.NewEvent(subject, "newsletter", consent.Given, staleNow.Add(-time.Hour))
	e.Notice = consent.NoticeRef{ID: "terms", Version: v}
	return e
}

func mustStoreAppend(t testing.TB, s consent.Store, evs ...consent.Event) {
	t.Helper()
	for _, e := range evs {
		if err := s.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStaleSubjectsStatementsPerPage is the regression test of issue 15:
// a page of StaleSubjects checked each candidate with a Store query of its
// own (one page of 100 ran 203 statements on PostgreSQL). A page now costs
// the notice's versions and one StaleEvents per batch of candidates: two
// calls when the candidates are stale, and one more, sized by the share of
// stale ones, when many of them are not.
func TestStaleSubjectsStatementsPerPage(t *testing.T) {
	ctx := context.Background()
	mem := memconsent.New()
	cs := &countingStore{Store: mem}
	l, err := consent.New(cs, consent.WithClock(func() time.Time { return staleNow }))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{1, 2} {
		if err := mem.PutNotice(ctx, consent.Notice{ID: "terms", Version: v, TextHash: consent.HashText("terms"), Material: true, Published: staleNow.Add(-2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	const subjects = 2000
	for i := range subjects {
		s := gdpr.SubjectID(fmt.Sprintf("s-%05d", i))
		mustStoreAppend(t, mem, staleGiven(s, 1))
		if i >= subjects/2 && i%10 != 0 { // the second half: 9 in 10 asked again since
			mustStoreAppend(t, mem, staleGiven(s, 2))
		}
	}
	for _, c := range []struct {
		name     string
		after    gdpr.SubjectID
		limit    int
		want     int // subjects on the page
		maxCalls int64
	}{
		{"dense", "", 100, 100, 2},
		{"dense, 1000", "", 1000, 1000, 2},
		{"sparse", gdpr.SubjectID(fmt.Sprintf("s-%05d", subjects/2)), 50, 50, 3},       // 1 in 10 stale: a batch of 50, then one sized by it
		{"to the end", gdpr.SubjectID(fmt.Sprintf("s-%05d", subjects-100)), 100, 9, 2}, // 99 candidates, 9 stale
	} {
		t.Run(c.name, func(t *testing.T) {
			cs.calls.Store(0)
			page, err := l.StaleSubjects(ctx, "terms", c.after, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != c.want {
				t.Fatalf("StaleSubjects = %d subjects; want %d", len(page), c.want)
			}
			if n := cs.calls.Load(); n > c.maxCalls {
				t.Errorf("a page of %d (%d stale) made %d Store calls; want at most %d, not one per candidate", c.limit, len(page), n, c.maxCalls)
			}
		})
	}
}

// oldStaleSubjects is Ledger.StaleSubjects as it was before issue 15, one
// Events call per candidate: the reference the batched one must match.
func oldStaleSubjects(ctx context.Context, s consent.Store, now time.Time, notice string, after gdpr.SubjectID, limit int) ([]gdpr.SubjectID, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	ns, err := s.Notices(ctx, notice)
	if err != nil {
		return nil, err
	}
	latest := 0
	for _, n := range ns {
		if n.Material && !n.Published.After(now) && n.Version > latest {
			latest = n.Version
		}
	}
	if latest == 0 {
		return nil, nil
	}
	isStale := func(subj gdpr.SubjectID) (bool, error) {
		evs, err := s.Events(ctx, subj, "")
		if err != nil {
			return false, err
		}
		for i, g := range evs {
			if g.Kind != consent.Given || g.Notice.ID != notice || g.Notice.Version >= latest ||
				(!g.ExpiresAt.IsZero() && !now.Before(g.ExpiresAt)) {
				continue
			}
			decides := true
			for _, e := range evs[i+1:] {
				if e.Purpose == g.Purpose && e.Kind != consent.Pending && e.Applies(g.Contact) {
					decides = false
					break
				}
			}
			if decides {
				return true, nil
			}
		}
		return false, nil
	}
	var out []gdpr.SubjectID
	for len(out) < limit {
		cands, err := s.StaleSubjects(ctx, consent.StaleQuery{Notice: notice, Version: latest, After: after, Limit: limit})
		if err != nil {
			return nil, err
		}
		if len(cands) == 0 {
			break
		}
		for _, c := range cands {
			after = c
			stale, err := isStale(c)
			if err != nil {
				return nil, err
			}
			if stale && len(out) < limit {
				out = append(out, c)
			}
		}
		if len(cands) < limit {
			break
		}
	}
	return out, nil
}

// TestStaleSubjectsMatchesPerSubjectCheck checks, on random ledgers, that
// every page of StaleSubjects, for every limit and cursor, is the page the
// per-subject check of before issue 15 gave: the same subjects in the same
// order, under every rule (versions and their material flags and
// publication times, expiries, withdrawals and objections by channel,
// pending events, other notices and purposes).
// plainStore hides every method of its Store but consent.Store's: a
// host's own Store that is no StaleEventer.
type plainStore struct{ consent.Store }

func TestStaleSubjectsMatchesPerSubjectCheck(t *testing.T) {
	ctx := context.Background()
	kinds := []consent.Kind{consent.Given, consent.Given, consent.Given, consent.Refused, consent.Withdrawn,
		consent.Expired, consent.Pending, consent.Objected, consent.Overridden, consent.SoftOptIn}
	contacts := []consent.Contact{consent.AllContacts, consent.AllContacts, consent.Email, consent.SMS}
	purposes := []gdpr.Purpose{"newsletter", "ads", "analytics"}
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 15))
		mem := memconsent.New()
		l, err := consent.New(mem, consent.WithClock(func() time.Time { return staleNow }))
		if err != nil {
			t.Fatal(err)
		}
		// The same ledger over a Store that is no StaleEventer: the
		// Ledger reads each candidate's events, with the same pages.
		plain, err := consent.New(plainStore{mem}, consent.WithClock(func() time.Time { return staleNow }))
		if err != nil {
			t.Fatal(err)
		}
		for v := 1; v <= 4; v++ {
			pub := staleNow.Add(-time.Duration(5-v) * time.Hour)
			if v == 4 && seed%2 == 0 {
				pub = staleNow.Add(time.Hour) // not yet in effect
			}
			n := consent.Notice{ID: "terms", Version: v, TextHash: consent.HashText("t"), Material: rng.IntN(3) > 0, Published: pub}
			if err := mem.PutNotice(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		nsubj := 20 + rng.IntN(60)
		for range nsubj * 4 {
			k := kinds[rng.IntN(len(kinds))]
			subj := gdpr.SubjectID(fmt.Sprintf("r-%03d", rng.IntN(nsubj)))
			e := consenttest.NewEvent(subj, purposes[rng.IntN(len(purposes))], k, staleNow.Add(-time.Duration(rng.IntN(600))*time.Minute))
			e.Contact = contacts[rng.IntN(len(contacts))]
			switch k {
			case consent.Given, consent.Refused, consent.Pending:
				e.Notice = consent.NoticeRef{ID: []string{"terms", "terms", "terms", "other"}[rng.IntN(4)], Version: 1 + rng.IntN(4)}
				if k == consent.Given && rng.IntN(4) == 0 {
					e.ExpiresAt = staleNow.Add(time.Duration(rng.IntN(120)-60) * time.Minute) // some lapsed
					if !e.ExpiresAt.After(e.Time) {
						e.ExpiresAt = e.Time.Add(time.Minute)
					}
				}
			case consent.SoftOptIn:
				e.Contact = consent.Email
				e.Notice = consent.NoticeRef{ID: "terms", Version: 1}
			}
			mustStoreAppend(t, mem, e)
		}
		for _, limit := range []int{0, 1, 2, 3, 7, 100} {
			// Every cursor: each subject, the empty one and one between.
			cursors := []gdpr.SubjectID{"", "r-0", "r-050x", "z"}
			for i := range nsubj {
				cursors = append(cursors, gdpr.SubjectID(fmt.Sprintf("r-%03d", i)))
			}
			for _, after := range cursors {
				want, err := oldStaleSubjects(ctx, mem, staleNow, "terms", after, limit)
				if err != nil {
					t.Fatal(err)
				}
				got, err := l.StaleSubjects(ctx, "terms", after, limit)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d: StaleSubjects(after %q, limit %d) = %v; the per-subject check gives %v", seed, after, limit, got, want)
				}
				if got, err := plain.StaleSubjects(ctx, "terms", after, limit); err != nil || !slices.Equal(got, want) {
					t.Fatalf("seed %d: StaleSubjects(after %q, limit %d) over a Store that is no StaleEventer = %v, %v; want %v", seed, after, limit, got, err, want)
				}
			}
		}
	}
}
