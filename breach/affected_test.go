package breach_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/breach"
)

// window is the tests' breach window: a compromised account, used on
// the morning of 11 May.
var (
	since = time.Date(2026, 5, 11, 8, 0, 0, 0, time.UTC)
	until = time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC)
)

func user(i int) string { return fmt.Sprintf("user-%05d", i) }

// trailFixture: users 0–99 read by agent-7 in the window, users 100–149
// read by agent-7 before it, users 150–199 by agent-2 in it; users 0–9
// only their payment data (encrypted), 10–19 payment and contact.
func trailFixture(t *testing.T) (*fixture, breach.Breach) {
	f := newFixture(t)
	for i := range 200 {
		at, actor := since.Add(time.Duration(i)*time.Minute), "agent-7"
		switch {
		case i >= 150:
			at, actor = since.Add(time.Duration(i-150)*time.Minute), "agent-2"
		case i >= 100:
			at = since.Add(-time.Duration(i) * time.Minute)
		}
		cats := []string{"contact", "orders"}
		switch {
		case i < 10:
			cats = []string{"payment"}
		case i < 20:
			cats = []string{"payment", "contact"}
		}
		f.trail.add(gdpr.SubjectID(user(i)), at, actor, cats...)
		if i%3 == 0 {
			f.trail.add(gdpr.SubjectID(user(i)), at.Add(30*time.Second), actor, cats...) // a second read
		}
	}
	f.trail.add("", since.Add(time.Minute), "agent-7", "orders") // an entry about no subject
	b, err := f.log.Record(context.Background(), report())
	if err != nil {
		t.Fatal(err)
	}
	return f, b
}

func scope() breach.Scope {
	return breach.Scope{TrailQuery: gdpr.TrailQuery{Since: since, Until: until, Actor: gdpr.Staff("agent-7")}}
}

