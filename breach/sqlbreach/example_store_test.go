package sqlbreach_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log"
	"strings"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/sqldialect"
)

// A host opens its database with its own driver (this module imports
// none), builds the Store, migrates it at start-up and gives it to the
// breach register. This example is compiled, not run: it needs a
// database; the module github.com/gdprkit/gdpr/integration runs the
// Store on all three.
func ExampleNew() {
	ctx := context.Background()
	// import _ "github.com/jackc/pgx/v5/stdlib"
	db, err := sql.Open("pgx", "postgres://app@db.internal:5432/app?default_query_exec_mode=exec")
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlbreach.New(db, sqldialect.Postgres, sqlbreach.WithTablePrefix("app_"))
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil { // app_breach_events, app_breach_notices
		log.Fatal(err)
	}
	var _ breach.Store = store // breach.New(store, subjectKey, …)
}

// Hosts that run their own migration tool take the schema as files, one
// statement each.
func ExampleMigrations() {
	fsys, err := sqlbreach.Migrations(sqldialect.MySQL, "app_")
	if err != nil {
		log.Fatal(err)
	}
	files, _ := fs.Glob(fsys, "*.sql")
	for _, name := range files {
		b, _ := fs.ReadFile(fsys, name)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "CREATE") || strings.Contains(line, "PRIMARY KEY") {
				fmt.Printf("%s: %s\n", name, strings.TrimSpace(line))
			}
		}
	}
	// Output:
	// 0001_breach_events.sql: CREATE TABLE app_breach_events (
	// 0001_breach_events.sql: PRIMARY KEY (breach_id, seq)
	// 0002_breach_notices.sql: CREATE TABLE app_breach_notices (
	// 0002_breach_notices.sql: PRIMARY KEY (breach_id, ref)
}
