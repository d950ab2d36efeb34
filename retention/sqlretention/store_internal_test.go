package sqlretention

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/sqldialect"
)

var storeT0 = time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC)

func storeTestHold() retention.Hold {
	return retention.Hold{
		ID: "case-2025-17", Subject: "subject-a", Categories: []string{"orders", "invoices"},
		Reason: "claim pending", PlacedBy: gdpr.Staff("staff-legal-7"), Placed: storeT0,
	}
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
	return s
}

func wantStoreInvalid(t *testing.T, what string, err error, op, field string) {
	t.Helper()
	var re *retention.Error
	if !errors.As(err, &re) || re.Op != "sqlretention."+op || re.Field != field ||
		!errors.Is(err, retention.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) || errors.Is(err, errNoDB) {
		t.Errorf("%s: %v; want a *retention.Error{Op: sqlretention.%s, Field: %s} wrapping ErrInvalid, before the database", what, err, op, field)
	}
}

// TestStoreTooLong: a value longer than its column, or text a database
// would not keep unchanged, is refused before the database sees it,
// naming the field, quoting nothing.
func TestStoreTooLong(t *testing.T) {
	s := storeWithoutDB(t, sqldialect.Postgres)
	ctx := context.Background()
	long := strings.Repeat("x", MaxIDLen+1)
	for field, edit := range map[string]func(h *retention.Hold){
		"id":            func(h *retention.Hold) { h.ID = long },
		"subject":       func(h *retention.Hold) { h.Subject = gdpr.SubjectID(long) },
		"categories[1]": func(h *retention.Hold) { h.Categories[1] = long },
		"reason":        func(h *retention.Hold) { h.Reason = strings.Repeat("x", MaxReasonLen+1) },
		"placed_by":     func(h *retention.Hold) { h.PlacedBy.ID = long },
		"placed":        func(h *retention.Hold) { h.Placed = time.Time{} },
	} {
		h := storeTestHold()
		h.Categories = append([]string(nil), h.Categories...)
		edit(&h)
		err := s.PlaceHold(ctx, h)
		wantStoreInvalid(t, field+" too long", err, "PlaceHold", field)
		if err != nil && strings.Contains(err.Error(), "xxxx") {
			t.Errorf("the error quotes the value: %q", err)
		}
	}
	if err := validateHold("PlaceHold", storeTestHold()); err != nil {
		t.Errorf("a valid hold: %v", err)
	}
	h := storeTestHold()
	h.ID, h.Subject, h.Categories[0] = strings.Repeat("x", MaxIDLen), gdpr.SubjectID(strings.Repeat("x", MaxIDLen)), strings.Repeat("x", MaxIDLen)
	h.Reason = strings.Repeat("x", MaxReasonLen)
	if err := validateHold("PlaceHold", h); err != nil {
		t.Errorf("values of the columns' widths: %v", err)
	}
	for name, v := range map[string]string{"NUL": "a\x00b", "not UTF-8": "a\xffb"} {
		if err := checkCol("PlaceHold", "id", v, MaxIDLen); err == nil {
			t.Errorf("checkCol of text with %s: nil; want ErrInvalid", name)
		}
		if storable(v) != "" {
			t.Errorf("storable of text with %s: %q; want \"\", which matches nothing", name, storable(v))
		}
	}
}

