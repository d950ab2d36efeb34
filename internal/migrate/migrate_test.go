package migrate_test

import (
	"errors"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/gdprkit/gdpr/internal/migrate"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_second.sql":   {Data: []byte("CREATE TABLE b (id INT);\n")},
		"m/0001_first.sql":    {Data: []byte("CREATE TABLE a (id INT);\n")},
		"m/README.md":         {Data: []byte("not a migration")},
		"m/sub/0009_x.sql":    {Data: []byte("ignored: in a subdirectory")},
		"m/0003_third_v2.sql": {Data: []byte("-- comment\nCREATE TABLE c (id INT)")},
	}
	got, err := migrate.Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := []migrate.Migration{
		{1, "first", "CREATE TABLE a (id INT);\n"},
		{2, "second", "CREATE TABLE b (id INT);\n"},
		{3, "third_v2", "-- comment\nCREATE TABLE c (id INT)"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Load = %+v\nwant %+v", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	ok := &fstest.MapFile{Data: []byte("SELECT 1;")}
	tests := map[string]fstest.MapFS{
		"gap":             {"0001_a.sql": ok, "0003_c.sql": ok},
		"not from 1":      {"0002_b.sql": ok},
		"duplicate":       {"0001_a.sql": ok, "0001_b.sql": ok},
		"same number":     {"0001_a.sql": ok, "00001_b.sql": ok},
		"zero":            {"0000_a.sql": ok},
		"short version":   {"001_a.sql": ok},
		"upper case name": {"0001_Add.sql": ok},
		"no name":         {"0001.sql": ok},
		"dash":            {"0001-a.sql": ok},
		"empty":           {"0001_a.sql": {Data: []byte("-- nothing\n\n")}},
	}
	for name, fsys := range tests {
		if _, err := migrate.Load(fsys, "."); !errors.Is(err, migrate.ErrInvalid) {
			t.Errorf("%s: Load error = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := migrate.Load(fstest.MapFS{}, "missing"); err == nil || errors.Is(err, migrate.ErrInvalid) {
		t.Errorf("missing directory: Load error = %v, want a read error", err)
	}
	if migs, err := migrate.Load(fstest.MapFS{"x/README": ok}, "x"); err != nil || len(migs) != 0 {
		t.Errorf("no migrations: Load = %v, %v; want none, nil", migs, err)
	}
}

func TestRender(t *testing.T) {
	got, err := migrate.Render("CREATE TABLE {{prefix}}events (id INT); CREATE INDEX {{ prefix }}events_id ON {{prefix}}events (id)",
		map[string]string{"prefix": "gdpr_", "unused": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "CREATE TABLE gdpr_events (id INT); CREATE INDEX gdpr_events_id ON gdpr_events (id)"; got != want {
		t.Fatalf("Render = %q, want %q", got, want)
	}
	if got, err := migrate.Render("CREATE TABLE {{prefix}}t (x INT)", map[string]string{"prefix": ""}); err != nil || got != "CREATE TABLE t (x INT)" {
		t.Fatalf("Render with empty prefix = %q, %v", got, err)
	}
	for _, tc := range []struct {
		sql  string
		vars map[string]string
	}{
		{"{{nope}}", map[string]string{"prefix": "p_"}},
		{"{{prefix}}", map[string]string{"prefix": "x; DROP TABLE y; --"}},
		{"{{prefix}}", map[string]string{"prefix": "Upper"}},
		{"{{prefix}", map[string]string{"prefix": "p_"}},
		{"{{ 1x }}", map[string]string{"1x": "p_"}},
		{"x }}", nil},
	} {
		if _, err := migrate.Render(tc.sql, tc.vars); !errors.Is(err, migrate.ErrInvalid) {
			t.Errorf("Render(%q, %v) error = %v, want ErrInvalid", tc.sql, tc.vars, err)
		}
	}
}

func TestStatements(t *testing.T) {
	in := `-- leading comment;
CREATE TABLE a (
	id INT, -- a trailing comment stays
	s VARCHAR(10) DEFAULT 'x;y'
);
  -- indented comment line;

INSERT INTO a (id) VALUES (1);   
INSERT INTO a (id) VALUES (2); INSERT INTO a (id) VALUES (3)
;
SELECT 1`
	want := []string{
		"CREATE TABLE a (\n\tid INT, -- a trailing comment stays\n\ts VARCHAR(10) DEFAULT 'x;y'\n)",
		"INSERT INTO a (id) VALUES (1)",
		"INSERT INTO a (id) VALUES (2); INSERT INTO a (id) VALUES (3)",
		"SELECT 1",
	}
	if got := migrate.Statements(in); !reflect.DeepEqual(got, want) {
		t.Fatalf("Statements = %q\nwant %q", got, want)
	}
	if got := migrate.Statements("-- only\n\n  \n"); len(got) != 0 {
		t.Fatalf("Statements(comments) = %q, want none", got)
	}
}
