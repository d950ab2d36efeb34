package crypto_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
)

func Example() {
	ctx := context.Background()
	kek, _ := crypto.EphemeralKEK("dev-2026") // in production: a KMS key
	keys, err := crypto.New(ctx, memkeys.New(), kek)
	if err != nil {
		panic(err)
	}
	email := crypto.Field{Table: "users", Column: "email", Category: "contact"}

	ct, _ := keys.Encrypt(ctx, "user-42", email, []byte("ann@example.org"))
	pt, _ := keys.Decrypt(ctx, "user-42", email, ct)
	fmt.Println(string(pt))

	// Erasure: destroy one key, and every ciphertext of the subject, in
	// every table and backup, is unreadable.
	_ = keys.Shred(ctx, "user-42")
	_, err = keys.Decrypt(ctx, "user-42", email, ct)
	fmt.Println(errors.Is(err, crypto.ErrShredded), err)
	// Output:
	// ann@example.org
	// true crypto decrypt: key shredded
}

func ExampleKeyring_BlindIndex() {
	ctx := context.Background()
	kek, _ := crypto.EphemeralKEK("dev-2026")
	keys, _ := crypto.New(ctx, memkeys.New(), kek)
	idx, _ := keys.BlindIndex(crypto.Field{Table: "users", Column: "email"})

	// Store idx.Sum(email) beside the ciphertext; look rows up by it.
	stored := idx.Sum("Ann@Example.org")
	lookup := idx.Sum(" ann@example.org")
	fmt.Println(len(stored), string(stored) == string(lookup))

	short, _ := keys.BlindIndex(crypto.Field{Table: "users", Column: "email"},
		crypto.WithIndexSize(8), crypto.WithIndexNormalizer(crypto.NormalizeNone))
	fmt.Println(short.Size(), string(short.Sum("Ann")) == string(short.Sum("ann")))
	// Output:
	// 16 true
	// 8 false
}

// A key for a thing, not a person: the temporary site credentials a
// customer shares in support ticket 4711 are encrypted under the ticket's
// scope and destroyed, every copy at once, when the ticket closes. The
// audit trail names the ticket, and no subject.
func ExampleKeyring_EncryptScope() {
	ctx := context.Background()
	trail := gdpr.RecorderFunc(func(_ context.Context, e gdpr.Event) error {
		fmt.Printf("audit: %s scope=%s subject=%t\n", e.Action, e.Attrs["scope"], e.Subject != "")
		return nil
	})
	kek, _ := crypto.EphemeralKEK("dev-2026")
	keys, _ := crypto.New(ctx, memkeys.New(), kek, crypto.WithRecorder(trail))

	ticket := crypto.Scope("ticket/4711")
	creds := crypto.Field{Table: "tickets", Column: "site_credentials", Row: "4711"}
	ct, _ := keys.EncryptScope(ctx, ticket, creds, []byte("admin / hunter2"))
	pt, _ := keys.DecryptScope(ctx, ticket, creds, ct)
	fmt.Println(string(pt))

	// The ticket closes.
	_ = keys.ShredScope(ctx, ticket)
	_, err := keys.DecryptScope(ctx, ticket, creds, ct)
	fmt.Println(errors.Is(err, crypto.ErrShredded))
	// Output:
	// audit: crypto.key_created scope=ticket/4711 subject=false
	// admin / hunter2
	// audit: crypto.shred scope=ticket/4711 subject=false
	// true
}

// Who decrypted, why, and what: the actor and purpose come from the
// context, the resource and category from the field.
func ExampleWithDecryptAudit() {
	ctx := context.Background()
	trail := gdpr.RecorderFunc(func(_ context.Context, e gdpr.Event) error {
		if e.Action == "crypto.decrypt" {
			fmt.Println(e.Actor, e.Purpose, e.Resource, e.Categories, e.Outcome)
		}
		return nil
	})
	kek, _ := crypto.EphemeralKEK("dev-2026")
	keys, _ := crypto.New(ctx, memkeys.New(), kek, crypto.WithRecorder(trail), crypto.WithDecryptAudit())
	email := crypto.Field{Table: "users", Column: "email", Category: "contact"}
	ct, _ := keys.Encrypt(ctx, "user-42", email, []byte("ann@example.org"))

	// In the host's middleware, once per request:
	ctx = gdpr.WithPurpose(gdpr.WithActor(ctx, gdpr.Staff("agent-7")), "support")
	_, _ = keys.Decrypt(ctx, "user-42", email, ct)
	// Output:
	// staff:[id] support users.email [contact] success
}

