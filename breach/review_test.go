package breach_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/breach"
)

// Regressions of the defects a review of the package found.

// A subject whose data the compromised account decrypted is never
// counted unintelligible, whatever the keys: it was read in clear.
func TestReviewDecryptedIsNotUnintelligible(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at := since.Add(time.Minute)
	for i := range 4 {
		s := gdpr.SubjectID(user(i))
		f.keys.m[s] = gdpr.SubjectKey{State: gdpr.KeyLive, KEK: "kms-v3", Since: since.Add(-time.Hour)}
		f.trail.add(s, at, "agent-7", "payment")
	}
	f.trail.mu.Lock()
	f.trail.entries[1].Action = "crypto.decrypt" // user 1's card number, decrypted by the account
	f.trail.mu.Unlock()
	b, _ := f.log.Record(ctx, report())
	s := scope()
	s.Encrypted, s.SafeKEKs = []string{"payment"}, []string{"kms-v3"}
	var apart []string
	if _, err := f.log.Affected(ctx, b.ID, s, ids(4, user), func(x breach.Subject) error {
		if x.Unintelligible {
			apart = append(apart, string(x.ID))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(apart, " ") != user(0)+" "+user(2)+" "+user(3) {
		t.Errorf("unintelligible %v: a decrypted subject counted apart", apart)
	}
}

// The scope's fields are checked, a resource prefix is stored as a keyed
// reference, and the same scope written another way still matches.
func TestReviewScope(t *testing.T) {
	f, b := trailFixture(t)
	ctx := context.Background()
	for name, mod := range map[string]func(*breach.Scope){
		"purpose with a line break": func(s *breach.Scope) { s.Purpose = "x\r\ny" },
		"action with NUL":           func(s *breach.Scope) { s.Actions = []string{"read\x00<script>"} },
		"prefix with a line break":  func(s *breach.Scope) { s.ResourcePrefix = "customer/\n" },
		"bad actor":                 func(s *breach.Scope) { s.Actor = gdpr.Actor{Kind: "robot", ID: "x"} },
	} {
		s := scope()
		mod(&s)
		if _, err := f.log.Affected(ctx, b.ID, s, ids(1, user), nil); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	s := scope()
	s.ResourcePrefix = "customer/jane.doe@example.com/"
	if _, err := f.log.Affected(ctx, b.ID, s, ids(10, user), nil); err != nil {
		t.Fatal(err)
	}
	evs, _ := f.store.Events(ctx, b.ID)
	for _, ev := range evs {
		if strings.Contains(string(ev.Data), "jane.doe") || strings.Contains(string(ev.Data), "agent-7") {
			t.Errorf("event %d keeps the prefix or the staff ID: %s", ev.Seq, ev.Data)
		}
	}
	if _, err := f.log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.HighRisk, Reasoning: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Update(ctx, b.ID, breach.Details{Consequences: "c", Measures: "m"}); err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	same := s
	same.Since, same.Until, same.Categories = s.Since.In(berlin), s.Until.In(berlin), []string{}
	if _, err := f.log.NotifySubjects(ctx, b.ID, same, ids(10, user), &notifier{}); err != nil {
		t.Errorf("the same scope in another zone: %v", err)
	}
}

// One-line fields refuse line breaks (a contact's address goes into mail
// headers), and text refuses bidirectional overrides.
func TestReviewLineBreaks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := report()
	r.Contact = breach.Contact{Name: "DPO", Email: "dpo@shop.example\r\nBcc: everyone@evil.example"}
	if _, err := f.log.Record(ctx, r); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("a line break in Contact.Email: %v", err)
	}
	r = report()
	r.Description = "Nothing \u202ehappened"
	if _, err := f.log.Record(ctx, r); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("a bidirectional override: %v", err)
	}
	b, _ := f.log.Record(ctx, report())
	if _, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BfDI\r\nX-Injected: 1"}); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("a line break in Authority: %v", err)
	}
}

// Close waits for what the law asks first.
func TestReviewClose(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b, _ := f.log.Record(ctx, report())
	if _, err := f.log.Close(ctx, b.ID, "nothing to see"); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Close without an assessment: %v", err)
	}
	if _, err := f.log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.SomeRisk, Reasoning: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Close(ctx, b.ID, "done"); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Close of a risk never notified: %v", err)
	}
	f.log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.NoRisk, Reasoning: "only public data"})
	if _, err := f.log.Close(ctx, b.ID, "documented, not notifiable"); err != nil {
		t.Errorf("Close of a breach unlikely to result in a risk: %v", err)
	}
	r := report()
	r.Controllers = []string{"A", "B"}
	pb, _ := f.log.Record(ctx, r)
	f.log.ReportToController(ctx, pb.ID, breach.ControllerReport{Controller: "A"})
	if _, err := f.log.Close(ctx, pb.ID, "done"); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Close of a processor's breach not reported to B: %v", err)
	}
	f.log.ReportToController(ctx, pb.ID, breach.ControllerReport{Controller: "B"})
	if _, err := f.log.Close(ctx, pb.ID, "done"); err != nil {
		t.Errorf("Close after every report: %v", err)
	}
}

