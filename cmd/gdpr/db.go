package main

import (
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL
	_ "modernc.org/sqlite"             // SQLite, pure Go

	"github.com/gdprkit/gdpr/sqldialect"
)

// openDB opens the database dsn names, with the driver picked from its
// form. It does not connect; the first query does.
func openDB(dsn string) (*sql.DB, sqldialect.Dialect, error) {
	driver, conn, err := driverFor(dsn)
	if err != nil {
		return nil, 0, err
	}
	d, err := sqldialect.ForDriver(driver)
	if err != nil {
		return nil, 0, err
	}
	db, err := sql.Open(driver, conn)
	if err != nil {
		return nil, 0, fmt.Errorf("open the database: %v", err)
	}
	db.SetMaxOpenConns(8)
	return db, d, nil
}

// driverFor returns the driver name and its connection string for dsn.
// The error never quotes dsn, which may hold a password.
func driverFor(dsn string) (driver, conn string, err error) {
	switch {
	case dsn == "":
		return "", "", fmt.Errorf("no database: give --dsn or GDPR_DSN")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "pgx", dsn, nil
	case strings.HasPrefix(dsn, "mysql://"):
		u, err := url.Parse(dsn)
		if err != nil || u.Host == "" {
			return "", "", fmt.Errorf("a mysql:// DSN that does not parse")
		}
		c := mysql.NewConfig()
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
		port := u.Port()
		if port == "" {
			port = "3306"
		}
		c.Net, c.Addr, c.DBName = "tcp", net.JoinHostPort(u.Hostname(), port), strings.TrimPrefix(u.Path, "/")
		for k, v := range u.Query() {
			if c.Params == nil {
				c.Params = map[string]string{}
			}
			c.Params[k] = v[0]
		}
		return "mysql", c.FormatDSN(), nil
	case strings.Contains(dsn, "@tcp("), strings.Contains(dsn, "@unix("):
		return "mysql", dsn, nil
	case strings.HasPrefix(dsn, "sqlite://"):
		return sqliteFile(strings.TrimPrefix(dsn, "sqlite://"))
	case strings.HasPrefix(dsn, "file:"):
		// A file: URI names its file before any '?': it must exist too.
		p := strings.TrimPrefix(dsn, "file:")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if up, err := url.PathUnescape(p); err == nil {
			p = up
		}
		if _, err := os.Stat(p); err != nil {
			return "", "", fmt.Errorf("no SQLite database at that path")
		}
		return "sqlite", dsn, nil
	case strings.Contains(dsn, "://"):
		return "", "", fmt.Errorf("a DSN of a scheme this command does not know (postgres://, mysql://, sqlite://)")
	}
	return sqliteFile(dsn)
}

// sqliteFile is the SQLite file at path, which must exist: opening a
// mistyped path would make an empty database, whose empty trail verifies.
func sqliteFile(path string) (driver, conn string, err error) {
	if _, err := os.Stat(path); err != nil {
		return "", "", fmt.Errorf("no SQLite database at that path")
	}
	return "sqlite", sqliteDSN(path), nil
}

// sqliteDSN is the connection string of the SQLite file at path, escaped
// (a '#' or '%' in a path would otherwise cut or change it), with a busy
// timeout so that it waits for the application's writers. It sets no
// journal mode: that is stored in the file, and the application's to
// choose.
func sqliteDSN(path string) string {
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(),
		RawQuery: "_pragma=busy_timeout(10000)&_txlock=immediate"}
	return u.String()
}
