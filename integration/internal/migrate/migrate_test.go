package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/migrate"
	"github.com/gdprkit/gdpr/sqldialect"
)

func load(t *testing.T, prefix string) []migrate.Migration {
	t.Helper()
	migs, err := migrate.Load(testMigrations, ".")
	if err != nil {
		t.Fatal(err)
	}
	migs, err = migrate.RenderAll(migs, map[string]string{"prefix": prefix})
	if err != nil {
		t.Fatal(err)
	}
	return migs
}

func count(t *testing.T, db *sql.DB, d dialect.Dialect, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(d.Rebind(q), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestRun(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, pd sqldialect.Dialect, db *sql.DB) {
		d := dialect.Of(pd)
		ctx := context.Background()
		migs := load(t, "p_")

		// First two versions, then all, then all again: a no-op.
		if err := migrate.Run(ctx, db, d, "gdpr_schema_version", "test:p_", migs[:2]); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, d, "SELECT COUNT(*) FROM gdpr_schema_version WHERE component = ?", "test:p_"); n != 2 {
			t.Fatalf("%d versions recorded, want 2", n)
		}
		for i := 0; i < 2; i++ {
			if err := migrate.Run(ctx, db, d, "gdpr_schema_version", "test:p_", migs); err != nil {
				t.Fatalf("run %d: %v", i+2, err)
			}
		}
		if n := count(t, db, d, "SELECT COUNT(*) FROM gdpr_schema_version WHERE component = ?", "test:p_"); n != 4 {
			t.Fatalf("%d versions recorded, want 4", n)
		}
		if n := count(t, db, d, "SELECT COUNT(*) FROM p_items"); n != 1 {
			t.Fatalf("p_items has %d rows, want 1", n)
		}
		if n := count(t, db, d, "SELECT COUNT(*) FROM p_more WHERE note IS NULL"); n != 1 {
			t.Fatalf("p_more has %d rows, want 1", n)
		}
		var maxApplied int64
		if err := db.QueryRow("SELECT MIN(applied_at) FROM gdpr_schema_version").Scan(&maxApplied); err != nil || maxApplied < 1_600_000_000_000 {
			t.Fatalf("applied_at = %d, %v; want Unix milliseconds", maxApplied, err)
		}

		// Another component with another prefix lives beside it.
		if err := migrate.Run(ctx, db, d, "gdpr_schema_version", "test:q_", load(t, "q_")); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, d, "SELECT COUNT(*) FROM gdpr_schema_version"); n != 8 {
			t.Fatalf("%d versions recorded in all, want 8", n)
		}

		// An older program meets a newer schema.
		if err := migrate.Run(ctx, db, d, "gdpr_schema_version", "test:p_", migs[:3]); !errors.Is(err, migrate.ErrNewerSchema) {
			t.Fatalf("Run with fewer migrations: %v, want ErrNewerSchema", err)
		}
		// A renamed migration is caught.
		renamed := append([]migrate.Migration(nil), migs...)
		renamed[1].Name = "other"
		if err := migrate.Run(ctx, db, d, "gdpr_schema_version", "test:p_", renamed); !errors.Is(err, migrate.ErrInvalid) {
			t.Fatalf("Run with a renamed migration: %v, want ErrInvalid", err)
		}
		// Bad arguments.
		if err := migrate.Run(ctx, db, d, "gdpr_schema_version", "", migs); !errors.Is(err, migrate.ErrInvalid) {
			t.Fatalf("Run with no component: %v", err)
		}
		if err := migrate.Run(ctx, db, d, "gdpr_schema_version", "x", migs[1:]); !errors.Is(err, migrate.ErrInvalid) {
			t.Fatalf("Run not starting at 1: %v", err)
		}
		unrendered, _ := migrate.Load(testMigrations, ".")
		if err := migrate.Run(ctx, db, d, "gdpr_schema_version", "x", unrendered); !errors.Is(err, migrate.ErrInvalid) {
			t.Fatalf("Run with placeholders: %v", err)
		}
	})
}

