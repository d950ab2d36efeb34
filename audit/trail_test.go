package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

// The tests of the Log as a gdpr.Trail: Search and SubjectTokens.

// trailT0 is the time of the first entry of a test trail; entry i is i
// seconds later.
var trailT0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func trailAt(i int) time.Time { return trailT0.Add(time.Duration(i) * time.Second) }

var (
	trailSubjects = []gdpr.SubjectID{"alice", "bob", "carol", ""}
	trailActors   = []gdpr.Actor{gdpr.Staff("agent-1"), gdpr.Staff("agent-2"), gdpr.System("exporter"),
		{Kind: gdpr.ActorSubject, ID: "alice"}, gdpr.Staff("agent-1")}
	trailActions    = []string{"crypto.decrypt", "export.download", "profile.update", "crypto.decrypt", "consent.given"}
	trailPurposes   = []gdpr.Purpose{"support", "billing"}
	trailCategories = [][]string{{"contact"}, {"payment", "contact"}, nil}
	trailResources  = []string{"invoice/%d", "profiles/%d", "invoicex/%d", ""}
)

// trailEvent returns the i-th event of a test trail: its fields cycle
// through the lists above with different periods, so that every
// combination of them occurs.
func trailEvent(i int) gdpr.Event {
	ev := gdpr.Event{
		Time: trailAt(i), Actor: trailActors[i%len(trailActors)], Action: trailActions[i%len(trailActions)],
		Subject: trailSubjects[i%len(trailSubjects)], Purpose: trailPurposes[i%len(trailPurposes)],
		Categories: trailCategories[i%len(trailCategories)], Outcome: gdpr.Success,
	}
	if r := trailResources[i%len(trailResources)]; r != "" {
		ev.Resource = fmt.Sprintf(r, i)
	}
	if i%7 == 0 {
		ev.Outcome = gdpr.Failure
	}
	return ev
}

// trailSelects is the model of Search: whether q selects the i-th
// event, written from the contract of gdpr.TrailQuery alone.
func trailSelects(q gdpr.TrailQuery, i int) bool {
	ev := trailEvent(i)
	overlap := len(q.Categories) == 0
	for _, c := range q.Categories {
		overlap = overlap || slices.Contains(ev.Categories, c)
	}
	return !ev.Time.Before(q.Since) && ev.Time.Before(q.Until) &&
		(q.Actor.IsZero() || q.Actor == ev.Actor) &&
		strings.HasPrefix(ev.Resource, q.ResourcePrefix) && overlap &&
		(q.Purpose == "" || q.Purpose == ev.Purpose) &&
		(len(q.Actions) == 0 || slices.Contains(q.Actions, ev.Action))
}

// recordTrail appends the events 0 to n-1 of the test trail to f's log,
// which must be empty.
func recordTrail(t testing.TB, f *fixture, n int) {
	t.Helper()
	evs := make([]gdpr.Event, n)
	for i := range evs {
		evs[i] = trailEvent(i)
	}
	if first, err := f.log.Append(t.Context(), evs...); err != nil || first != 0 {
		t.Fatalf("Append of the trail = %d, %v", first, err)
	}
}

// collect ranges over seq, checking that an error comes last, once,
// with a zero entry, and returns the entries and that error.
func collectTrail(t *testing.T, seq func(func(gdpr.TrailEntry, error) bool)) ([]gdpr.TrailEntry, error) {
	t.Helper()
	var out []gdpr.TrailEntry
	var last error
	for e, err := range seq {
		if last != nil {
			t.Fatalf("Search yielded after its error %v", last)
		}
		if err != nil {
			if !reflect.DeepEqual(e, gdpr.TrailEntry{}) {
				t.Errorf("Search yielded its error %v with a non-zero entry %d", err, e.Index)
			}
			last = err
			continue
		}
		out = append(out, e)
	}
	return out, last
}

func trailIndexes(es []gdpr.TrailEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Index
	}
	return out
}

// trailWindow returns the query of [trailAt(from), trailAt(until)).
func trailWindow(from, until int) gdpr.TrailQuery {
	return gdpr.TrailQuery{Since: trailAt(from), Until: trailAt(until)}
}

