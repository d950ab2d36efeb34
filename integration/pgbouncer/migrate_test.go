package pgbouncer_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/migrate"
)

var testMigrations = fstest.MapFS{
	"0001_create.sql": {Data: []byte("CREATE TABLE items (id INT NOT NULL PRIMARY KEY, label VARCHAR(50) NOT NULL);\n")},
	"0002_seed.sql":   {Data: []byte("INSERT INTO items (id, label) VALUES (1, 'one');\n")},
	"0003_more.sql":   {Data: []byte("CREATE TABLE more (id INT NOT NULL PRIMARY KEY);\nINSERT INTO more (id) VALUES (7);\n")},
	"0004_alter.sql":  {Data: []byte("ALTER TABLE more ADD COLUMN note VARCHAR(20);\n")},
}

// TestMigrateConcurrent runs migrate.Run from two pools (two processes)
// with several goroutines each, through one PgBouncer in transaction mode.
func TestMigrateConcurrent(t *testing.T) {
	b := testdb.StartPgBouncer(t)
	name := b.CreateDatabase(t)
	pools := []*sql.DB{b.Open(t, name, pgx.QueryExecModeExec), b.Open(t, name, pgx.QueryExecModeExec)}
	migs, err := migrate.Load(testMigrations, ".")
	if err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		comp := "c" + string(rune('a'+round))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- migrate.Run(ctx, pools[i%2], dialect.Postgres, "gdpr_schema_version", comp, migs)
			}()
		}
		wg.Wait()
		cancel()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("round %d: concurrent Run: %v", round, err)
			}
		}
		if t.Failed() {
			return
		}
		_, _ = pools[0].Exec("DROP TABLE items; DROP TABLE more")
	}
}