// The clock's zone is the one the breach was recorded in: a Log with
// another zone reads the same deadline.
func TestReviewZoneRecorded(t *testing.T) {
	f := newFixture(t) // Europe/Berlin
	ctx := context.Background()
	b, _ := f.log.Record(ctx, report())
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	other, _ := breach.New(f.store, key, breach.WithLocation(kolkata))
	got, err := other.Get(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Clock.Due.Equal(b.Clock.Due) || got.Clock.Due.Location().String() != "Europe/Berlin" {
		t.Errorf("read in another zone: due %v, recorded %v", got.Clock.Due, b.Clock.Due)
	}
}

// A notice left Pending (a sender stopped between claim and outcome) is
// settled by hand, and a Failed one goes out on the next run.
func TestReviewSettlePending(t *testing.T) {
	f, b := trailFixture(t)
	ctx := context.Background()
	f.log.Update(ctx, b.ID, breach.Details{Consequences: "c", Measures: "m"})
	f.log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.HighRisk, Reasoning: "r"})
	if _, err := f.log.Affected(ctx, b.ID, scope(), ids(100, user), nil); err != nil {
		t.Fatal(err)
	}
	// The sender dies after claiming two subjects' notices.
	cctx, cancel := context.WithCancel(ctx)
	n := 0
	f.log.NotifySubjects(cctx, b.ID, scope(), ids(100, user), breach.NotifierFunc(func(context.Context, gdpr.SubjectID, breach.SubjectNotice) error {
		n++
		if n == 2 {
			cancel()
			return context.Canceled
		}
		return nil
	}))
	c, _ := f.log.NotifySubjects(ctx, b.ID, scope(), ids(100, user), &notifier{})
	if c.Pending != 1 {
		t.Fatalf("communications %+v, want one pending", c)
	}
	if err := f.log.SettleNotice(ctx, b.ID, gdpr.SubjectID(user(1)), breach.Failed); err != nil {
		t.Fatal(err)
	}
	again := &notifier{}
	if c, _ = f.log.NotifySubjects(ctx, b.ID, scope(), ids(100, user), again); c.Pending != 0 || c.Sent != 100 || again.sent[gdpr.SubjectID(user(1))] != 1 {
		t.Errorf("after settling it Failed: %+v, sent %v", c, again.sent)
	}
	if err := f.log.SettleNotice(ctx, b.ID, gdpr.SubjectID(user(1)), breach.Failed); !errors.Is(err, breach.ErrConflict) {
		t.Errorf("settling a sent notice: %v", err)
	}
	if err := f.log.SettleNotice(ctx, b.ID, gdpr.SubjectID(user(150)), breach.Sent); !errors.Is(err, breach.ErrNotFound) {
		t.Errorf("settling a notice never claimed: %v", err)
	}
}

// A notification recorded later than it was made keeps both times.
func TestReviewNotificationRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b, _ := f.log.Record(ctx, report())
	b, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BlnBDI", At: now.Add(-time.Hour)})
	if err != nil || !b.Notifications[0].Recorded.Equal(now) || !b.Notifications[0].At.Equal(now.Add(-time.Hour)) {
		t.Fatalf("%+v, %v", b.Notifications, err)
	}
	n, _ := f.log.AuthorityNotice(ctx, b.ID)
	var sb strings.Builder
	n.WriteHTML(&sb)
	if !strings.Contains(sb.String(), "; recorded ") {
		t.Error("the page does not say when the notification was recorded")
	}
}

// A value given in an earlier phase and found wrong can be withdrawn
// (Art. 33(4)); an update that changes nothing is refused.
func TestReviewClear(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b, _ := f.log.Record(ctx, report())
	b, err := f.log.Update(ctx, b.ID, breach.Details{Subjects: 5000, OccurredUntil: now.Add(-time.Hour),
		Contact: breach.Contact{Name: "Wrong person"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err = f.log.Update(ctx, b.ID, breach.Details{Clear: []string{"Subjects", "OccurredUntil", "Contact"}, Records: 9})
	if err != nil {
		t.Fatal(err)
	}
	if b.Subjects != 0 || !b.OccurredUntil.IsZero() || !b.Contact.IsZero() || b.Records != 9 {
		t.Errorf("after clearing: %+v", b.Details)
	}
	n, _ := f.log.AuthorityNotice(ctx, b.ID)
	found := false
	for _, it := range n.ToFollow {
		found = found || it.What == "approximate number of data subjects"
	}
	if !found {
		t.Error("a cleared count is not to follow again")
	}
	for name, d := range map[string]breach.Details{
		"nothing":       {},
		"unknown field": {Clear: []string{"Aware"}},
		"twice":         {Clear: []string{"Advice", "Advice"}},
	} {
		if _, err := f.log.Update(ctx, b.ID, d); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	r := report()
	r.Clear = []string{"Advice"}
	if _, err := f.log.Record(ctx, r); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Clear at Record: %v", err)
	}
}
