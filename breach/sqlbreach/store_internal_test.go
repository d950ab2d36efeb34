package sqlbreach

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const testID = "01950000-0000-7000-8000-000000000001"

func testEvent() breach.Event {
	return breach.Event{Breach: testID, Seq: 1, Time: t0, Kind: breach.KindRecorded, Data: []byte(`{}`)}
}

func testNotice(o breach.Outcome) breach.Notice {
	return breach.Notice{Breach: testID, Ref: make([]byte, 32), Time: t0, Outcome: o}
}

// noDB is a connector whose every connection fails: a Store over it
// shows which calls are refused before they reach a database.
type noDB struct{}

var errNoDB = errors.New("no database in this test")

func (noDB) Connect(context.Context) (driver.Conn, error) { return nil, errNoDB }
func (noDB) Driver() driver.Driver                        { return nil }

func storeWithoutDB(t *testing.T, d sqldialect.Dialect) *Store {
	t.Helper()
	db := sql.OpenDB(noDB{})
	t.Cleanup(func() { db.Close() })
	s, err := New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func wantInvalid(t *testing.T, what string, err error, op, field string) {
	t.Helper()
	var be *breach.Error
	if !errors.As(err, &be) || be.Op != "sqlbreach."+op || be.Field != field ||
		!errors.Is(err, breach.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) || errors.Is(err, errNoDB) {
		t.Errorf("%s: %v; want a *breach.Error{Op: sqlbreach.%s, Field: %s} wrapping ErrInvalid, before the database", what, err, op, field)
	}
}

func TestNewRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		db    *sql.DB
		d     sqldialect.Dialect
		opts  []Option
		field string
	}{
		"nil db":       {nil, sqldialect.SQLite, nil, "db"},
		"no dialect":   {&sql.DB{}, 0, nil, "dialect"},
		"bad dialect":  {&sql.DB{}, 7, nil, "dialect"},
		"bad prefix":   {&sql.DB{}, sqldialect.SQLite, []Option{WithTablePrefix("Bad")}, "WithTablePrefix"},
		"long prefix":  {&sql.DB{}, sqldialect.SQLite, []Option{WithTablePrefix(strings.Repeat("a", 41))}, "WithTablePrefix"},
		"empty prefix": {&sql.DB{}, sqldialect.SQLite, []Option{WithTablePrefix("")}, "WithTablePrefix"},
		"sql prefix":   {&sql.DB{}, sqldialect.SQLite, []Option{WithTablePrefix("x;drop table y")}, "WithTablePrefix"},
		"nil option":   {&sql.DB{}, sqldialect.SQLite, []Option{nil}, "opts"},
	} {
		_, err := New(c.db, c.d, c.opts...)
		var be *breach.Error
		if !errors.As(err, &be) || be.Field != c.field || be.Op != "sqlbreach.New" || !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("New with %s: %v; want a *breach.Error{Op: sqlbreach.New, Field: %s} wrapping ErrInvalid", name, err, c.field)
		}
		if err != nil && strings.Contains(err.Error(), "drop table") {
			t.Errorf("New with %s: the error %q quotes the prefix", name, err)
		}
	}
	if _, err := New(&sql.DB{}, sqldialect.MySQL, WithTablePrefix(strings.Repeat("a", 40))); err != nil {
		t.Errorf("New with a 40-byte prefix: %v", err)
	}
	for _, p := range []string{"Bad", "", "a-b"} {
		if _, err := Migrations(sqldialect.SQLite, p); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("Migrations with prefix %q: %v; want ErrInvalid", p, err)
		}
	}
	if _, err := Migrations(0, "app_"); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Migrations of no dialect: %v; want ErrInvalid", err)
	}
}

