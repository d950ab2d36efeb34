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
		{"mysql://root@[::1]/app", "mysql", "root@tcp([::1]:3306)/app"},
		{"mysql://root@h:/app", "mysql", "root@tcp(h:3306)/app"},
	} {
		d, conn, err := driverFor(c.dsn)
		if err != nil || d != c.driver || !strings.HasPrefix(conn, c.conn) {
			t.Errorf("driverFor(%q) = %q, %q, %v; want %q, %q…", c.dsn, d, conn, err, c.driver, c.conn)
		}
	}
	// A read must not change the file: no journal mode is set (it is
	// stored in the database).
	if _, conn, _ := driverFor(file); strings.Contains(conn, "journal_mode") {
		t.Errorf("the SQLite DSN sets a journal mode: %q", conn)
	}
	odd := filepath.Join(t.TempDir(), "tr#1 %41.db")
	os.WriteFile(odd, nil, 0o600)
	if _, conn, err := driverFor(odd); err != nil || !strings.Contains(conn, "tr%231%20%2541.db") {
		t.Errorf("a path with '#' and '%%': %q, %v", conn, err)
	}
	for _, dsn := range []string{"", "oracle://scott:tiger@h/x", filepath.Join(t.TempDir(), "missing.db"), "mysql://%zz",
		"file:" + filepath.Join(t.TempDir(), "missing.db") + "?mode=rw"} {
		if _, _, err := driverFor(dsn); err == nil || strings.Contains(err.Error(), "tiger") {
			t.Errorf("driverFor(%q) = %v; want an error without the DSN", dsn, err)
		}
	}
}
