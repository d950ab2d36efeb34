package erasure_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/erasuretest"
	"github.com/gdprkit/gdpr/erasure/memerasure"
	"github.com/gdprkit/gdpr/internal/clock"
)

func TestFileJournal(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "journal")
	j, err := erasure.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	ref := strings.Repeat("ab", 32)
	at := time.Date(2026, 3, 10, 9, 0, 0, 123456789, time.FixedZone("x", 3600))
	e1 := erasure.JournalEntry{RequestID: "r1", SubjectRef: ref, Completed: at, Targets: []string{"ledger", "keys"}}
	if err := j.Append(ctx, e1); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(ctx, e1); err != nil {
		t.Fatalf("idempotent append: %v", err)
	}
	if err := j.Append(ctx, erasure.JournalEntry{RequestID: "r2", SubjectRef: "not hex", Completed: at, Targets: []string{"a"}}); !errors.Is(err, erasure.ErrInvalid) {
		t.Errorf("bad entry: %v", err)
	}
	j.Close()
	// Reopen: the entries are read back; a torn last line is dropped.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"request":"r3","subject_ref":"` + ref + `","comp`)
	f.Close()
	j, err = erasure.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := j.Match(ctx, []string{ref, strings.Repeat("cd", 32)})
	if err != nil || len(got) != 1 || got[0].RequestID != "r1" || !got[0].Completed.Equal(at.Truncate(time.Microsecond)) ||
		got[0].Completed.Location() != time.UTC || len(got[0].Targets) != 2 {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
	if err := j.Append(ctx, erasure.JournalEntry{RequestID: "r4", SubjectRef: ref, Completed: at.Add(time.Hour), Targets: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	// A second opener, while the first holds the file, is refused.
	if _, err := erasure.OpenFileJournal(path); !errors.Is(err, erasure.ErrConflict) {
		t.Errorf("second open of a held journal: %v", err)
	}
	j.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("journal file mode %v, want 0600", fi.Mode().Perm())
	}
	j, _ = erasure.OpenFileJournal(path)
	defer j.Close()
	if got, _ := j.Match(ctx, []string{ref}); len(got) != 2 || got[1].RequestID != "r4" {
		t.Errorf("after the torn line was replaced: %+v", got)
	}
	// A corrupt line in the middle is an error, not silently skipped.
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("{\"request\":1}\n"), 0o600)
	if _, err := erasure.OpenFileJournal(bad); !errors.Is(err, erasure.ErrInvalid) {
		t.Errorf("corrupt journal: %v", err)
	}
}

// TestRestoreAndReplay erases a subject, restores the host's data from a
// backup taken before, and replays the journal: the subject is gone again,
// and a subject never erased is untouched.
func TestRestoreAndReplay(t *testing.T) {
	f, e := newFixture(t, 2)
	ctx := t.Context()
	f.seed("gone")
	f.seed("stays")
	backup := map[string]map[gdpr.SubjectID]int{}
	for _, tb := range f.tables {
		backup[tb.name] = map[gdpr.SubjectID]int{"gone": 2, "stays": 2}
	}
	r := submit(t, e, "gone")
	if got, _ := e.Process(ctx, r.ID); got.State != erasure.StateCompleted {
		t.Fatalf("erasure: %s", got.State)
	}
	// The restore brings the erased subject back into the host's tables
	// (the journal lives elsewhere and keeps its entry).
	for _, tb := range f.tables {
		tb.mu.Lock()
		for s, n := range backup[tb.name] {
			tb.rows[s] = n
		}
		tb.mu.Unlock()
	}
	rep, err := e.Replay(ctx, []gdpr.SubjectID{"stays", "gone", "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 2 || rep.Matched != 1 || len(rep.Requests) != 1 || rep.Requests[0].Of != r.ID ||
		rep.Requests[0].State != erasure.StateCompleted {
		t.Fatalf("replay report %+v", rep)
	}
	for _, tb := range f.tables {
		if tb.has("gone") || !tb.has("stays") {
			t.Errorf("%s after replay: gone present %v, stays present %v", tb.name, tb.has("gone"), tb.has("stays"))
		}
	}
	replayed, _ := e.Get(ctx, rep.Requests[0].ID)
	if replayed.Channel != "replay" || replayed.Params["replay_of"] != r.ID {
		t.Errorf("replayed request: channel %s params %v", replayed.Channel, replayed.Params)
	}
	// Without a journal, Replay is refused.
	plain, _ := erasure.New(memerasure.New(), testKey, erasure.WithTargets(erasure.Target{Name: "a", Eraser: f.tables[0]}))
	if _, err := plain.Replay(ctx, []gdpr.SubjectID{"gone"}); !errors.Is(err, erasure.ErrInvalid) {
		t.Errorf("Replay without a journal: %v", err)
	}
}

func TestReceipt(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	until := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	h := holds{"u1": {{ID: "c1", Categories: []string{"profile"}, Until: until, Reason: "claim"}}}
	_, e := newFixture(t, 2, erasure.WithReceiptKey(priv), erasure.WithLegalHolds(h))
	ctx := t.Context()
	r := submit(t, e, "u1")
	if _, err := e.Receipt(ctx, r.ID); !errors.Is(err, erasure.ErrIllegalTransition) {
		t.Errorf("receipt of an open request: %v", err)
	}
	e.Process(ctx, r.ID)
	jws, err := e.Receipt(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(jws, ".")[1])
	if strings.Contains(string(payload), "u1") || strings.Contains(string(payload), e.SubjectRef("u1")) {
		t.Error("the receipt names the subject")
	}
	rc, err := erasure.VerifyReceipt(jws, pub)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Request != r.ID || rc.State != erasure.StateCompletedWithExemptions || len(rc.Steps) != 2 || len(rc.Exempt) != 2 ||
		rc.Exempt[0].Ground != gdpr.GroundLegalClaims || !rc.Exempt[0].Until.Equal(until) || rc.Issuer != erasure.KeyID(pub) {
		t.Errorf("receipt %+v", rc)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := erasure.VerifyReceipt(jws, other); !errors.Is(err, erasure.ErrInvalidReceipt) {
		t.Errorf("another key: %v", err)
	}
	parts := strings.Split(jws, ".")
	for i := range 3 {
		bad := append([]string(nil), parts...)
		b := []byte(bad[i])
		b[len(b)/2] ^= 1
		bad[i] = string(b)
		if _, err := erasure.VerifyReceipt(strings.Join(bad, "."), pub); !errors.Is(err, erasure.ErrInvalidReceipt) {
			t.Errorf("altered part %d: %v", i, err)
		}
	}
	// A rejected request has a receipt too; a cancelled one has none.
	_, e2 := newFixture(t, 1, erasure.WithReceiptKey(priv), erasure.WithVerifier(manualVerifier{}))
	a, _, _ := e2.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "x"})
	e2.Reject(ctx, a.ID, erasure.RejectUnfounded, "no such account")
	if jws, err := e2.Receipt(ctx, a.ID); err != nil {
		t.Errorf("receipt of a rejection: %v", err)
	} else if rc, err := erasure.VerifyReceipt(jws, pub); err != nil || rc.Rejection != erasure.RejectUnfounded {
		t.Errorf("rejection receipt: %+v %v", rc, err)
	}
	c, _, _ := e2.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "y"})
	e2.Cancel(ctx, c.ID)
	if _, err := e2.Receipt(ctx, c.ID); !errors.Is(err, erasure.ErrIllegalTransition) {
		t.Errorf("receipt of a cancelled request: %v", err)
	}
}

