package crypto_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/crypto"
)

// Erasing a subject through the audit log and the Keyring, in either
// order, leaves nothing in the trail linked to them: the Keyring's events
// about the erasure (crypto.shred), and about a subject of whom it holds
// no live key (a Decrypt refused because the key is shredded or was never
// made, one the Guard refused, whatever the ciphertext; an export), carry
// no Subject, and no subject actor of that ID, so recording them makes the
// audit log mint no new pseudonym for the erased subject. Run with the
// system actor and with the subject acting for themselves (a privacy
// center). (A new action by an erased person, acting on someone else, is
// a new fact, and the trail records it as such.)
func TestErasureLeavesNothingLinked(t *testing.T) {
	const s = gdpr.SubjectID("user-erased")
	for _, order := range []string{"audit-first", "keyring-first"} {
		for _, actor := range []string{"system", "subject"} {
			t.Run(order+"/"+actor, func(t *testing.T) {
				ctx := context.Background()
				if actor == "subject" {
					ctx = gdpr.WithActor(ctx, gdpr.Actor{Kind: gdpr.ActorSubject, ID: string(s)})
				}
				log := newAuditLog(t)
				k, store := auditedKeyring(t, log)
				f := crypto.Field{Table: "users", Column: "email", Category: "contact"}
				ct, err := k.Encrypt(ctx, s, f, []byte("ann@example.org"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := k.Decrypt(ctx, s, f, ct); err != nil {
					t.Fatal(err)
				}
				if es, err := log.Entries(ctx, audit.Filter{Subject: s}); err != nil || len(es) == 0 {
					t.Fatalf("before erasure, entries about the subject: %d, %v; want some", len(es), err)
				}

				eraseAudit := func() {
					if _, err := log.EraseSubject(ctx, s); err != nil {
						t.Fatal(err)
					}
				}
				if order == "audit-first" {
					eraseAudit()
				}
				if rep, err := k.EraseSubject(ctx, s); err != nil || rep.Erased != 1 {
					t.Fatalf("Keyring.EraseSubject = %+v, %v", rep, err)
				}
				if order == "keyring-first" {
					eraseAudit()
				}

				// After the erasure: an export, decryptions refused in every
				// way, a repeated shred, a refusal by a Guard.
				discard := gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return nil })
				if err := k.ExportSubject(ctx, s, discard); err != nil {
					t.Fatal(err)
				}
				if _, err := k.Decrypt(ctx, s, f, ct); !errors.Is(err, crypto.ErrShredded) {
					t.Errorf("Decrypt after erasure: %v; want ErrShredded", err)
				}
				if _, err := k.Decrypt(ctx, s, f, []byte("not a ciphertext")); err == nil {
					t.Error("Decrypt of garbage after erasure succeeded")
				}
				if _, err := k.In(store).Decrypt(ctx, s, f, ct); !errors.Is(err, crypto.ErrShredded) {
					t.Errorf("Decrypt through a TxKeyring after erasure: %v; want ErrShredded", err)
				}
				if _, err := k.Encrypt(ctx, s, f, []byte("again")); !errors.Is(err, crypto.ErrShredded) {
					t.Errorf("Encrypt after erasure: %v; want ErrShredded", err)
				}
				if err := k.Shred(ctx, s); err != nil {
					t.Fatal(err)
				}
				guarded, err := crypto.New(ctx, store, auditedKEK, crypto.WithRecorder(log), crypto.WithDecryptAudit(),
					crypto.WithGuard(func(context.Context, gdpr.SubjectID) error { return errors.New("restricted") }))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := guarded.Decrypt(ctx, s, f, ct); !errors.Is(err, crypto.ErrRestricted) {
					t.Errorf("Decrypt refused by the Guard: %v; want ErrRestricted", err)
				}
				// A subject never seen, acting for themselves or not:
				// nothing links them either.
				const unknown = gdpr.SubjectID("never-seen")
				if actor == "subject" {
					ctx = gdpr.WithActor(context.Background(), gdpr.Actor{Kind: gdpr.ActorSubject, ID: string(unknown)})
				}
				if _, err := k.Decrypt(ctx, unknown, f, ct); !errors.Is(err, crypto.ErrDecrypt) {
					t.Errorf("Decrypt for an unknown subject: %v; want ErrDecrypt", err)
				}
				if _, err := guarded.Decrypt(ctx, unknown, f, ct); !errors.Is(err, crypto.ErrRestricted) {
					t.Errorf("Decrypt for an unknown subject refused by the Guard: %v; want ErrRestricted", err)
				}
				if _, err := k.EraseSubject(ctx, unknown); err != nil {
					t.Fatal(err)
				}

				for _, who := range []gdpr.SubjectID{s, unknown} {
					if es, err := log.Entries(ctx, audit.Filter{Subject: who}); err != nil || len(es) > 0 {
						for _, e := range es {
							t.Errorf("after erasure the trail links %s (entry %d, outcome %s) to a subject without a live key", e.Action, e.Index, e.Outcome)
						}
						if err != nil {
							t.Fatal(err)
						}
					}
					if es, err := log.Entries(ctx, audit.Filter{Actor: gdpr.Actor{Kind: gdpr.ActorSubject, ID: string(who)}}); err != nil || len(es) > 0 {
						for _, e := range es {
							t.Errorf("after erasure the trail links %s (entry %d) to the subject as its actor", e.Action, e.Index)
						}
						if err != nil {
							t.Fatal(err)
						}
					}
				}
				// The events are there, naming the resource and counts.
				all, err := log.Entries(ctx, audit.Filter{Limit: audit.MaxPage})
				if err != nil {
					t.Fatal(err)
				}
				var shreds, failures, denied int
				for _, e := range all {
					switch {
					case e.Action == "crypto.shred":
						shreds++
						if e.Resource != "crypto_key" || e.Attrs["erased"] == "" || !e.Subject.IsZero() {
							t.Errorf("crypto.shred entry %d: resource %q, attrs %v, subject %v; want crypto_key, the count erased, no subject", e.Index, e.Resource, e.Attrs, !e.Subject.IsZero())
						}
					case e.Action == "crypto.decrypt" && e.Outcome == gdpr.Failure:
						failures++
					case e.Action == "crypto.decrypt" && e.Outcome == gdpr.Denied:
						denied++
					}
				}
				if shreds != 3 || failures != 4 || denied != 2 {
					t.Errorf("%d crypto.shred, %d failed and %d denied crypto.decrypt entries; want 3, 4 and 2 (every call recorded, unlinked)", shreds, failures, denied)
				}
			})
		}
	}
}
