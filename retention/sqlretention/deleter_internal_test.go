package sqlretention

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// offlineConnector is a database no connection reaches: the tests here check what
// a Deleter does before it asks the database anything.
type offlineConnector struct{}

var errOffline = errors.New("no database in this test")

func (offlineConnector) Connect(context.Context) (driver.Conn, error) { return nil, errOffline }
func (offlineConnector) Driver() driver.Driver                        { return offlineDriver{} }

type offlineDriver struct{}

func (offlineDriver) Open(string) (driver.Conn, error) { return nil, errOffline }

func offlineDB(t *testing.T) *sql.DB {
	db := sql.OpenDB(offlineConnector{})
	t.Cleanup(func() { db.Close() })
	return db
}

type upperPseud struct{}

func (upperPseud) Pseudonym(domain, value string) string {
	return domain + ":" + strings.ToUpper(value)
}

func goodTable() Table {
	return Table{
		Name: "events", Key: "id", Subject: "subject", Time: "created_at",
		BlindIndexes: []string{"email_bi"},
		Strategies: map[string][]Mask{
			"sql":   {Null("email"), Fixed("country", "XX"), Truncate("name", 1)},
			"go":    {Pseudonym("email", upperPseud{}), Func("ip", func(v any) (any, error) { return v, nil }), Null("phone")},
			"empty": {},
		},
	}
}

