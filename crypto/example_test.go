package crypto_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

func Example() {
	ctx := context.Background()
	kek, _ := crypto.EphemeralKEK("dev-2026") // in production: a KMS key
	keys, err := crypto.New(ctx, memkeys.New(), kek)
	if err != nil {
		panic(err)
	}
	email := crypto.Field{Table: "users", Column: "email"}

	ct, _ := keys.Encrypt(ctx, "user-42", email, []byte("ann@example.org"))
	pt, _ := keys.Decrypt(ctx, "user-42", email, ct)
	fmt.Println(string(pt))

	// Erasure: destroy one key, and every ciphertext of the subject, in
	// every table and backup, is unreadable.
	_ = keys.Shred(ctx, "user-42")
	_, err = keys.Decrypt(ctx, "user-42", email, ct)
	fmt.Println(errors.Is(err, crypto.ErrShredded))
	// Output:
	// ann@example.org
	// true
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
	// Output: 16 true
}
