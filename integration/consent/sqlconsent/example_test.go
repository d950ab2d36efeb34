package sqlconsent_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/sqldialect"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlconsent-example-")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		panic(err)
	}
	defer db.Close()

	store, err := sqlconsent.New(db, sqldialect.SQLite)
	if err != nil {
		panic(err)
	}
	if err := store.Migrate(ctx); err != nil { // at start-up; idempotent
		panic(err)
	}
	ledger, _ := consent.New(store)
	_, _ = ledger.Publish(ctx, consent.Notice{ID: "analytics", Version: 1, TextHash: consent.HashText("May we measure…")})
	_, _ = ledger.Give(ctx, consent.Choice{Subject: "user-42", Purpose: "analytics",
		Notice: consent.NoticeRef{ID: "analytics", Version: 1}})

	ok, err := ledger.Allowed(ctx, "user-42", "analytics")
	fmt.Println(ok, err)
	// Output: true <nil>
}

func ExampleMigrations() {
	fsys, _ := sqlconsent.Migrations(sqldialect.Postgres, "app_")
	files, _ := fs.Glob(fsys, "*.sql")
	fmt.Println(files)
	// Output: [0001_consent_events.sql 0002_consent_notices.sql 0003_consent_outbox.sql 0004_consent_suppression.sql]
}
