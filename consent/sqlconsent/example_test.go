package sqlconsent_test

import (
	"context"
	"database/sql"
	"log"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/sqldialect"
)

// A host opens the database with its own driver (this module imports
// none), builds the Store, migrates at start-up and hands it to the
// Ledger. This example is compiled, not run: it needs a database; the
// module github.com/gdprkit/gdpr/integration runs the same on SQLite.
func Example() {
	ctx := context.Background()
	// import _ "github.com/jackc/pgx/v5/stdlib"
	db, err := sql.Open("pgx", "postgres://app@db.internal:5432/app?default_query_exec_mode=exec")
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlconsent.New(db, sqldialect.Postgres, sqlconsent.WithTablePrefix("app_"))
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil { // app_consent_events, app_consent_notices; app_schema_version
		log.Fatal(err)
	}
	ledger, err := consent.New(store)
	if err != nil {
		log.Fatal(err)
	}
	_ = ledger
}

// Hosts that run their own migration tool take the schema as files.
func ExampleMigrations() {
	fsys, err := sqlconsent.Migrations(sqldialect.MySQL, "app_")
	if err != nil {
		log.Fatal(err)
	}
	_ = fsys // e.g. goose.NewProvider(goose.DialectMySQL, db, fsys)
}
