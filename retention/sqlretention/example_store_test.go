package sqlretention_test

import (
	"context"
	"database/sql"
	"log"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// A host opens its database with its own driver (this module imports
// none), builds the Store and migrates it at start-up. The Store keeps
// the legal holds, which the erasure engine also asks (it is a
// gdpr.LegalHolds), and the sweeps' leases and checkpoints, so that of
// the host's instances one sweeps at a time. This example is compiled,
// not run: it needs a database; the module
// github.com/gdprkit/gdpr/integration runs the Store on all three.
func ExampleNew() {
	ctx := context.Background()
	// import _ "github.com/jackc/pgx/v5/stdlib"
	db, err := sql.Open("pgx", "postgres://app@db.internal:5432/app?default_query_exec_mode=exec")
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlretention.New(db, sqldialect.Postgres, sqlretention.WithTablePrefix("app_"))
	if err != nil {
		log.Fatal(err)
	}
	// app_retention_holds, app_retention_hold_cats, app_retention_sweeps
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	var _ gdpr.LegalHolds = store // erasure.WithLegalHolds(store)

	// A hold on one customer's invoices while a claim is pending.
	err = store.PlaceHold(ctx, retention.Hold{
		ID: "case-2025-17", Subject: "customer-4711", Categories: []string{"invoices"},
		Reason: "claim pending before the Regional Court", PlacedBy: gdpr.Staff("legal-7"), Placed: time.Now(),
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Hosts that run their own migration tool take the schema as files.
func ExampleMigrations() {
	fsys, err := sqlretention.Migrations(sqldialect.MySQL, "app_")
	if err != nil {
		log.Fatal(err)
	}
	_ = fsys // e.g. goose.NewProvider(goose.DialectMySQL, db, fsys)
}