func TestOptionsRefuseBadArguments(t *testing.T) {
	s := memerasure.New()
	tb := newTable("a")
	cases := map[string]erasure.Option{
		"WithTargets":        erasure.WithTargets(erasure.Target{Name: "A B", Eraser: tb}),
		"WithHandler":        erasure.WithHandler(gdpr.KindErasure, gdpr.RequestHandlerFunc(nil)),
		"WithVerifier":       erasure.WithVerifier(nil),
		"WithLegalHolds":     erasure.WithLegalHolds(nil),
		"WithJournal":        erasure.WithJournal(nil),
		"WithNotifier":       erasure.WithNotifier(nil),
		"WithAuthority":      erasure.WithAuthority(erasure.Authority{}),
		"WithIntake":         erasure.WithIntake(nil),
		"WithAlert":          erasure.WithAlert(nil),
		"WithRetry":          erasure.WithRetry(0, time.Second, time.Minute),
		"WithLease":          erasure.WithLease(time.Millisecond),
		"WithWorkers":        erasure.WithWorkers(0),
		"WithPoll":           erasure.WithPoll(0),
		"WithWorkerID":       erasure.WithWorkerID("Host 1"),
		"WithLocation":       erasure.WithLocation(nil),
		"WithCalendar":       erasure.WithCalendar(nil),
		"WithAccountability": erasure.WithAccountability(gdpr.Period{}),
		"WithReceiptKey":     erasure.WithReceiptKey(ed25519.PrivateKey{1}),
		"WithErrorText":      erasure.WithErrorText(nil),
		"WithClock":          erasure.WithClock(nil),
		"WithRecorder":       erasure.WithRecorder(nil),
	}
	for name, o := range cases {
		_, err := erasure.New(s, testKey, o)
		var ee *erasure.Error
		if !errors.As(err, &ee) || ee.Field != name || !errors.Is(err, erasure.ErrInvalid) {
			t.Errorf("%s: %v (field %q)", name, err, fieldOf(err))
		}
	}
	if _, err := erasure.New(nil, testKey); fieldOf(err) != "store" {
		t.Errorf("nil store: %v", err)
	}
	if _, err := erasure.New(s, testKey[:31]); fieldOf(err) != "subjectKey" {
		t.Errorf("short key: %v", err)
	}
	if _, err := erasure.New(s, testKey, erasure.WithTargets(erasure.Target{Name: "a", Eraser: tb}, erasure.Target{Name: "a", Eraser: tb})); fieldOf(err) != "WithTargets" {
		t.Errorf("duplicate target: %v", err)
	}
}

