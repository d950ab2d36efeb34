package testdb_test

import (
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

func TestAvailable(t *testing.T) {
	t.Setenv(testdb.EnvPostgres, "")
	t.Setenv(testdb.EnvMySQL, "x")
	if !testdb.Available(sqldialect.SQLite) || testdb.Available(sqldialect.Postgres) || !testdb.Available(sqldialect.MySQL) {
		t.Fatal("Available does not follow the environment")
	}
	if testdb.Available(sqldialect.Dialect(0)) {
		t.Fatal("Available(zero Dialect) = true")
	}
}

// TestOpenIsolated checks that each Open gives an empty database of its own
// and that the dialect names the subtests.
func TestOpenIsolated(t *testing.T) {
	var names []string
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		names = append(names, d.String())
		other := testdb.Open(t, d)
		if _, err := db.Exec("CREATE TABLE only_here (id INT)"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("INSERT INTO only_here (id) VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Exec("SELECT COUNT(*) FROM only_here"); err == nil {
			t.Fatal("a table created in one test database is visible in another")
		}
		if _, err := other.Exec("CREATE TABLE only_here (id INT)"); err != nil {
			t.Fatalf("the same table name in a second database: %v", err)
		}
		// Several connections of the pool see the same database.
		conns := make([]*sql.Conn, 3)
		for i := range conns {
			c, err := db.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
			var n int
			if err := c.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM only_here").Scan(&n); err != nil || n != 1 {
				t.Fatalf("connection %d: %d rows, %v", i, n, err)
			}
		}
	})
	t.Logf("dialects run: %v", names)
}

// TestSQLiteNameWithHash: a repeated subtest's TempDir holds '#'; the
// database must still be the file in that directory, not one named by
// what precedes the '#'.
func TestSQLiteNameWithHash(t *testing.T) {
	for range 2 {
		t.Run("Same", func(t *testing.T) {
			db := testdb.Open(t, sqldialect.SQLite)
			var seq int
			var name, file string
			if err := db.QueryRow("PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(file, os.TempDir()) || !strings.Contains(file, "Same") || !strings.HasSuffix(file, ".db") {
				t.Fatalf("the database is %q; want a file in the subtest's TempDir", file)
			}
			if _, err := db.Exec("CREATE TABLE only_once (id INTEGER)"); err != nil {
				t.Fatalf("a fresh database already has the table (shared file?): %v", err)
			}
		})
	}
}