func TestNewDeleterRefuses(t *testing.T) {
	db := offlineDB(t)
	bad := map[string]struct {
		db    *sql.DB
		d     sqldialect.Dialect
		edit  func(*Table)
		field string
	}{
		"nil db":            {nil, sqldialect.SQLite, func(*Table) {}, "db"},
		"zero dialect":      {db, 0, func(*Table) {}, "dialect"},
		"bad table name":    {db, sqldialect.Postgres, func(t *Table) { t.Name = "Events" }, "table.name"},
		"quote in name":     {db, sqldialect.Postgres, func(t *Table) { t.Name = `e"; DROP TABLE x; --` }, "table.name"},
		"empty key":         {db, sqldialect.MySQL, func(t *Table) { t.Key = "" }, "table.key"},
		"bad subject":       {db, sqldialect.MySQL, func(t *Table) { t.Subject = "1subject" }, "table.subject"},
		"long time":         {db, sqldialect.MySQL, func(t *Table) { t.Time = strings.Repeat("t", 64) }, "table.time"},
		"key is subject":    {db, sqldialect.SQLite, func(t *Table) { t.Subject = "id" }, "table"}, // with strategies
		"time is key":       {db, sqldialect.SQLite, func(t *Table) { t.Time = "id" }, "table"},
		"unknown unit":      {db, sqldialect.SQLite, func(t *Table) { t.TimeUnit = 9 }, "table.time_unit"},
		"unknown from":      {db, sqldialect.SQLite, func(t *Table) { t.From = "birth" }, "table.from"},
		"bad blind index":   {db, sqldialect.SQLite, func(t *Table) { t.BlindIndexes = []string{"ok", "Bad"} }, "table.blind_indexes[1]"},
		"blind index twice": {db, sqldialect.SQLite, func(t *Table) { t.BlindIndexes = []string{"bi", "bi"} }, "table.blind_indexes[1]"},
		"blind index key":   {db, sqldialect.SQLite, func(t *Table) { t.BlindIndexes = []string{"id"} }, "table.blind_indexes[0]"},
		"empty strategy name": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies[""] = nil
		}, "table.strategies"},
		"control in strategy name": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["a\nb"] = nil
		}, "table.strategies"},
		"mask of key": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{Null("id")}
		}, `table.strategies["x"]`},
		"mask of subject": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{Fixed("subject", "nobody")}
		}, `table.strategies["x"]`},
		"mask of time": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{Truncate("created_at", 4)}
		}, `table.strategies["x"]`},
		"mask of blind index": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{Null("email_bi")}
		}, `table.strategies["x"]`},
		"column masked twice": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{Null("email"), Truncate("email", 3)}
		}, `table.strategies["x"]`},
		"bad mask column": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{Null("e-mail")}
		}, `table.strategies["x"]`},
		"zero mask": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{{}}
		}, `table.strategies["x"]`},
		"negative truncate": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{Truncate("name", -1)}
		}, `table.strategies["x"]`},
		"nil pseudonymiser": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{Pseudonym("name", nil)}
		}, `table.strategies["x"]`},
		"nil func": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{Func("name", nil)}
		}, `table.strategies["x"]`},
		"unbindable fixed": {db, sqldialect.SQLite, func(t *Table) {
			t.Strategies["x"] = []Mask{Fixed("name", map[string]int{"a": 1})}
		}, `table.strategies["x"]`},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			tb := goodTable()
			c.edit(&tb)
			_, err := NewDeleter(c.db, c.d, tb)
			var re *retention.Error
			if !errors.As(err, &re) || !errors.Is(err, retention.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
				t.Fatalf("NewDeleter = %v, want a *retention.Error wrapping ErrInvalid", err)
			}
			if re.Op != "sqlretention.NewDeleter" || re.Field != c.field {
				t.Errorf("Op, Field = %q, %q; want sqlretention.NewDeleter, %q", re.Op, re.Field, c.field)
			}
			if strings.Contains(err.Error(), "DROP") {
				t.Errorf("the error quotes the rejected name: %v", err)
			}
		})
	}
	for _, d := range []sqldialect.Dialect{sqldialect.Postgres, sqldialect.MySQL, sqldialect.SQLite} {
		del, err := NewDeleter(db, d, goodTable())
		if err != nil {
			t.Fatalf("%v: NewDeleter(good table) = %v", d, err)
		}
		if del.CountsFrom() != retention.FromCollection {
			t.Errorf("CountsFrom = %q, want the default, collection", del.CountsFrom())
		}
	}
	accounts, err := NewDeleter(db, sqldialect.Postgres, Table{Name: "accounts", Key: "id", Subject: "id", Time: "last_login_at", From: retention.FromLastActivity})
	if err != nil || len(accounts.Strategies()) != 0 {
		t.Errorf("NewDeleter of a table keyed by its subject, without strategies: %v", err)
	}
	if got := must(NewDeleter(db, sqldialect.SQLite, goodTable())).Strategies(); !slices.Equal(got, []string{"empty", "go", "sql"}) {
		t.Errorf("Strategies() = %v", got)
	}
	tb := goodTable()
	tb.From = retention.FromLastActivity
	tb.Strategies = map[string][]Mask{"x": {Fixed("name", nil)}}
	del, err := NewDeleter(db, sqldialect.SQLite, tb)
	if err != nil || del.CountsFrom() != retention.FromLastActivity {
		t.Fatalf("NewDeleter, CountsFrom = %v, %v; want last_activity", err, del.CountsFrom())
	}
	if got := del.strategies["x"].set; got != "`name` = NULL, `subject` = NULL, `email_bi` = NULL" {
		t.Errorf("Fixed(nil) gives SET %s, want NULL", got)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestStatements(t *testing.T) {
	db := offlineDB(t)
	pg, _ := NewDeleter(db, sqldialect.Postgres, goodTable())
	my, _ := NewDeleter(db, sqldialect.MySQL, goodTable())
	lite, _ := NewDeleter(db, sqldialect.SQLite, goodTable())
	for _, c := range []struct{ got, want string }{
		{pg.q.first, `SELECT "id", "subject", "created_at", 0 FROM "events" WHERE "subject" IS NOT NULL AND "created_at" < $1 ORDER BY "created_at", "id" LIMIT $2`},
		{pg.q.next, `SELECT "id", "subject", "created_at", 0 FROM "events" WHERE "subject" IS NOT NULL AND "created_at" < $1 AND ("created_at", "id") > ($2, $3) ORDER BY "created_at", "id" LIMIT $4`},
		{pg.selectQuery(true, 1), `SELECT "id", "subject", "created_at", CASE WHEN "subject" = ANY($1) THEN 1 ELSE 0 END FROM "events" WHERE "subject" IS NOT NULL AND "created_at" < $2 AND ("created_at", "id") > ($3, $4) ORDER BY "created_at", "id" LIMIT $5`},
		{lite.q.next, "SELECT `id`, `subject`, `created_at`, 0 FROM `events` WHERE `subject` IS NOT NULL AND `created_at` < ? AND (`created_at`, `id`) > (?, ?) ORDER BY `created_at`, `id` LIMIT ?"},
		{lite.selectQuery(false, 2), "SELECT `id`, `subject`, `created_at`, CASE WHEN `subject` IN (?, ?) THEN 1 ELSE 0 END FROM `events` WHERE `subject` IS NOT NULL AND `created_at` < ? ORDER BY `created_at`, `id` LIMIT ?"},
		{my.q.next, "SELECT `id`, `subject`, `created_at`, 0 FROM `events` WHERE `subject` IS NOT NULL AND `created_at` < ? AND `created_at` >= ? AND (`created_at` > ? OR (`created_at` = ? AND `id` > ?)) ORDER BY `created_at`, `id` LIMIT ?"},
		{lite.q.expiringAfter, "SELECT `subject`, MIN(`created_at`) FROM `events` WHERE `subject` IS NOT NULL AND `created_at` >= ? AND `created_at` < ? AND `subject` > ? GROUP BY `subject` ORDER BY `subject` LIMIT ?"},
		{pg.rangeQuery(nil, false, false), `DELETE FROM "events" WHERE "subject" IS NOT NULL AND "created_at" < $1 AND ("created_at", "id") <= ($2, $3)`},
		{pg.rangeQuery(nil, true, true), `DELETE FROM "events" WHERE "subject" IS NOT NULL AND "created_at" < $1 AND ("created_at", "id") <= ($2, $3) AND ("created_at", "id") > ($4, $5) AND NOT ("subject" = ANY($6))`},
		{pg.rangeQuery(pg.strategies["sql"], true, false), `UPDATE "events" SET "email" = NULL, "country" = $1, "name" = SUBSTRING("name" FROM 1 FOR 1), "subject" = NULL, "email_bi" = NULL WHERE "subject" IS NOT NULL AND "created_at" < $2 AND ("created_at", "id") <= ($3, $4) AND ("created_at", "id") > ($5, $6)`},
		{pg.inQueryH('d', nil, 2, 0), `DELETE FROM "events" WHERE "id" IN ($1, $2) AND "subject" IS NOT NULL AND "created_at" < $3`},
		{my.inQueryH('d', nil, 2, 2), "DELETE FROM `events` WHERE `id` IN (?, ?) AND `subject` IS NOT NULL AND `created_at` < ? AND NOT (`subject` IN (?, ?))"},
		{pg.inQueryH('u', pg.strategies["sql"], 1, 0), `UPDATE "events" SET "email" = NULL, "country" = $1, "name" = SUBSTRING("name" FROM 1 FOR 1), "subject" = NULL, "email_bi" = NULL WHERE "id" IN ($2) AND "subject" IS NOT NULL AND "created_at" < $3`},
		{my.inQueryH('u', my.strategies["sql"], 1, 0), "UPDATE `events` SET `email` = NULL, `country` = ?, `name` = LEFT(`name`, 1), `subject` = NULL, `email_bi` = NULL WHERE `id` IN (?) AND `subject` IS NOT NULL AND `created_at` < ?"},
		{lite.inQueryH('u', lite.strategies["empty"], 1, 0), "UPDATE `events` SET `subject` = NULL, `email_bi` = NULL WHERE `id` IN (?) AND `subject` IS NOT NULL AND `created_at` < ?"},
		{lite.inQueryH('u', lite.strategies["sql"], 1, 1), "UPDATE `events` SET `email` = NULL, `country` = ?, `name` = SUBSTR(`name`, 1, 1), `subject` = NULL, `email_bi` = NULL WHERE `id` IN (?) AND `subject` IS NOT NULL AND `created_at` < ? AND NOT (`subject` IN (?))"},
		{pg.inQueryH('r', pg.strategies["go"], 1, 1), `SELECT "id", "email", "ip" FROM "events" WHERE "id" IN ($1) AND "subject" IS NOT NULL AND "created_at" < $2 AND NOT ("subject" = ANY($3)) FOR UPDATE`},
		{lite.inQueryH('r', lite.strategies["go"], 1, 0), "SELECT `id`, `email`, `ip` FROM `events` WHERE `id` IN (?) AND `subject` IS NOT NULL AND `created_at` < ?"},
		{pg.rowUpdate(pg.strategies["go"]), `UPDATE "events" SET "email" = $1, "ip" = $2, "phone" = NULL, "subject" = NULL, "email_bi" = NULL WHERE "id" = $3 AND "subject" IS NOT NULL AND "created_at" < $4`},
	} {
		if c.got != c.want {
			t.Errorf("statement\n got %s\nwant %s", c.got, c.want)
		}
	}
}

func TestChunks(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 1000, 1024, 1025, 3000} {
		keys := make([]any, n)
		for i := range keys {
			keys[i] = int64(i)
		}
		cs := chunks(keys)
		seen := map[any]bool{}
		for _, c := range cs {
			if len(c) > inChunk || len(c)&(len(c)-1) != 0 {
				t.Errorf("n=%d: a chunk of %d keys, want a power of two up to %d", n, len(c), inChunk)
			}
			for _, k := range c {
				seen[k] = true
			}
		}
		if len(seen) != n {
			t.Errorf("n=%d: chunks hold %d distinct keys", n, len(seen))
		}
		if keys[n-1] != int64(n-1) || cap(keys) != n {
			t.Errorf("n=%d: chunks changed the keys", n)
		}
	}
}