func TestSearchFilters(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	const n = 120
	recordTrail(t, f, n)
	all := trailWindow(0, n)
	with := func(q gdpr.TrailQuery, set func(*gdpr.TrailQuery)) gdpr.TrailQuery { set(&q); return q }
	for _, c := range []struct {
		name string
		q    gdpr.TrailQuery
	}{
		{"everything", all},
		{"window", trailWindow(10, 20)},
		{"window of one entry", trailWindow(33, 34)},
		{"empty window", gdpr.TrailQuery{Since: trailAt(n + 5), Until: trailAt(n + 10)}},
		{"staff actor", with(all, func(q *gdpr.TrailQuery) { q.Actor = gdpr.Staff("agent-1") })},
		{"another staff actor", with(all, func(q *gdpr.TrailQuery) { q.Actor = gdpr.Staff("agent-2") })},
		{"system actor", with(all, func(q *gdpr.TrailQuery) { q.Actor = gdpr.System("exporter") })},
		{"subject actor", with(all, func(q *gdpr.TrailQuery) { q.Actor = gdpr.Actor{Kind: gdpr.ActorSubject, ID: "alice"} })},
		{"resource prefix", with(all, func(q *gdpr.TrailQuery) { q.ResourcePrefix = "invoice/" })},
		{"resource prefix of one", with(all, func(q *gdpr.TrailQuery) { q.ResourcePrefix = "profiles/41" })},
		{"one category", with(all, func(q *gdpr.TrailQuery) { q.Categories = []string{"payment"} })},
		{"any of two categories", with(all, func(q *gdpr.TrailQuery) { q.Categories = []string{"health", "contact"} })},
		{"a category never recorded", with(all, func(q *gdpr.TrailQuery) { q.Categories = []string{"health"} })},
		{"purpose", with(all, func(q *gdpr.TrailQuery) { q.Purpose = "billing" })},
		{"actions", with(all, func(q *gdpr.TrailQuery) { q.Actions = []string{"export.download", "consent.given"} })},
		{"combined", gdpr.TrailQuery{Since: trailAt(5), Until: trailAt(100), Actor: gdpr.Staff("agent-1"), ResourcePrefix: "invoice",
			Categories: []string{"contact"}, Purpose: "support", Actions: []string{"crypto.decrypt", "consent.given"}}},
		{"combined, system", gdpr.TrailQuery{Since: trailAt(0), Until: trailAt(90), Actor: gdpr.System("exporter"),
			Categories: []string{"payment"}, Actions: []string{"profile.update"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := collectTrail(t, f.log.Search(ctx, c.q))
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			var want []int64
			for i := range n {
				if trailSelects(c.q, i) {
					want = append(want, int64(i))
				}
			}
			if !slices.Equal(trailIndexes(got), want) {
				t.Fatalf("Search yielded entries %v; want %v", trailIndexes(got), want)
			}
			for _, e := range got {
				checkTrailEntry(t, f.log, e)
			}
		})
	}
}

// checkTrailEntry fails t unless e says what the log's entry at e.Index
// says, its subject's pseudonym as the token.
func checkTrailEntry(t *testing.T, l *audit.Log, e gdpr.TrailEntry) {
	t.Helper()
	es, err := l.Entries(t.Context(), audit.Filter{From: e.Index, Limit: 1})
	if err != nil || len(es) != 1 || es[0].Index != e.Index {
		t.Fatalf("Entries from %d: %d entries, %v", e.Index, len(es), err)
	}
	want := es[0]
	if !e.Time.Equal(want.Time) || e.Action != want.Action || e.Purpose != want.Purpose ||
		!slices.Equal(e.Categories, want.Categories) || e.Resource != want.Resource || e.Outcome != want.Outcome {
		t.Errorf("Search yielded %+v for entry %+v", e, want)
	}
	switch {
	case want.Subject.IsZero() && e.Subject != nil:
		t.Errorf("entry %d is about no subject; Search gave it the token %x, want nil", e.Index, e.Subject)
	case !want.Subject.IsZero() && !bytes.Equal(e.Subject, want.Subject[:]):
		t.Errorf("entry %d: Search gave the token %x; want its subject's pseudonym %s", e.Index, e.Subject, want.Subject)
	}
}

func TestSearchWindowBounds(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	recordTrail(t, f, 10)
	for _, c := range []struct {
		name         string
		since, until time.Time
		want         []int64
	}{
		{"Since is inclusive, Until exclusive", trailAt(3), trailAt(6), []int64{3, 4, 5}},
		{"Since a nanosecond after an entry leaves it out", trailAt(3).Add(time.Nanosecond), trailAt(6), []int64{4, 5}},
		{"Since a nanosecond before an entry takes it", trailAt(3).Add(-time.Nanosecond), trailAt(6), []int64{3, 4, 5}},
		{"Until a nanosecond after an entry takes it", trailAt(3), trailAt(6).Add(time.Nanosecond), []int64{3, 4, 5, 6}},
		{"Until a nanosecond before an entry leaves it out", trailAt(3), trailAt(6).Add(-time.Nanosecond), []int64{3, 4, 5}},
		{"a window within one microsecond", trailAt(3).Add(100 * time.Nanosecond), trailAt(3).Add(900 * time.Nanosecond), nil},
		{"other time zones", trailAt(3).In(time.FixedZone("UTC+5", 5*3600)), trailAt(5).In(time.FixedZone("UTC-3", -3*3600)), []int64{3, 4}},
	} {
		got, err := collectTrail(t, f.log.Search(ctx, gdpr.TrailQuery{Since: c.since, Until: c.until}))
		if err != nil || !slices.Equal(trailIndexes(got), c.want) {
			t.Errorf("%s: Search = %v, %v; want %v", c.name, trailIndexes(got), err, c.want)
		}
	}
}

// trailStore counts what a Log asks of its Store, and can change the
// rows of one Query answer, as an insider editing the query columns.
type trailStore struct {
	audit.Store
	writes   atomic.Int64 // Salt, Append, DeleteSalt, Redact
	lookups  atomic.Int64 // LookupSalt
	batches  atomic.Int64 // LookupSalts
	maxRefs  atomic.Int64 // the most refs of one LookupSalts
	queries  atomic.Int64
	maxLimit atomic.Int64 // the greatest Query Limit

	mu     sync.Mutex
	tamper func(call int64, ses []audit.StoredEntry)
}

func (s *trailStore) Salt(ctx context.Context, ref, fresh []byte) ([]byte, error) {
	s.writes.Add(1)
	return s.Store.Salt(ctx, ref, fresh)
}

func (s *trailStore) Append(ctx context.Context, fn audit.AppendFunc) error {
	s.writes.Add(1)
	return s.Store.Append(ctx, fn)
}

func (s *trailStore) DeleteSalt(ctx context.Context, ref []byte) (bool, error) {
	s.writes.Add(1)
	return s.Store.DeleteSalt(ctx, ref)
}

func (s *trailStore) Redact(ctx context.Context, index int64) error {
	s.writes.Add(1)
	return s.Store.Redact(ctx, index)
}

func (s *trailStore) LookupSalt(ctx context.Context, ref []byte) ([]byte, error) {
	s.lookups.Add(1)
	return s.Store.LookupSalt(ctx, ref)
}

func (s *trailStore) LookupSalts(ctx context.Context, refs [][]byte) ([][]byte, error) {
	s.batches.Add(1)
	for {
		m := s.maxRefs.Load()
		if int64(len(refs)) <= m || s.maxRefs.CompareAndSwap(m, int64(len(refs))) {
			break
		}
	}
	return s.Store.(audit.SaltLookuper).LookupSalts(ctx, refs)
}

func (s *trailStore) Query(ctx context.Context, f audit.StoreFilter) ([]audit.StoredEntry, error) {
	call := s.queries.Add(1)
	for {
		m := s.maxLimit.Load()
		if int64(f.Limit) <= m || s.maxLimit.CompareAndSwap(m, int64(f.Limit)) {
			break
		}
	}
	ses, err := s.Store.Query(ctx, f)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tamper != nil && err == nil {
		s.tamper(call, ses)
	}
	return ses, err
}

// plainStore is a Store and nothing more: not a SaltLookuper.
type plainStore struct{ audit.Store }

var _ audit.SaltLookuper = (*trailStore)(nil)

func TestSearchPaging(t *testing.T) {
	ctx := t.Context()
	s := &trailStore{Store: memaudit.New()}
	f := open(t, s)
	const n = 2*audit.MaxPage + 500
	recordTrail(t, f, n)

	s.queries.Store(0)
	got, err := collectTrail(t, f.log.Search(ctx, trailWindow(0, n)))
	if err != nil || len(got) != n {
		t.Fatalf("Search of a window of %d entries = %d entries, %v", n, len(got), err)
	}
	for i, e := range got {
		if e.Index != int64(i) {
			t.Fatalf("entry %d of the search has index %d: not in trail order", i, e.Index)
		}
	}
	if q, l := s.queries.Load(), s.maxLimit.Load(); q != 3 || l != audit.MaxPage {
		t.Errorf("Search of %d entries made %d Store queries with Limits up to %d; want 3 pages of at most MaxPage (%d)", n, q, l, audit.MaxPage)
	}

	// Pages where nothing matches are read past, not taken for the end.
	q := trailWindow(0, n)
	q.ResourcePrefix = "invoice/2"
	var want []int64
	for i := range n {
		if trailSelects(q, i) {
			want = append(want, int64(i))
		}
	}
	got, err = collectTrail(t, f.log.Search(ctx, q))
	if err != nil || !slices.Equal(trailIndexes(got), want) {
		t.Errorf("Search of a prefix matching in the first and third pages = %v, %v; want %v", trailIndexes(got), err, want)
	}

	// A window ending on a page boundary.
	s.queries.Store(0)
	got, err = collectTrail(t, f.log.Search(ctx, trailWindow(0, audit.MaxPage)))
	if err != nil || len(got) != audit.MaxPage {
		t.Errorf("Search of exactly one page = %d entries, %v; want %d", len(got), err, audit.MaxPage)
	}

	// Lazy: a search is read as it is consumed.
	s.queries.Store(0)
	k := 0
	for _, err := range f.log.Search(ctx, trailWindow(0, n)) {
		if err != nil {
			t.Fatal(err)
		}
		if k++; k == 3 {
			break
		}
	}
	if got := s.queries.Load(); got != 1 {
		t.Errorf("a search broken off after 3 entries made %d Store queries; want 1", got)
	}
}

func TestSearchBreak(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	recordTrail(t, f, 20)
	var got []int64
	for e, err := range f.log.Search(ctx, trailWindow(0, 20)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Index)
		if len(got) == 4 {
			break // Search must not call yield again (the range would panic)
		}
	}
	if !slices.Equal(got, []int64{0, 1, 2, 3}) {
		t.Errorf("entries before the break = %v", got)
	}
}