func TestRunConcurrent(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, pd sqldialect.Dialect, db *sql.DB) {
		d := dialect.Of(pd)
		migs := load(t, "")
		const workers = 4
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		start := make(chan struct{})
		for i := 0; i < workers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- migrate.Run(context.Background(), db, d, "gdpr_schema_version", "concurrent", migs)
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent Run: %v", err)
			}
		}
		if n := count(t, db, d, "SELECT COUNT(*) FROM gdpr_schema_version WHERE component = ?", "concurrent"); n != len(migs) {
			t.Fatalf("%d versions recorded, want %d", n, len(migs))
		}
		if n := count(t, db, d, "SELECT COUNT(*) FROM items"); n != 1 {
			t.Fatalf("items has %d rows, want 1: a migration ran more than once", n)
		}
	})
}

func TestRunFailure(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, pd sqldialect.Dialect, db *sql.DB) {
		d := dialect.Of(pd)
		ctx := context.Background()
		migs := load(t, "")
		bad := append(migs[:2:2], migrate.Migration{
			Version: 3, Name: "broken",
			SQL: "CREATE TABLE half (id INT);\nINSERT INTO no_such_table (id) VALUES (1);\n",
		})
		err := migrate.Run(ctx, db, d, "gdpr_schema_version", "fail", bad)
		if err == nil || !strings.Contains(err.Error(), "0003_broken") {
			t.Fatalf("Run with a broken migration: %v, want an error naming 0003_broken", err)
		}
		if n := count(t, db, d, "SELECT COUNT(*) FROM gdpr_schema_version WHERE component = ?", "fail"); n != 2 {
			t.Fatalf("%d versions recorded, want the 2 before the broken one", n)
		}
		if n := count(t, db, d, "SELECT COUNT(*) FROM items"); n != 1 {
			t.Fatalf("items has %d rows, want 1", n)
		}
		if d.TransactionalDDL() {
			if _, err := db.Exec("SELECT COUNT(*) FROM half"); err == nil {
				t.Fatal("table half exists: the failed migration was not rolled back")
			}
		}
		// The lock was released and the connection is usable: a fixed
		// migration 3 now applies (on MySQL, half is already there).
		fixed := append(migs[:2:2], migrate.Migration{
			Version: 3, Name: "broken", SQL: "CREATE TABLE IF NOT EXISTS half (id INT);\n",
		})
		if err := migrate.Run(ctx, db, d, "gdpr_schema_version", "fail", fixed); err != nil {
			t.Fatalf("Run after fixing the migration: %v", err)
		}
	})
}

func TestRunCancelled(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, pd sqldialect.Dialect, db *sql.DB) {
		d := dialect.Of(pd)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := migrate.Run(ctx, db, d, "gdpr_schema_version", "c", load(t, "")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run with a cancelled context: %v, want context.Canceled", err)
		}
		if err := migrate.Run(context.Background(), db, d, "gdpr_schema_version", "c", load(t, "")); err != nil {
			t.Fatal(err)
		}
	})
}

// TestVersionTablePerPrefix checks that the version table is the caller's:
// two tables (as two store prefixes give) record the same component
// apart, and a bad table name is refused.
func TestVersionTablePerPrefix(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, pd sqldialect.Dialect, db *sql.DB) {
		d := dialect.Of(pd)
		ctx := context.Background()
		for _, p := range []string{"gdpr_", "app_"} {
			if err := migrate.Run(ctx, db, d, p+"schema_version", "test:"+p, load(t, p)); err != nil {
				t.Fatalf("prefix %q: %v", p, err)
			}
		}
		for _, p := range []string{"gdpr_", "app_"} {
			if n := count(t, db, d, "SELECT COUNT(*) FROM "+p+"schema_version WHERE component = ?", "test:"+p); n != 4 {
				t.Errorf("%sschema_version records %d versions of test:%s, want 4", p, n, p)
			}
			if n := count(t, db, d, "SELECT COUNT(*) FROM "+p+"schema_version"); n != 4 {
				t.Errorf("%sschema_version holds %d rows in all, want only its own prefix's 4", p, n)
			}
		}
		for _, bad := range []string{"", "Schema_version", "x;drop table y", "1abc", "a-b", strings.Repeat("a", 64)} {
			if err := migrate.Run(ctx, db, d, bad, "test:x_", load(t, "x_")); !errors.Is(err, migrate.ErrInvalid) {
				t.Errorf("version table %q: %v; want ErrInvalid", bad, err)
			}
		}
		if err := migrate.Run(ctx, db, d, strings.Repeat("a", 63), "test:x_", load(t, "x_")); err != nil {
			t.Errorf("63-byte version table name: %v", err)
		}
	})
}