func TestAffected(t *testing.T) {
	f, b := trailFixture(t)
	ctx := context.Background()
	var got []string
	// The host's user list: 300 users, some twice, most never read.
	cands := ids(400, func(i int) string { return user(i % 300) })
	a, err := f.log.Affected(ctx, b.ID, scope(), cands, func(s breach.Subject) error {
		got = append(got, string(s.ID))
		if s.Entries < 1 || s.First.Before(since) || !s.Last.Before(until) || len(s.Categories) == 0 {
			t.Errorf("subject %+v", s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, 100)
	for i := range want {
		want[i] = user(i)
	}
	if !slices.Equal(got, want) {
		t.Errorf("affected %d subjects %v…, want users 0–99 in candidate order, each once", len(got), got[:min(5, len(got))])
	}
	if a.Subjects != 100 || a.Tokens != 100 || a.Candidates != 400 || a.Unmatched != 0 || a.Entries != 135 || a.Unintelligible != 0 {
		t.Errorf("counts %+v", a)
	}
	if a.ByCategory["payment"] != 20 || a.ByCategory["contact"] != 90 || a.ByCategory["orders"] != 80 {
		t.Errorf("by category %v", a.ByCategory)
	}
	stored, _ := f.log.Get(ctx, b.ID)
	if stored.Affected == nil || stored.Affected.Subjects != 100 {
		t.Fatalf("the counts were not recorded: %+v", stored.Affected)
	}
	if sa := stored.Affected; sa.Scope.Actor.ID != "" || sa.Scope.Actor.Kind != gdpr.ActorStaff || len(sa.ActorRef) != 32 || sa.ScopeDigest == "" {
		t.Errorf("the stored scope keeps the staff ID, or no reference of it: %+v", sa)
	}
	// No ID reaches the store or the audit event.
	evs, _ := f.store.Events(ctx, b.ID)
	for _, ev := range evs {
		if strings.Contains(string(ev.Data), "user-") {
			t.Errorf("event %d holds a subject ID: %s", ev.Seq, ev.Data)
		}
	}
	for _, e := range f.rec.events {
		if e.Subject != "" {
			t.Errorf("audit event %s names a subject", e.Action)
		}
	}
}

// TestAffectedOutsideTheWindow: the same account's reads before the
// window, and another account's in it, find no one.
func TestAffectedOutsideTheWindow(t *testing.T) {
	f, b := trailFixture(t)
	ctx := context.Background()
	s := scope()
	s.Since, s.Until = since.Add(-24*time.Hour), since.Add(-3*time.Hour)
	a, err := f.log.Affected(ctx, b.ID, s, ids(100, user), nil)
	if err != nil || a.Subjects != 0 || a.Entries != 0 {
		t.Errorf("a window with no reads: %+v, %v", a, err)
	}
	s = scope()
	s.Actor = gdpr.Staff("agent-9")
	if a, err := f.log.Affected(ctx, b.ID, s, ids(200, user), nil); err != nil || a.Subjects != 0 {
		t.Errorf("an account that read nothing: %+v, %v", a, err)
	}
	s = scope()
	s.Since = since.Add(-3 * time.Hour) // the earlier reads too
	if a, _ := f.log.Affected(ctx, b.ID, s, ids(300, user), nil); a.Subjects != 150 {
		t.Errorf("a wider window: %d subjects, want 150", a.Subjects)
	}
}

// TestAffectedUnintelligible: subjects whose affected data was all
// encrypted under a key that stayed safe are reported apart, with the
// reasoning; the others are not, whatever their key.
func TestAffectedUnintelligible(t *testing.T) {
	f, b := trailFixture(t)
	ctx := context.Background()
	before := since.Add(-30 * 24 * time.Hour)
	for i := range 20 {
		k := gdpr.SubjectKey{State: gdpr.KeyLive, KEK: "kms-v3", Since: before}
		switch i {
		case 3:
			k.KEK = "kms-v2" // under the KEK that leaked
		case 4:
			k.Since = since.Add(time.Hour) // rewrapped during the window
		case 5:
			k = gdpr.SubjectKey{State: gdpr.KeyShredded, Since: before}
		case 6:
			k = gdpr.SubjectKey{State: gdpr.KeyShredded, Since: until} // shredded after
		case 7:
			k = gdpr.SubjectKey{} // no key
		}
		f.keys.m[gdpr.SubjectID(user(i))] = k
	}
	s := scope()
	s.Encrypted, s.SafeKEKs = []string{"payment"}, []string{"kms-v3"}
	var apart []string
	a, err := f.log.Affected(ctx, b.ID, s, ids(200, user), func(s breach.Subject) error {
		if s.Unintelligible {
			apart = append(apart, string(s.ID))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Users 0–9 had only payment data read; of them 3, 4, 6, 7 do not
	// qualify. Users 10–19 also had contact data read.
	want := []string{user(0), user(1), user(2), user(5), user(8), user(9)}
	if !slices.Equal(apart, want) {
		t.Errorf("unintelligible %v, want %v", apart, want)
	}
	if a.Unintelligible != 6 || a.Subjects != 100 || !strings.Contains(a.Reasoning, "Art. 34(3)(a)") || !strings.Contains(a.Reasoning, "kms-v3") {
		t.Errorf("summary %+v", a)
	}
	t.Run("needs the keys and the safe KEKs", func(t *testing.T) {
		g := newFixture(t)
		gb, _ := g.log.Record(ctx, report())
		s := scope()
		s.Encrypted = []string{"payment"}
		if _, err := g.log.Affected(ctx, gb.ID, s, ids(1, user), nil); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("no SafeKEKs: %v", err)
		}
		l, _ := breach.New(g.store, key, breach.WithTrail(g.trail))
		s.SafeKEKs = []string{"kms-v3"}
		if _, err := l.Affected(ctx, gb.ID, s, ids(1, user), nil); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("no WithKeys: %v", err)
		}
	})
}

func TestAffectedRefusals(t *testing.T) {
	f, b := trailFixture(t)
	ctx := context.Background()
	for name, c := range map[string]struct {
		s     breach.Scope
		cands func(yield func(gdpr.SubjectID, error) bool)
		field string
	}{
		"no window":        {breach.Scope{}, ids(1, user), "Scope.Since"},
		"window reversed":  {breach.Scope{TrailQuery: gdpr.TrailQuery{Since: until, Until: since}}, ids(1, user), "Scope.Since"},
		"unknown category": {breach.Scope{TrailQuery: gdpr.TrailQuery{Since: since, Until: until, Categories: []string{"health"}}}, ids(1, user), "Scope.Categories[0]"},
		"bad candidate":    {scope(), ids(3, func(i int) string { return []string{user(0), "", user(1)}[i] }), "candidates[1]"},
		"nil candidates":   {scope(), nil, "candidates"},
	} {
		_, err := f.log.Affected(ctx, b.ID, c.s, c.cands, nil)
		var be *breach.Error
		if !errors.As(err, &be) || be.Field != c.field || !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("%s: Affected = %v; want ErrInvalid at %s", name, err, c.field)
		}
	}
	if got, _ := f.log.Get(ctx, b.ID); got.Affected != nil {
		t.Error("a refused search was recorded")
	}
	boom := errors.New("host list unreadable")
	_, err := f.log.Affected(ctx, b.ID, scope(), func(yield func(gdpr.SubjectID, error) bool) {
		yield(gdpr.SubjectID(user(1)), nil)
		yield("", boom)
	}, nil)
	if !errors.Is(err, boom) {
		t.Errorf("a failing candidate stream = %v", err)
	}
	stop := errors.New("stop")
	if _, err := f.log.Affected(ctx, b.ID, scope(), ids(50, user), func(breach.Subject) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error = %v", err)
	}
	l, _ := breach.New(f.store, key)
	if _, err := l.Affected(ctx, b.ID, scope(), ids(1, user), nil); !errors.Is(err, breach.ErrNoTrail) {
		t.Errorf("without a trail = %v", err)
	}
}

// notifier records what it sent, and fails for the subjects in fail.
type notifier struct {
	mu   sync.Mutex
	sent map[gdpr.SubjectID]int
	fail map[gdpr.SubjectID]bool
	last breach.SubjectNotice
}

func (n *notifier) NotifySubject(_ context.Context, s gdpr.SubjectID, sn breach.SubjectNotice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail[s] {
		return errors.New("mailbox full")
	}
	if n.sent == nil {
		n.sent = map[gdpr.SubjectID]int{}
	}
	n.sent[s]++
	n.last = sn
	return nil
}

func TestNotifySubjects(t *testing.T) {
	f, b := trailFixture(t)
	ctx := context.Background()
	n := &notifier{fail: map[gdpr.SubjectID]bool{gdpr.SubjectID(user(42)): true}}
	s := scope()
	s.Encrypted, s.SafeKEKs = []string{"payment"}, []string{"kms-v3"}
	if _, err := f.log.NotifySubjects(ctx, b.ID, s, ids(200, user), n); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("before an assessment: %v", err)
	}
	if _, err := f.log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.HighRisk, Reasoning: "Order history and contact data.",
		Exemptions: []breach.Exemption{{Ground: breach.Unintelligible, Reasoning: "Card data is encrypted under per-customer keys; the KEK was not exposed."}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.NotifySubjects(ctx, b.ID, s, ids(200, user), n); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("before Affected: %v", err)
	}
	for i := range 10 {
		f.keys.m[gdpr.SubjectID(user(i))] = gdpr.SubjectKey{State: gdpr.KeyLive, KEK: "kms-v3", Since: since.Add(-time.Hour)}
	}
	if _, err := f.log.Affected(ctx, b.ID, s, ids(200, user), nil); err != nil {
		t.Fatal(err)
	}
	// Art. 34(2): not without the likely consequences and the measures
	// (the register's DPO is the contact point).
	if _, err := f.log.NotifySubjects(ctx, b.ID, s, ids(200, user), n); !errors.Is(err, breach.ErrInvalid) || len(n.sent) != 0 {
		t.Errorf("without consequences and measures: %v", err)
	}
	if _, err := f.log.Update(ctx, b.ID, breach.Details{Consequences: "Targeted phishing.", Measures: "The account was locked."}); err != nil {
		t.Fatal(err)
	}
	// Another scope than the one searched is refused: the subjects told
	// are those the recorded counts are of.
	other := s
	other.Actor = gdpr.Staff("agent-2")
	if _, err := f.log.NotifySubjects(ctx, b.ID, other, ids(200, user), n); !errors.Is(err, breach.ErrInvalid) || len(n.sent) != 0 {
		t.Errorf("another scope: %v", err)
	}
	c, err := f.log.NotifySubjects(ctx, b.ID, s, ids(200, user), n)
	if err != nil {
		t.Fatal(err)
	}
	if c != (breach.Communications{Sent: 89, Failed: 1, Skipped: 10}) {
		t.Errorf("communications %+v, want 89 sent, 1 failed, 10 skipped", c)
	}
	if n.sent[gdpr.SubjectID(user(150))] != 0 || n.sent[gdpr.SubjectID(user(3))] != 0 || n.sent[gdpr.SubjectID(user(50))] != 1 {
		t.Errorf("sent to the wrong subjects")
	}
	if !strings.Contains(n.last.Text, "Example Shop GmbH") || !strings.Contains(n.last.Text, report().Description) || !strings.Contains(n.last.Text, b.ID) ||
		!strings.Contains(n.last.Text, "dpo@shop.example") {
		t.Errorf("notice text:\n%s", n.last.Text)
	}
	// Again: nobody told twice; the failed one tried again.
	delete(n.fail, gdpr.SubjectID(user(42)))
	c, err = f.log.NotifySubjects(ctx, b.ID, s, ids(200, user), n)
	if err != nil || c != (breach.Communications{Sent: 90, Skipped: 10}) {
		t.Errorf("second run %+v, %v", c, err)
	}
	for s, k := range n.sent {
		if k != 1 {
			t.Errorf("%s told %d times", s, k)
		}
	}
	// The exemption dropped (the KEK leaked after all): the skipped are
	// told now, and no one else again.
	if _, err := f.log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.HighRisk, Reasoning: "The KEK leaked too."}); err != nil {
		t.Fatal(err)
	}
	c, err = f.log.NotifySubjects(ctx, b.ID, s, ids(200, user), n)
	if err != nil || c != (breach.Communications{Sent: 100}) {
		t.Errorf("after dropping Art. 34(3)(a): %+v, %v", c, err)
	}
	if n.sent[gdpr.SubjectID(user(3))] != 1 {
		t.Errorf("a subject skipped before was not told")
	}
	// Each outcome through the Recorder, about the subject.
	told := 0
	for _, e := range f.rec.events {
		if e.Action == "breach.subject_notified" {
			told++
			if e.Subject == "" || e.Resource != "breach/"+b.ID {
				t.Errorf("event %+v", e)
			}
		}
	}
	if told != 111 {
		t.Errorf("%d subject events, want 111 (90 sent, 1 failed then sent, 10 skipped then sent)", told)
	}
	// The store names subjects by keyed reference only.
	ns, _ := f.store.Notices(ctx, b.ID, nil, breach.MaxPage)
	for _, no := range ns {
		if strings.Contains(string(no.Ref), "user-") || len(no.Ref) != 32 {
			t.Errorf("notice ref %q", no.Ref)
		}
	}
	got, _ := f.log.Get(ctx, b.ID)
	if got.Communications != (breach.Communications{Sent: 100}) {
		t.Errorf("recorded communications %+v", got.Communications)
	}
}