func TestTimeArg(t *testing.T) {
	db := offlineDB(t)
	mk := func(u TimeUnit) *Deleter {
		tb := goodTable()
		tb.TimeUnit = u
		d, err := NewDeleter(db, sqldialect.SQLite, tb)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		u    TimeUnit
		t    time.Time
		want any
	}{
		{UnixSeconds, at, at.Unix()},
		{UnixSeconds, at.Add(time.Nanosecond), at.Unix() + 1},
		{UnixSeconds, at.Add(-time.Nanosecond), at.Unix()},
		{UnixMillis, at.Add(1500 * time.Microsecond), at.UnixMilli() + 2},
		{UnixMillis, at.Add(time.Millisecond), at.UnixMilli() + 1},
		{UnixMicros, at.Add(1001 * time.Nanosecond), at.UnixMicro() + 2},
		{UnixMicros, time.Date(1960, 1, 1, 0, 0, 0, 500, time.UTC), time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() + 1},
		{UnixSeconds, time.Time{}, time.Time{}.Unix()},
		{NativeTime, at.In(time.FixedZone("x", 3600)), at},
	} {
		got := mk(c.u).timeArg(c.t)
		if tt, ok := got.(time.Time); ok {
			if !tt.Equal(c.want.(time.Time)) || tt.Location() != time.UTC {
				t.Errorf("%v timeArg(%v) = %v, want %v in UTC", c.u, c.t, got, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%v timeArg(%v) = %v, want %v", c.u, c.t, got, c.want)
		}
	}
}

func TestParseTimeText(t *testing.T) {
	want := time.Date(2024, 5, 31, 23, 59, 59, 123456789, time.UTC)
	for _, s := range []string{
		want.String(),
		time.Date(2024, 5, 31, 23, 59, 59, 123456789, time.UTC).Add(0).String(),
		"2024-05-31 23:59:59.123456789+00:00",
		"2024-05-31T23:59:59.123456789Z",
		"2024-06-01 01:59:59.123456789+02:00",
		"2024-05-31 23:59:59.123456789",
	} {
		got, ok := parseTimeText(s)
		if !ok || !got.Equal(want) {
			t.Errorf("parseTimeText(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	if got, ok := parseTimeText(time.Now().String()); !ok || got.IsZero() {
		t.Errorf("parseTimeText(time.Now().String()) fails: monotonic reading")
	}
	if got, ok := parseTimeText("2024-05-31"); !ok || !got.Equal(time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("a date: %v %v", got, ok)
	}
	for _, s := range []string{"", "yesterday", "0000-00-00 00:00:00x"} {
		if _, ok := parseTimeText(s); ok {
			t.Errorf("parseTimeText(%q) succeeds", s)
		}
	}
}

func cursorSeeds() []string {
	var out []string
	for _, tv := range []any{
		time.Date(2024, 5, 31, 23, 59, 59, 123456789, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC),     // PostgreSQL keeps years BC
		time.Date(-4712, 1, 1, 0, 0, 0, 0, time.UTC), // its earliest
		time.Date(99999, 1, 1, 0, 0, 0, 0, time.UTC),
		int64(1717200000), int64(-1), int64(math.MinInt64),
		"2024-05-31 23:59:59.123456",
	} {
		for _, kv := range []any{int64(42), int64(-7), uint64(math.MaxUint64), "0190a0b2-7c1e-7d3f-8b2a-000000000001", []byte{0, 1, 2, 0xff}, "", strings.Repeat("k", MaxKeyLen)} {
			c, err := encodeCursor(tv, kv)
			if err != nil {
				panic(err)
			}
			out = append(out, c)
		}
	}
	return out
}

func TestCursorRoundTrip(t *testing.T) {
	db := offlineDB(t)
	d, _ := NewDeleter(db, sqldialect.Postgres, goodTable())
	for _, s := range cursorSeeds() {
		if len(s) > retention.MaxCursorLen {
			t.Errorf("a cursor of %d bytes, over retention.MaxCursorLen", len(s))
		}
		c, err := decodeCursor(s)
		if err != nil {
			t.Fatalf("decodeCursor(encodeCursor(...)) = %v", err)
		}
		tv, kv := d.bindCursor(c)
		again, err := encodeCursor(tv, kv)
		if err != nil || again != s {
			t.Errorf("re-encoded cursor %q, %v; want %q", again, err, s)
		}
	}
	for _, c := range []struct{ t, k any }{
		{time.Now(), 1.5},                      // a float key
		{time.Now(), strings.Repeat("k", 513)}, // too long
		{time.Now(), "\xff"},                   // not UTF-8
		{time.Now(), "a\x00b"},                 // NUL
		{1.5, int64(1)},                        // a float time
		{strings.Repeat("9", 65), int64(1)},    // long text time
		{"2024-05-31 23:59:59\n", int64(1)},    // control character
		{time.Now(), time.Now()},               // a time key
		{time.Now(), []byte(strings.Repeat("b", 513))},
	} {
		if s, err := encodeCursor(c.t, c.k); err == nil {
			t.Errorf("encodeCursor(%T, %T) = %q, want an error", c.t, c.k, s)
		}
	}
	for _, s := range []string{
		"!", "AA", "AQ", "AXQ", strings.Repeat("A", retention.MaxCursorLen+1),
		cursorSeeds()[0] + "A", cursorSeeds()[0][:len(cursorSeeds()[0])-2],
		"AnQAAAAAZluZf0lbzRVpAAAAAAAAACo", // version 2
	} {
		if _, err := decodeCursor(s); err == nil {
			t.Errorf("decodeCursor(%q) succeeds", s)
		}
	}
}

// FuzzDecodeCursor: a cursor from outside never panics the decoder, and
// one it accepts encodes back to itself and fits retention.MaxCursorLen.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range cursorSeeds() {
		f.Add(s)
	}
	f.Add("")
	f.Add("AXQ")
	f.Add("AXP_____")
	d, err := NewDeleter(sql.OpenDB(offlineConnector{}), sqldialect.SQLite, goodTable())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			return
		}
		if len(s) > retention.MaxCursorLen {
			t.Fatalf("accepted a cursor of %d bytes", len(s))
		}
		tv, kv := d.bindCursor(c)
		again, err := encodeCursor(tv, kv)
		if err != nil || again != s {
			t.Fatalf("decoded %q re-encodes as %q, %v", s, again, err)
		}
	})
}