// TestRunPostgresIsolation runs concurrent Runs on connections whose
// default isolation is repeatable read: each step must still read the
// versions committed while it waited for the lock.
func TestRunPostgresIsolation(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(strings.ReplaceAll(level, " ", "_"), func(t *testing.T) {
			cfg := testdb.PostgresConfig(t)
			cfg.RuntimeParams["default_transaction_isolation"] = level
			db := stdlib.OpenDB(*cfg)
			t.Cleanup(func() { db.Close() })
			d := dialect.Postgres
			migs := load(t, "")
			runConcurrently(t, 6, func() error {
				return migrate.Run(context.Background(), db, d, "gdpr_schema_version", "iso", migs)
			})
			if n := count(t, db, d, "SELECT COUNT(*) FROM gdpr_schema_version WHERE component = ?", "iso"); n != len(migs) {
				t.Fatalf("%d versions recorded, want %d", n, len(migs))
			}
		})
	}
}

// TestRunPostgresOldReleaseLock checks that Run waits while another
// session holds the session-level advisory lock earlier releases took for
// their whole run, so that an old and a new release do not migrate at
// once.
func TestRunPostgresOldReleaseLock(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, pd sqldialect.Dialect) {
		if pd != sqldialect.Postgres {
			t.Skip("PostgreSQL only")
		}
		db := testdb.Open(t, pd)
		ctx := context.Background()
		old, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		const key = `hashtext('gdpr_migrate:' || COALESCE(current_schema(), ''))`
		if _, err := old.ExecContext(ctx, "SELECT pg_advisory_lock("+key+")"); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- migrate.Run(ctx, db, dialect.Postgres, "gdpr_schema_version", "old", load(t, "")) }()
		select {
		case err := <-done:
			t.Fatalf("Run finished (%v) while an old release's session lock was held", err)
		case <-time.After(300 * time.Millisecond):
		}
		if _, err := old.ExecContext(ctx, "SELECT pg_advisory_unlock("+key+")"); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run still waiting 20 s after the old lock was released")
		}
	})
}

// runConcurrently runs fn in n goroutines released at once and reports
// their errors.
func runConcurrently(t *testing.T, n int, fn func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- fn()
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Run: %v", err)
		}
	}
}

// testMigrations work on every dialect; version 2 inserts a row, so a
// version applied twice shows as a second row (or a duplicate-key error).
var testMigrations = fstest.MapFS{
	"0001_create.sql": {Data: []byte(`-- The first table.
CREATE TABLE {{prefix}}items (
	id INT NOT NULL PRIMARY KEY,
	label VARCHAR(50) NOT NULL
);
CREATE INDEX {{prefix}}items_label ON {{prefix}}items (label);
`)},
	"0002_seed.sql":  {Data: []byte("INSERT INTO {{prefix}}items (id, label) VALUES (1, 'one');\n")},
	"0003_more.sql":  {Data: []byte("CREATE TABLE {{prefix}}more (id INT NOT NULL PRIMARY KEY);\nINSERT INTO {{prefix}}more (id) VALUES (7);\n")},
	"0004_alter.sql": {Data: []byte("ALTER TABLE {{prefix}}more ADD COLUMN note VARCHAR(20);\n")},
}