func TestSearchActors(t *testing.T) {
	ctx := t.Context()
	s := &trailStore{Store: memaudit.New()}
	f := open(t, s)
	recordTrail(t, f, 30)
	writes, lookups := s.writes.Load(), s.lookups.Load()
	for _, a := range []gdpr.Actor{gdpr.Staff("nobody"), gdpr.System("importer"), {Kind: gdpr.ActorSubject, ID: "dave"}, gdpr.SubjectActor()} {
		got, err := collectTrail(t, f.log.Search(ctx, gdpr.TrailQuery{Since: trailAt(0), Until: trailAt(30), Actor: a}))
		if err != nil || len(got) != 0 {
			t.Errorf("Search by %v, who never acted = %v, %v; want nothing", a, trailIndexes(got), err)
		}
	}
	if w := s.writes.Load() - writes; w != 0 {
		t.Errorf("Searches by actors never recorded wrote %d times to the Store; want none", w)
	}
	if l := s.lookups.Load() - lookups; l != 2 {
		t.Errorf("Searches by a staff member and a subject actor never recorded looked up %d salts; want 2", l)
	}
	// A fresh Log, without a cache, finds agent-2 as the Log that recorded them does.
	other := f.reopen(t)
	for _, l := range []*audit.Log{f.log, other} {
		got, err := collectTrail(t, l.Search(ctx, gdpr.TrailQuery{Since: trailAt(0), Until: trailAt(30), Actor: gdpr.Staff("agent-2")}))
		if err != nil || !slices.Equal(trailIndexes(got), []int64{1, 6, 11, 16, 21, 26}) {
			t.Errorf("Search by agent-2 = %v, %v", trailIndexes(got), err)
		}
	}
	// Forgetting the actor unlinks them from their entries.
	if ok, err := f.log.ForgetActor(ctx, "agent-2"); !ok || err != nil {
		t.Fatalf("ForgetActor = %v, %v", ok, err)
	}
	got, err := collectTrail(t, f.log.Search(ctx, gdpr.TrailQuery{Since: trailAt(0), Until: trailAt(30), Actor: gdpr.Staff("agent-2")}))
	if err != nil || len(got) != 0 {
		t.Errorf("Search by a forgotten staff member = %v, %v; want nothing", trailIndexes(got), err)
	}
}

