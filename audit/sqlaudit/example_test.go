package sqlaudit_test

import (
	"context"
	"database/sql"
	"log"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The trail in the host's database, and an entry committed in the host's
// own transaction. This example is compiled, not run: it needs a
// database; the module github.com/gdprkit/gdpr/integration runs the same
// on SQLite.
func ExampleStore_Tx() {
	ctx := context.Background()
	// import _ "github.com/go-sql-driver/mysql"
	db, err := sql.Open("mysql", "app@tcp(db.internal:3306)/app")
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlaudit.New(db, sqldialect.MySQL)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	var trail *audit.Log // audit.New(ctx, store, pseudonymKey, signer, verifier, …)

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE tickets SET status = 'closed' WHERE id = ?", 981); err != nil {
		log.Fatal(err)
	}
	if _, err := trail.AppendTx(ctx, store.Tx(tx), gdpr.Event{Actor: gdpr.Staff("agent-17"), Action: "ticket.closed",
		Subject: "user-42", Resource: "tickets/981", Outcome: gdpr.Success}); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil { // the entry and the change, or neither
		log.Fatal(err)
	}
}
