package fake_test

import (
	"errors"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/gdprtest/fake"
)

func process(t *testing.T, e *erasure.Engine, s erasure.Submission) erasure.Request {
	t.Helper()
	r, _, err := e.Submit(t.Context(), s)
	if err != nil {
		t.Fatalf("Submit %s: %v", s.Kind, err)
	}
	done, err := e.Process(t.Context(), r.ID)
	if err != nil || done.State != erasure.StateCompleted {
		t.Fatalf("Process %s: %v %s %+v", s.Kind, err, done.State, done.Steps)
	}
	return done
}

// TestObjectionReachesTheLedger objects to direct marketing through the
// request engine: the consent ledger records the objection, its decisions
// deny the newsletter even though consent was given, and the engine's
// Check refuses it too.
func TestObjectionReachesTheLedger(t *testing.T) {
	k := fake.New(t, register())
	ctx := t.Context()
	const s = gdpr.SubjectID("ola@example.org")
	if _, err := k.Ledger.Publish(ctx, consent.Notice{ID: "nl", Version: 1, TextHash: consent.HashText("News?"), Language: "en"}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Ledger.Give(ctx, consent.Choice{Subject: s, Purpose: "newsletter", Notice: consent.NoticeRef{ID: "nl", Version: 1}}); err != nil {
		t.Fatal(err)
	}
	q := consent.Query{Subject: s, Purpose: "newsletter"}
	if d, err := k.Ledger.Decide(ctx, q); err != nil || !d.Allowed {
		t.Fatalf("before the objection: %+v %v", d, err)
	}
	process(t, k.Requests, erasure.Submission{Kind: gdpr.KindObjection, Subject: s, DirectMarketing: true, Authenticated: true})
	d, err := k.Ledger.Decide(ctx, q)
	if err != nil || d.Allowed || d.Event.Kind != consent.Objected {
		t.Fatalf("after the objection the ledger decides %+v %v, want denied by the objection", d, err)
	}
	if err := k.Requests.Check(ctx, s, "newsletter", gdpr.AllowNone); !errors.Is(err, erasure.ErrObjected) {
		t.Errorf("Check: %v", err)
	}
	if _, err := k.Requests.Override(gdpr.WithActor(ctx, gdpr.Staff("dpo")), s, "newsletter", "LIA-9", "no"); !errors.Is(err, erasure.ErrAbsolute) {
		t.Errorf("override of direct marketing: %v", err)
	}
}

// TestRestrictionGuardsTheKit restricts a subject of the Kit: its Keys
// refuse their fields until the lift.
func TestRestrictionGuardsTheKit(t *testing.T) {
	k := fake.New(t, nil)
	ctx := gdpr.WithPurpose(t.Context(), "support")
	const s = gdpr.SubjectID("rhea@example.org")
	f := crypto.Field{Table: "users", Column: "phone"}
	ct, err := k.Keys.Encrypt(ctx, s, f, []byte("+49 30 1"))
	if err != nil {
		t.Fatal(err)
	}
	process(t, k.Requests, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundUnlawful, Authenticated: true})
	if _, err := k.Keys.Decrypt(ctx, s, f, ct); !errors.Is(err, crypto.ErrRestricted) {
		t.Fatalf("restricted: %v", err)
	}
	if n := len(k.Recipients.Notices()); n != 0 {
		t.Errorf("%d recipient notices with no recipients", n)
	}
}
