// Package sqlbreach_test runs breach/sqlbreach on PostgreSQL,
// MySQL/MariaDB and SQLite: the breach.Store conformance suite through
// two pools and through PgBouncer, races between Stores on separate
// connection pools, as several instances of a host have, the cases the
// suite leaves to a SQL store, and a read of every stored column.
package sqlbreach_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/breachtest"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// TestStoreConformance runs the breach.Store suite on every database, a
// fresh one per subtest, through two Stores on two pools (the races run
// on both).
func TestStoreConformance(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		breachtest.RunStoreTests(t, func(t *testing.T) (s, other breach.Store) {
			return testdb.Pair(t, d, sqlbreach.New)
		})
	})
}

// TestStoreConformanceSecondPool runs the suite mostly through the Store
// on the second connection pool of a database the first Store migrated,
// as a second instance of the host would use it (on SQLite its
// transactions begin deferred, with no _txlock=immediate).
func TestStoreConformanceSecondPool(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		breachtest.RunStoreTests(t, func(t *testing.T) (s, other breach.Store) {
			first, second := testdb.Pair(t, d, sqlbreach.New)
			return second, first
		})
	})
}

// TestStoreConformancePrefix runs the suite on tables of another prefix.
func TestStoreConformancePrefix(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		breachtest.RunStoreTests(t, func(t *testing.T) (s, other breach.Store) {
			return testdb.Pair(t, d, sqlbreach.New, sqlbreach.WithTablePrefix("app_"))
		})
	})
}

// TestStoreSQLCases runs the cases of the SQL Store the suite leaves to
// it, on every database, on a first pool and on a second.
func TestStoreSQLCases(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		t.Run("FirstPool", func(t *testing.T) {
			sqlStoreCases(t, func(t *testing.T) *sqlbreach.Store {
				return testdb.Migrated(t, d, testdb.Open(t, d), sqlbreach.New)
			})
		})
		t.Run("SecondPool", func(t *testing.T) {
			sqlStoreCases(t, func(t *testing.T) *sqlbreach.Store {
				_, other := testdb.Pair(t, d, sqlbreach.New)
				return other
			})
		})
	})
}

