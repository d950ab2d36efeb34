package erasure_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
	"github.com/gdprkit/gdpr/gdprtest"
	"github.com/gdprkit/gdpr/internal/clock"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// table is a host's store of personal data: a target of erasures.
type table struct {
	name    string
	mu      sync.Mutex
	rows    map[gdpr.SubjectID]int
	calls   map[gdpr.SubjectID]int // successful erasures
	fail    int                    // fail this many more calls
	active  map[gdpr.SubjectID]int // erasures in flight per subject
	overlap atomic.Int32           // times two erasures of one subject overlapped
	hook    func(ctx context.Context, s gdpr.SubjectID)
}

func newTable(name string) *table {
	return &table{name: name, rows: map[gdpr.SubjectID]int{}, calls: map[gdpr.SubjectID]int{}, active: map[gdpr.SubjectID]int{}}
}

func (t *table) seed(s gdpr.SubjectID, n int) {
	t.mu.Lock()
	t.rows[s] += n
	t.mu.Unlock()
}

func (t *table) has(s gdpr.SubjectID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rows[s] > 0
}

func (t *table) succeeded(s gdpr.SubjectID) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[s]
}

func (t *table) EraseSubject(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	t.mu.Lock()
	t.active[s]++
	if t.active[s] > 1 {
		t.overlap.Add(1)
	}
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.active[s]--
		t.mu.Unlock()
	}()
	if t.hook != nil {
		t.hook(ctx, s)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail > 0 {
		t.fail--
		return gdpr.ErasureReport{}, fmt.Errorf("%s unavailable for %s", t.name, s)
	}
	n := t.rows[s]
	delete(t.rows, s)
	t.calls[s]++
	return gdpr.ErasureReport{Erased: int64(n)}, nil
}

type fixture struct {
	clk     *clock.Fake
	store   *memerasure.Store
	journal *memerasure.Journal
	tables  []*table
	events  *gdprtest.Recorder
	notices []erasure.Notice
	alerts  []erasure.Alert
	mu      sync.Mutex
}

func newFixture(t *testing.T, n int, opts ...erasure.Option) (*fixture, *erasure.Engine) {
	t.Helper()
	f := &fixture{clk: clock.NewFake(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)), store: memerasure.New(),
		journal: memerasure.NewJournal(), events: new(gdprtest.Recorder)}
	var targets []erasure.Target
	for i := range n {
		tb := newTable(fmt.Sprintf("t%d", i+1))
		f.tables = append(f.tables, tb)
		targets = append(targets, erasure.Target{Name: tb.name, Eraser: tb, Categories: []string{"profile"}})
	}
	base := []erasure.Option{
		erasure.WithTargets(targets...), erasure.WithClock(f.clk.Now), erasure.WithJournal(f.journal),
		erasure.WithRecorder(f.events), erasure.WithRetry(3, time.Second, time.Minute),
		erasure.WithNotifier(erasure.NotifierFunc(func(_ context.Context, n erasure.Notice) error {
			f.mu.Lock()
			f.notices = append(f.notices, n)
			f.mu.Unlock()
			return nil
		})),
		erasure.WithAlert(func(_ context.Context, a erasure.Alert) {
			f.mu.Lock()
			f.alerts = append(f.alerts, a)
			f.mu.Unlock()
		}),
	}
	e, err := erasure.New(f.store, testKey, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return f, e
}

func (f *fixture) seed(s gdpr.SubjectID) {
	for _, t := range f.tables {
		t.seed(s, 2)
	}
}

func submit(t *testing.T, e *erasure.Engine, s gdpr.SubjectID) erasure.Request {
	t.Helper()
	r, created, err := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: s, Channel: "email"})
	if err != nil || !created {
		t.Fatalf("Submit: %v (created %v)", err, created)
	}
	return r
}