// TestStoreArgumentsRefused: every method refuses a nil context and its
// invalid arguments before it reaches the database.
func TestStoreArgumentsRefused(t *testing.T) {
	s := storeWithoutDB(t, sqldialect.MySQL)
	ctx := context.Background()
	var nilCtx context.Context
	l := retention.Lease{Name: "nightly", Owner: "host-1", Token: "00", Until: storeT0.Add(time.Minute)}
	sw := retention.Sweep{Name: "nightly", ID: "id"}
	for name, call := range map[string]func(ctx context.Context) error{
		"PlaceHold": func(ctx context.Context) error { return s.PlaceHold(ctx, storeTestHold()) },
		"ReleaseHold": func(ctx context.Context) error {
			_, err := s.ReleaseHold(ctx, "case", storeT0, gdpr.Staff("s"))
			return err
		},
		"GetHold":   func(ctx context.Context) error { _, err := s.GetHold(ctx, "case"); return err },
		"ListHolds": func(ctx context.Context) error { _, err := s.ListHolds(ctx, retention.HoldFilter{}); return err },
		"Holds":     func(ctx context.Context) error { _, err := s.Holds(ctx, "subject-a", storeT0); return err },
		"AcquireSweep": func(ctx context.Context) error {
			_, err := s.AcquireSweep(ctx, "nightly", "host-1", storeT0, time.Minute)
			return err
		},
		"SaveSweep":    func(ctx context.Context) error { return s.SaveSweep(ctx, l, sw, storeT0, storeT0.Add(time.Minute)) },
		"ReleaseSweep": func(ctx context.Context) error { return s.ReleaseSweep(ctx, l) },
		"LastSweep":    func(ctx context.Context) error { _, err := s.LastSweep(ctx, "nightly"); return err },
		"Migrate":      func(ctx context.Context) error { return s.Migrate(ctx) },
	} {
		wantStoreInvalid(t, name+" with a nil context", call(nilCtx), name, "ctx")
		if err := call(ctx); !errors.Is(err, errNoDB) || errors.Is(err, retention.ErrInvalid) {
			t.Errorf("%s with valid arguments: %v; want the database's error", name, err)
		}
	}
	_, err := s.ListHolds(ctx, retention.HoldFilter{Limit: retention.MaxLimit + 1})
	wantStoreInvalid(t, "ListHolds past MaxLimit", err, "ListHolds", "limit")
	_, err = s.ListHolds(ctx, retention.HoldFilter{Limit: -1})
	wantStoreInvalid(t, "ListHolds with a negative limit", err, "ListHolds", "limit")
	_, err = s.Holds(ctx, "", storeT0)
	wantStoreInvalid(t, "Holds of no subject", err, "Holds", "subject")
	_, err = s.GetHold(ctx, "")
	wantStoreInvalid(t, "GetHold of no ID", err, "GetHold", "id")
	_, err = s.ReleaseHold(ctx, "case", time.Time{}, gdpr.Staff("s"))
	wantStoreInvalid(t, "ReleaseHold at no time", err, "ReleaseHold", "at")
	_, err = s.ReleaseHold(ctx, "case", storeT0, gdpr.Actor{})
	wantStoreInvalid(t, "ReleaseHold by nobody", err, "ReleaseHold", "by")
	_, err = s.AcquireSweep(ctx, "nightly", "host-1", storeT0, 0)
	wantStoreInvalid(t, "AcquireSweep with no ttl", err, "AcquireSweep", "ttl")
	_, err = s.AcquireSweep(ctx, strings.Repeat("n", MaxIDLen+1), "host-1", storeT0, time.Minute)
	wantStoreInvalid(t, "AcquireSweep of a long name", err, "AcquireSweep", "name")
	_, err = s.AcquireSweep(ctx, "nightly", "", storeT0, time.Minute)
	wantStoreInvalid(t, "AcquireSweep by no owner", err, "AcquireSweep", "owner")
	err = s.SaveSweep(ctx, l, retention.Sweep{Name: "other"}, storeT0, storeT0)
	wantStoreInvalid(t, "SaveSweep of another sweep", err, "SaveSweep", "sweep.name")
	err = s.SaveSweep(ctx, l, retention.Sweep{Name: "nightly", Targets: make([]retention.TargetSweep, retention.MaxTargets+1)}, storeT0, storeT0)
	wantStoreInvalid(t, "SaveSweep of too many targets", err, "SaveSweep", "sweep.targets")
	err = s.SaveSweep(ctx, l, retention.Sweep{Name: "nightly", Targets: []retention.TargetSweep{{Cursor: strings.Repeat("c", retention.MaxCursorLen+1)}}}, storeT0, storeT0)
	wantStoreInvalid(t, "SaveSweep of a long cursor", err, "SaveSweep", "sweep.targets[0].cursor")
	err = s.SaveSweep(ctx, l, retention.Sweep{Name: "nightly", Targets: []retention.TargetSweep{{Cursor: "\xff\xfe"}}}, storeT0, storeT0)
	wantStoreInvalid(t, "SaveSweep of a cursor that is not UTF-8", err, "SaveSweep", "sweep.targets[0]")
	// A lease whose token no store makes matches nothing: not sent.
	if err := s.ReleaseSweep(ctx, retention.Lease{Name: "nightly"}); err != nil {
		t.Errorf("ReleaseSweep of a lease with no token: %v; want nil, nothing to release", err)
	}
}

