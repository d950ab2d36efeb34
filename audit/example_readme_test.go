package audit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// The README's tour of the audit trail; README.md quotes it, and the
// root's TestREADMESnippets keeps the two in step.
func Example_readme() {
	ctx := context.Background()
	skey, _, _ := audit.GenerateKey("example.com/audit") // once; kept in your secret store
	pseudonymKey := make([]byte, 32)
	rand.Read(pseudonymKey)
	worm, _ := os.MkdirTemp("", "anchor") // storage the DBAs cannot write
	defer os.RemoveAll(worm)
	cstore, ks := memconsent.New(), memkeys.New()
	kek, _ := crypto.EphemeralKEK("dev")

	store := memaudit.New() // in production: sqlaudit.New(db, sqldialect.Postgres), then store.Migrate(ctx)
	signer, verifier, _ := audit.NewSigner(skey)
	trail, _ := audit.New(ctx, store, pseudonymKey, signer, verifier,
		audit.WithAnchor(&audit.FileAnchor{Dir: worm})) // checkpoints go where the DBAs can't write
	defer trail.Close(ctx)

	// Every package records into it; so does your code.
	ledger, _ := consent.New(cstore, consent.WithRecorder(trail))
	keys, _ := crypto.New(ctx, ks, kek, crypto.WithRecorder(trail), crypto.WithDecryptAudit()) // decryptions too
	trail.Record(ctx, gdpr.Event{Actor: gdpr.Staff("agent-17"), Action: "ticket.viewed",
		Subject: "user-42", Purpose: "support", Resource: "tickets/981", Outcome: gdpr.Success})
	_, _ = ledger, keys

	entries, _ := trail.Entries(ctx, audit.Filter{Subject: "user-42"}) // who accessed my data (Art. 15)
	report, err := trail.Verify(ctx, audit.VerifyOptions{})            // names each altered, missing, inserted entry
	cp, _ := trail.Checkpoint(ctx)                                     // a signed note: origin, size, root
	proof, _ := trail.ProveEntry(ctx, 0, cp.Size)                      // audit.CheckEntry / tlog.CheckRecord
	trail.EraseSubject(ctx, "user-42")                                 // deletes the salt: their entries stay, verifiable and unlinkable
	_, body, _ := trail.Entry(ctx, 0)
	fmt.Println(len(entries), report.OK(), err, cp.Size, audit.CheckEntry(cp, 0, body, proof))
	// Output:
	// 1 true <nil> 1 <nil>
}