func TestExpireRefusesBeforeTheDatabase(t *testing.T) {
	db := offlineDB(t)
	d, err := NewDeleter(db, sqldialect.Postgres, goodTable())
	if err != nil {
		t.Fatal(err)
	}
	before := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	ok := retention.Batch{Target: "events", Policy: retention.Policy{Category: "events", Action: retention.Delete, From: retention.FromCollection}, Before: before, Limit: 10}
	unitTable := goodTable()
	unitTable.TimeUnit = UnixSeconds
	du, _ := NewDeleter(db, sqldialect.Postgres, unitTable)
	nativeCursor, _ := encodeCursor(before, int64(1))
	for name, c := range map[string]struct {
		d     *Deleter
		ctx   context.Context
		edit  func(*retention.Batch)
		field string
	}{
		"nil ctx":          {d, nil, func(*retention.Batch) {}, "ctx"},
		"zero limit":       {d, context.Background(), func(b *retention.Batch) { b.Limit = 0 }, "limit"},
		"far before":       {d, context.Background(), func(b *retention.Batch) { b.Before = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "before"},
		"unknown action":   {d, context.Background(), func(b *retention.Batch) { b.Policy.Action = "shred" }, "policy.action"},
		"other from":       {d, context.Background(), func(b *retention.Batch) { b.Policy.From = retention.FromLastActivity }, "policy.from"},
		"unknown strategy": {d, context.Background(), func(b *retention.Batch) { b.Policy.Action, b.Policy.Strategy = retention.Anonymise, "nope" }, "policy.strategy"},
		"unknown strategy, dry": {d, context.Background(), func(b *retention.Batch) {
			b.Policy.Action, b.Policy.Strategy, b.DryRun = retention.Anonymise, "nope", true
		}, "policy.strategy"},
		"garbage cursor":                {d, context.Background(), func(b *retention.Batch) { b.Cursor = "not a cursor" }, "cursor"},
		"native cursor on integer time": {du, context.Background(), func(b *retention.Batch) { b.Cursor = nativeCursor }, "cursor"},
	} {
		t.Run(name, func(t *testing.T) {
			b := ok
			c.edit(&b)
			_, err := c.d.Expire(c.ctx, b)
			var re *retention.Error
			if !errors.As(err, &re) || !errors.Is(err, retention.ErrInvalid) || re.Field != c.field || re.Op != "sqlretention.Expire" {
				t.Fatalf("Expire = %v (%#v), want a *retention.Error of field %q wrapping ErrInvalid", err, re, c.field)
			}
		})
	}
	// A cut-off nothing is before (the zero time, or that of a period of
	// 3000 years) is Done without the database.
	for _, before := range []time.Time{{}, time.Date(-976, 1, 1, 0, 0, 0, 0, time.UTC)} {
		b := ok
		b.Before, b.Cursor = before, nativeCursor
		if r, err := d.Expire(context.Background(), b); err != nil || !r.Done || r.Acted != 0 || r.Cursor != "" {
			t.Errorf("Expire(before %v) = %+v, %v; want Done, no cursor", before, r, err)
		}
	}
	// A cursor at or after the cut-off was not written by a batch of it.
	for _, at := range []time.Time{before, before.Add(time.Hour)} {
		b := ok
		b.Cursor, _ = encodeCursor(at, int64(1))
		_, err := d.Expire(context.Background(), b)
		var re *retention.Error
		if !errors.Is(err, retention.ErrInvalid) || !errors.As(err, &re) || re.Field != "cursor" {
			t.Errorf("a cursor at %v for a cut-off at %v: %v, want ErrInvalid", at, before, err)
		}
	}
	// More held subjects than an IN list takes, on MySQL/MariaDB and
	// SQLite.
	dm, _ := NewDeleter(db, sqldialect.MySQL, goodTable())
	many := ok
	for i := range MaxHeld + 1 {
		many.Held = append(many.Held, gdpr.SubjectID(fmt.Sprintf("s%06d", i)))
	}
	if _, err := dm.Expire(context.Background(), many); !errors.Is(err, retention.ErrInvalid) {
		t.Errorf("%d held subjects on MySQL: %v, want ErrInvalid", len(many.Held), err)
	}
	// A valid batch reaches the database (here: none), and its error is
	// a *retention.Error too.
	_, err = d.Expire(context.Background(), ok)
	var re *retention.Error
	if !errors.As(err, &re) || !errors.Is(err, errOffline) {
		t.Errorf("Expire without a database = %v, want the connection's error in a *retention.Error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Expire(ctx, ok); !errors.Is(err, context.Canceled) {
		t.Errorf("Expire(cancelled ctx) = %v", err)
	}
}

func TestExpiringRefuses(t *testing.T) {
	d, _ := NewDeleter(offlineDB(t), sqldialect.MySQL, goodTable())
	before := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	ok := retention.ExpiringQuery{Policy: retention.Policy{Category: "events"}, From: before.AddDate(0, 0, -30), Before: before, Limit: 10}
	for _, q := range []retention.ExpiringQuery{
		{Policy: ok.Policy, Limit: 10},
		{Policy: ok.Policy, From: time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC), Before: time.Date(-976, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 10},
	} {
		if page, err := d.Expiring(context.Background(), q); err != nil || page == nil || len(page) != 0 {
			t.Errorf("Expiring(before %v) = %v, %v; want an empty page without the database", q.Before, page, err)
		}
	}
	for name, c := range map[string]struct {
		edit  func(*retention.ExpiringQuery)
		field string
	}{
		"zero limit": {func(q *retention.ExpiringQuery) { q.Limit = 0 }, "limit"},
		"far before": {func(q *retention.ExpiringQuery) { q.Before = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "before"},
		"from after": {func(q *retention.ExpiringQuery) { q.From = before.Add(time.Second) }, "from"},
		"other from": {func(q *retention.ExpiringQuery) { q.Policy.From = retention.FromHostTime }, "policy.from"},
	} {
		q := ok
		c.edit(&q)
		_, err := d.Expiring(context.Background(), q)
		var re *retention.Error
		if !errors.As(err, &re) || !errors.Is(err, retention.ErrInvalid) || re.Field != c.field {
			t.Errorf("%s: Expiring = %v, want ErrInvalid about %q", name, err, c.field)
		}
	}
}

func TestMaskErrorsWithholdValues(t *testing.T) {
	secret := "alice@example.com"
	boom := fmt.Errorf("cannot mask %s", secret)
	_, err := applyGoMask(Func("email", func(any) (any, error) { return nil, boom }), "t.email", secret)
	if !errors.Is(err, boom) || strings.Contains(err.Error(), secret) {
		t.Errorf("Func's error = %q, want it wrapped without its text", err)
	}
	_, err = applyGoMask(Pseudonym("email", upperPseud{}), "t.email", int64(12345678))
	if err == nil || strings.Contains(err.Error(), "12345678") {
		t.Errorf("Pseudonym of an integer = %v, want an error without the value", err)
	}
	if v, err := applyGoMask(Func("email", func(any) (any, error) { panic("called for NULL") }), "t.email", nil); v != nil || err != nil {
		t.Errorf("a mask of NULL = %v, %v", v, err)
	}
	if v, _ := applyGoMask(Pseudonym("email", upperPseud{}), "t.email", []byte("a")); v != "t.email:A" {
		t.Errorf("Pseudonym of bytes = %v", v)
	}
	for _, m := range []Mask{Null("a"), Fixed("b", "secret value"), Truncate("c", 2), Pseudonym("d", upperPseud{}), Func("e", func(v any) (any, error) { return v, nil }), {}} {
		if s := m.String(); strings.Contains(s, "secret") || !strings.Contains(s, m.Column()) {
			t.Errorf("Mask.String() = %q", s)
		}
	}
}

// A MySQL/MariaDB BINARY key (bytes with NUL) stays bytes, and its
// cursor is written; a text key becomes a string.
func TestMySQLKeys(t *testing.T) {
	d, _ := NewDeleter(offlineDB(t), sqldialect.MySQL, goodTable())
	bin := d.normKey([]byte{0, 0, 0, 0, 0, 0, 0, 5})
	if _, ok := bin.([]byte); !ok {
		t.Fatalf("a binary key became %T", bin)
	}
	if _, err := encodeCursor(time.Now(), bin); err != nil {
		t.Errorf("the cursor of a binary key: %v", err)
	}
	if k := d.normKey([]byte("key-1")); k != "key-1" {
		t.Errorf("a text key = %#v", k)
	}
}

// No fmt verb shows a Fixed value, a Func or a Pseudonymiser: not of a
// Mask, a []Mask, a Table or a Deleter.
func TestFmtShowsNoValue(t *testing.T) {
	const secret = "secret-value-42"
	tb := goodTable()
	tb.Strategies["x"] = []Mask{Fixed("note", secret), Pseudonym("email", upperPseud{})}
	d, err := NewDeleter(offlineDB(t), sqldialect.Postgres, tb)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{tb.Strategies["x"][0], tb.Strategies["x"], tb, &tb, d} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, secret) || strings.Contains(out, "upperPseud") ||
				strings.Contains(out, fmt.Sprintf("%x", secret)) {
				t.Errorf("%s of %T shows a value: %.200s", verb, v, out)
			}
		}
	}
	if got := fmt.Sprintf("%#v", tb.Strategies["x"][0]); got != "sqlretention.Fixed(note)" {
		t.Errorf("%%#v of a Mask = %s", got)
	}
}