// TestStoreSweepEncoding: a checkpoint goes into its column as JSON with
// its times to the microsecond in UTC, and comes back so; the largest
// one the limits allow stays under MaxStateLen.
func TestStoreSweepEncoding(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	sw := retention.Sweep{Name: "nightly", ID: "0195", Started: time.Date(2025, 3, 3, 3, 0, 0, 123456789, berlin),
		Targets: []retention.TargetSweep{{Target: "orders", Category: "orders", Action: retention.Delete,
			Cutoff: time.Date(2024, 3, 4, 0, 0, 0, 999, berlin), Cursor: "a<b>&\"c\"\n", Acted: 7, Longest: 1234567891}}}
	state, err := encodeSweep("SaveSweep", sw)
	if err != nil {
		t.Fatal(err)
	}
	var got retention.Sweep
	if err := json.Unmarshal([]byte(state), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Started.Equal(sw.Started.Truncate(time.Microsecond)) || got.Started.Location() != time.UTC ||
		!got.Targets[0].Cutoff.Equal(sw.Targets[0].Cutoff.Truncate(time.Microsecond)) ||
		got.Targets[0].Cursor != sw.Targets[0].Cursor || got.Targets[0].Longest != sw.Targets[0].Longest || got.Targets[0].Acted != 7 {
		t.Errorf("checkpoint %s decodes to %+v", state, got)
	}
	if sw.Started.Nanosecond() != 123456789 {
		t.Error("encodeSweep changed its argument")
	}
	big := retention.Sweep{Name: strings.Repeat("\"", MaxIDLen), ID: strings.Repeat("\\", 64), Started: storeT0, Finished: storeT0}
	for range retention.MaxTargets {
		big.Targets = append(big.Targets, retention.TargetSweep{
			Target: strings.Repeat("\"", MaxIDLen), Category: strings.Repeat("\"", MaxIDLen), Action: retention.Anonymise,
			Cutoff: storeT0, Cursor: strings.Repeat("\x01", retention.MaxCursorLen), Done: true, Held: true,
			Acted: -1 << 63, HeldRecords: -1 << 63, Batches: -1 << 63, Longest: -1 << 63,
		})
	}
	state, err = encodeSweep("SaveSweep", big)
	if err != nil || len(state) > MaxStateLen/2 {
		t.Errorf("the largest checkpoint: %d bytes, %v; want it well under MaxStateLen", len(state), err)
	}
}

// TestStoreQueries: the lease is one conditional upsert, the save one
// conditional UPDATE; every query is rebound for PostgreSQL and names
// only the prefixed tables.
func TestStoreQueries(t *testing.T) {
	for _, d := range []dialect.Dialect{dialect.Postgres, dialect.MySQL, dialect.SQLite} {
		q := buildStoreQueries(d, "app_")
		if d == dialect.MySQL {
			if !strings.Contains(q.takeSweep, "ON DUPLICATE KEY UPDATE") || strings.Count(q.takeSweep, "IF(until_us <= ?") != 3 || q.sweepToken == "" {
				t.Errorf("mysql: the lease %q is not one conditional upsert read back", q.takeSweep)
			}
		} else if !strings.Contains(q.takeSweep, "ON CONFLICT (name) DO UPDATE") || !strings.HasSuffix(q.takeSweep, "WHERE app_retention_sweeps.until_us <= "+map[bool]string{true: "$5", false: "?"}[d == dialect.Postgres]) {
			t.Errorf("%v: the lease %q is not one conditional upsert", d, q.takeSweep)
		}
		if !strings.HasPrefix(q.saveSweep, "UPDATE app_retention_sweeps SET state = ") || !strings.Contains(q.saveSweep, "AND token = ") || !strings.Contains(q.saveSweep, "AND until_us > ") {
			t.Errorf("%v: the save %q is not one conditional UPDATE", d, q.saveSweep)
		}
		if !strings.Contains(q.release, "released_us IS NULL AND (until_us IS NULL OR until_us > ") {
			t.Errorf("%v: the release %q is not conditional", d, q.release)
		}
		all := []string{q.insHold, q.insCat, q.getHold, q.release, q.inForceFor, q.takeSweep, q.sweepToken, q.saveSweep, q.sweepUntil, q.freeSweep, q.lastSweep}
		lists := map[string]bool{}
		for _, subj := range []gdpr.SubjectID{"", "s"} {
			for _, cat := range []string{"", "c"} {
				for _, in := range []time.Time{{}, storeT0} {
					lq, args := q.listHolds(d, retention.HoldFilter{Subject: subj, Category: cat, InForce: in}, 10)
					lists[lq] = true
					all = append(all, lq)
					last := "?"
					if d == dialect.Postgres {
						last = "$" + strconv.Itoa(len(args))
					} else if n := strings.Count(lq, "?"); n != len(args) {
						t.Errorf("%v: %q has %d placeholders for %d arguments", d, lq, n, len(args))
					}
					if !strings.HasSuffix(lq, " ORDER BY h.id LIMIT "+last) {
						t.Errorf("%v: %q does not page by ID", d, lq)
					}
				}
			}
		}
		if len(lists) != 8 {
			t.Errorf("%v: %d ListHolds queries; want 8, one per filter shape", d, len(lists))
		}
		for _, s := range all {
			if d == dialect.Postgres && strings.Contains(s, "?") {
				t.Errorf("postgres: %q not rebound", s)
			}
			if strings.Contains(s, "gdpr_") {
				t.Errorf("%v: %q ignores the prefix", d, s)
			}
		}
	}
}

func TestStoreNewRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		db    *sql.DB
		d     sqldialect.Dialect
		opts  []Option
		field string
	}{
		"nil db":     {nil, sqldialect.SQLite, nil, "db"},
		"no dialect": {&sql.DB{}, 0, nil, "dialect"},
		"bad prefix": {&sql.DB{}, sqldialect.SQLite, []Option{WithTablePrefix("Bad")}, "WithTablePrefix"},
		"nil option": {&sql.DB{}, sqldialect.SQLite, []Option{nil}, "opts"},
	} {
		_, err := New(c.db, c.d, c.opts...)
		var re *retention.Error
		if !errors.As(err, &re) || re.Field != c.field || re.Op != "sqlretention.New" || !errors.Is(err, retention.ErrInvalid) {
			t.Errorf("New with %s: %v; want a *retention.Error{Op: sqlretention.New, Field: %s} wrapping ErrInvalid", name, err, c.field)
		}
	}
	if _, err := Migrations(sqldialect.SQLite, "Bad"); err == nil {
		t.Error("Migrations with a bad prefix: nil error")
	}
}

