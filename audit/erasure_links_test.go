package audit_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

// saltCounter counts the salts a Store is asked to get or create.
type saltCounter struct {
	audit.Store
	n atomic.Int64
}

func (s *saltCounter) Salt(ctx context.Context, ref, fresh []byte) ([]byte, error) {
	s.n.Add(1)
	return s.Store.Salt(ctx, ref, fresh)
}

// TestErasureLeavesNoLink checks audit's part of "erasing through the
// ledger, keyring and audit log in any order leaves nothing in the trail
// linked to the subject": the Log's own erasure and forgetting record
// nothing that names the subject or the staff member, and an event with no
// Subject recorded after the erasure — the erasure events the other
// components record — creates no salt, so it links no one.
func TestErasureLeavesNoLink(t *testing.T) {
	ctx := t.Context()
	s := &saltCounter{Store: memaudit.New()}
	f := open(t, s)
	if err := f.log.Record(ctx, event(0, "alice")); err != nil {
		t.Fatal(err)
	}
	before, _ := f.log.Head(ctx)
	if rep, err := f.log.EraseSubject(ctx, "alice"); err != nil || rep.Erased != 1 {
		t.Fatalf("EraseSubject = %+v, %v", rep, err)
	}
	if ok, err := f.log.ForgetActor(ctx, "agent-7"); err != nil || !ok {
		t.Fatalf("ForgetActor = %v, %v", ok, err)
	}
	after, _ := f.log.Head(ctx)
	es, err := s.Entries(ctx, before.Size, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, se := range es {
		var e audit.Entry
		if err := e.UnmarshalBinary(se.Body); err != nil {
			t.Fatal(err)
		}
		if !e.Subject.IsZero() || se.Subject != nil || (e.Actor.Kind != gdpr.ActorSystem && e.Actor.ID != "") {
			t.Fatalf("entry %d (%s), recorded by EraseSubject or ForgetActor, carries a pseudonym: it links the erased", se.Index, e.Action)
		}
	}
	if after.Size != before.Size+int64(len(es)) {
		t.Fatalf("head %d after erasure, %d entries past %d", after.Size, len(es), before.Size)
	}

	// The other components' erasure events: no Subject, a system actor.
	n := s.n.Load()
	for _, action := range []string{"crypto.shred", "consent.erased"} {
		if err := f.log.Record(ctx, gdpr.Event{Actor: gdpr.System("erasure-worker"), Action: action,
			Resource: "erasure/0190", Outcome: gdpr.Success}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.n.Load() - n; got != 0 {
		t.Fatalf("recording events with no Subject after EraseSubject asked the store for %d salts; want none", got)
	}
	if got, err := f.log.Entries(ctx, audit.Filter{Subject: "alice"}); err != nil || len(got) != 0 {
		t.Fatalf("Entries(alice) after erasure = %d entries, %v; want none", len(got), err)
	}
	if rep, err := f.log.EraseSubject(ctx, "alice"); err != nil || rep.Erased != 0 {
		t.Fatalf("a second EraseSubject = %+v, %v; want nothing to erase: no salt was made again", rep, err)
	}
	f.mustVerifyClean(t)
}

// TestEventWithSubjectAfterErasureLinksAgain documents what audit/doc.go
// says: an event that names the subject (as Subject, or as a subject
// actor) after their erasure gets a new salt, and so a new pseudonym. It
// is not linked to the entries from before the erasure, but it, and every
// later one, is linked to the subject again, and EraseSubject must be
// called again to unlink it. That is why components record their erasure
// events without a Subject.
func TestEventWithSubjectAfterErasureLinksAgain(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	if err := f.log.Record(ctx, event(0, "alice")); err != nil {
		t.Fatal(err)
	}
	old, err := f.log.Entries(ctx, audit.Filter{Subject: "alice"})
	if err != nil || len(old) != 1 {
		t.Fatalf("Entries(alice) = %d, %v", len(old), err)
	}
	if _, err := f.log.EraseSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, e := range []gdpr.Event{
		{Actor: gdpr.System("erasure-worker"), Action: "consent.erased", Subject: "alice", Outcome: gdpr.Success},
		{Actor: gdpr.Actor{Kind: gdpr.ActorSubject, ID: "alice"}, Action: "consent.withdrawn", Outcome: gdpr.Success},
	} {
		if err := f.log.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.log.Entries(ctx, audit.Filter{Subject: "alice"})
	if err != nil || len(got) != 1 || got[0].Index != 1 {
		t.Fatalf("Entries(alice) after erasure and a new event = %v, %v; want the new entry 1 only", got, err)
	}
	if got[0].Subject == old[0].Subject {
		t.Fatal("the event after erasure carries the erased pseudonym")
	}
	byActor, err := f.log.Entries(ctx, audit.Filter{Actor: gdpr.Actor{Kind: gdpr.ActorSubject, ID: "alice"}})
	if err != nil || len(byActor) != 1 || byActor[0].Actor.ID != got[0].Subject.String() {
		t.Fatalf("Entries(actor alice) = %v, %v; want entry 2, under the new pseudonym", byActor, err)
	}
	if rep, err := f.log.EraseSubject(ctx, "alice"); err != nil || rep.Erased != 1 {
		t.Fatalf("EraseSubject again = %+v, %v; want the new salt erased", rep, err)
	}
	if got, err := f.log.Entries(ctx, audit.Filter{Subject: "alice"}); err != nil || len(got) != 0 {
		t.Fatalf("Entries(alice) after the second erasure = %d, %v; want none", len(got), err)
	}
}

func (f *fixture) mustVerifyClean(t *testing.T) {
	t.Helper()
	if rep, err := f.log.Verify(t.Context(), audit.VerifyOptions{}); err != nil {
		t.Fatalf("Verify: %v (%v)", err, rep)
	}
}