// TestMigrationsFiles: two files per dialect, rendered with the prefix,
// one statement each (DDL commits implicitly on MySQL), the two tables
// with their primary keys, data as bytes, and every name within
// PostgreSQL's 63 bytes with the longest prefix.
func TestMigrationsFiles(t *testing.T) {
	longest := strings.Repeat("p", 40)
	name := regexp.MustCompile(`(?:CREATE TABLE|CREATE INDEX|KEY|CONSTRAINT) (\w+)`)
	bytesCol := map[sqldialect.Dialect]string{sqldialect.Postgres: "BYTEA", sqldialect.MySQL: "MEDIUMBLOB", sqldialect.SQLite: "BLOB"}
	for _, d := range []sqldialect.Dialect{sqldialect.Postgres, sqldialect.MySQL, sqldialect.SQLite} {
		f, err := Migrations(d, "app_")
		if err != nil {
			t.Fatal(err)
		}
		names, _ := fs.Glob(f, "*.sql")
		if strings.Join(names, " ") != "0001_breach_events.sql 0002_breach_notices.sql" {
			t.Errorf("%v: files %v", d, names)
		}
		var all strings.Builder
		for _, n := range names {
			b, _ := fs.ReadFile(f, n)
			all.Write(b)
			if strings.Contains(string(b), "{{") || strings.Contains(string(b), "gdpr_") || !strings.Contains(string(b), "CREATE TABLE app_breach_") {
				t.Errorf("%v %s: not rendered with the prefix:\n%s", d, n, b)
			}
			if c := strings.Count(string(b), ";\n"); c != 1 {
				t.Errorf("%v %s: %d statements; want one per file", d, n, c)
			}
		}
		for _, want := range []string{
			"CREATE TABLE app_breach_events", "PRIMARY KEY (breach_id, seq)", "data      " + bytesCol[d] + " NOT NULL",
			"CREATE TABLE app_breach_notices", "PRIMARY KEY (breach_id, ref)",
		} {
			if !strings.Contains(all.String(), want) {
				t.Errorf("%v: the schema has no %q", d, want)
			}
		}
		f, err = Migrations(d, longest)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, _ := fs.ReadFile(f, n)
			for _, m := range name.FindAllStringSubmatch(string(b), -1) {
				if len(m[1]) > 63 {
					t.Errorf("%v %s: %s is %d bytes; PostgreSQL keeps 63", d, n, m[1], len(m[1]))
				}
			}
		}
	}
}

// TestQueries: every query is rebound for PostgreSQL, names only the
// prefixed tables, and has as many placeholders as Store binds; Claim is
// one conditional upsert on PostgreSQL and SQLite, and no ON DUPLICATE
// KEY UPDATE on MySQL.
func TestQueries(t *testing.T) {
	for _, d := range []dialect.Dialect{dialect.Postgres, dialect.MySQL, dialect.SQLite} {
		q := buildQueries(d, "app_")
		args := map[string]int{
			q.first: 5, q.next: 7, q.list: 1, q.breaches: 2, q.exists: 1, q.claim: 5,
			q.settle: 4, q.notice: 2, q.page: 3, q.firstPage: 2,
		}
		if d == dialect.MySQL {
			args[q.claim] = 4
			args[q.reclaim] = 4
			if strings.Contains(q.claim, "ON DUPLICATE KEY") || !strings.HasPrefix(q.reclaim, "UPDATE app_breach_notices SET") ||
				!strings.HasSuffix(q.reclaim, "AND outcome IN ('failed', ?)") {
				t.Errorf("mysql: the claim %q, %q is not an INSERT … SELECT and a conditional UPDATE", q.claim, q.reclaim)
			}
		} else {
			if q.reclaim != "" || !strings.Contains(q.claim, "ON CONFLICT (breach_id, ref) DO UPDATE SET") ||
				!strings.HasSuffix(q.claim, " WHERE app_breach_notices.outcome IN ('failed', $5)") && !strings.HasSuffix(q.claim, " WHERE app_breach_notices.outcome IN ('failed', ?)") {
				t.Errorf("%v: the claim %q is not one conditional upsert", d, q.claim)
			}
		}
		if !strings.Contains(q.claim, "SELECT ") || !strings.Contains(q.claim, "FROM app_breach_events WHERE breach_id = ") {
			t.Errorf("%v: the claim %q does not insert from the breach's events", d, q.claim)
		}
		if !strings.HasSuffix(q.settle, "AND outcome IN ('pending', 'failed')") {
			t.Errorf("%v: the settle %q is not conditional", d, q.settle)
		}
		for s, n := range args {
			if strings.Contains(s, "gdpr_") || !strings.Contains(s, "app_breach_") {
				t.Errorf("%v: %q ignores the prefix", d, s)
			}
			got := strings.Count(s, "?")
			if d == dialect.Postgres {
				if got != 0 || !strings.Contains(s, "$"+strconv.Itoa(n)) || strings.Contains(s, "$"+strconv.Itoa(n+1)) {
					t.Errorf("postgres: %q not rebound for %d arguments", s, n)
				}
			} else if got != n {
				t.Errorf("%v: %q has %d placeholders; Store binds %d", d, s, got, n)
			}
		}
	}
}

