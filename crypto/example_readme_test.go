package crypto_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/crypto/password"
	"github.com/gdprkit/gdpr/gdprtest"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// The README's tour of crypto; README.md quotes it, and the root's
// TestREADMESnippets keeps the two in step.
func Example_readme() {
	ctx := context.Background()
	h, _ := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	kmsAEAD, _ := aead.New(h)       // stands in for a KMS client's AEAD (see crypto.KEK)
	trail := new(gdprtest.Recorder) // an *audit.Log in a host
	ks := memkeys.New()             // in production: sqlkeys.New(db, sqldialect.Postgres), then ks.Migrate(ctx)

	kek := crypto.NewKEK("aws-2026-01", kmsAEAD) // any Tink AEAD: a KMS, an HSM; crypto.EphemeralKEK in tests
	keys, _ := crypto.New(ctx, ks, kek, crypto.WithRecorder(trail), crypto.WithDecryptAudit())

	email := crypto.Field{Table: "users", Column: "email", Category: "contact"}
	ct, _ := keys.Encrypt(ctx, "user-42", email, []byte("ann@example.org")) // store ct in your own row
	staff := gdpr.WithActor(ctx, gdpr.Staff("agent-17"))                    // who decrypts, for the audit trail
	pt, _ := keys.Decrypt(staff, "user-42", email, ct)                      // bound to subject, table, column (and row)
	fmt.Println(string(pt), trail.Actions())

	idx, _ := keys.BlindIndex(email) // find users by e-mail without decrypting every row
	fmt.Println(len(idx.Sum("Ann@Example.org")))

	keys.Shred(ctx, "user-42") // erasure: one key gone, every ciphertext of theirs unreadable, backups included
	_, err := keys.Decrypt(ctx, "user-42", email, ct)
	fmt.Println(errors.Is(err, crypto.ErrShredded))

	hash, _ := password.Hash("correct horse battery staple") // $argon2id$v=19$m=65536,t=3,p=4$…
	fmt.Println(hash[:10])
	// Output:
	// ann@example.org [crypto.key_created crypto.decrypt]
	// 16
	// true
	// $argon2id$
}