func TestSearchRedacted(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	recordTrail(t, f, 10)
	if err := f.log.Redact(ctx, gdpr.Staff("dpo"), 4, "recorded_in_error"); err != nil {
		t.Fatal(err)
	}
	got, err := collectTrail(t, f.log.Search(ctx, trailWindow(0, 10)))
	if err != nil || !slices.Equal(trailIndexes(got), []int64{0, 1, 2, 3, 5, 6, 7, 8, 9}) {
		t.Errorf("Search after redacting entry 4 = %v, %v; want every other entry", trailIndexes(got), err)
	}
}

func TestSearchContext(t *testing.T) {
	f := open(t, memaudit.New())
	recordTrail(t, f, 10)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got, err := collectTrail(t, f.log.Search(ctx, trailWindow(0, 10)))
	if len(got) != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("Search with a canceled context = %v, %v; want no entry and context.Canceled", trailIndexes(got), err)
	}
	wantError(t, "Search with a canceled context", err, "search", "", context.Canceled, nil)

	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	var n int
	var last error
	for _, err := range f.log.Search(ctx, trailWindow(0, 10)) {
		if err != nil {
			last = err
			continue
		}
		n++
		cancel()
	}
	if n != 1 || !errors.Is(last, context.Canceled) {
		t.Errorf("Search whose context is canceled after the first entry = %d entries, then %v; want 1 and context.Canceled", n, last)
	}
}