// TestArgumentsRefused: every method refuses a nil context and invalid
// arguments before it reaches the database, with breach's checks.
func TestArgumentsRefused(t *testing.T) {
	s := storeWithoutDB(t, sqldialect.MySQL)
	ctx := context.Background()
	var nilCtx context.Context
	for name, call := range map[string]func(ctx context.Context) error{
		"Append":   func(ctx context.Context) error { return s.Append(ctx, testEvent()) },
		"Events":   func(ctx context.Context) error { _, err := s.Events(ctx, testID); return err },
		"Breaches": func(ctx context.Context) error { _, err := s.Breaches(ctx, "", 10); return err },
		"Claim":    func(ctx context.Context) error { _, err := s.Claim(ctx, testNotice(breach.Pending), false); return err },
		"Settle":   func(ctx context.Context) error { return s.Settle(ctx, testNotice(breach.Sent)) },
		"Notices":  func(ctx context.Context) error { _, err := s.Notices(ctx, testID, nil, 10); return err },
		"Migrate":  func(ctx context.Context) error { return s.Migrate(ctx) },
	} {
		wantInvalid(t, name+" with a nil context", call(nilCtx), name, "ctx")
		if err := call(ctx); !errors.Is(err, errNoDB) || errors.Is(err, breach.ErrInvalid) {
			t.Errorf("%s with valid arguments: %v; want the database's error", name, err)
		}
		done, cancel := context.WithCancel(ctx)
		cancel()
		if err := call(done); !errors.Is(err, context.Canceled) || errors.Is(err, errNoDB) {
			t.Errorf("%s with a done context: %v; want context.Canceled, before the database", name, err)
		}
	}
	for field, edit := range map[string]func(*breach.Event){
		"Breach": func(e *breach.Event) { e.Breach = "ann@example.org" },
		"Seq":    func(e *breach.Event) { e.Seq = 0 },
		"Time":   func(e *breach.Event) { e.Time = time.Time{} },
		"Kind":   func(e *breach.Event) { e.Kind = "exploded" },
		"Data":   func(e *breach.Event) { e.Data = []byte(`{"a":`) },
	} {
		ev := testEvent()
		edit(&ev)
		err := s.Append(ctx, ev)
		wantInvalid(t, "Append, bad "+field, err, "Append", field)
		if err != nil && strings.Contains(err.Error(), "ann@example.org") {
			t.Errorf("Append: the error %q quotes the value", err)
		}
	}
	n := testNotice(breach.Pending)
	n.Ref = n.Ref[:31]
	_, err := s.Claim(ctx, n, false)
	wantInvalid(t, "Claim of a short Ref", err, "Claim", "Ref")
	_, err = s.Claim(ctx, testNotice(breach.Sent), false)
	wantInvalid(t, "Claim, not pending", err, "Claim", "Outcome")
	wantInvalid(t, "Settle, pending", s.Settle(ctx, testNotice(breach.Pending)), "Settle", "Outcome")
	for _, limit := range []int{0, -1, breach.MaxPage + 1} {
		_, err = s.Breaches(ctx, "", limit)
		wantInvalid(t, "Breaches past the limits", err, "Breaches", "limit")
		_, err = s.Notices(ctx, testID, nil, limit)
		wantInvalid(t, "Notices past the limits", err, "Notices", "limit")
	}
	// An ID no breach can have is not sent to the database.
	for _, id := range []string{"", "x", "ann@example.org", testID + "0", strings.Replace(testID, "0", "\xff", 1), strings.Replace(testID, "0", "\x00", 1)} {
		if _, err := s.Events(ctx, id); !errors.Is(err, breach.ErrNotFound) || errors.Is(err, errNoDB) {
			t.Errorf("Events(%q): %v; want ErrNotFound, before the database", id, err)
		}
		if ns, err := s.Notices(ctx, id, nil, 10); err != nil || ns != nil {
			t.Errorf("Notices(%q): %v, %v; want none, before the database", id, ns, err)
		}
	}
}

