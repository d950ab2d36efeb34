package audittest

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/gdprtest"
)

// RunLogContracts runs gdprtest's Eraser and Exporter suites on an
// *audit.Log over the stores newStore makes, and ErasureLeavesNoLink (the
// Log's own erasure writes nothing naming the subject, and erasure events
// recorded afterwards without a Subject, through the other handle, make no
// salt again), as RunStoreTests calls it:
// two handles on one fresh storage. The Log under test is over s; a
// second Log over other, with the same keys, as a second instance of the
// service, says whether a subject's entries can still be found, so an
// erasure (the salt deleted) must hold for every process.
//
// Each subject is seeded with two events. The canary is the ID of the
// staff member who acted in the first: the personal data the Log takes in
// besides the subject's ID, which it pseudonymises before storing and
// leaves out of exports (C-579/21), so it must turn up in no error,
// report or other subject's export. (Attrs are documented as
// non-personal and kept as they are: a canary there would test a caller's
// misuse, not the Log.)
func RunLogContracts(t *testing.T, newStore func(t *testing.T) (s, other audit.Store)) {
	t.Run("Eraser", func(t *testing.T) {
		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
			s, other := newStore(t)
			keys := newContractKeys(t)
			l := keys.open(t, s)
			return gdprtest.EraserFixture{Eraser: l, Seed: seedLog(l), Present: gdprtest.ExportsAny(keys.open(t, other))}
		})
	})
	t.Run("Exporter", func(t *testing.T) {
		gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
			s, _ := newStore(t)
			l := newContractKeys(t).open(t, s)
			return gdprtest.ExporterFixture{Exporter: l, Seed: seedLog(l)}
		})
	})
	t.Run("ErasureLeavesNoLink", func(t *testing.T) {
		s, other := newStore(t)
		testErasureLeavesNoLink(t, s, other)
	})
}

// testErasureLeavesNoLink is audit's part of "erasing through every
// component, in any order, leaves nothing in the trail linked to the
// subject": the Log's own EraseSubject and ForgetActor write nothing that
// names the subject or the staff member, and the erasure events other
// components record afterwards — with no Subject, by a system actor,
// through another instance — make no salt again and carry no pseudonym of
// the subject's.
func testErasureLeavesNoLink(t *testing.T, s, other audit.Store) {
	ctx := t.Context()
	keys := newContractKeys(t)
	l, l2 := keys.open(t, s), keys.open(t, other)
	const subject, staff = gdpr.SubjectID("subject-erased"), "staff-erased"
	if err := seedLog(l)(ctx, subject, staff); err != nil {
		t.Fatal(err)
	}
	seeded, err := l.Entries(ctx, audit.Filter{Subject: subject})
	if err != nil || len(seeded) != 2 {
		t.Fatalf("Entries of the seeded subject = %d, %v; want 2", len(seeded), err)
	}
	p, actor := seeded[0].Subject, seeded[0].Actor.ID
	h0, err := l.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := l.EraseSubject(ctx, subject); err != nil || rep.Erased != 1 {
		t.Fatalf("EraseSubject = %+v, %v; want the salt erased", rep, err)
	}
	if ok, err := l.ForgetActor(ctx, staff); err != nil || !ok {
		t.Fatalf("ForgetActor = %v, %v; want the salt deleted", ok, err)
	}
	for _, action := range []string{"crypto.shred", "consent.erased", "erasure.completed"} {
		if err := l2.Record(ctx, gdpr.Event{Actor: gdpr.System("erasure-worker"), Action: action,
			Resource: "erasure/request-1", Outcome: gdpr.Success}); err != nil {
			t.Fatal(err)
		}
	}
	for i, lg := range []*audit.Log{l, l2} {
		if got, err := lg.Entries(ctx, audit.Filter{Subject: subject}); err != nil || len(got) != 0 {
			t.Fatalf("instance %d: Entries of the erased subject = %d, %v; want none: nothing may link them", i+1, len(got), err)
		}
	}
	if rep, err := l2.EraseSubject(ctx, subject); err != nil || rep.Erased != 0 {
		t.Fatalf("a second EraseSubject = %+v, %v; want nothing to erase: events without a Subject make no salt", rep, err)
	}
	for from := h0.Size; ; {
		es, err := s.Entries(ctx, from, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, se := range es {
			var e audit.Entry
			if err := e.UnmarshalBinary(se.Body); err != nil {
				t.Fatalf("entry %d does not decode: %v", se.Index, err)
			}
			if e.Subject == p || e.Actor.ID == actor || e.Actor.ID == p.String() {
				t.Fatalf("entry %d (%s), written during or after the erasure, carries a pseudonym of the erased subject or staff member", se.Index, e.Action)
			}
			if e.Action != "crypto.shred" && e.Action != "consent.erased" && e.Action != "erasure.completed" {
				if !e.Subject.IsZero() || (e.Actor.Kind != gdpr.ActorSystem && e.Actor.ID != "") {
					t.Fatalf("entry %d (%s), written by EraseSubject or ForgetActor, carries a pseudonym", se.Index, e.Action)
				}
			}
		}
		if len(es) < 100 {
			break
		}
		from = es[len(es)-1].Index + 1
	}
}

func seedLog(l *audit.Log) func(context.Context, gdpr.SubjectID, string) error {
	return func(ctx context.Context, subject gdpr.SubjectID, canary string) error {
		err := l.Record(ctx, gdpr.Event{Actor: gdpr.Staff(canary), Action: "crypto.decrypt", Subject: subject,
			Purpose: "support", Categories: []string{"contact"}, Resource: "profiles/1", Outcome: gdpr.Success})
		if err != nil {
			return err
		}
		return l.Record(ctx, gdpr.Event{Actor: gdpr.SubjectActor(), Action: "consent.given", Subject: subject,
			Purpose: "newsletter", Resource: "consent_event/1", Outcome: gdpr.Success})
	}
}

// NewLog returns an audit.Log over s with fresh keys (a signing key and a
// pseudonym key made for it, kept in memory only), closed when t ends: the
// real trail for tests of components that record into one. It fails t on
// any error.
func NewLog(t testing.TB, s audit.Store) *audit.Log {
	t.Helper()
	return newContractKeys(t).open(t, s)
}

// Resources counts l's entries by Resource, reading the whole log: for
// tests that check what a component recorded, and how often. It fails t
// on any error.
func Resources(t testing.TB, l *audit.Log) map[string]int {
	t.Helper()
	out := map[string]int{}
	for from := int64(0); ; {
		es, err := l.Entries(context.Background(), audit.Filter{From: from, Limit: audit.MaxPage})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			out[e.Resource]++
			from = e.Index + 1
		}
		if len(es) < audit.MaxPage {
			return out
		}
	}
}

type contractKeys struct {
	skey string
	key  []byte
}

func newContractKeys(t testing.TB) contractKeys {
	t.Helper()
	skey, _, err := audit.GenerateKey("audittest.example/contracts")
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, audit.MinKeySize)
	rand.Read(key)
	return contractKeys{skey: skey, key: key}
}

// open returns a Log over s with these keys, closed when t ends.
func (k contractKeys) open(t testing.TB, s audit.Store) *audit.Log {
	t.Helper()
	signer, verifier, err := audit.NewSigner(k.skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(context.Background(), s, k.key, signer, verifier)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}
