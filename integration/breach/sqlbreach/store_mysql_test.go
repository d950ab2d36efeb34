package sqlbreach_test

import (
	"database/sql"
	"os"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/breachtest"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestMySQLClientFoundRows runs the suite, the SQL cases and the claim
// race on MySQL/MariaDB pools that set clientFoundRows, with which rows
// affected count a row an UPDATE matched but left unchanged: Claim and
// Settle do not rely on the difference.
func TestMySQLClientFoundRows(t *testing.T) {
	t.Parallel()
	if !testdb.Available(sqldialect.MySQL) {
		testdb.Open(t, sqldialect.MySQL) // skips, or fails in CI
	}
	// foundRows opens another pool with clientFoundRows on the MySQL
	// database db reaches.
	foundRows := func(t *testing.T, db *sql.DB) *sql.DB {
		t.Helper()
		var name string
		if err := db.QueryRowContext(t.Context(), "SELECT DATABASE()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		cfg, err := mysql.ParseDSN(os.Getenv(testdb.EnvMySQL))
		if err != nil {
			t.Fatal(err)
		}
		cfg.DBName, cfg.ClientFoundRows = name, true
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		other := sql.OpenDB(c)
		t.Cleanup(func() { other.Close() })
		return other
	}
	open := func(t *testing.T) (*sqlbreach.Store, *sqlbreach.Store) {
		db := testdb.Open(t, sqldialect.MySQL)
		first := testdb.Migrated(t, sqldialect.MySQL, foundRows(t, db), sqlbreach.New)
		second, err := sqlbreach.New(foundRows(t, db), sqldialect.MySQL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { second.Close() })
		return first, second
	}
	breachtest.RunStoreTests(t, func(t *testing.T) (s, other breach.Store) { return open(t) })
	sqlStoreCases(t, func(t *testing.T) *sqlbreach.Store { s, _ := open(t); return s })
	t.Run("ClaimRace", func(t *testing.T) {
		a, b := open(t)
		ss := []*sqlbreach.Store{a, b}
		id := breachtest.NewID()
		if err := a.Append(t.Context(), breachtest.Event(id, 1)); err != nil {
			t.Fatal(err)
		}
		n := breach.Notice{Breach: id, Ref: breachtest.Ref(1), Time: t0, Outcome: breach.Pending}
		claimRace(t, "concurrent Claims of a new notice", ss, n)
		if err := a.Settle(t.Context(), breach.Notice{Breach: id, Ref: n.Ref, Time: t0, Outcome: breach.Failed}); err != nil {
			t.Fatal(err)
		}
		claimRace(t, "concurrent Claims of a failed notice", ss, n)
	})
}