func TestSearchInvalid(t *testing.T) {
	s := &trailStore{Store: memaudit.New()}
	f := open(t, s)
	recordTrail(t, f, 5)
	queries := s.queries.Load()
	const secret = "personal-staff-id"
	ok := trailWindow(0, 5)
	with := func(set func(*gdpr.TrailQuery)) gdpr.TrailQuery { q := ok; set(&q); return q }
	for _, c := range []struct {
		name  string
		ctx   context.Context
		q     gdpr.TrailQuery
		field string
	}{
		{"nil ctx", context.Context(nil), ok, "ctx"},
		{"zero Since", t.Context(), with(func(q *gdpr.TrailQuery) { q.Since = time.Time{} }), "Since"},
		{"zero Until", t.Context(), with(func(q *gdpr.TrailQuery) { q.Until = time.Time{} }), "Until"},
		{"zero window", t.Context(), gdpr.TrailQuery{}, "Since"},
		{"Since equal to Until", t.Context(), gdpr.TrailQuery{Since: trailAt(2), Until: trailAt(2)}, "Until"},
		{"Since after Until", t.Context(), gdpr.TrailQuery{Since: trailAt(3), Until: trailAt(2)}, "Until"},
		{"staff actor without an ID", t.Context(), with(func(q *gdpr.TrailQuery) { q.Actor = gdpr.Staff("") }), "Actor"},
		{"staff ID with a control character", t.Context(), with(func(q *gdpr.TrailQuery) { q.Actor = gdpr.Staff(secret + "\n") }), "Actor"},
		{"staff ID too long", t.Context(), with(func(q *gdpr.TrailQuery) { q.Actor = gdpr.Staff(strings.Repeat(secret, 20)) }), "Actor"},
		{"unknown actor kind", t.Context(), with(func(q *gdpr.TrailQuery) { q.Actor = gdpr.Actor{Kind: "robot", ID: secret} }), "Actor"},
	} {
		got, err := collectTrail(t, f.log.Search(c.ctx, c.q))
		if len(got) != 0 {
			t.Errorf("%s: Search yielded %v before its error", c.name, trailIndexes(got))
		}
		wantError(t, c.name, err, "search", c.field, audit.ErrInvalid, gdpr.ErrInvalid)
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error %q holds the staff ID", c.name, err)
		}
	}
	if q := s.queries.Load() - queries; q != 0 {
		t.Errorf("bad searches made %d Store queries; want none", q)
	}
}