func TestNotifySubjectsRefusals(t *testing.T) {
	ctx := context.Background()
	f, b := trailFixture(t)
	if _, err := f.log.Affected(ctx, b.ID, scope(), ids(10, user), nil); err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]breach.Assessment{
		"no risk": {Risk: breach.NoRisk, Reasoning: "only public data"},
		"public communication instead": {Risk: breach.HighRisk, Reasoning: "r",
			Exemptions: []breach.Exemption{{Ground: breach.Disproportionate, Reasoning: "no contact details for most"}}},
	} {
		if _, err := f.log.Assess(ctx, b.ID, a); err != nil {
			t.Fatal(err)
		}
		n := &notifier{}
		if _, err := f.log.NotifySubjects(ctx, b.ID, scope(), ids(10, user), n); !errors.Is(err, breach.ErrInvalid) || len(n.sent) != 0 {
			t.Errorf("%s: NotifySubjects = %v, sent %d", name, err, len(n.sent))
		}
	}
	if _, err := f.log.NotifySubjects(ctx, b.ID, scope(), ids(10, user), nil); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("nil notifier: %v", err)
	}
	// The public communication is recorded as such.
	p, err := f.log.Publish(ctx, b.ID, breach.Public{Channel: "notice on the shop's home page", URL: "https://shop.example/security-notice",
		Reasoning: "No current contact details for most of the customers concerned."})
	if err != nil || len(p.Public) != 1 {
		t.Fatalf("Publish = %v", err)
	}
	if _, err := f.log.Publish(ctx, b.ID, breach.Public{Channel: "x"}); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Publish without reasoning = %v", err)
	}
	if _, err := f.log.Publish(ctx, b.ID, breach.Public{Channel: "x", Reasoning: "r", URL: "javascript:alert(1)"}); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Publish with a javascript: URL = %v", err)
	}
}