func TestErasureEndToEnd(t *testing.T) {
	f, e := newFixture(t, 3)
	const s = gdpr.SubjectID("ann@example.org")
	f.seed(s)
	r := submit(t, e, s)
	if r.State != erasure.StateVerified || r.Subject != s || r.SubjectRef != e.SubjectRef(s) {
		t.Fatalf("submitted request: state %s", r.State)
	}
	if want := time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC); !r.Deadline.LastDay.Equal(want) {
		t.Errorf("deadline last day %v, want %v", r.Deadline.LastDay, want)
	}
	got, err := e.Process(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != erasure.StateCompleted {
		t.Fatalf("state %s, want completed; steps %+v", got.State, got.Steps)
	}
	for i, tb := range f.tables {
		if tb.has(s) || tb.succeeded(s) != 1 {
			t.Errorf("target %s: data left %v, erasures %d", tb.name, tb.has(s), tb.succeeded(s))
		}
		if st := got.Steps[i]; st.Target != tb.name || st.Outcome != erasure.OutcomeErased || st.Count != 2 {
			t.Errorf("step %d: %+v", i, st)
		}
	}
	if got.Subject != "" || got.Closed.IsZero() {
		t.Errorf("closed request keeps subject %q, closed %v", got.Subject, got.Closed)
	}
	stored, _ := e.Get(t.Context(), r.ID)
	if stored.Subject != "" || stored.State != erasure.StateCompleted || stored.Version != got.Version {
		t.Errorf("stored: subject %q state %s version %d (returned %d)", stored.Subject, stored.State, stored.Version, got.Version)
	}
	es, _ := f.journal.Match(t.Context(), []string{e.SubjectRef(s)})
	if len(es) != 1 || es[0].RequestID != r.ID || strings.Join(es[0].Targets, ",") != "t1,t2,t3" {
		t.Errorf("journal: %+v", es)
	}
	for _, ev := range f.events.Events() {
		if ev.Subject != "" {
			t.Errorf("event %s names the subject", ev.Action)
		}
	}
	if n := len(f.events.ByAction("erasure.step")); n != 3 {
		t.Errorf("%d erasure.step events, want 3", n)
	}
	if len(f.notices) != 1 || f.notices[0].Type != erasure.NoticeCompleted || f.notices[0].Request.Subject != s {
		t.Errorf("notices: %+v", f.notices)
	}
	// Processing again changes nothing.
	again, err := e.Process(t.Context(), r.ID)
	if err != nil || again.Version != got.Version {
		t.Errorf("Process of a closed request: %v, version %d → %d", err, got.Version, again.Version)
	}
	for _, tb := range f.tables {
		if tb.succeeded(s) != 1 {
			t.Errorf("%s erased %d times", tb.name, tb.succeeded(s))
		}
	}
	for _, v := range []string{fmt.Sprint(got), fmt.Sprintf("%+v", got), fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", r)} {
		if strings.Contains(v, string(s)) {
			t.Errorf("fmt of a request prints the subject: %s", v)
		}
	}
}