func TestSearchTampered(t *testing.T) {
	ctx := t.Context()
	s := &trailStore{Store: memaudit.New()}
	f := open(t, s)
	const n = audit.MaxPage + 100
	recordTrail(t, f, n)
	// The second page's first row has had its actor column moved to
	// another actor; its body still says who acted.
	s.mu.Lock()
	s.tamper = func(_ int64, ses []audit.StoredEntry) {
		if len(ses) > 0 && ses[0].Index == audit.MaxPage {
			ses[0].Actor = []byte("system:someone-else")
		}
	}
	s.mu.Unlock()
	got, err := collectTrail(t, f.log.Search(ctx, trailWindow(0, n)))
	if len(got) != audit.MaxPage {
		t.Errorf("Search over a tampered second page yielded %d entries first; want the first page's %d", len(got), audit.MaxPage)
	}
	wantError(t, "Search over a tampered row", err, "search", "", audit.ErrTampered, nil)
	if err != nil && !strings.Contains(err.Error(), fmt.Sprint(audit.MaxPage)) {
		t.Errorf("the error %q does not name the tampered entry's index", err)
	}
}

// tokensOf returns the pseudonyms of subjects, from their first entries,
// nil for a subject with none.
func tokensOf(t *testing.T, l *audit.Log, subjects []gdpr.SubjectID) [][]byte {
	t.Helper()
	out := make([][]byte, len(subjects))
	for i, s := range subjects {
		es, err := l.Entries(t.Context(), audit.Filter{Subject: s, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 1 {
			out[i] = bytes.Clone(es[0].Subject[:])
		}
	}
	return out
}

func wantTokens(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d tokens for %d subjects", what, len(got), len(want))
	}
	for i := range want {
		if (got[i] == nil) != (want[i] == nil) || !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s: subject %d has token %x; want %x", what, i, got[i], want[i])
		}
	}
}

