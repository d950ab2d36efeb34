package audit_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"time"

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

// Who acts and why travel in the context: the middleware that
// authenticates a staff member sets them once, and every event recorded
// with that context names them, unless the event names its own.
func ExampleLog_Record_context() {
	ctx := context.Background()
	skey, _, _ := audit.GenerateKey("example.com/audit")
	signer, verifier, _ := audit.NewSigner(skey)
	key := make([]byte, 32)
	rand.Read(key)
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	log, err := audit.New(ctx, memaudit.New(), key, signer, verifier,
		audit.WithClock(func() time.Time { return at }))
	if err != nil {
		panic(err)
	}
	defer log.Close(ctx)

	ctx = gdpr.WithPurpose(gdpr.WithActor(ctx, gdpr.Staff("agent-17")), "support")
	// No Actor, no Purpose, no Time: the context and the clock fill them.
	log.Record(ctx, gdpr.Event{Action: "crypto.decrypt", Subject: "customer-42",
		Resource: "profiles/email", Outcome: gdpr.Success})
	// An event's own actor and purpose win.
	log.Record(ctx, gdpr.Event{Actor: gdpr.System("mailer"), Action: "mail.sent", Subject: "customer-42",
		Purpose: "newsletter", Outcome: gdpr.Success})

	entries, _ := log.Entries(ctx, audit.Filter{Subject: "customer-42"})
	for _, e := range entries {
		fmt.Println(e.Index, e.Action, e.Actor.Kind, e.Purpose, e.Time.Format(time.RFC3339))
	}
	// The Log prints its origin, never its keys.
	fmt.Println(log)
	// Output:
	// 0 crypto.decrypt staff support 2026-03-01T09:30:00Z
	// 1 mail.sent system newsletter 2026-03-01T09:30:00Z
	// audit.Log(example.com/audit)
}

// Entries returns a page at a time: DefaultPage entries when Filter.Limit
// is 0, at most MaxPage. The next page starts after the last index seen.
func ExampleLog_Entries() {
	ctx := context.Background()
	skey, _, _ := audit.GenerateKey("example.com/audit")
	signer, verifier, _ := audit.NewSigner(skey)
	key := make([]byte, 32)
	rand.Read(key)
	log, _ := audit.New(ctx, memaudit.New(), key, signer, verifier)
	defer log.Close(ctx)

	events := make([]gdpr.Event, 250)
	for i := range events {
		events[i] = gdpr.Event{Actor: gdpr.System("import"), Action: "profile.imported",
			Subject: "customer-7", Outcome: gdpr.Success}
	}
	log.Append(ctx, events...)

	f := audit.Filter{Subject: "customer-7"} // Limit 0: DefaultPage
	for {
		page, err := log.Entries(ctx, f)
		if err != nil {
			panic(err)
		}
		fmt.Println("page of", len(page))
		if len(page) < audit.DefaultPage {
			break
		}
		f.From = page[len(page)-1].Index + 1
	}
	_, err := log.Entries(ctx, audit.Filter{Limit: audit.MaxPage + 1})
	fmt.Println(err)
	// Output:
	// page of 100
	// page of 100
	// page of 50
	// audit entries: Limit: invalid input: the limit is 0 (for 100) or 1 to 1000
}

// Every option is checked in New; a refused one is named in the *Error.
func ExampleError() {
	ctx := context.Background()
	skey, _, _ := audit.GenerateKey("example.com/audit")
	signer, verifier, _ := audit.NewSigner(skey)
	key := make([]byte, 32)
	rand.Read(key)
	_, err := audit.New(ctx, memaudit.New(), key, signer, verifier, audit.WithErrorHandler(nil))
	var e *audit.Error
	if errors.As(err, &e) {
		fmt.Println(e.Op, e.Field, errors.Is(err, audit.ErrInvalid), errors.Is(err, gdpr.ErrInvalid))
	}
	fmt.Println(err)
	// Output:
	// new WithErrorHandler true true
	// audit new: WithErrorHandler: invalid input: nil error handler
}

func ExampleLog_Search() {
	ctx := context.Background()
	skey, _, _ := audit.GenerateKey("example.com/audit")
	signer, verifier, _ := audit.NewSigner(skey)
	key := make([]byte, 32)
	rand.Read(key)
	log, _ := audit.New(ctx, memaudit.New(), key, signer, verifier)
	defer log.Close(ctx)

	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	log.Append(ctx,
		gdpr.Event{Time: t0, Actor: gdpr.Staff("agent-17"), Action: "crypto.decrypt", Subject: "customer-42",
			Purpose: "billing", Categories: []string{"contact"}, Resource: "invoice/7", Outcome: gdpr.Success},
		gdpr.Event{Time: t0.Add(time.Hour), Actor: gdpr.Staff("agent-17"), Action: "crypto.decrypt", Subject: "customer-7",
			Purpose: "billing", Categories: []string{"payment"}, Resource: "invoice/8", Outcome: gdpr.Success},
		gdpr.Event{Time: t0.Add(2 * time.Hour), Actor: gdpr.Staff("agent-3"), Action: "crypto.decrypt", Subject: "customer-9",
			Purpose: "billing", Categories: []string{"payment"}, Resource: "invoice/9", Outcome: gdpr.Success},
		gdpr.Event{Time: t0.Add(3 * time.Hour), Actor: gdpr.Staff("agent-17"), Action: "crypto.decrypt", Subject: "customer-9",
			Purpose: "support", Categories: []string{"contact"}, Resource: "profiles/9", Outcome: gdpr.Success},
	)

	// agent-17's account was used by an intruder from 08:00 to 12:00:
	// which invoices did it read, and whose?
	q := gdpr.TrailQuery{Since: t0.Add(-time.Hour), Until: t0.Add(3 * time.Hour), Actor: gdpr.Staff("agent-17"),
		ResourcePrefix: "invoice/", Actions: []string{"crypto.decrypt"}}
	concerned := map[string]bool{}
	for e, err := range log.Search(ctx, q) {
		if err != nil {
			panic(err)
		}
		fmt.Println(e.Index, e.Time.Format("15:04"), e.Action, e.Resource, e.Categories)
		if e.Subject != nil {
			concerned[string(e.Subject)] = true
		}
	}

	// The breach's candidates, matched to the entries' tokens; asking
	// about customer-1, never recorded, leaves no trace of them.
	names := []string{"customer-1", "customer-7", "customer-9", "customer-42"}
	candidates := make([]gdpr.SubjectID, len(names))
	for i, n := range names {
		candidates[i] = gdpr.SubjectID(n)
	}
	tokens, err := log.SubjectTokens(ctx, candidates)
	if err != nil {
		panic(err)
	}
	for i, tok := range tokens {
		fmt.Printf("%s: in the trail %v, concerned %v\n", names[i], tok != nil, concerned[string(tok)])
	}
	// Output:
	// 0 09:00 crypto.decrypt invoice/7 [contact]
	// 1 10:00 crypto.decrypt invoice/8 [payment]
	// customer-1: in the trail false, concerned false
	// customer-7: in the trail true, concerned true
	// customer-9: in the trail true, concerned false
	// customer-42: in the trail true, concerned true
}