func TestDuplicateReturnsOpenRequest(t *testing.T) {
	_, e := newFixture(t, 1, erasure.WithIntake(func(context.Context, gdpr.Request) error { return nil }))
	r := submit(t, e, "u1")
	again, created, err := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1"})
	if err != nil || created || again.ID != r.ID {
		t.Fatalf("second Submit: %v created %v id %s, want %s", err, created, again.ID, r.ID)
	}
	if _, err := e.Process(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	third, created, err := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1"})
	if err != nil || !created || third.ID == r.ID {
		t.Fatalf("Submit after closure: %v created %v", err, created)
	}
}

func TestIntakeRefusal(t *testing.T) {
	limit := errors.New("rate limited")
	f, e := newFixture(t, 1, erasure.WithIntake(func(context.Context, gdpr.Request) error { return limit }))
	_, _, err := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1"})
	if !errors.Is(err, erasure.ErrRefused) || !errors.Is(err, limit) {
		t.Fatalf("refused Submit: %v", err)
	}
	if rs, _ := f.store.List(t.Context(), erasure.Filter{}); len(rs) != 0 {
		t.Errorf("a refused request was stored")
	}
}

func TestBadInputWritesNothing(t *testing.T) {
	f, e := newFixture(t, 1)
	ctx := t.Context()
	cases := []struct {
		name  string
		s     erasure.Submission
		want  error
		field string
	}{
		{"unknown kind", erasure.Submission{Kind: "forget_me", Subject: "u1"}, erasure.ErrInvalid, "kind"},
		{"no handler", erasure.Submission{Kind: gdpr.KindAccess, Subject: "u1"}, erasure.ErrUnknownKind, "kind"},
		{"empty subject", erasure.Submission{Kind: gdpr.KindErasure}, erasure.ErrInvalid, "subject"},
		{"bad channel", erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1", Channel: "E Mail"}, erasure.ErrInvalid, "channel"},
		{"future", erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1", Received: f.clk.Now().Add(time.Hour)}, erasure.ErrInvalid, "received"},
	}
	for _, c := range cases {
		_, _, err := e.Submit(ctx, c.s)
		var ee *erasure.Error
		if !errors.Is(err, c.want) || !errors.Is(err, gdpr.ErrInvalid) || !errors.As(err, &ee) || ee.Field != c.field {
			t.Errorf("%s: %v (field %q), want %v on %s", c.name, err, fieldOf(err), c.want, c.field)
		}
	}
	//lint:ignore SA1012 the nil context is the case under test
	if _, _, err := e.Submit(nil, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1"}); !errors.Is(err, erasure.ErrInvalid) { //nolint:staticcheck
		t.Errorf("nil ctx: %v", err)
	}
	if rs, _ := f.store.List(ctx, erasure.Filter{}); len(rs) != 0 {
		t.Errorf("bad input stored %d requests", len(rs))
	}
}

func fieldOf(err error) string {
	var ee *erasure.Error
	if errors.As(err, &ee) {
		return ee.Field
	}
	return ""
}

func TestIllegalTransitions(t *testing.T) {
	f, e := newFixture(t, 1)
	ctx := t.Context()
	r := submit(t, e, "u1")
	done, err := e.Process(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"cancel closed":  func() error { _, err := e.Cancel(ctx, r.ID); return err },
		"reject closed":  func() error { _, err := e.Reject(ctx, r.ID, erasure.RejectExcessive, "repetitive"); return err },
		"retry closed":   func() error { _, err := e.Retry(ctx, r.ID); return err },
		"extend closed":  func() error { _, err := e.Extend(ctx, r.ID, 2, "complex"); return err },
		"verify closed":  func() error { _, err := e.Verified(ctx, r.ID); return err },
		"confirm closed": func() error { _, err := e.ConfirmIdentity(ctx, r.ID, "00000000"); return err },
	} {
		if err := call(); !errors.Is(err, erasure.ErrIllegalTransition) && !(name == "confirm closed" && errors.Is(err, erasure.ErrInvalid)) {
			t.Errorf("%s: %v, want ErrIllegalTransition", name, err)
		}
	}
	after, _ := f.store.Get(ctx, r.ID)
	if after.Version != done.Version {
		t.Errorf("illegal transitions wrote: version %d → %d", done.Version, after.Version)
	}
	// In progress: cannot be cancelled.
	tb := f.tables[0]
	block := make(chan struct{})
	entered := make(chan struct{})
	tb.hook = func(context.Context, gdpr.SubjectID) { close(entered); <-block }
	r2 := submit(t, e, "u2")
	go e.Process(ctx, r2.ID)
	<-entered
	if _, err := e.Cancel(ctx, r2.ID); !errors.Is(err, erasure.ErrIllegalTransition) {
		t.Errorf("cancel in progress: %v", err)
	}
	close(block)
}

func TestExtension(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithVerifier(manualVerifier{}))
	ctx := t.Context()
	// Received 31 January 2024 (a leap year): due by the end of
	// 29 February; extended by two months: 29 April (a Monday).
	f.clk.Set(time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC))
	r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC); !r.Deadline.LastDay.Equal(want) {
		t.Errorf("last day %v, want %v", r.Deadline.LastDay, want)
	}
	for _, bad := range []int{0, 3, -1} {
		if _, err := e.Extend(ctx, r.ID, bad, "complex"); !errors.Is(err, erasure.ErrInvalid) || fieldOf(err) != "months" {
			t.Errorf("extend by %d: %v", bad, err)
		}
	}
	if _, err := e.Extend(ctx, r.ID, 2, " "); !errors.Is(err, erasure.ErrInvalid) {
		t.Errorf("extend without reason: %v", err)
	}
	x, err := e.Extend(ctx, r.ID, 2, "many requests this month")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 4, 29, 0, 0, 0, 0, time.UTC); !x.Deadline.LastDay.Equal(want) || !x.Extended() {
		t.Errorf("extended last day %v, want %v", x.Deadline.LastDay, want)
	}
	if len(f.notices) != 1 || f.notices[0].Type != erasure.NoticeExtended || f.notices[0].Reasons != "many requests this month" ||
		!f.notices[0].Deadline.Due.Equal(x.Deadline.Due) {
		t.Errorf("extension notice: %+v", f.notices)
	}
	if _, err := e.Extend(ctx, r.ID, 1, "again"); !errors.Is(err, erasure.ErrInvalid) {
		t.Errorf("second extension: %v", err)
	}
	// After the first month, no extension.
	r2, _, _ := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u2"})
	f.clk.Set(r2.Deadline.Due)
	if _, err := e.Extend(ctx, r2.ID, 2, "late"); !errors.Is(err, erasure.ErrInvalid) {
		t.Errorf("extension after the deadline: %v", err)
	}
	if got, _ := e.Get(ctx, r2.ID); got.Extended() || got.Version != r2.Version {
		t.Errorf("a refused extension wrote")
	}
	// A notifier failure writes nothing.
	_, e3 := newFixture(t, 1, erasure.WithNotifier(erasure.NotifierFunc(func(context.Context, erasure.Notice) error { return errors.New("smtp down") })))
	r3 := submit(t, e3, "u3")
	if _, err := e3.Extend(ctx, r3.ID, 1, "complex"); !errors.Is(err, erasure.ErrNotify) {
		t.Errorf("extension with a failing notifier: %v", err)
	}
	if got, _ := e3.Get(ctx, r3.ID); got.Extended() {
		t.Error("extension written though the subject was not told")
	}
}

type manualVerifier struct{}