func TestAuthorityNotice(t *testing.T) {
	f, b := trailFixture(t)
	ctx := context.Background()
	n, err := f.log.AuthorityNotice(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	var follow []string
	for _, it := range n.ToFollow {
		follow = append(follow, it.Article+" "+it.What)
	}
	want := []string{
		"Art. 33(3)(a) approximate number of data subjects", "Art. 33(3)(a) approximate number of personal data records",
		"Art. 33(3)(c) likely consequences", "Art. 33(3)(d) measures taken or proposed",
	}
	if !slices.Equal(follow, want) {
		t.Errorf("to follow %q, want %q", follow, want)
	}
	if n.Controller == nil || n.Controller.Name != "Example Shop GmbH" || n.DPO == nil || n.Late || n.Zone != "Europe/Berlin" {
		t.Errorf("notice %+v", n)
	}
	if len(n.Categories) != 2 || n.Categories[0].Description == "" {
		t.Errorf("categories %+v", n.Categories)
	}
	if _, err := f.log.Update(ctx, b.ID, breach.Details{Subjects: 100, Records: 135, Consequences: "c", Measures: "m",
		Contact: breach.Contact{Name: "DPO", Email: "dpo@shop.example"}}); err != nil {
		t.Fatal(err)
	}
	n, _ = f.log.AuthorityNotice(ctx, b.ID)
	if len(n.ToFollow) != 0 {
		t.Errorf("complete, yet to follow: %v", n.ToFollow)
	}
	j, err := json.Marshal(n)
	if err != nil || !strings.Contains(string(j), `"due":"2026-05-15T15:00:00+02:00"`) {
		t.Errorf("JSON %s, %v", j, err)
	}
	*f.clock = n.Due
	if n, _ = f.log.AuthorityNotice(ctx, b.ID); !n.Late {
		t.Error("not late at Due")
	}
	// Without a DPO in a register, the contact point is to follow until
	// the breach names one.
	l, _ := breach.New(f.store, key, breach.WithClock(func() time.Time { return now }))
	other, _ := l.Record(ctx, report())
	n, _ = l.AuthorityNotice(ctx, other.ID)
	if !slices.Contains(n.ToFollow, breach.Item{Article: "Art. 33(3)(b)", What: "contact point for more information"}) {
		t.Errorf("no register, no contact: to follow %v", n.ToFollow)
	}
}
