package sqlexport_test

import (
	"context"
	"database/sql"
	"log"

	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/sqlexport"
	"github.com/gdprkit/gdpr/sqldialect"
)

// A host opens its database with its own driver (this module imports
// none), builds the Store, migrates at start-up, and gives it to the
// Deliverer with the blobs' directory. This example is compiled, not
// run: it needs a database; the module github.com/gdprkit/gdpr/integration
// runs the Store on all three.
func Example() {
	ctx := context.Background()
	// import _ "github.com/jackc/pgx/v5/stdlib"
	db, err := sql.Open("pgx", "postgres://app@db.internal:5432/app?default_query_exec_mode=exec")
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlexport.New(db, sqldialect.Postgres, sqlexport.WithTablePrefix("app_"))
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil { // app_export_deliveries, app_export_parts
		log.Fatal(err)
	}
	blobs, err := export.DirBlobs("/var/lib/app/exports")
	if err != nil {
		log.Fatal(err)
	}
	deliverer, err := export.NewDeliverer(store, blobs)
	if err != nil {
		log.Fatal(err)
	}
	_ = deliverer
}

// Hosts that run their own migration tool take the schema as files.
func ExampleMigrations() {
	fsys, err := sqlexport.Migrations(sqldialect.MySQL, "app_")
	if err != nil {
		log.Fatal(err)
	}
	_ = fsys // e.g. goose.NewProvider(goose.DialectMySQL, db, fsys)
}
