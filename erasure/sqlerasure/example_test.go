package sqlerasure_test

import (
	"context"
	"database/sql"
	"log"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/sqldialect"
)

// A host opens its databases with its own driver (this module imports
// none), builds the stores, and migrates at start-up: the requests and
// codes in the application's database, the journal in another, so that a
// restore of the first does not roll the journal back. The stores are
// then given to the Engine. This example is compiled, not run: it needs
// databases; the module github.com/gdprkit/gdpr/integration runs the
// stores on all three.
func Example() {
	ctx := context.Background()
	// import _ "github.com/jackc/pgx/v5/stdlib"
	db, err := sql.Open("pgx", "postgres://app@db.internal:5432/app?default_query_exec_mode=exec")
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlerasure.New(db, sqldialect.Postgres, sqlerasure.WithTablePrefix("app_"))
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil { // app_erasure_requests, app_erasure_leases, app_erasure_codes
		log.Fatal(err)
	}
	codes, err := sqlerasure.NewCodeStore(db, sqldialect.Postgres, sqlerasure.WithTablePrefix("app_"))
	if err != nil {
		log.Fatal(err)
	}

	// The journal apart: here a SQLite file on other storage.
	// import _ "modernc.org/sqlite"
	jdb, err := sql.Open("sqlite", "file:/var/lib/app/erasure-journal.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	journal, err := sqlerasure.NewJournal(jdb, sqldialect.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	if err := journal.Migrate(ctx); err != nil { // gdpr_erasure_journal
		log.Fatal(err)
	}
	// The keys come from the host's secret store.
	var subjectKey, codeKey []byte
	send := func(ctx context.Context, r gdpr.Request, code string) error { return nil } // the host's mailer
	verifier, err := erasure.NewCodeVerifier(codes, codeKey, send, erasure.CodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	engine, err := erasure.New(store, subjectKey, erasure.WithJournal(journal), erasure.WithVerifier(verifier))
	if err != nil {
		log.Fatal(err)
	}
	_ = engine
}

// Hosts that run their own migration tool take the schemas as files: the
// Store's and CodeStore's, and the Journal's apart.
func ExampleMigrations() {
	fsys, err := sqlerasure.Migrations(sqldialect.MySQL, "app_")
	if err != nil {
		log.Fatal(err)
	}
	jfs, err := sqlerasure.JournalMigrations(sqldialect.MySQL, "app_")
	if err != nil {
		log.Fatal(err)
	}
	_, _ = fsys, jfs // e.g. goose.NewProvider(goose.DialectMySQL, db, fsys)
}
