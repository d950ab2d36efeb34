package audit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

func Example() {
	ctx := context.Background()

	// Keys live outside the database: the signing key (GenerateKey, once)
	// and a pseudonym key of 32 random bytes.
	skey, _, _ := audit.GenerateKey("example.com/audit")
	signer, verifier, _ := audit.NewSigner(skey)
	key := make([]byte, 32)
	rand.Read(key)

	// A directory the database's administrators cannot write.
	dir, _ := os.MkdirTemp("", "anchor")
	defer os.RemoveAll(dir)

	log, err := audit.New(ctx, memaudit.New(), key, signer, verifier,
		audit.WithAnchor(&audit.FileAnchor{Dir: dir}))
	if err != nil {
		panic(err)
	}
	defer log.Close(ctx)

	// Record who read whose data, why. The subject and the staff ID are
	// stored as pseudonyms.
	for _, field := range []string{"email", "phone"} {
		err := log.Record(ctx, gdpr.Event{
			Actor: gdpr.Staff("agent-17"), Action: "crypto.decrypt", Subject: "customer-42",
			Purpose: "support", Resource: "profiles/" + field, Outcome: gdpr.Success,
		})
		if err != nil {
			panic(err)
		}
	}

	// "Who accessed my data?" (Art. 15)
	entries, _ := log.Entries(ctx, audit.Filter{Subject: "customer-42"})
	for _, e := range entries {
		fmt.Println(e.Index, e.Action, e.Resource, e.Actor.Kind, e.Purpose)
	}

	// Sign and anchor a checkpoint, then verify the whole log.
	cp, _ := log.Checkpoint(ctx)
	report, err := log.Verify(ctx, audit.VerifyOptions{})
	fmt.Println("checkpoint size:", cp.Size, "verified:", err == nil && report.OK())

	// Prove one entry to someone who holds only the checkpoint.
	_, body, _ := log.Entry(ctx, 1)
	proof, _ := log.ProveEntry(ctx, 1, cp.Size)
	fmt.Println("entry 1 included:", audit.CheckEntry(cp, 1, body, proof) == nil)

	// Erasure deletes the subject's salt: the entries stay, unlinkable.
	log.EraseSubject(ctx, "customer-42")
	entries, _ = log.Entries(ctx, audit.Filter{Subject: "customer-42"})
	_, err = log.Verify(ctx, audit.VerifyOptions{})
	fmt.Println("linked after erasure:", len(entries), "verified:", err == nil)
	// Output:
	// 0 crypto.decrypt profiles/email staff support
	// 1 crypto.decrypt profiles/phone staff support
	// checkpoint size: 2 verified: true
	// entry 1 included: true
	// linked after erasure: 0 verified: true
}

func ExampleLog_Redact() {
	ctx := context.Background()
	skey, _, _ := audit.GenerateKey("example.com/audit")
	signer, verifier, _ := audit.NewSigner(skey)
	key := make([]byte, 32)
	rand.Read(key)
	log, _ := audit.New(ctx, memaudit.New(), key, signer, verifier)
	defer log.Close(ctx)

	log.Record(ctx, gdpr.Event{Actor: gdpr.System("import"), Action: "profile.imported",
		Subject: "customer-7", Resource: "profiles/7", Outcome: gdpr.Success})
	// The import ran against the wrong tenant: drop the entry's content.
	if err := log.Redact(ctx, gdpr.Staff("dpo-1"), 0, "recorded_in_error"); err != nil {
		panic(err)
	}
	rec, _ := log.Entries(ctx, audit.Filter{})
	report, err := log.Verify(ctx, audit.VerifyOptions{})
	fmt.Println(len(rec), rec[0].Action, rec[0].Resource, rec[0].Attrs["reason"])
	fmt.Println("redacted:", report.Redacted, "verified:", err == nil)
	// Output:
	// 1 audit.redact audit/entry/0 recorded_in_error
	// redacted: 1 verified: true
}

func ExampleFileAnchor() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "anchor")
	defer os.RemoveAll(dir)
	skey, _, _ := audit.GenerateKey("example.com/audit")
	signer, verifier, _ := audit.NewSigner(skey)
	anchor := &audit.FileAnchor{Dir: dir, Keep: 100}

	key := make([]byte, 32)
	rand.Read(key)
	log, _ := audit.New(ctx, memaudit.New(), key, signer, verifier, audit.WithAnchor(anchor))
	log.Record(ctx, gdpr.Event{Actor: gdpr.System("worker"), Action: "retention.sweep", Outcome: gdpr.Success})
	log.Close(ctx) // signs and anchors a last checkpoint

	note, _ := anchor.Latest(ctx)
	cp, err := audit.OpenCheckpoint(note, "example.com/audit", verifier)
	fmt.Println(cp.Origin, cp.Size, err)
	// Output:
	// example.com/audit 1 <nil>
}
