package insecuredevkeys_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/insecuredevkeys"
)

// A development program keeps its keys across restarts; a production one
// takes its KEK from a KMS instead.
func Example() {
	dir, _ := os.MkdirTemp("", "devkeys-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gdpr-keys.json")
	ctx := context.Background()
	store := memkeys.New() // stands in for the development database

	keys, err := insecuredevkeys.Load(path) // made on the first run
	if err != nil {
		panic(err)
	}
	ring, err := crypto.New(ctx, store, keys.KEK())
	if err != nil {
		panic(err)
	}
	f := crypto.Field{Table: "users", Column: "email"}
	ct, err := ring.Encrypt(ctx, "user-42", f, []byte("ann@example.org"))
	if err != nil {
		panic(err)
	}

	// The next run: the same file, the same KEK, the same data.
	keys, err = insecuredevkeys.Load(path)
	if err != nil {
		panic(err)
	}
	ring, err = crypto.New(ctx, store, keys.KEK())
	if err != nil {
		panic(err)
	}
	pt, err := ring.Decrypt(ctx, "user-42", f, ct)
	fmt.Println(string(pt), err, keys)
	// Output: ann@example.org <nil> insecuredevkeys.Keys{…}
}
