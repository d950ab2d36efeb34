package testdb

import (
	"database/sql"
	"database/sql/driver"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
)

// OpenPostgresWrapped is [Open] for PostgreSQL with pgx's driver behind a
// connector and driver of another type, as a tracing or metrics wrapper
// puts it. The SQL stores then bind their array arguments as literals,
// the path they take on every driver but pgx (package pgarray), which a
// plain Open never exercises on PostgreSQL.
func OpenPostgresWrapped(t testing.TB) *sql.DB {
	t.Helper()
	cfg := postgresConfig(t, requireDSN(t, EnvPostgres, "PostgreSQL"))
	db := sql.OpenDB(wrappedConnector{stdlib.GetConnector(*cfg)})
	t.Cleanup(func() { db.Close() }) // runs before the schema's drop
	ctx, cancel := setupCtx()
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("testdb: ping postgres: %v", err)
	}
	return db
}

type wrappedConnector struct{ driver.Connector }

func (c wrappedConnector) Driver() driver.Driver { return wrappedDriver{c.Connector.Driver()} }

type wrappedDriver struct{ driver.Driver }
