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
