package dialect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		in, pg string
	}{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"INSERT INTO t (a, b, c) VALUES (?,?,?)", "INSERT INTO t (a, b, c) VALUES ($1,$2,$3)"},
		{"SELECT '?' , ?", "SELECT '?' , $1"},
		{"SELECT 'it''s ?', ? FROM t", "SELECT 'it''s ?', $1 FROM t"},
		{`SELECT "we?rd" FROM t WHERE x = ?`, `SELECT "we?rd" FROM t WHERE x = $1`},
		{"SELECT ? -- why?\nFROM t WHERE a = ?", "SELECT $1 -- why?\nFROM t WHERE a = $2"},
		{"SELECT a - ? FROM t", "SELECT a - $1 FROM t"},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
		{"SELECT ? -- trailing ?", "SELECT $1 -- trailing ?"},
		{strings.Repeat("?,", 11) + "?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12"},
	}
	for _, tt := range tests {
		if got := Postgres.Rebind(tt.in); got != tt.pg {
			t.Errorf("Postgres.Rebind(%q) = %q, want %q", tt.in, got, tt.pg)
		}
		for _, d := range []Dialect{MySQL, SQLite} {
			if got := d.Rebind(tt.in); got != tt.in {
				t.Errorf("%v.Rebind(%q) = %q, want it unchanged", d, tt.in, got)
			}
		}
	}
}