// TestStoreMigrationsFiles: three files per dialect, rendered with the
// prefix, one statement per file on MySQL, and every table and index
// name within 63 bytes with the longest prefix allowed.
func TestStoreMigrationsFiles(t *testing.T) {
	longest := strings.Repeat("p", 40)
	name := regexp.MustCompile(`(?:CREATE TABLE|CREATE INDEX|KEY|CONSTRAINT) (\w+)`)
	for _, d := range []sqldialect.Dialect{sqldialect.Postgres, sqldialect.MySQL, sqldialect.SQLite} {
		f, err := Migrations(d, "app_")
		if err != nil {
			t.Fatal(err)
		}
		names, _ := fs.Glob(f, "*.sql")
		if strings.Join(names, " ") != "0001_retention_holds.sql 0002_retention_hold_cats.sql 0003_retention_sweeps.sql" {
			t.Errorf("%v: files %v", d, names)
		}
		for _, n := range names {
			b, _ := fs.ReadFile(f, n)
			if strings.Contains(string(b), "{{") || !strings.Contains(string(b), "CREATE TABLE app_retention_") {
				t.Errorf("%v %s: not rendered with the prefix", d, n)
			}
			if d == sqldialect.MySQL && strings.Count(string(b), ";\n") != 1 {
				t.Errorf("mysql %s: %d statements; want one per file (DDL commits implicitly)", n, strings.Count(string(b), ";\n"))
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

// TestStoreErrorsRedacted: a database's error keeps its code and loses
// its message, which may quote a subject.
func TestStoreErrorsRedacted(t *testing.T) {
	err := storeErr("PlaceHold", &pgLikeError{msg: `duplicate key value (subject)=(subject-secret)`})
	if strings.Contains(err.Error(), "subject-secret") || !strings.Contains(err.Error(), "23505") {
		t.Errorf("storeErr: %q; want the code without the message", err)
	}
	var re *retention.Error
	if !errors.As(err, &re) || re.Op != "sqlretention.PlaceHold" {
		t.Errorf("storeErr: %#v; want a *retention.Error of sqlretention.PlaceHold", err)
	}
	cond := condErr("GetHold", retention.ErrNotFound, "no hold of that ID")
	if storeErr("GetHold", cond) != cond {
		t.Error("storeErr wraps a *retention.Error again")
	}
}

type pgLikeError struct{ msg string }

func (e *pgLikeError) Error() string    { return e.msg }
func (e *pgLikeError) SQLState() string { return "23505" }

// TestStoreEnds: ends_us is the earlier of Until and Released, NULL when
// neither is set, so that in force is one comparison.
func TestStoreEnds(t *testing.T) {
	a, b := storeT0, storeT0.Add(time.Hour)
	for _, c := range []struct {
		until, released time.Time
		want            any
	}{
		{time.Time{}, time.Time{}, nil},
		{a, time.Time{}, a.UnixMicro()},
		{time.Time{}, a, a.UnixMicro()},
		{a, b, a.UnixMicro()},
		{b, a, a.UnixMicro()},
	} {
		if got := ends(retention.Hold{Until: c.until, Released: c.released}); got != c.want {
			t.Errorf("ends(until %v, released %v) = %v; want %v", c.until, c.released, got, c.want)
		}
	}
}
