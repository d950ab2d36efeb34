package erasure_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
)

// FuzzVerifyReceipt feeds VerifyReceipt arbitrary tokens: it never panics,
// and whatever it accepts was signed by the key.
func FuzzVerifyReceipt(f *testing.F) {
	seed := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := seed.Public().(ed25519.PublicKey)
	e, err := erasure.New(memerasure.New(), testKey, erasure.WithReceiptKey(seed),
		erasure.WithTargets(erasure.Target{Name: "a", Eraser: newTable("a")}))
	if err != nil {
		f.Fatal(err)
	}
	r, _, _ := e.Submit(f.Context(), erasure.Submission{Kind: "erasure", Subject: "u"})
	e.Process(f.Context(), r.ID)
	jws, err := e.Receipt(f.Context(), r.ID)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(jws)
	f.Add(strings.Replace(jws, ".", "..", 1))
	f.Add("e30.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		rc, err := erasure.VerifyReceipt(s, pub)
		if err != nil {
			return
		}
		if rc.Request == "" || rc.Issuer != erasure.KeyID(pub) {
			t.Fatalf("accepted an incomplete receipt: %+v", rc)
		}
	})
}

// FuzzDecodeJournalLine feeds the journal file's line decoder arbitrary
// bytes: it never panics, and what it accepts encodes back to an entry
// that decodes the same.
func FuzzDecodeJournalLine(f *testing.F) {
	good, _ := json.Marshal(erasure.JournalEntry{RequestID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", SubjectRef: strings.Repeat("a1", 32),
		Completed: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), Targets: []string{"ledger", "keys"}})
	f.Add(good)
	f.Add([]byte(`{"request":"r","subject_ref":"","completed":"2026-01-01T00:00:00Z","targets":[]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"request":"r"} {}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := erasure.DecodeJournalLine(line)
		if err != nil {
			return
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		again, err := erasure.DecodeJournalLine(b)
		if err != nil || again.RequestID != e.RequestID || again.SubjectRef != e.SubjectRef || !again.Completed.Equal(e.Completed) ||
			strings.Join(again.Targets, ",") != strings.Join(e.Targets, ",") {
			t.Fatalf("re-encoded entry decodes differently: %+v vs %+v (%v)", again, e, err)
		}
	})
}

// FuzzCheck gives Check subject IDs, purposes and allowances as a caller
// might pass them from a request: it never panics, refuses an unknown
// allowance with ErrInvalid, refuses a restricted subject without a
// ground of Art. 18(2), and lets every other subject through.
func FuzzCheck(f *testing.F) {
	f.Add("user-1", "support", "")
	f.Add("user-1", "", "legal_claims")
	f.Add("restricted@example.org", "support", "storage")
	f.Add("restricted@example.org", "ads", "consent\x00")
	f.Add("", "x", "public_interest")
	ctx := context.Background()
	e, err := erasure.New(memerasure.New(), testKey, erasure.WithRestrictionCache(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	const restricted = gdpr.SubjectID("restricted@example.org")
	r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindRestriction, Subject: restricted, Ground: erasure.GroundUnlawful})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := e.Process(ctx, r.ID); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subject, purpose, allowance string) {
		err := e.Check(ctx, gdpr.SubjectID(subject), gdpr.Purpose(purpose), gdpr.Allowance(allowance))
		valid := gdpr.Allowance(allowance).Validate() == nil
		switch {
		case subject == "" || !valid:
			if !errors.Is(err, erasure.ErrInvalid) {
				t.Fatalf("bad input: %v, want ErrInvalid", err)
			}
		case gdpr.SubjectID(subject) == restricted && allowance == "":
			if !errors.Is(err, erasure.ErrRestricted) {
				t.Fatalf("restricted subject: %v", err)
			}
		default:
			if err != nil {
				t.Fatalf("Check(%q, %q, %q) = %v", subject, purpose, allowance, err)
			}
		}
	})
}
