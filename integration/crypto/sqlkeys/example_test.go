package sqlkeys_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/sqldialect"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlkeys-example-")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "keys.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		panic(err)
	}
	defer db.Close()

	store, err := sqlkeys.New(db, sqldialect.SQLite)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil { // at start-up; idempotent
		panic(err)
	}
	// In an application, pass store to crypto.New; the Keyring computes
	// Refs and wraps keysets. Here the Store is driven directly.
	ref := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	now := time.Now()
	fmt.Println("create:", store.Create(ctx, crypto.Record{Ref: ref, Wrapped: []byte{0x01}, KEK: "kek-1", Created: now, Updated: now}))
	fmt.Println("shred:", store.Shred(ctx, ref, now))
	_, err = store.Get(ctx, ref)
	fmt.Println("get after shred:", errors.Is(err, crypto.ErrShredded))
	err = store.Create(ctx, crypto.Record{Ref: ref, Wrapped: []byte{0x02}, KEK: "kek-1"})
	fmt.Println("create after shred:", errors.Is(err, crypto.ErrShredded))
	// Output:
	// create: <nil>
	// shred: <nil>
	// get after shred: true
	// create after shred: true
}

func ExampleMigrations() {
	fsys, _ := sqlkeys.Migrations(sqldialect.Postgres, "app_")
	files, _ := fs.Glob(fsys, "*.sql")
	fmt.Println(files)
	// Output: [0001_crypto_keys.sql]
}