func TestValidIdent(t *testing.T) {
	good := []string{"a", "_", "consent_events", "gdpr_", "t1", "_x9", strings.Repeat("a", 63)}
	bad := []string{"", "1abc", "Abc", "a-b", "a b", "a;drop", `a"b`, "a`b", "é", strings.Repeat("a", 64), "a\n", "tablé"}
	for _, s := range good {
		if err := ValidIdent(s); err != nil {
			t.Errorf("ValidIdent(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		err := ValidIdent(s)
		if err == nil {
			t.Errorf("ValidIdent(%q) = nil, want an error", s)
		} else if !errors.Is(err, ErrInvalidIdent) {
			t.Errorf("ValidIdent(%q) = %v, want it to wrap ErrInvalidIdent", s, err)
		}
	}
}

func TestByName(t *testing.T) {
	for name, want := range map[string]Dialect{
		"postgres": Postgres, "pgx": Postgres, "postgresql": Postgres, "PostgreSQL": Postgres,
		"mysql": MySQL, "mariadb": MySQL,
		"sqlite": SQLite, "sqlite3": SQLite,
	} {
		got, err := ByName(name)
		if err != nil || got != want {
			t.Errorf("ByName(%q) = %v, %v; want %v, nil", name, got, err, want)
		}
	}
	for _, d := range []Dialect{Postgres, MySQL, SQLite} {
		if got, err := ByName(d.Name()); err != nil || got != d {
			t.Errorf("ByName(%v.Name()) = %v, %v", d, got, err)
		}
	}
	if d, err := ByName("oracle"); !errors.Is(err, ErrUnknownDialect) || d.Valid() {
		t.Errorf("ByName(oracle) = %v, %v; want the zero Dialect and ErrUnknownDialect", d, err)
	}
	var zero Dialect
	if zero.Valid() || zero.Name() != "" || zero.String() != "invalid" {
		t.Errorf("zero Dialect: Valid=%v Name=%q String=%q", zero.Valid(), zero.Name(), zero.String())
	}
}

func TestQuote(t *testing.T) {
	if got := Postgres.Quote(`a"b`); got != `"a""b"` {
		t.Errorf("Postgres.Quote = %s", got)
	}
	// Backquotes on SQLite: a double-quoted name that is no column
	// would be read as a string (see Quote).
	if got := SQLite.Quote("order"); got != "`order`" {
		t.Errorf("SQLite.Quote = %s", got)
	}
	if got := MySQL.Quote("a`b"); got != "`a``b`" {
		t.Errorf("MySQL.Quote = %s", got)
	}
}

func TestInsertIgnore(t *testing.T) {
	tests := map[Dialect]string{
		Postgres: `INSERT INTO "t" ("a", "b") VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		SQLite:   "INSERT INTO `t` (`a`, `b`) VALUES (?, ?) ON CONFLICT DO NOTHING",
		MySQL:    "INSERT INTO `t` (`a`, `b`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `a` = `a`",
	}
	for d, want := range tests {
		if got := d.InsertIgnore("t", "a", "b"); got != want {
			t.Errorf("%v.InsertIgnore = %s\nwant %s", d, got, want)
		}
	}
	for _, f := range []func(){
		func() { Postgres.InsertIgnore("t") },
		func() { Postgres.InsertIgnore("T", "a") },
		func() { Postgres.InsertIgnore("t", "a;b") },
		func() { Dialect{}.InsertIgnore("t", "a") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("InsertIgnore with bad arguments did not panic")
				}
			}()
			f()
		}()
	}
}

func TestForUpdateSkipLocked(t *testing.T) {
	if Postgres.ForUpdateSkipLocked() != " FOR UPDATE SKIP LOCKED" || MySQL.ForUpdateSkipLocked() != " FOR UPDATE SKIP LOCKED" || SQLite.ForUpdateSkipLocked() != "" {
		t.Error("ForUpdateSkipLocked: unexpected clause")
	}
	if !Postgres.TransactionalDDL() || !SQLite.TransactionalDDL() || MySQL.TransactionalDDL() {
		t.Error("TransactionalDDL: unexpected value")
	}
}

type pgErr struct{ code string }

func (e *pgErr) Error() string    { return "pg " + e.code }
func (e *pgErr) SQLState() string { return e.code }

type liteErr struct{ code int }

func (e *liteErr) Error() string { return fmt.Sprint("sqlite ", e.code) }
func (e *liteErr) Code() int     { return e.code }

// MySQLError has the name, but not the package path, of the driver's error:
// it must not be mistaken for it.
type MySQLError struct{ Number uint16 }

func (e *MySQLError) Error() string { return "not mysql" }

func TestIsUniqueViolationFakes(t *testing.T) {
	yes := []error{
		&pgErr{"23505"},
		fmt.Errorf("wrapped: %w", &pgErr{"23505"}),
		&liteErr{2067},
		&liteErr{1555},
		errors.Join(errors.New("x"), fmt.Errorf("y: %w", &liteErr{2067})),
	}
	no := []error{
		nil,
		errors.New("duplicate key value violates unique constraint"),
		&pgErr{"23503"},
		&liteErr{19},
		&liteErr{787},
		&MySQLError{Number: 1062},
	}
	for _, err := range yes {
		if !IsUniqueViolation(err) {
			t.Errorf("IsUniqueViolation(%v) = false, want true", err)
		}
	}
	for _, err := range no {
		if IsUniqueViolation(err) {
			t.Errorf("IsUniqueViolation(%v) = true, want false", err)
		}
	}
}

type fakePgError struct{ msg string }

func (e *fakePgError) Error() string    { return e.msg }
func (e *fakePgError) SQLState() string { return "23502" }

func TestRedact(t *testing.T) {
	const canary = "ann@example.org"
	err := fmt.Errorf("insert: %w", &fakePgError{msg: `null value violates not-null constraint; Failing row contains (` + canary + `)`})
	r := Redact(err)
	var se *ServerError
	if !errors.As(r, &se) || se.Code != "SQLSTATE 23502" || strings.Contains(r.Error(), canary) {
		t.Fatalf("Redact = %v", r)
	}
	if Redact(nil) != nil {
		t.Fatal("Redact(nil) != nil")
	}
	if got := Redact(context.Canceled); !errors.Is(got, context.Canceled) {
		t.Fatalf("Redact(context.Canceled) = %v", got)
	}
}
