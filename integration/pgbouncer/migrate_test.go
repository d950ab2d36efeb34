package pgbouncer_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/migrate"
	"github.com/gdprkit/gdpr/sqldialect"
)

// testMigrations: version 2 inserts a row, so a version applied twice
// shows as a duplicate key.
var testMigrations = fstest.MapFS{
	"0001_create.sql": {Data: []byte("CREATE TABLE items (id INT NOT NULL PRIMARY KEY, label VARCHAR(50) NOT NULL);\nCREATE INDEX items_label ON items (label);\n")},
	"0002_seed.sql":   {Data: []byte("INSERT INTO items (id, label) VALUES (1, 'one');\n")},
	"0003_more.sql":   {Data: []byte("CREATE TABLE more (id INT NOT NULL PRIMARY KEY);\nINSERT INTO more (id) VALUES (7);\n")},
	"0004_alter.sql":  {Data: []byte("ALTER TABLE more ADD COLUMN note VARCHAR(20);\n")},
}

// twoPools returns two connection pools, as two processes would have, on
// one new database through one PgBouncer.
func twoPools(t *testing.T) [2]*sql.DB {
	t.Helper()
	b := testdb.StartPgBouncer(t)
	name := b.CreateDatabase(t)
	return [2]*sql.DB{b.Open(t, name, pgx.QueryExecModeExec), b.Open(t, name, pgx.QueryExecModeExec)}
}

// parallel runs fn(i) for i in [0, n) at once and returns the errors.
func parallel(n int, fn func(i int) error) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestMigrateConcurrent runs migrate.Run from two pools with four
// goroutines each, through one PgBouncer whose few server connections
// they share: each version must be applied once. With the session-level
// advisory lock of earlier releases this failed at once: the lock was
// taken on one server connection and the migrations ran on others, where
// other clients "held" it too (relation "items" already exists).
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	pools := twoPools(t)
	migs, err := migrate.Load(testMigrations, ".")
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		comp := "round" + string(rune('0'+round))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs := parallel(8, func(i int) error {
			return migrate.Run(ctx, pools[i%2], dialect.Postgres, "gdpr_schema_version", comp, migs)
		})
		cancel()
		for _, err := range errs {
			if err != nil {
				t.Errorf("round %d: concurrent Run: %v", round, err)
			}
		}
		if t.Failed() {
			return
		}
		if n := count(t, pools[0], "SELECT COUNT(*) FROM gdpr_schema_version WHERE component = $1", comp); n != len(migs) {
			t.Fatalf("round %d: %d versions recorded, want %d", round, n, len(migs))
		}
		if n := count(t, pools[1], "SELECT COUNT(*) FROM items"); n != 1 {
			t.Fatalf("round %d: items has %d rows, want 1", round, n)
		}
		// The next round migrates afresh under another component name.
		for _, q := range []string{"DROP TABLE items", "DROP TABLE more"} {
			if _, err := pools[0].Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestMigrateFailure checks, through PgBouncer, that a failing migration
// leaves no trace and the ones before it stay applied.
func TestMigrateFailure(t *testing.T) {
	t.Parallel()
	db := testdb.OpenPgBouncer(t)
	ctx := t.Context()
	migs, err := migrate.Load(testMigrations, ".")
	if err != nil {
		t.Fatal(err)
	}
	bad := append(migs[:2:2], migrate.Migration{
		Version: 3, Name: "broken",
		SQL: "CREATE TABLE half (id INT);\nINSERT INTO no_such_table (id) VALUES (1);\n",
	})
	if err := migrate.Run(ctx, db, dialect.Postgres, "gdpr_schema_version", "fail", bad); err == nil || !strings.Contains(err.Error(), "0003_broken") {
		t.Fatalf("Run with a broken migration: %v; want an error naming 0003_broken", err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM gdpr_schema_version WHERE component = $1", "fail"); n != 2 {
		t.Fatalf("%d versions recorded, want the 2 before the broken one", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'half'"); n != 0 {
		t.Fatal("table half exists: the failed migration was not rolled back")
	}
	if err := migrate.Run(ctx, db, dialect.Postgres, "gdpr_schema_version", "fail", migs); err != nil {
		t.Fatalf("Run after the failure: %v", err)
	}
}

// TestStoresMigrateTwoPools runs every SQL store's Migrate, with two
// prefixes, from two pools at once (two processes starting together),
// twice, through PgBouncer. Each prefix gets its own version table.
func TestStoresMigrateTwoPools(t *testing.T) {
	t.Parallel()
	pools := twoPools(t)
	type store interface{ Migrate(context.Context) error }
	newStores := func(db *sql.DB, prefix string) []store {
		c, err := sqlconsent.New(db, sqldialect.Postgres, sqlconsent.WithTablePrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		k, err := sqlkeys.New(db, sqldialect.Postgres, sqlkeys.WithTablePrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		a, err := sqlaudit.New(db, sqldialect.Postgres, sqlaudit.WithTablePrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		return []store{c, k, a}
	}
	prefixes := []string{"gdpr_", "app_"}
	var stores []store
	for _, db := range pools {
		for _, p := range prefixes {
			stores = append(stores, newStores(db, p)...)
		}
	}
	for run := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		errs := parallel(len(stores), func(i int) error { return stores[i].Migrate(ctx) })
		cancel()
		for i, err := range errs {
			if err != nil {
				t.Errorf("run %d: Migrate of store %d (%T): %v", run+1, i, stores[i], err)
			}
		}
	}
	if t.Failed() {
		return
	}
	for _, p := range prefixes {
		var comps []string
		rows, err := pools[0].Query("SELECT DISTINCT component FROM " + p + "schema_version ORDER BY component")
		if err != nil {
			t.Fatalf("version table %sschema_version: %v", p, err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			comps = append(comps, c)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if len(comps) != 3 {
			t.Errorf("%sschema_version records components %q; want the three stores', with prefix %s", p, comps, p)
		}
		for _, c := range comps {
			if !strings.HasSuffix(c, ":"+p) {
				t.Errorf("%sschema_version records component %q of another prefix", p, c)
			}
		}
	}
}