func (manualVerifier) Begin(context.Context, gdpr.Request) error { return nil }
func (manualVerifier) Check(context.Context, gdpr.Request, string) (erasure.Verdict, error) {
	return erasure.VerdictRetry, nil
}

func TestRejectionCarriesRemedies(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithVerifier(manualVerifier{}), erasure.WithAuthority(erasure.Authority{Name: "BfDI", URL: "https://www.bfdi.bund.de"}))
	ctx := t.Context()
	r, _, _ := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1"})
	if r.State != erasure.StateAwaitingIdentity {
		t.Fatalf("state %s, want awaiting_identity", r.State)
	}
	if _, err := e.Reject(ctx, r.ID, "because", "x"); !errors.Is(err, erasure.ErrInvalid) {
		t.Errorf("unknown reason: %v", err)
	}
	got, err := e.Reject(ctx, r.ID, erasure.RejectExcessive, "the fourth identical request this week")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != erasure.StateRejected || got.Rejection != erasure.RejectExcessive || got.Subject != "" {
		t.Errorf("rejected: %s %s", got.State, got.Rejection)
	}
	n := f.notices[len(f.notices)-1]
	if n.Type != erasure.NoticeRejected || n.Article != "Art. 12(5)(b)" || n.Request.Subject != "u1" || len(n.Remedies) != 2 ||
		n.Remedies[0].Article != "Art. 77" || n.Remedies[0].Authority.Name != "BfDI" || n.Remedies[1].Article != "Art. 79" {
		t.Errorf("rejection notice: %+v", n)
	}
}