func TestRecorderFailureWritesNothing(t *testing.T) {
	f, e := newFixture(t, 1)
	boom := errors.New("trail down")
	f.events.FailWith(boom)
	if _, _, err := e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "u1"}); !errors.Is(err, boom) {
		t.Fatalf("Submit with a failing recorder: %v", err)
	}
	if rs, _ := f.store.List(t.Context(), erasure.Filter{}); len(rs) != 0 {
		t.Error("a request was stored without its audit event")
	}
	f.events.FailWith(nil)
	r := submit(t, e, "u1")
	f.events.FailWith(boom)
	got, err := e.Process(t.Context(), r.ID)
	if got.State == erasure.StateCompleted || !errors.Is(err, boom) {
		t.Errorf("with the trail down: %s, %v", got.State, err)
	}
	// The request is put off, so that Run does not take it up again at once.
	if !got.NextAt.After(f.clk.Now()) {
		t.Errorf("after an engine failure NextAt is %v, not after now", got.NextAt)
	}
	if due, _ := f.store.Acquire(t.Context(), "w", f.clk.Now(), time.Minute, 10); len(due) != 0 {
		t.Error("a request whose audit record failed is due again at once")
	}
	f.events.FailWith(nil)
	got, err = e.Process(t.Context(), r.ID)
	if err != nil || got.State != erasure.StateCompleted {
		t.Errorf("after the trail recovered: %v %s", err, got.State)
	}
}

func TestDeadlineAcrossMonthEndsAndZones(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		received time.Time
		lastDay  string
	}{
		{time.Date(2025, 1, 31, 10, 0, 0, 0, time.UTC), "2025-02-28"}, // no 31 February
		{time.Date(2024, 1, 30, 10, 0, 0, 0, time.UTC), "2024-02-29"}, // leap year
		// 22:30 UTC on 31 March is 1 April in Berlin: due 1 May, a public
		// holiday, so the next working day.
		{time.Date(2025, 3, 31, 22, 30, 0, 0, time.UTC), "2025-05-02"},
		// 2 August 2025 is a Saturday: due 2 September.
		{time.Date(2025, 8, 2, 10, 0, 0, 0, time.UTC), "2025-09-02"},
		// Received on a Saturday (4 October 2025): the period still runs
		// from that day, to 4 November.
		{time.Date(2025, 10, 4, 10, 0, 0, 0, time.UTC), "2025-11-04"},
		// 31 May 2026: no 31 June, so 30 June (a Tuesday).
		{time.Date(2026, 5, 31, 10, 0, 0, 0, time.UTC), "2026-06-30"},
	}
	cal, err := gdpr.NewHolidays("2025-05-01")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		clk := clock.NewFake(c.received.Add(time.Hour))
		e, _ := erasure.New(memerasure.New(), testKey, erasure.WithClock(clk.Now), erasure.WithLocation(berlin), erasure.WithCalendar(cal),
			erasure.WithTargets(erasure.Target{Name: "a", Eraser: newTable("a")}))
		r, _, err := e.Submit(context.Background(), erasure.Submission{Kind: gdpr.KindErasure, Subject: "u", Received: c.received})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Deadline.LastDay.Format("2006-01-02"); got != c.lastDay {
			t.Errorf("received %v: last day %s, want %s", c.received, got, c.lastDay)
		}
	}
}

// TestFileJournalConformance runs the Journal suite on a FileJournal: one
// process opens the file, so both handles are the same.
func TestFileJournalConformance(t *testing.T) {
	erasuretest.RunJournalTests(t, func(t *testing.T) (erasure.Journal, erasure.Journal) {
		j, err := erasure.OpenFileJournal(filepath.Join(t.TempDir(), "journal"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
		return j, j
	})
}

// TestReplaySubmit: the requests of a replay submitted without being
// processed (for a command line that holds no targets) wait, verified, for
// the workers; the workers' Process erases.
func TestReplaySubmit(t *testing.T) {
	f, e := newFixture(t, 2)
	ctx := t.Context()
	f.seed("gone")
	r := submit(t, e, "gone")
	if got, _ := e.Process(ctx, r.ID); got.State != erasure.StateCompleted {
		t.Fatalf("erasure: %s", got.State)
	}
	for _, tb := range f.tables { // the restore brings it back
		tb.mu.Lock()
		tb.rows["gone"] = 2
		tb.mu.Unlock()
	}
	rep, err := e.ReplaySubmit(ctx, []gdpr.SubjectID{"gone", "never"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 2 || rep.Matched != 1 || len(rep.Requests) != 1 || rep.Requests[0].State != erasure.StateVerified {
		t.Fatalf("report %+v", rep)
	}
	for _, tb := range f.tables {
		if !tb.has("gone") {
			t.Fatalf("%s: erased by ReplaySubmit, which must only submit", tb.name)
		}
	}
	if got, err := e.Process(ctx, rep.Requests[0].ID); err != nil || got.State != erasure.StateCompleted {
		t.Fatalf("the workers' Process: %v %v", got.State, err)
	}
	for _, tb := range f.tables {
		if tb.has("gone") {
			t.Errorf("%s after the workers ran the replay: still there", tb.name)
		}
	}
}