// A driver's error without a database code (pgx quotes the value it
// cannot encode) is withheld; codes, the context's errors and the
// Deleter's own causes pass; errors.Is still finds every one.
func TestFailWithholds(t *testing.T) {
	d, _ := NewDeleter(offlineDB(t), sqldialect.Postgres, goodTable())
	const secret = "canary-5d1"
	enc := fmt.Errorf("failed to encode args[0]: unable to encode %q into binary format for int8 (OID 20)", secret)
	err := d.fail("Expire", enc)
	var re *retention.Error
	if !errors.As(err, &re) || strings.Contains(err.Error(), secret) || !errors.Is(err, enc) {
		t.Errorf("fail(driver error) = %v", err)
	}
	for _, pass := range []error{context.Canceled, fmt.Errorf("conn: %w", context.DeadlineExceeded), errTimeColumn, errCursorKey,
		&maskFuncError{col: "c"}, driver.ErrBadConn} {
		if err := d.fail("Expire", pass); !errors.Is(err, pass) || strings.Contains(err.Error(), "withheld: it may quote a bound") {
			t.Errorf("fail(%v) = %v, want it shown", pass, err)
		}
	}
	if err := d.fail("Expire", nil); err != nil {
		t.Errorf("fail(nil) = %v", err)
	}
}

func TestMySQLValues(t *testing.T) {
	if v := mysqlValue("VARCHAR", []byte("x")); v != "x" {
		t.Errorf("VARCHAR = %#v", v)
	}
	if v := mysqlValue("DECIMAL", []byte("1.50")); v != "1.50" {
		t.Errorf("DECIMAL = %#v", v)
	}
	if v, ok := mysqlValue("DATETIME", []byte("2024-05-31 23:59:59.5")).(time.Time); !ok || !v.Equal(time.Date(2024, 5, 31, 23, 59, 59, 5e8, time.UTC)) {
		t.Errorf("DATETIME = %#v", v)
	}
	if v := mysqlValue("DATETIME", []byte("0000-00-00 00:00:00")); v != "0000-00-00 00:00:00" {
		t.Errorf("zero DATETIME = %#v", v)
	}
	if v, ok := mysqlValue("BLOB", []byte{1}).([]byte); !ok || len(v) != 1 {
		t.Errorf("BLOB = %#v", v)
	}
}
