package sqlkeys_test

import (
	"context"
	"database/sql"
	"log"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The key store in the host's database. This example is compiled, not
// run: it needs a database and a KMS; the module
// github.com/gdprkit/gdpr/integration runs the same on SQLite.
func Example() {
	ctx := context.Background()
	// import _ "modernc.org/sqlite"
	db, err := sql.Open("sqlite", "file:keys.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlkeys.New(db, sqldialect.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	var kek crypto.KEK // crypto.NewKEK("aws-2026-01", kmsAEAD)
	keys, err := crypto.New(ctx, store, kek)
	if err != nil {
		log.Fatal(err)
	}
	_ = keys
}

// A new user's e-mail address encrypted inside the host's own transaction:
// the user's key is created through Tx, in the transaction, and commits or
// rolls back with the user's row. This example is compiled, not run; the
// module github.com/gdprkit/gdpr/integration runs the same on SQLite.
func ExampleStore_Tx() {
	ctx := context.Background()
	var db *sql.DB              // the host's database, opened as in the package example
	var store *sqlkeys.Store    // sqlkeys.New(db, …), migrated
	var keyring *crypto.Keyring // crypto.New(ctx, store, kek), at start-up
	email := crypto.Field{Table: "users", Column: "email", Category: "contact"}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	ct, err := keyring.In(store.Tx(tx)).Encrypt(ctx, "user-42", email, []byte("ann@example.org"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO users (id, email) VALUES (?, ?)", "user-42", ct); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
}
