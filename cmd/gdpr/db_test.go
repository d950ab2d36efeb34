package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDriverFor(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.db")
	os.WriteFile(file, nil, 0o600)
	for _, c := range []struct{ dsn, driver, conn string }{
		{"postgres://u@h/db?sslmode=disable", "pgx", "postgres://u@h/db?sslmode=disable"},
		{"postgresql://u@h/db", "pgx", "postgresql://u@h/db"},
		{"root@tcp(127.0.0.1:3306)/test", "mysql", "root@tcp(127.0.0.1:3306)/test"},
		{"mysql://root:pw@db.example/app?parseTime=true", "mysql", "root:pw@tcp(db.example:3306)/app?parseTime=true"},
		{"file:" + file + "?_pragma=busy_timeout(1)", "sqlite", "file:" + file + "?_pragma=busy_timeout(1)"},
		{file, "sqlite", "file:" + file + "?"},
		{"sqlite://" + file, "sqlite", "file:" + file + "?"},
	} {
		d, conn, err := driverFor(c.dsn)
		if err != nil || d != c.driver || !strings.HasPrefix(conn, c.conn) {
			t.Errorf("driverFor(%q) = %q, %q, %v; want %q, %q…", c.dsn, d, conn, err, c.driver, c.conn)
		}
	}
	for _, dsn := range []string{"", "oracle://scott:tiger@h/x", filepath.Join(t.TempDir(), "missing.db"), "mysql://%zz"} {
		if _, _, err := driverFor(dsn); err == nil || strings.Contains(err.Error(), "tiger") {
			t.Errorf("driverFor(%q) = %v; want an error without the DSN", dsn, err)
		}
	}
}