func ref(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func notice(id string, r []byte, at time.Time, o breach.Outcome) breach.Notice {
	return breach.Notice{Breach: id, Ref: r, Time: at, Outcome: o}
}

// sqlStoreCases runs, one subtest each, what the suite does not ask and
// the SQL Store must still get right: data at the size limit and bytes
// JSON allows that text columns would change, times with nanoseconds and
// zones, IDs in upper case and page bounds no column could hold, a
// Settle that changes nothing (MySQL's rows affected leave it out),
// refs with bytes 0x00 and 0xff, and the whole lifecycle of a notice.
func sqlStoreCases(t *testing.T, newStore func(t *testing.T) *sqlbreach.Store) {
	t.Run("DataByteForByte", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		id := breachtest.NewID()
		berlin := time.FixedZone("CET", 3600)
		big := append([]byte(`{"description":"`), bytes.Repeat([]byte("x"), 1<<20-len(`{"description":""}`))...)
		big = append(big, `"}`...)
		evs := []breach.Event{
			{Breach: id, Seq: 1, Time: time.Date(2026, 3, 2, 10, 0, 0, 123456789, berlin), Kind: breach.KindRecorded,
				Data: []byte("  {\"a\" : \"\\u0000\xe9\\ud83d\" ,\n\t\"b\":[1e400, -0.0]}  ")},
			{Breach: id, Seq: 2, Time: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), Kind: breach.KindUpdated, Data: big},
			{Breach: id, Seq: 3, Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), Kind: breach.KindClosed, Data: []byte(`null`)},
		}
		for _, ev := range evs {
			if err := s.Append(ctx, ev); err != nil {
				t.Fatalf("Append %d: %v", ev.Seq, err)
			}
		}
		got, err := s.Events(ctx, id)
		if err != nil || len(got) != len(evs) {
			t.Fatalf("Events: %d, %v", len(got), err)
		}
		for i, ev := range evs {
			g := got[i]
			if g.Breach != id || g.Seq != ev.Seq || g.Kind != ev.Kind || !bytes.Equal(g.Data, ev.Data) ||
				!g.Time.Equal(ev.Time.Truncate(time.Microsecond)) || g.Time.Location() != time.UTC {
				t.Errorf("event %d: Seq %d, Kind %s, %d bytes, %v; want it as appended, to the microsecond in UTC", i, g.Seq, g.Kind, len(g.Data), g.Time)
			}
		}
	})
	t.Run("IDsAndPages", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		ids := []string{
			"00000000-0000-7000-8000-000000000001", "0000000A-0000-7000-8000-000000000001",
			"0000000a-0000-7000-8000-000000000001", "FFFFFFFF-FFFF-7FFF-BFFF-FFFFFFFFFFFF",
			"ffffffff-ffff-7fff-bfff-ffffffffffff",
		}
		for _, id := range []int{3, 0, 4, 1, 2} {
			if err := s.Append(ctx, breach.Event{Breach: ids[id], Seq: 1, Time: t0, Kind: breach.KindRecorded, Data: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
			if err := s.Append(ctx, breach.Event{Breach: ids[id], Seq: 2, Time: t0, Kind: breach.KindUpdated, Data: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, after := range []string{"", "0", "0000000A", "0000000a", "0000000\xff", "0000000A\x00", "\x00", "\xff", "g", "~", ids[4]} {
			var want []string
			for _, id := range ids {
				if id > after {
					want = append(want, id)
				}
			}
			got, err := s.Breaches(ctx, after, breach.MaxPage)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("Breaches(%q): %q, %v; want %q (byte order, upper case first)", after, got, err, want)
			}
		}
		if got, err := s.Breaches(ctx, "", 2); err != nil || !slices.Equal(got, ids[:2]) {
			t.Errorf("Breaches(limit 2): %q, %v", got, err)
		}
		if _, err := s.Events(ctx, strings.ToLower(ids[1])); err != nil {
			t.Errorf("Events of the lower-case ID: %v", err)
		}
		if evs, err := s.Events(ctx, ids[1]); err != nil || len(evs) != 2 || evs[0].Breach != ids[1] {
			t.Errorf("Events of the upper-case ID: %d, %v; want its own 2", len(evs), err)
		}
		for _, id := range []string{"", "x", ids[0] + "\xff", "00000000-0000-7000-8000-00000000000\xff", "00000000-0000-7000-8000-00000000000\x00"} {
			if _, err := s.Events(ctx, id); !errors.Is(err, breach.ErrNotFound) {
				t.Errorf("Events(%q): %v; want ErrNotFound", id, err)
			}
			if ns, err := s.Notices(ctx, id, nil, 10); err != nil || len(ns) != 0 {
				t.Errorf("Notices(%q): %v, %v; want none", id, ns, err)
			}
			if _, err := s.Claim(ctx, notice(id, ref(1), t0, breach.Pending), false); !errors.Is(err, breach.ErrInvalid) {
				t.Errorf("Claim(%q): %v; want ErrInvalid", id, err)
			}
		}
	})
	t.Run("NoticeLifecycle", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		id, other := breachtest.NewID(), breachtest.NewID()
		for _, b := range []string{id, other} {
			if err := s.Append(ctx, breach.Event{Breach: b, Seq: 1, Time: t0, Kind: breach.KindRecorded, Data: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
		}
		claim := func(r []byte, at time.Time) bool {
			t.Helper()
			ok, err := s.Claim(ctx, notice(id, r, at, breach.Pending), false)
			if err != nil {
				t.Fatalf("Claim: %v", err)
			}
			return ok
		}
		r := ref(0xff)
		if !claim(r, t0) || claim(r, t0) || claim(r, t0.Add(time.Second)) {
			t.Fatal("Claim, Claim again, at another time: want true, false, false")
		}
		if err := s.Settle(ctx, notice(other, r, t0, breach.Sent)); !errors.Is(err, breach.ErrNotFound) {
			t.Errorf("Settle of the ref under another breach: %v; want ErrNotFound", err)
		}
		failedAt := t0.Add(time.Minute + 999*time.Nanosecond)
		for range 2 { // the second changes nothing: not ErrNotFound on MySQL either
			if err := s.Settle(ctx, notice(id, r, failedAt, breach.Failed)); err != nil {
				t.Fatalf("Settle Failed: %v", err)
			}
		}
		ns, err := s.Notices(ctx, id, nil, 10)
		if err != nil || len(ns) != 1 || ns[0].Outcome != breach.Failed || !ns[0].Time.Equal(failedAt.Truncate(time.Microsecond)) || ns[0].Time.Location() != time.UTC {
			t.Fatalf("Notices after Failed: %+v, %v", ns, err)
		}
		if !claim(r, t0.Add(2*time.Minute)) || claim(r, t0.Add(2*time.Minute)) {
			t.Fatal("Claim of a failed notice, twice: want true, false")
		}
		if ns, _ := s.Notices(ctx, id, nil, 10); len(ns) != 1 || ns[0].Outcome != breach.Pending || !ns[0].Time.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("Notices after the reclaim: %+v; want it pending at the claim's time", ns)
		}
		if err := s.Settle(ctx, notice(id, r, t0.Add(3*time.Minute), breach.Skipped)); err != nil {
			t.Fatal(err)
		}
		for _, o := range []breach.Outcome{breach.Sent, breach.Failed, breach.Skipped} {
			if err := s.Settle(ctx, notice(id, r, t0.Add(3*time.Minute), o)); !errors.Is(err, breach.ErrConflict) {
				t.Errorf("Settle %s of a skipped notice: %v; want ErrConflict", o, err)
			}
		}
		if claim(r, t0.Add(4*time.Minute)) {
			t.Error("Claim of a skipped notice: true")
		}
		// Refs sort as bytes: 0x00 first, 0xff last, a shorter bound
		// before every ref it starts.
		refs := [][]byte{ref(0), append(ref(0)[:31], 1), append([]byte{0x7f}, ref(0x80)[1:]...), ref(0x80), r}
		for _, x := range refs[:4] {
			if !claim(x, t0) {
				t.Fatalf("Claim %x: false", x)
			}
		}
		for _, c := range []struct {
			after []byte
			want  [][]byte
		}{
			{nil, refs}, {[]byte{}, refs}, {[]byte{0}, refs}, {ref(0), refs[1:]}, {ref(0)[:31], refs},
			{[]byte{0x7f}, refs[2:]}, {[]byte{0x7f, 0xff}, refs[3:]}, {ref(0x80), refs[4:]}, {r, nil}, {append(r, 0), nil},
		} {
			ns, err := s.Notices(ctx, id, c.after, breach.MaxPage)
			var got [][]byte
			for _, n := range ns {
				got = append(got, n.Ref)
				if n.Breach != id {
					t.Errorf("Notices: a notice of breach %s", n.Breach)
				}
			}
			if err != nil || len(got) != len(c.want) || !slices.EqualFunc(got, c.want, bytes.Equal) {
				t.Errorf("Notices(after %x): %x, %v; want %x", c.after, got, err, c.want)
			}
		}
		if ns, err := s.Notices(ctx, other, nil, 10); err != nil || len(ns) != 0 {
			t.Errorf("Notices of the other breach: %d, %v; want none", len(ns), err)
		}
	})
}
