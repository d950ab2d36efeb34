package sqlexport

import (
	"database/sql"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

func testDelivery() export.Delivery {
	at := time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC)
	return export.Delivery{
		ID: "0195a0b0-0000-7000-8000-000000000001", Kind: gdpr.KindAccess, Subject: "subject-a",
		Created: at, Expires: at.Add(time.Hour),
		Parts: []export.DeliveryPart{{TokenHash: make([]byte, 32), Blob: "b-1", Size: 1}},
	}
}

// TestTooLong: a value longer than its column is refused before the
// database sees it, naming the field, quoting nothing.
func TestTooLong(t *testing.T) {
	long := strings.Repeat("x", MaxIDLen+1)
	for field, edit := range map[string]func(d *export.Delivery){
		"id":      func(d *export.Delivery) { d.ID = long },
		"request": func(d *export.Delivery) { d.Request = long },
		"subject": func(d *export.Delivery) { d.Subject = gdpr.SubjectID(long) },
		"kind":    func(d *export.Delivery) { d.Kind = gdpr.RequestKind(strings.Repeat("k", MaxKindLen+1)) },
		"blob":    func(d *export.Delivery) { d.Parts[0].Blob = long },
	} {
		d := testDelivery()
		d.Parts = append([]export.DeliveryPart(nil), d.Parts...)
		edit(&d)
		err := validate("Create", d)
		var ee *export.Error
		if !errors.As(err, &ee) || ee.Field != field || ee.Op != "sqlexport.Create" || !errors.Is(err, export.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("%s too long: %v; want an *export.Error for %s wrapping ErrInvalid", field, err, field)
		}
		if err != nil && strings.Contains(err.Error(), "xxxx") {
			t.Errorf("the error quotes the value: %q", err)
		}
	}
	if err := validate("Create", testDelivery()); err != nil {
		t.Errorf("a valid delivery: %v", err)
	}
	d := testDelivery()
	d.ID, d.Request, d.Subject, d.Parts[0].Blob = strings.Repeat("x", MaxIDLen), strings.Repeat("x", MaxIDLen),
		gdpr.SubjectID(strings.Repeat("x", MaxIDLen)), strings.Repeat("x", MaxIDLen)
	if err := validate("Create", d); err != nil {
		t.Errorf("values of the columns' widths: %v", err)
	}
}

// TestQueries: the claim is one conditional UPDATE; every query is
// rebound for PostgreSQL and names only the prefixed tables.
func TestQueries(t *testing.T) {
	for _, d := range []dialect.Dialect{dialect.Postgres, dialect.MySQL, dialect.SQLite} {
		q := buildQueries(d, "app_")
		if !strings.Contains(q.claim, "downloaded_us IS NULL") || !strings.Contains(q.claim, "expires_us >") || !strings.HasPrefix(q.claim, "UPDATE app_export_parts ") {
			t.Errorf("%v: the claim %q is not one conditional UPDATE of the part", d, q.claim)
		}
		all := []string{q.insDelivery, q.insPart, q.get, q.claim, q.claimed, q.delete, q.delParts, q.delDelivery}
		for _, s := range all {
			if d == dialect.Postgres && strings.Contains(s, "?") {
				t.Errorf("postgres: %q not rebound", s)
			}
			if strings.Contains(s, "gdpr_") {
				t.Errorf("%v: %q ignores the prefix", d, s)
			}
		}
		if (d == dialect.SQLite) != (q.delete == "") {
			t.Errorf("%v: delete %q; want one statement but on SQLite", d, q.delete)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		db    *sql.DB
		d     sqldialect.Dialect
		opts  []Option
		field string
	}{
		"nil db":     {nil, sqldialect.SQLite, nil, "db"},
		"no dialect": {&sql.DB{}, 0, nil, "dialect"},
		"bad prefix": {&sql.DB{}, sqldialect.SQLite, []Option{WithTablePrefix("Bad")}, "WithTablePrefix"},
	} {
		_, err := New(c.db, c.d, c.opts...)
		var ee *export.Error
		if !errors.As(err, &ee) || ee.Field != c.field || ee.Op != "sqlexport.New" || !errors.Is(err, export.ErrInvalid) {
			t.Errorf("New with %s: %v; want an *export.Error{Op: sqlexport.New, Field: %s} wrapping ErrInvalid", name, err, c.field)
		}
	}
}

func TestMigrationsFiles(t *testing.T) {
	for _, d := range []sqldialect.Dialect{sqldialect.Postgres, sqldialect.MySQL, sqldialect.SQLite} {
		f, err := Migrations(d, "app_")
		if err != nil {
			t.Fatal(err)
		}
		names, _ := fs.Glob(f, "*.sql")
		if strings.Join(names, " ") != "0001_export_deliveries.sql 0002_export_parts.sql" {
			t.Errorf("%v: files %v", d, names)
		}
		for _, n := range names {
			b, _ := fs.ReadFile(f, n)
			if strings.Contains(string(b), "{{") || !strings.Contains(string(b), "CREATE TABLE app_export_") {
				t.Errorf("%v %s: not rendered with the prefix", d, n)
			}
			if d == sqldialect.MySQL && strings.Count(string(b), ";\n") != 1 {
				t.Errorf("mysql %s: %d statements; want one per file (DDL commits implicitly)", n, strings.Count(string(b), ";\n"))
			}
		}
	}
}

// TestDocStatesErasureResidue holds the package doc to what the other
// SQL stores say of theirs.
func TestDocStatesErasureResidue(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(f.Doc.Text()), " ")
	for _, want := range []string{
		"# Storage", "# Concurrency", "# Errors", "# Testing", "# Erasure residue",
		"dead tuples until VACUUM", "WAL", "undo and redo logs", "binary log", "free pages", "secure_delete", "backups",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the package doc does not say %q", want)
		}
	}
}
