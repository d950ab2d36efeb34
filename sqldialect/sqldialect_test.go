package sqldialect_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/sqldialect"
)

func TestForDriver(t *testing.T) {
	for name, want := range map[string]sqldialect.Dialect{
		"pgx": sqldialect.Postgres, "Postgres": sqldialect.Postgres, " postgresql ": sqldialect.Postgres,
		"mysql": sqldialect.MySQL, "MariaDB": sqldialect.MySQL,
		"sqlite": sqldialect.SQLite, "sqlite3": sqldialect.SQLite,
	} {
		got, err := sqldialect.ForDriver(name)
		if err != nil || got != want {
			t.Errorf("ForDriver(%q) = %v, %v; want %v", name, got, err, want)
		}
		if back, err := sqldialect.ForDriver(got.String()); err != nil || back != got {
			t.Errorf("ForDriver(%q.String()) = %v, %v", name, back, err)
		}
	}
	for _, name := range []string{"", "oracle", "ann@example.org"} {
		d, err := sqldialect.ForDriver(name)
		if !errors.Is(err, sqldialect.ErrUnknown) || d != 0 {
			t.Errorf("ForDriver(%q) = %v, %v; want 0, ErrUnknown", name, d, err)
		}
		if name != "" && strings.Contains(err.Error(), name) {
			t.Errorf("ForDriver's error %q repeats the name", err)
		}
	}
}

func TestString(t *testing.T) {
	if got := sqldialect.Dialect(0).String(); got != "Dialect(0)" {
		t.Errorf("zero Dialect prints %q", got)
	}
	if got := sqldialect.Dialect(9).String(); got != "Dialect(9)" {
		t.Errorf("Dialect(9) prints %q", got)
	}
}