// The Keyring answers the right of access with what it holds about the
// subject: their key's metadata, never the key nor its Ref.
func ExampleKeyring_ExportSubject() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	kek, _ := crypto.EphemeralKEK("dev-2026")
	keys, _ := crypto.New(ctx, memkeys.New(), kek, crypto.WithClock(func() time.Time { return now }))
	_, _ = keys.Encrypt(ctx, "user-42", crypto.Field{Table: "users", Column: "email"}, []byte("ann@example.org"))

	show := gdpr.RecordWriterFunc(func(_ context.Context, r gdpr.Record) error {
		fmt.Println(r.Dataset, r.ID, r.Fields["status"], r.Fields["kek"], r.Fields["version"], r.Fields["created"])
		return nil
	})
	_ = keys.ExportSubject(ctx, "user-42", show)
	now = now.Add(24 * time.Hour)
	_ = keys.Shred(ctx, "user-42")
	_ = keys.ExportSubject(ctx, "user-42", gdpr.RecordWriterFunc(func(_ context.Context, r gdpr.Record) error {
		fmt.Println(r.Dataset, r.ID, r.Fields["status"], r.Fields["shredded"])
		return nil
	}))
	_ = keys.ExportSubject(ctx, "user-43", show) // no key: nothing
	// Output:
	// crypto_keys subject_key active dev-2026 1 2026-03-01 09:00:00 +0000 UTC
	// crypto_keys subject_key shredded 2026-03-02 09:00:00 +0000 UTC
}

// Encrypting inside the host's own database transaction: the first Encrypt
// for a new subject creates their key in the transaction (sqlkeys'
// Store.Tx), so it commits or rolls back with the row that holds the
// ciphertext. This example is compiled, not run (it needs a database); the
// module github.com/gdprkit/gdpr/integration runs sqlkeys' ExampleStore_Tx
// on SQLite.
func ExampleKeyring_In() {
	ctx := context.Background()
	var db *sql.DB              // the host's database
	var store *sqlkeys.Store    // sqlkeys.New(db, dialect), migrated
	var keyring *crypto.Keyring // crypto.New(ctx, store, kek), at start-up
	email := crypto.Field{Table: "users", Column: "email", Category: "contact"}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		panic(err)
	}
	defer tx.Rollback()
	ct, err := keyring.In(store.Tx(tx)).Encrypt(ctx, "user-42", email, []byte("ann@example.org"))
	if err != nil {
		panic(err) // never a wait for the busy timeout on SQLite
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO users (id, email) VALUES (?, ?)", "user-42", ct); err != nil {
		panic(err)
	}
	if err := tx.Commit(); err != nil { // the key commits with the row; a rollback leaves neither
		panic(err)
	}
}

// A breach investigation asks whose encrypted fields stayed
// unintelligible (Art. 34(3)(a)): a subject whose key is wrapped under a
// KEK the attacker did not hold, or shredded. Since says from when the
// answer holds; before it, the key may have been wrapped under another
// KEK. SubjectKeys creates no key for a subject it is asked about, calls
// no KEK and records nothing.
func ExampleKeyring_SubjectKeys() {
	ctx := context.Background()
	now := time.Date(2026, time.March, 1, 9, 0, 0, 0, time.UTC)
	kek, _ := crypto.EphemeralKEK("kms-2026")
	keys, _ := crypto.New(ctx, memkeys.New(), kek, crypto.WithClock(func() time.Time { return now }))
	email := crypto.Field{Table: "users", Column: "email", Category: "contact"}

	_, _ = keys.Encrypt(ctx, "user-1", email, []byte("ann@example.org"))
	_, _ = keys.Encrypt(ctx, "user-2", email, []byte("bob@example.org"))
	now = now.Add(24 * time.Hour)
	_ = keys.Shred(ctx, "user-2")

	subjects := []gdpr.SubjectID{"user-1", "user-2", "user-3"}
	states, err := keys.SubjectKeys(ctx, subjects)
	if err != nil {
		panic(err)
	}
	for i, k := range states {
		switch k.State {
		case gdpr.KeyLive:
			fmt.Printf("%d: live, wrapped under %s since %s\n", i, k.KEK, k.Since.Format(time.DateOnly))
		case gdpr.KeyShredded:
			fmt.Printf("%d: shredded on %s\n", i, k.Since.Format(time.DateOnly))
		default:
			fmt.Printf("%d: %s\n", i, k.State)
		}
	}
	// Output:
	// 0: live, wrapped under kms-2026 since 2026-03-01
	// 1: shredded on 2026-03-02
	// 2: none
}