func TestCodeVerification(t *testing.T) {
	codes := memerasure.NewCodeStore()
	var sent []string
	var mu sync.Mutex
	clk := clock.NewFake(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	v, err := erasure.NewCodeVerifier(codes, testKey, func(_ context.Context, r gdpr.Request, code string) error {
		mu.Lock()
		sent = append(sent, code)
		mu.Unlock()
		return nil
	}, erasure.CodeOptions{Attempts: 3, TTL: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	f, e := newFixture(t, 1, erasure.WithVerifier(v))
	f.clk = clk
	ctx := t.Context()
	r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1"})
	if err != nil || r.State != erasure.StateAwaitingIdentity || len(sent) != 1 || len(sent[0]) != erasure.CodeLen {
		t.Fatalf("submit: %v %s, sent %d", err, r.State, len(sent))
	}
	wrong := "00000000"
	if wrong == sent[0] {
		wrong = "11111111"
	}
	if _, err := e.ConfirmIdentity(ctx, r.ID, wrong); !errors.Is(err, erasure.ErrInvalidCode) {
		t.Errorf("wrong code: %v", err)
	}
	if got, _ := e.Get(ctx, r.ID); got.State != erasure.StateAwaitingIdentity {
		t.Errorf("after a wrong code: %s", got.State)
	}
	got, err := e.ConfirmIdentity(ctx, r.ID, sent[0])
	if err != nil || got.State != erasure.StateVerified {
		t.Fatalf("right code: %v %s", err, got.State)
	}
	// A code is used once, and expires.
	r2, _, _ := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u2"})
	clk.Add(2 * time.Hour)
	if _, err := e.ConfirmIdentity(ctx, r2.ID, sent[1]); !errors.Is(err, erasure.ErrInvalidCode) {
		t.Errorf("expired code: %v", err)
	}
	// Too many attempts reject the request (Art. 12(6)).
	r3, _, _ := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u3"})
	for range 3 {
		e.ConfirmIdentity(ctx, r3.ID, wrong)
	}
	_, err = e.ConfirmIdentity(ctx, r3.ID, sent[2])
	if !errors.Is(err, erasure.ErrTooManyAttempts) {
		t.Errorf("fourth attempt: %v", err)
	}
	if got, _ := e.Get(ctx, r3.ID); got.State != erasure.StateRejected || got.Rejection != erasure.RejectIdentity {
		t.Errorf("after too many attempts: %s %s", got.State, got.Rejection)
	}
	// A cancelled request's code goes with it.
	rc, _, _ := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u5"})
	if _, err := e.Cancel(ctx, rc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := codes.Attempt(ctx, rc.ID); !errors.Is(err, erasure.ErrNotFound) {
		t.Errorf("the code of a cancelled request is kept: %v", err)
	}
	// Reminders name the request, never the code.
	r4, _, _ := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u4"})
	clk.Add(30 * time.Minute)
	var reminded []string
	n, err := v.Remind(ctx, 20*time.Minute, 10, func(_ context.Context, id string) error { reminded = append(reminded, id); return nil })
	if err != nil || n != 1 || reminded[0] != r4.ID {
		t.Errorf("Remind: %d %v %v", n, err, reminded)
	}
	if n, _ := v.Remind(ctx, 20*time.Minute, 10, func(context.Context, string) error { return nil }); n != 0 {
		t.Errorf("a second Remind sent %d", n)
	}
}

func TestTargetFailsThenSucceeds(t *testing.T) {
	f, e := newFixture(t, 3, erasure.WithRetry(5, time.Second, time.Minute))
	ctx := t.Context()
	f.seed("u1")
	f.tables[1].fail = 3
	r := submit(t, e, "u1")
	got, err := e.Process(ctx, r.ID)
	for i := 0; i < 10 && got.State == erasure.StateInProgress; i++ {
		if !got.NextAt.After(f.clk.Now()) {
			t.Fatalf("a failed step left NextAt %v, not after now", got.NextAt)
		}
		f.clk.Set(got.NextAt)
		got, err = e.Process(ctx, r.ID)
	}
	if err != nil || got.State != erasure.StateCompleted {
		t.Fatalf("%v, state %s", err, got.State)
	}
	if got.Steps[1].Attempts != 4 || got.Steps[0].Attempts != 1 || got.Steps[2].Attempts != 1 {
		t.Errorf("attempts %d %d %d, want 1 4 1", got.Steps[0].Attempts, got.Steps[1].Attempts, got.Steps[2].Attempts)
	}
	for _, tb := range f.tables {
		if tb.succeeded("u1") != 1 {
			t.Errorf("%s succeeded %d times", tb.name, tb.succeeded("u1"))
		}
	}
	if len(f.events.ByAction("erasure.step")) != 6 {
		t.Errorf("%d step events, want 6 (3 failures recorded)", len(f.events.ByAction("erasure.step")))
	}
	for _, st := range got.Steps {
		if strings.Contains(st.Error, "u1") {
			t.Errorf("step error keeps the subject: %q", st.Error)
		}
	}
}

func TestFailureNeedsAPersonAndResumes(t *testing.T) {
	f, e := newFixture(t, 3) // 3 attempts
	ctx := t.Context()
	f.seed("u1")
	f.tables[1].fail = 3
	r := submit(t, e, "u1")
	got, _ := e.Process(ctx, r.ID)
	for i := 0; i < 5 && got.State == erasure.StateInProgress; i++ {
		f.clk.Set(got.NextAt)
		got, _ = e.Process(ctx, r.ID)
	}
	if got.State != erasure.StateFailed || got.Steps[1].Outcome != erasure.OutcomeFailed || got.Steps[2].Outcome != erasure.OutcomePending {
		t.Fatalf("state %s steps %+v", got.State, got.Steps)
	}
	if strings.Contains(got.Steps[1].Error, "u1") || !strings.Contains(got.Steps[1].Error, "[subject]") {
		t.Errorf("step error %q", got.Steps[1].Error)
	}
	if len(f.alerts) != 1 || f.alerts[0].Target != "t2" || f.alerts[0].Request != r.ID {
		t.Errorf("alerts: %+v", f.alerts)
	}
	// Failed is not due: Run and Process leave it.
	if again, _ := e.Process(ctx, r.ID); again.Version != got.Version {
		t.Error("Process worked on a failed request")
	}
	if _, err := e.Retry(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	got, err := e.Process(ctx, r.ID)
	if err != nil || got.State != erasure.StateCompleted {
		t.Fatalf("after Retry: %v %s", err, got.State)
	}
	if f.tables[0].succeeded("u1") != 1 || f.tables[1].succeeded("u1") != 1 || f.tables[2].succeeded("u1") != 1 {
		t.Error("a target ran twice or not at all after the retry")
	}
}

// TestCancelAtEveryStepBoundary stops the worker after each step in turn;
// the request completes when taken up again, and each target succeeds
// exactly once.
func TestCancelAtEveryStepBoundary(t *testing.T) {
	const steps = 4
	for stopAfter := 0; stopAfter <= steps+1; stopAfter++ {
		t.Run(fmt.Sprint(stopAfter), func(t *testing.T) {
			f, e := newFixture(t, steps)
			f.seed("u1")
			r := submit(t, e, "u1")
			ctx, cancel := context.WithCancel(t.Context())
			n := 0
			for _, tb := range f.tables {
				tb.hook = func(context.Context, gdpr.SubjectID) {
					n++
					if n == stopAfter {
						cancel() // the step completes; the worker stops at the boundary
					}
				}
			}
			if stopAfter == 0 {
				cancel()
			}
			got, err := e.Process(ctx, r.ID)
			cancel()
			if err != nil && !(stopAfter == 0 && errors.Is(err, context.Canceled)) {
				t.Fatal(err)
			}
			if stopAfter <= steps && got.State == erasure.StateCompleted {
				t.Fatalf("the worker went on after its context ended")
			}
			got, err = e.Process(t.Context(), r.ID)
			if err != nil || got.State != erasure.StateCompleted {
				t.Fatalf("resumed: %v %s", err, got.State)
			}
			for _, tb := range f.tables {
				if c := tb.succeeded("u1"); c != 1 {
					t.Errorf("%s succeeded %d times, want once", tb.name, c)
				}
			}
		})
	}
}

func TestLeaseExpiresMidStep(t *testing.T) {
	f, a := newFixture(t, 2, erasure.WithLease(10*time.Second), erasure.WithWorkerID("a"))
	b, err := erasure.New(f.store, testKey, erasure.WithTargets(erasure.Target{Name: "t1", Eraser: f.tables[0]}, erasure.Target{Name: "t2", Eraser: f.tables[1]}),
		erasure.WithClock(f.clk.Now), erasure.WithLease(10*time.Second), erasure.WithWorkerID("b"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	f.seed("u1")
	r := submit(t, a, "u1")
	stuck := make(chan struct{})
	release := make(chan struct{})
	first := true
	f.tables[0].hook = func(context.Context, gdpr.SubjectID) {
		if first {
			first = false
			close(stuck)
			<-release
		}
	}
	var aErr error
	done := make(chan struct{})
	go func() { _, aErr = a.Process(ctx, r.ID); close(done) }()
	<-stuck
	if _, err := b.Process(ctx, r.ID); !errors.Is(err, erasure.ErrLeased) {
		t.Errorf("b took a live lease: %v", err)
	}
	f.clk.Add(11 * time.Second) // a's lease expires (its heartbeat runs on real time, every 3.3 s)
	got, err := b.Process(ctx, r.ID)
	if err != nil || got.State != erasure.StateCompleted {
		t.Fatalf("takeover: %v %s", err, got.State)
	}
	close(release)
	<-done
	if !errors.Is(aErr, erasure.ErrLeaseLost) {
		t.Errorf("the worker that lost its lease: %v, want ErrLeaseLost", aErr)
	}
	final, _ := f.store.Get(ctx, r.ID)
	if final.Version != got.Version || final.State != erasure.StateCompleted {
		t.Errorf("the old worker wrote after losing its lease: version %d → %d", got.Version, final.Version)
	}
}

type holds map[gdpr.SubjectID][]gdpr.Hold

func (h holds) Holds(_ context.Context, s gdpr.SubjectID, _ time.Time) ([]gdpr.Hold, error) {
	return h[s], nil
}

func TestLegalHoldRetains(t *testing.T) {
	until := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	h := holds{"u1": {{ID: "case-7", Categories: []string{"invoices"}, Until: until, Reason: "pending litigation"}}}
	f := &fixture{clk: clock.NewFake(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)), store: memerasure.New(), events: new(gdprtest.Recorder)}
	profile, invoices := newTable("profile"), newTable("invoices")
	e, err := erasure.New(f.store, testKey, erasure.WithClock(f.clk.Now), erasure.WithLegalHolds(h),
		erasure.WithTargets(erasure.Target{Name: "profile", Eraser: profile, Categories: []string{"profile"}},
			erasure.Target{Name: "invoices", Eraser: invoices, Categories: []string{"invoices"}}))
	if err != nil {
		t.Fatal(err)
	}
	profile.seed("u1", 1)
	invoices.seed("u1", 4)
	r := submit(t, e, "u1")
	got, err := e.Process(t.Context(), r.ID)
	if err != nil || got.State != erasure.StateCompletedWithExemptions {
		t.Fatalf("%v %s", err, got.State)
	}
	if profile.has("u1") || !invoices.has("u1") {
		t.Errorf("profile left %v, invoices kept %v", profile.has("u1"), invoices.has("u1"))
	}
	x := got.Exemptions()
	if len(x) != 1 || x[0].Ground != gdpr.GroundLegalClaims || !x[0].Until.Equal(until) || x[0].Category != "invoices" ||
		got.Steps[1].Outcome != erasure.OutcomeRetained {
		t.Errorf("exemptions %+v, step %+v", x, got.Steps[1])
	}
}

type slowKeys struct{ *table }

func (slowKeys) ErasureLatency() time.Duration { return 5 * time.Minute }

func TestWaitsOutKeyCaches(t *testing.T) {
	f := &fixture{clk: clock.NewFake(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)), store: memerasure.New()}
	keys := slowKeys{newTable("keys")}
	e, _ := erasure.New(f.store, testKey, erasure.WithClock(f.clk.Now), erasure.WithTargets(erasure.Target{Name: "keys", Eraser: keys}))
	keys.seed("u1", 1)
	r := submit(t, e, "u1")
	got, err := e.Process(t.Context(), r.ID)
	if err != nil || got.State != erasure.StateInProgress || !got.NextAt.Equal(f.clk.Now().Add(5*time.Minute)) {
		t.Fatalf("before the caches expire: %v %s next %v", err, got.State, got.NextAt)
	}
	f.clk.Add(4 * time.Minute)
	if got, _ = e.Process(t.Context(), r.ID); got.State != erasure.StateInProgress {
		t.Fatalf("completed within the cache window: %s", got.State)
	}
	f.clk.Add(time.Minute)
	if got, _ = e.Process(t.Context(), r.ID); got.State != erasure.StateCompleted {
		t.Fatalf("after the window: %s", got.State)
	}
	// Nothing found is waited out too: a shred retried after a crash
	// finds its key gone already, while other instances may still hold it.
	r2 := submit(t, e, "nobody")
	if got, _ := e.Process(t.Context(), r2.ID); got.State != erasure.StateInProgress || got.Steps[0].Outcome != erasure.OutcomeNothingFound {
		t.Errorf("an erasure that found nothing did not wait: %s", got.State)
	}
}

func TestOtherKindsUseTheirHandler(t *testing.T) {
	var seen []gdpr.Request
	h := gdpr.RequestHandlerFunc(func(_ context.Context, r gdpr.Request) (gdpr.RequestResult, error) {
		seen = append(seen, r)
		return gdpr.RequestResult{Records: 12, Reference: "bundle-1"}, nil
	})
	_, e := newFixture(t, 1, erasure.WithHandler(gdpr.KindAccess, h))
	r, _, err := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindAccess, Subject: "u1", Params: map[string]string{"format": "json"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Process(t.Context(), r.ID)
	if err != nil || got.State != erasure.StateCompleted || len(seen) != 1 || seen[0].Subject != "u1" || seen[0].Params["format"] != "json" ||
		got.Steps[0].Reference != "bundle-1" || got.Steps[0].Count != 12 {
		t.Fatalf("%v %s %+v", err, got.State, got.Steps)
	}
	// An access and an erasure of one subject are both open at once.
	if _, created, _ := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1"}); !created {
		t.Error("an erasure was taken for a duplicate of an access request")
	}
}

// TestRunManyEngines runs four Engines over one store on many requests:
// each completes, each target erases each subject once, and no subject is
// in two workers at once.
func TestRunManyEngines(t *testing.T) {
	store := memerasure.New()
	tables := []*table{newTable("a"), newTable("b")}
	var engines []*erasure.Engine
	for i := range 4 {
		e, err := erasure.New(store, testKey, erasure.WithTargets(erasure.Target{Name: "a", Eraser: tables[0]}, erasure.Target{Name: "b", Eraser: tables[1]}),
			erasure.WithWorkers(3), erasure.WithPoll(5*time.Millisecond), erasure.WithWorkerID(fmt.Sprintf("w%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	const subjects, perSubject = 60, 3
	var ids []string
	for i := range subjects {
		s := gdpr.SubjectID(fmt.Sprintf("s%d", i))
		for _, tb := range tables {
			tb.seed(s, 1)
		}
		// The subject asks several times, through different instances:
		// one request.
		for k := range perSubject {
			r, created, err := engines[(i+k)%4].Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: s})
			if err != nil {
				t.Fatal(err)
			}
			if created {
				ids = append(ids, r.ID)
			}
		}
	}
	if len(ids) != subjects {
		t.Fatalf("%d requests created, want one per subject", len(ids))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() { defer wg.Done(); e.Run(ctx) }()
	}
	for {
		st, _ := engines[0].Counts(t.Context(), erasure.Filter{States: []erasure.State{erasure.StateCompleted}}, 0)
		if st.Total == subjects || ctx.Err() != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	for _, id := range ids {
		if r, _ := store.Get(t.Context(), id); r.State != erasure.StateCompleted {
			t.Errorf("request %s: %s", id, r.State)
		}
	}
	for _, tb := range tables {
		if tb.overlap.Load() != 0 {
			t.Errorf("%s: one subject in two workers at once %d times", tb.name, tb.overlap.Load())
		}
		for i := range subjects {
			if c := tb.succeeded(gdpr.SubjectID(fmt.Sprintf("s%d", i))); c != 1 {
				t.Errorf("%s erased s%d %d times", tb.name, i, c)
			}
		}
	}
}

func TestQueries(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithVerifier(manualVerifier{}))
	ctx := t.Context()
	start := f.clk.Now()
	for i := range 5 {
		f.clk.Set(start.Add(time.Duration(i) * 72 * time.Hour))
		e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: gdpr.SubjectID(fmt.Sprint("u", i))})
	}
	f.clk.Set(start.AddDate(0, 1, 4)) // 14 April, 09:00
	over, err := e.Overdue(ctx, erasure.Filter{})
	if err != nil || len(over) != 2 {
		t.Fatalf("overdue: %d %v, want 2", len(over), err)
	}
	soon, _ := e.DueWithin(ctx, 4*24*time.Hour, erasure.Filter{})
	if len(soon) != 3 {
		t.Errorf("due within 4 days: %d, want 3", len(soon))
	}
	st, err := e.Counts(ctx, erasure.Filter{}, 4*24*time.Hour)
	if err != nil || st.Total != 5 || st.Overdue != 2 || st.DueSoon != 3 || st.ByState[erasure.StateAwaitingIdentity] != 5 || st.ByKind[gdpr.KindErasure] != 5 {
		t.Errorf("counts %+v %v", st, err)
	}
	mine, _ := e.ForSubject(ctx, "u3", erasure.Filter{})
	if len(mine) != 1 {
		t.Errorf("ForSubject: %d", len(mine))
	}
	if _, err := e.List(ctx, erasure.Filter{States: []erasure.State{"lost"}}); !errors.Is(err, erasure.ErrInvalid) {
		t.Errorf("unknown state filter: %v", err)
	}
}

func TestEngineRecordsAsEraserAndExporter(t *testing.T) {
	gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
		_, e := newFixture(t, 1)
		return gdprtest.EraserFixture{
			Eraser: e,
			Seed: func(ctx context.Context, s gdpr.SubjectID, _ string) error {
				r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: s})
				if err != nil {
					return err
				}
				_, err = e.Process(ctx, r.ID)
				return err
			},
			Present: gdprtest.ExportsAny(e),
		}
	})
}

func TestPurgeAfterAccountabilityPeriod(t *testing.T) {
	f, e := newFixture(t, 1, erasure.WithAccountability(gdpr.Period{Years: 1}))
	r := submit(t, e, "u1")
	e.Process(t.Context(), r.ID)
	open := submit(t, e, "u2")
	f.clk.Set(f.clk.Now().AddDate(1, 0, -1))
	if n, _ := e.Purge(t.Context()); n != 0 {
		t.Errorf("purged %d within the period", n)
	}
	f.clk.Add(48 * time.Hour)
	if n, err := e.Purge(t.Context()); n != 1 || err != nil {
		t.Errorf("purged %d %v, want 1", n, err)
	}
	if _, err := e.Get(t.Context(), open.ID); err != nil {
		t.Errorf("an open request was purged: %v", err)
	}
}

func TestAuthenticatedSkipsTheVerifier(t *testing.T) {
	asked := 0
	v := verifierFunc(func() { asked++ })
	_, e := newFixture(t, 1, erasure.WithVerifier(v))
	r, _, err := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1", Authenticated: true})
	if err != nil || r.State != erasure.StateVerified || asked != 0 {
		t.Fatalf("authenticated submit: %v %s, verifier asked %d times", err, r.State, asked)
	}
	if h := r.History[len(r.History)-1]; h.Actor.Kind != gdpr.ActorSubject || h.Note != "authenticated" {
		t.Errorf("verification recorded as %+v", h)
	}
	r2, _, _ := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "u2", Channel: "email"})
	if r2.State != erasure.StateAwaitingIdentity || asked != 1 {
		t.Errorf("e-mail request: %s, asked %d", r2.State, asked)
	}
}

