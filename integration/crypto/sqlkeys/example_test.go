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

	"github.com/gdprkit/gdpr"
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

// Encrypting a new user's e-mail address inside the host's own
// transaction: the user's key is created in the transaction, on its
// connection, and commits or rolls back with the user's row. On SQLite,
// which has one writer, a plain Keyring.Encrypt here would wait for the
// transaction's write lock until the busy timeout and fail.
func ExampleStore_Tx() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlkeys-tx-example-")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	keys, _ := sqlkeys.New(db, sqldialect.SQLite)
	defer keys.Close()
	if err := keys.Migrate(ctx); err != nil {
		panic(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE users (id TEXT PRIMARY KEY, email BLOB NOT NULL)"); err != nil {
		panic(err)
	}
	kek, _ := crypto.EphemeralKEK("dev-2026") // in production: a KMS key
	ring, err := crypto.New(ctx, keys, kek)   // at start-up, outside any transaction
	if err != nil {
		panic(err)
	}
	email := crypto.Field{Table: "users", Column: "email", Category: "contact"}

	signUp := func(id gdpr.SubjectID, addr string, commit bool) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		ct, err := ring.In(keys.Tx(tx)).Encrypt(ctx, id, email, []byte(addr))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO users (id, email) VALUES (?, ?)", id, ct); err != nil {
			return err
		}
		if !commit {
			return tx.Rollback()
		}
		return tx.Commit()
	}
	fmt.Println("sign up ann:", signUp("user-1", "ann@example.org", true))
	fmt.Println("sign up bob, rolled back:", signUp("user-2", "bob@example.org", false))

	var ct []byte
	_ = db.QueryRowContext(ctx, "SELECT email FROM users WHERE id = ?", "user-1").Scan(&ct)
	pt, err := ring.Decrypt(ctx, "user-1", email, ct)
	fmt.Println(string(pt), err)
	_, err = keys.Get(ctx, ring.Ref("user-2"))
	fmt.Println("bob's key:", errors.Is(err, crypto.ErrNotFound))
	// Output:
	// sign up ann: <nil>
	// sign up bob, rolled back: <nil>
	// ann@example.org <nil>
	// bob's key: true
}