func TestSubjectTokens(t *testing.T) {
	ctx := t.Context()
	s := &trailStore{Store: memaudit.New()}
	f := open(t, s)
	recordTrail(t, f, 40)
	candidates := []gdpr.SubjectID{"alice", "dave", "bob", "alice", "carol", "eve"}
	want := tokensOf(t, f.log, candidates)
	if want[0] == nil || want[1] != nil || want[2] == nil || want[4] == nil || want[5] != nil {
		t.Fatalf("the fixture's tokens: %x", want)
	}

	// The Search tokens of a subject's entries are the subject's token.
	bySubject := map[string][]int64{}
	es, err := collectTrail(t, f.log.Search(ctx, trailWindow(0, 40)))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Subject != nil {
			bySubject[string(e.Subject)] = append(bySubject[string(e.Subject)], e.Index)
		}
	}

	var alice []int64 // alice's entries: every fourth
	for i := 0; i < 40; i += 4 {
		alice = append(alice, int64(i))
	}

	plain := reopenOver(t, f, plainStore{s}) // over a Store that is no SaltLookuper
	for _, c := range []struct {
		name string
		l    *audit.Log
	}{
		{"the Log that recorded them (cached)", f.log},
		{"another Log (nothing cached)", f.reopen(t)},
		{"a Log without a cache", f.reopen(t, audit.WithPseudonymCache(0, 0))},
		{"a Log over a Store without LookupSalts", plain},
	} {
		writes := s.writes.Load()
		got, err := c.l.SubjectTokens(ctx, candidates)
		if err != nil {
			t.Fatalf("%s: SubjectTokens: %v", c.name, err)
		}
		wantTokens(t, c.name, got, want)
		if w := s.writes.Load() - writes; w != 0 {
			t.Errorf("%s: SubjectTokens wrote %d times to the Store; want none", c.name, w)
		}
		if es := bySubject[string(got[0])]; !slices.Equal(es, alice) {
			t.Errorf("%s: the entries Search gave alice's token are %v; want alice's, %v", c.name, es, alice)
		}
	}

	// An append to one token does not write into the next.
	got, _ := f.log.SubjectTokens(ctx, candidates)
	_ = append(got[0], 0xff)
	if !bytes.Equal(got[2], want[2]) {
		t.Error("appending to one token changed the next")
	}

	// Erased: nil, on the Log that erased and on another.
	if rep, err := f.log.EraseSubject(ctx, "bob"); err != nil || rep.Erased != 1 {
		t.Fatalf("EraseSubject = %+v, %v", rep, err)
	}
	want[2] = nil
	for _, l := range []*audit.Log{f.log, f.reopen(t), plain} {
		got, err := l.SubjectTokens(ctx, candidates)
		if err != nil {
			t.Fatal(err)
		}
		wantTokens(t, "after EraseSubject", got, want)
	}

	if got, err := f.log.SubjectTokens(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("SubjectTokens of no subjects = %d, %v; want none and nil", len(got), err)
	}
}

// reopenOver opens a Log over store with f's key.
func reopenOver(t *testing.T, f *fixture, store audit.Store) *audit.Log {
	t.Helper()
	g := &fixture{store: store, key: f.key, anchor: f.anchor}
	return g.reopen(t)
}

func TestSubjectTokensCreateNoSalt(t *testing.T) {
	ctx := t.Context()
	s := &trailStore{Store: memaudit.New()}
	f := open(t, s)
	recordTrail(t, f, 8)
	unknown := []gdpr.SubjectID{"dave", "eve", "mallory"}
	for _, l := range []*audit.Log{f.log, reopenOver(t, f, plainStore{s})} {
		writes := s.writes.Load()
		got, err := l.SubjectTokens(ctx, unknown)
		if err != nil {
			t.Fatal(err)
		}
		wantTokens(t, "subjects never recorded", got, [][]byte{nil, nil, nil})
		if w := s.writes.Load() - writes; w != 0 {
			t.Errorf("SubjectTokens of subjects never recorded wrote %d times to the Store; want none", w)
		}
	}
	// Had a salt been made, a Log that does not share the cache would
	// find it.
	got, err := f.reopen(t).SubjectTokens(ctx, unknown)
	if err != nil {
		t.Fatal(err)
	}
	wantTokens(t, "subjects never recorded, asked again of another Log", got, [][]byte{nil, nil, nil})
	if es, err := f.log.Entries(ctx, audit.Filter{Subject: "dave"}); err != nil || len(es) != 0 {
		t.Errorf("Entries of a subject SubjectTokens was asked about = %d, %v", len(es), err)
	}
}