type verifierFunc func()

func (f verifierFunc) Begin(context.Context, gdpr.Request) error { f(); return nil }
func (verifierFunc) Check(context.Context, gdpr.Request, string) (erasure.Verdict, error) {
	return erasure.VerdictRetry, nil
}

// flakyRenew is a Store whose Renew fails as an unreachable database would.
type flakyRenew struct{ *memerasure.Store }

func (flakyRenew) Renew(context.Context, erasure.Lease, time.Time, time.Time) error {
	return errors.New("connection refused")
}

// TestWorkerStopsWhenItsLeaseRunsOut: a worker that cannot renew its
// lease stops once the lease has run out, since another worker may take
// the subject from then on.
func TestWorkerStopsWhenItsLeaseRunsOut(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	tb := newTable("slow")
	entered := make(chan struct{})
	tb.hook = func(ctx context.Context, _ gdpr.SubjectID) {
		close(entered)
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
	}
	e, err := erasure.New(flakyRenew{memerasure.New()}, testKey, erasure.WithClock(clk.Now), erasure.WithLease(time.Second),
		erasure.WithTargets(erasure.Target{Name: "slow", Eraser: tb}))
	if err != nil {
		t.Fatal(err)
	}
	r := submit(t, e, "u1")
	done := make(chan error, 1)
	start := time.Now()
	go func() { _, err := e.Process(t.Context(), r.ID); done <- err }()
	<-entered
	clk.Add(2 * time.Second)
	err = <-done
	if !errors.Is(err, erasure.ErrLeaseLost) || time.Since(start) > 5*time.Second {
		t.Errorf("Process with a lease that ran out: %v after %v, want ErrLeaseLost within a renewal period", err, time.Since(start))
	}
}