func TestStorableID(t *testing.T) {
	for id, want := range map[string]bool{
		testID: true, strings.ToUpper(testID): true, "": false, testID[:35]: false, testID + "-": false,
		"0195000g-0000-7000-8000-000000000001": false, "{1950000-0000-7000-8000-000000000001": false,
	} {
		if got := storableID(id); got != want {
			t.Errorf("storableID(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestPageAfter: the bound pageAfter makes selects, among IDs of hex
// digits and hyphens, exactly those after the given one in byte order,
// and is ASCII without NUL.
func TestPageAfter(t *testing.T) {
	ids := []string{"", "-", "0", "00", "0-", "01", "0f", "0F", "a", "a0", "af", "b", "f-", "ff", "A", "F0", "9", testID, strings.ToUpper(testID)}
	for _, after := range []string{"", "0", "0\x00", "0\x00z", "0\x7f", "0\xff", "0\x80\x00", "\xff", "\x00", "a\xffb", "A\x01", "0a~", testID[:10] + "\xe9", testID} {
		b := pageAfter(after)
		for i := 0; i < len(b); i++ {
			if b[i] == 0 || b[i] > 0x7f {
				t.Errorf("pageAfter(%q) = %q: not ASCII without NUL", after, b)
			}
		}
		for _, id := range ids {
			if got, want := id > b, id > after; got != want {
				t.Errorf("pageAfter(%q) = %q: %q after it %v, want %v", after, b, id, got, want)
			}
		}
	}
}

// TestErrorsRedacted: a database's error keeps its code and loses its
// message, which may quote a bound value.
func TestErrorsRedacted(t *testing.T) {
	err := storeErr("Append", &pgLikeError{msg: `duplicate key value (breach_id)=(secret-value)`})
	if strings.Contains(err.Error(), "secret-value") || !strings.Contains(err.Error(), "23505") {
		t.Errorf("storeErr: %q; want the code without the message", err)
	}
	var be *breach.Error
	if !errors.As(err, &be) || be.Op != "sqlbreach.Append" {
		t.Errorf("storeErr: %#v; want a *breach.Error of sqlbreach.Append", err)
	}
	cond := condErr("Events", "", breach.ErrNotFound, "no breach of that ID")
	if storeErr("Events", cond) != cond {
		t.Error("storeErr wraps a *breach.Error again")
	}
	if !errors.Is(cond, breach.ErrNotFound) || !errors.Is(cond, gdpr.ErrNotFound) {
		t.Errorf("condErr: %v; want it to wrap breach's and gdpr's ErrNotFound", cond)
	}
	if !dialect.IsUniqueViolation(&pgLikeError{}) {
		t.Error("a unique violation is not recognised")
	}
}

type pgLikeError struct{ msg string }

func (e *pgLikeError) Error() string    { return e.msg }
func (e *pgLikeError) SQLState() string { return "23505" }
