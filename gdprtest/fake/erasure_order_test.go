package fake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/gdprtest/fake"
	"github.com/gdprkit/gdpr/retention"
)

// TestErasureInAnyOrder erases one subject through the ledger, the
// keyring and the audit trail in each of the six orders, then exports
// them again: nothing in the trail may be linked to the subject
// afterwards. An event recorded with the subject after the trail forgot
// them would link them again under a new pseudonym.
func TestErasureInAnyOrder(t *testing.T) {
	orders := [][3]string{
		{"ledger", "keys", "trail"}, {"ledger", "trail", "keys"}, {"keys", "ledger", "trail"},
		{"keys", "trail", "ledger"}, {"trail", "ledger", "keys"}, {"trail", "keys", "ledger"},
	}
	for _, order := range orders {
		t.Run(order[0]+"-"+order[1]+"-"+order[2], func(t *testing.T) {
			ctx := context.Background()
			k := fake.New(t, nil)
			const s = gdpr.SubjectID("user-erased")
			if _, err := k.Ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText("v1")}); err != nil {
				t.Fatal(err)
			}
			if _, err := k.Ledger.Give(ctx, consent.Choice{Subject: s, Purpose: "newsletter",
				Notice: consent.NoticeRef{ID: "newsletter", Version: 1}, Method: consent.MethodCheckbox}); err != nil {
				t.Fatal(err)
			}
			f := crypto.Field{Table: "users", Column: "email", Category: "contact"}
			ct, err := k.Keys.Encrypt(ctx, s, f, []byte("ann@example.org"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := k.Keys.Decrypt(ctx, s, f, ct); err != nil {
				t.Fatal(err)
			}
			erasers := map[string]gdpr.Eraser{"ledger": k.Ledger, "keys": k.Keys, "trail": k.Trail}
			for _, name := range order {
				if _, err := erasers[name].EraseSubject(ctx, s); err != nil {
					t.Fatalf("%s.EraseSubject: %v", name, err)
				}
			}
			// After erasure: an access request finds nothing, a decryption fails.
			discard := gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return nil })
			for name, x := range map[string]gdpr.Exporter{"ledger": k.Ledger, "keys": k.Keys, "trail": k.Trail} {
				if err := x.ExportSubject(ctx, s, discard); err != nil {
					t.Fatalf("%s.ExportSubject after erasure: %v", name, err)
				}
			}
			k.Keys.Decrypt(ctx, s, f, ct)
			linked, err := k.Trail.Entries(ctx, audit.Filter{Subject: s})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range linked {
				t.Errorf("after erasure in the order %v the trail links %s (entry %d) to the subject", order, e.Action, e.Index)
			}
		})
	}
}

// TestRequestsEngineErases runs an erasure request through the kit's
// engine: it completes at once, and nothing links the subject afterwards.
func TestRequestsEngineErases(t *testing.T) {
	ctx := context.Background()
	k := fake.New(t, nil)
	const s = gdpr.SubjectID("user-req")
	f := crypto.Field{Table: "users", Column: "email", Category: "contact"}
	ct, err := k.Keys.Encrypt(ctx, s, f, []byte("ann@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := k.Requests.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: s})
	if err != nil {
		t.Fatal(err)
	}
	r, err = k.Requests.Process(ctx, r.ID)
	if err != nil || r.State != erasure.StateCompleted {
		t.Fatalf("Process: %v, state %s", err, r.State)
	}
	if _, err := k.Keys.Decrypt(ctx, s, f, ct); !errors.Is(err, crypto.ErrShredded) {
		t.Errorf("Decrypt after the erasure: %v, want ErrShredded", err)
	}
	linked, err := k.Trail.Entries(ctx, audit.Filter{Subject: s})
	if err != nil || len(linked) != 0 {
		t.Errorf("the trail links %d entries to the erased subject (%v)", len(linked), err)
	}
	if es, _ := k.RequestJournal.Match(ctx, []string{k.Requests.SubjectRef(s)}); len(es) != 1 {
		t.Errorf("journal entries: %d", len(es))
	}
}

// TestHoldKeepsFromErasure: a legal hold placed through the Kit keeps the
// subject's data from the Requests engine, on Art. 17(3)(e), and is in
// the trail.
func TestHoldKeepsFromErasure(t *testing.T) {
	ctx := context.Background()
	k := fake.New(t, nil)
	const s = gdpr.SubjectID("user-held")
	f := crypto.Field{Table: "users", Column: "email", Category: "contact"}
	ct, err := k.Keys.Encrypt(ctx, s, f, []byte("ann@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Holds.Place(ctx, retention.Hold{ID: "case-1", Subject: s, Reason: "claim pending", PlacedBy: gdpr.Staff("legal")}); err != nil {
		t.Fatal(err)
	}
	r, _, err := k.Requests.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: s})
	if err != nil {
		t.Fatal(err)
	}
	r, err = k.Requests.Process(ctx, r.ID)
	if err != nil || r.State != erasure.StateCompletedWithExemptions {
		t.Fatalf("Process: %v, state %s", err, r.State)
	}
	for _, x := range r.Exemptions() {
		if x.Ground != gdpr.GroundLegalClaims {
			t.Errorf("exemption %+v, want Art. 17(3)(e)", x)
		}
	}
	if pt, err := k.Keys.Decrypt(ctx, s, f, ct); err != nil || string(pt) != "ann@example.org" {
		t.Errorf("Decrypt under the hold: %v", err)
	}
	if got := k.Events.ByAction("retention.hold_placed"); len(got) != 1 {
		t.Errorf("hold events %d, want 1", len(got))
	}
}
