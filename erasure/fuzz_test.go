package erasure_test

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

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