func TestSubjectTokensBatches(t *testing.T) {
	ctx := t.Context()
	s := &trailStore{Store: memaudit.New()}
	f := open(t, s)
	const n = 2500
	evs := make([]gdpr.Event, n)
	candidates := make([]gdpr.SubjectID, 0, 2*n)
	for i := range evs {
		id := gdpr.SubjectID(fmt.Sprint("subject-", i))
		evs[i] = gdpr.Event{Time: trailAt(i), Actor: gdpr.System("import"), Action: "profile.imported", Subject: id, Outcome: gdpr.Success}
		candidates = append(candidates, id, gdpr.SubjectID(fmt.Sprint("candidate-", i)))
	}
	if _, err := f.log.Append(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	es, err := collectTrail(t, f.log.Search(ctx, trailWindow(0, n)))
	if err != nil || len(es) != n {
		t.Fatalf("Search = %d entries, %v", len(es), err)
	}
	want := make([][]byte, len(candidates))
	for i, e := range es {
		want[2*i] = e.Subject
	}
	for _, c := range []struct {
		name    string
		l       *audit.Log
		batches int64
		lookups int64
	}{
		{"SaltLookuper", f.reopen(t), 5, 0},
		{"LookupSalt", reopenOver(t, f, plainStore{s}), 0, 2 * n},
	} {
		batches, lookups, writes := s.batches.Load(), s.lookups.Load(), s.writes.Load()
		got, err := c.l.SubjectTokens(ctx, candidates)
		if err != nil {
			t.Fatal(err)
		}
		wantTokens(t, fmt.Sprintf("%s: %d subjects, half never recorded", c.name, len(candidates)), got, want)
		if b, l, w := s.batches.Load()-batches, s.lookups.Load()-lookups, s.writes.Load()-writes; b != c.batches || l != c.lookups || w != 0 {
			t.Errorf("%s: %d LookupSalts calls, %d LookupSalt calls, %d writes; want %d, %d and none", c.name, b, l, w, c.batches, c.lookups)
		}
	}
	if m := s.maxRefs.Load(); m > 1000 {
		t.Errorf("a LookupSalts call asked for %d refs; want at most 1000", m)
	}
}

func TestSubjectTokensInvalid(t *testing.T) {
	s := &trailStore{Store: memaudit.New()}
	f := open(t, s)
	recordTrail(t, f, 4)
	lookups, batches := s.lookups.Load(), s.batches.Load()
	var nilCtx context.Context // a nil context, as a careless caller passes it
	_, err := f.log.SubjectTokens(nilCtx, []gdpr.SubjectID{"alice"})
	wantError(t, "SubjectTokens with a nil ctx", err, "subject tokens", "ctx", audit.ErrInvalid, gdpr.ErrInvalid)
	const secret = "personal-subject-id"
	for _, bad := range []gdpr.SubjectID{"", secret + "\x00", gdpr.SubjectID(strings.Repeat(secret, 20))} {
		_, err := f.log.SubjectTokens(t.Context(), []gdpr.SubjectID{"alice", "bob", "carol", bad, "dave"})
		wantError(t, "SubjectTokens with a bad ID at index 3", err, "subject tokens", "subjects[3]", audit.ErrInvalid, gdpr.ErrInvalid)
		if err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "alice")) {
			t.Errorf("the error %q holds a subject ID", err)
		}
	}
	if l, b := s.lookups.Load()-lookups, s.batches.Load()-batches; l != 0 || b != 0 {
		t.Errorf("refused SubjectTokens calls read %d salts and made %d LookupSalts calls; want none: IDs are checked first", l, b)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = f.log.SubjectTokens(ctx, []gdpr.SubjectID{"alice", "dave"})
	wantError(t, "SubjectTokens with a canceled context", err, "subject tokens", "", context.Canceled, nil)
}

// badSalts is a Store whose LookupSalts answers wrongly.
type badSalts struct {
	audit.Store
	salts [][]byte
}

func (s badSalts) LookupSalts(context.Context, [][]byte) ([][]byte, error) { return s.salts, nil }

func TestSubjectTokensBadStore(t *testing.T) {
	f := open(t, memaudit.New())
	recordTrail(t, f, 4)
	for _, c := range []struct {
		name     string
		salts    [][]byte
		sentinel error
	}{
		{"a salt of 3 bytes", [][]byte{{1, 2, 3}}, audit.ErrTampered},
		{"two salts for one ref", [][]byte{nil, nil}, nil},
	} {
		l := reopenOver(t, f, badSalts{f.store, c.salts})
		got, err := l.SubjectTokens(t.Context(), []gdpr.SubjectID{"dave"})
		if err == nil || got != nil {
			t.Errorf("SubjectTokens over a Store that returns %s = %x, %v; want an error", c.name, got, err)
			continue
		}
		if c.sentinel != nil {
			wantError(t, c.name, err, "subject tokens", "", c.sentinel, nil)
		}
	}
}
