package sqlaudit_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// An audit entry written in the host's own transaction commits or rolls
// back with the change it records.
func ExampleStore_Tx() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlaudit-example-")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		panic(err)
	}
	defer db.Close()

	store, err := sqlaudit.New(db, sqldialect.SQLite)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil { // at start-up; idempotent
		panic(err)
	}
	// In production the keys come from a secret store.
	skey, _, _ := audit.GenerateKey("example.com/audit")
	signer, verifier, _ := audit.NewSigner(skey)
	key := make([]byte, 32)
	rand.Read(key)
	log, err := audit.New(ctx, store, key, signer, verifier)
	if err != nil {
		panic(err)
	}
	defer log.Close(ctx)
	if _, err := db.ExecContext(ctx, "CREATE TABLE profiles (id TEXT PRIMARY KEY, email TEXT)"); err != nil {
		panic(err)
	}

	update := gdpr.Event{Actor: gdpr.Staff("agent-7"), Action: "profile.update", Subject: "user-42",
		Purpose: "support", Resource: "profiles/user-42", Outcome: gdpr.Success}
	for _, commit := range []bool{false, true} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			panic(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO profiles VALUES ('user-42', 'new@example.com')"); err != nil {
			panic(err)
		}
		// The entry, and the salts of a subject or agent seen for the
		// first time, are written in tx (store.Tx is an
		// audit.SaltAppender): on SQLite, a second connection would wait
		// for tx's write lock.
		if _, err := log.AppendTx(ctx, store.Tx(tx), update); err != nil {
			panic(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			panic(err)
		}
		h, _ := store.Head(ctx)
		fmt.Printf("commit %v: %d entries\n", commit, h.Size)
	}
	// Output:
	// commit false: 0 entries
	// commit true: 1 entries
}

func ExampleMigrations() {
	fsys, _ := sqlaudit.Migrations(sqldialect.Postgres, "app_")
	files, _ := fs.Glob(fsys, "*.sql")
	fmt.Println(files)
	// Output: [0001_audit.sql]
}
