// Package sqlretention_test runs retention/sqlretention on PostgreSQL,
// MySQL/MariaDB and SQLite: the retention.Store conformance suite, races
// between Stores on separate connection pools, as several instances of
// a host have, the Store behind PgBouncer, and the SQL Deleter.
package sqlretention_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/retentiontest"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestStoreConformance runs the retention.Store suite on every
// database, a fresh one per subtest, through two Stores on two pools
// (the races run on both).
func TestStoreConformance(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		retentiontest.RunStoreTests(t, func(t *testing.T) (s, other retention.Store) {
			return testdb.Pair(t, d, sqlretention.New)
		})
	})
}

// TestStoreConformanceSecondPool runs the suite mostly through the Store
// on the second connection pool of a database the first Store migrated,
// as a second instance of the host would use it (on SQLite its transactions
// begin deferred, with no _txlock=immediate).
func TestStoreConformanceSecondPool(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		retentiontest.RunStoreTests(t, func(t *testing.T) (s, other retention.Store) {
			first, second := testdb.Pair(t, d, sqlretention.New)
			return second, first
		})
	})
}

// TestStoreSQLCases runs the cases of the SQL Store the suite leaves to
// it, on every database, on a first pool and on a second.
func TestStoreSQLCases(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		t.Run("FirstPool", func(t *testing.T) {
			sqlStoreCases(t, func(t *testing.T) *sqlretention.Store {
				return testdb.Migrated(t, d, testdb.Open(t, d), sqlretention.New)
			})
		})
		t.Run("SecondPool", func(t *testing.T) {
			sqlStoreCases(t, func(t *testing.T) *sqlretention.Store {
				_, other := testdb.Pair(t, d, sqlretention.New)
				return other
			})
		})
	})
}

func hold(id string, subject gdpr.SubjectID, cats ...string) retention.Hold {
	return retention.Hold{ID: id, Subject: subject, Categories: cats, Reason: "claim pending",
		PlacedBy: gdpr.Staff("legal-7"), Placed: storeT0.Add(-time.Hour)}
}

func ids(hs []retention.Hold) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}

// sqlStoreCases runs, one subtest each, on stores newStore makes, what
// the suite does not ask and the SQL Store must still get right: a
// SaveSweep that changes nothing (MySQL's rows affected leave it out),
// categories in another order, a filter's subject no column can hold,
// values at every limit full of characters JSON escapes, and a direct
// walk through the lifecycle of holds and leases.
func sqlStoreCases(t *testing.T, newStore func(t *testing.T) *sqlretention.Store) {
	t.Run("HoldRoundTrip", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		berlin := time.FixedZone("CET", 3600)
		h := hold("case-1", "subject-a", "orders", "invoices", "a")
		h.Placed = time.Date(2025, 3, 1, 10, 0, 0, 123456789, berlin)
		h.Until = h.Placed.Add(48 * time.Hour)
		if err := s.PlaceHold(ctx, h); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetHold(ctx, "case-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != h.ID || got.Subject != h.Subject || !slices.Equal(got.Categories, h.Categories) || got.Reason != h.Reason ||
			got.PlacedBy != h.PlacedBy || !got.Placed.Equal(h.Placed.Truncate(time.Microsecond)) || got.Placed.Location() != time.UTC ||
			!got.Until.Equal(h.Until.Truncate(time.Microsecond)) || !got.Released.IsZero() || !got.ReleasedBy.IsZero() {
			t.Errorf("GetHold: %+v; want %+v to the microsecond", got, h)
		}
		if err := s.PlaceHold(ctx, h); err != nil {
			t.Errorf("PlaceHold again, same contents: %v; want nil", err)
		}
		h2 := h
		h2.Categories = []string{"orders", "a", "invoices"}
		if err := s.PlaceHold(ctx, h2); !errors.Is(err, retention.ErrExists) || !errors.Is(err, gdpr.ErrConflict) {
			t.Errorf("PlaceHold, categories in another order: %v; want ErrExists", err)
		}
		if _, err := s.GetHold(ctx, "case-2"); !errors.Is(err, retention.ErrNotFound) {
			t.Errorf("GetHold of no hold: %v; want ErrNotFound", err)
		}
		cat := hold("case-cat", "", "orders")
		if err := s.PlaceHold(ctx, cat); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetHold(ctx, "case-cat"); err != nil || got.Subject != "" {
			t.Errorf("GetHold of a hold on a category: %v", err)
		}
	})
	t.Run("Release", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		h := hold("case-1", "subject-a")
		h.Until = storeT0.Add(time.Hour)
		if err := s.PlaceHold(ctx, h); err != nil {
			t.Fatal(err)
		}
		got, err := s.ReleaseHold(ctx, "case-1", storeT0, gdpr.Staff("legal-8"))
		if err != nil || !got.Released.Equal(storeT0) || got.ReleasedBy != gdpr.Staff("legal-8") {
			t.Fatalf("ReleaseHold: %+v, %v", got, err)
		}
		again, err := s.ReleaseHold(ctx, "case-1", storeT0.Add(time.Minute), gdpr.Staff("legal-9"))
		if err != nil || !again.Released.Equal(storeT0) || again.ReleasedBy != gdpr.Staff("legal-8") {
			t.Errorf("ReleaseHold again: %+v, %v; want the first release kept", again, err)
		}
		if err := s.PlaceHold(ctx, h); err != nil {
			t.Errorf("PlaceHold of the same placement after a release: %v; want nil (a retry)", err)
		}
		ended := hold("case-2", "subject-a")
		ended.Until = storeT0
		if err := s.PlaceHold(ctx, ended); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ReleaseHold(ctx, "case-2", storeT0, gdpr.Staff("legal-8")); err != nil || !got.Released.IsZero() {
			t.Errorf("ReleaseHold of an ended hold: %+v, %v; want nothing changed", got, err)
		}
		if _, err := s.ReleaseHold(ctx, "case-3", storeT0, gdpr.Staff("legal-8")); !errors.Is(err, retention.ErrNotFound) {
			t.Errorf("ReleaseHold of no hold: %v; want ErrNotFound", err)
		}
		hs, err := s.Holds(ctx, "subject-a", storeT0.Add(-time.Minute))
		if err != nil || len(hs) != 2 || !hs[0].Until.Equal(storeT0) {
			t.Errorf("Holds before the release: %+v, %v; want both, Until the release", hs, err)
		}
		if hs, err := s.Holds(ctx, "subject-a", storeT0); err != nil || len(hs) != 0 {
			t.Errorf("Holds at the release: %+v, %v; want none", hs, err)
		}
	})
	t.Run("ListFilters", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		all := []retention.Hold{
			hold("a", "subject-a"), hold("b", "subject-b", "orders"), hold("c", "", "orders"),
			hold("d", "", "invoices"), hold("e", "subject-a", "invoices", "orders"),
		}
		all[3].Until = storeT0
		all[4].Placed = storeT0.Add(time.Hour)
		for _, h := range all {
			if err := s.PlaceHold(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []retention.HoldFilter{
			{}, {Subject: "subject-a"}, {Category: "orders"}, {Category: "nothing"}, {InForce: storeT0},
			{Subject: "subject-a", Category: "orders"}, {Subject: "subject-b", Category: "invoices", InForce: storeT0.Add(-time.Minute)},
			{Subject: "subject-a", InForce: storeT0.Add(2 * time.Hour)}, {After: "b"}, {After: "b", Limit: 2, Category: "orders"},
		} {
			var want []string
			for _, h := range all {
				if f.Match(h) && h.ID > f.After {
					want = append(want, h.ID)
				}
			}
			if f.Limit > 0 && len(want) > f.Limit {
				want = want[:f.Limit]
			}
			got, err := s.ListHolds(ctx, f)
			if err != nil || !slices.Equal(ids(got), append([]string{}, want...)) {
				t.Errorf("ListHolds(%+v): %q, %v; want %q", f, ids(got), err, want)
			}
		}
		if _, err := s.ListHolds(ctx, retention.HoldFilter{Limit: retention.MaxLimit + 1}); !errors.Is(err, retention.ErrInvalid) {
			t.Errorf("ListHolds past MaxLimit: %v; want ErrInvalid", err)
		}
		got, err := s.ListHolds(ctx, retention.HoldFilter{Subject: "subject-\xff"})
		if err != nil || !slices.Equal(ids(got), []string{"c", "d"}) {
			t.Errorf("ListHolds of a subject that is not UTF-8: %q, %v; want the holds on categories", ids(got), err)
		}
	})
	t.Run("Sweeps", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		if _, err := s.LastSweep(ctx, "nightly"); !errors.Is(err, retention.ErrNotFound) {
			t.Errorf("LastSweep of no sweep: %v; want ErrNotFound", err)
		}
		l, err := s.AcquireSweep(ctx, "nightly", "host-1", storeT0, storeTTL)
		if err != nil || !l.Until.Equal(storeT0.Add(storeTTL)) || l.Owner != "host-1" || l.Name != "nightly" {
			t.Fatalf("AcquireSweep: %+v, %v", l, err)
		}
		if _, err := s.LastSweep(ctx, "nightly"); !errors.Is(err, retention.ErrNotFound) {
			t.Errorf("LastSweep before a save: %v; want ErrNotFound", err)
		}
		if _, err := s.AcquireSweep(ctx, "nightly", "host-2", storeT0.Add(storeTTL-time.Microsecond), storeTTL); !errors.Is(err, retention.ErrLeased) {
			t.Errorf("AcquireSweep of a live lease: %v; want ErrLeased", err)
		}
		sw := retention.Sweep{Name: "nightly", ID: "0195-sweep", Started: storeT0.Add(123456789),
			Targets: []retention.TargetSweep{{Target: "orders", Category: "orders", Action: retention.Anonymise, Cutoff: storeT0.AddDate(-1, 0, 0),
				Cursor: strings.Repeat("\"<c>\x01", retention.MaxCursorLen/5), Acted: 1 << 40, HeldRecords: 3, Batches: 9, Longest: 1234567891}}}
		until := storeT0.Add(2 * storeTTL)
		for range 2 { // the second save changes nothing: not ErrLeaseLost on MySQL either
			if err := s.SaveSweep(ctx, l, sw, storeT0.Add(time.Minute), until); err != nil {
				t.Fatalf("SaveSweep: %v", err)
			}
		}
		got, err := s.LastSweep(ctx, "nightly")
		if err != nil || got.ID != sw.ID || !got.Started.Equal(sw.Started.Truncate(time.Microsecond)) || len(got.Targets) != 1 ||
			got.Targets[0].Cursor != sw.Targets[0].Cursor || got.Targets[0].Longest != sw.Targets[0].Longest || got.Targets[0].Acted != 1<<40 {
			t.Errorf("LastSweep: %+v, %v", got, err)
		}
		// Extended to until: live after the first ttl.
		if _, err := s.AcquireSweep(ctx, "nightly", "host-2", storeT0.Add(storeTTL+time.Minute), storeTTL); !errors.Is(err, retention.ErrLeased) {
			t.Errorf("AcquireSweep of a lease SaveSweep extended: %v; want ErrLeased", err)
		}
		l2, err := s.AcquireSweep(ctx, "nightly", "host-2", until, storeTTL)
		if err != nil || l2.Token == l.Token {
			t.Fatalf("AcquireSweep of a lapsed lease: %+v, %v", l2, err)
		}
		if err := s.SaveSweep(ctx, l, sw, until, until.Add(time.Hour)); !errors.Is(err, retention.ErrLeaseLost) || !errors.Is(err, gdpr.ErrConflict) {
			t.Errorf("SaveSweep of a lease taken over: %v; want ErrLeaseLost", err)
		}
		if got, err := s.LastSweep(ctx, "nightly"); err != nil || got.ID != sw.ID {
			t.Errorf("LastSweep after the takeover: %v; want the checkpoint kept", err)
		}
		if err := s.ReleaseSweep(ctx, l); err != nil {
			t.Errorf("ReleaseSweep of a lost lease: %v", err)
		}
		if err := s.ReleaseSweep(ctx, l2); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSweep(ctx, l2, sw, until, until.Add(time.Hour)); !errors.Is(err, retention.ErrLeaseLost) {
			t.Errorf("SaveSweep of a released lease: %v; want ErrLeaseLost", err)
		}
		if _, err := s.AcquireSweep(ctx, "nightly", "host-3", until, storeTTL); err != nil {
			t.Errorf("AcquireSweep after a release: %v", err)
		}
		if got, err := s.LastSweep(ctx, "nightly"); err != nil || got.ID != sw.ID {
			t.Errorf("LastSweep after a release and a new lease: %v; want the checkpoint kept", err)
		}
	})
	t.Run("TooLong", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		long := strings.Repeat("x", sqlretention.MaxIDLen+1)
		h := hold(long, "subject-a")
		if err := s.PlaceHold(ctx, h); !errors.Is(err, retention.ErrInvalid) {
			t.Errorf("PlaceHold of a long ID: %v; want ErrInvalid", err)
		}
		h = hold(strings.Repeat("x", sqlretention.MaxIDLen), gdpr.SubjectID(strings.Repeat("s", sqlretention.MaxIDLen)))
		h.Reason = strings.Repeat("r", sqlretention.MaxReasonLen)
		for i := range retention.MaxHoldCategories {
			h.Categories = append(h.Categories, fmt.Sprintf("%03d%s", i, strings.Repeat("\"", sqlretention.MaxIDLen-3)))
		}
		h.PlacedBy = gdpr.Staff(strings.Repeat("p", sqlretention.MaxIDLen))
		if err := s.PlaceHold(ctx, h); err != nil {
			t.Fatalf("PlaceHold at every limit: %v", err)
		}
		got, err := s.GetHold(ctx, h.ID)
		if err != nil || !slices.Equal(got.Categories, h.Categories) || got.Reason != h.Reason || got.PlacedBy != h.PlacedBy {
			t.Errorf("GetHold of a hold at every limit: %v", err)
		}
		hs, err := s.ListHolds(ctx, retention.HoldFilter{Category: h.Categories[63]})
		if err != nil || len(hs) != 1 {
			t.Errorf("ListHolds by its last category: %d, %v", len(hs), err)
		}
	})
}

// TestHoldsUsesSubjectIndex: the query of Holds(subject, now), on a
// table of thousands of holds each of its own subject, reads the index
// on (subject, id) for both of its branches (the subject's holds and the
// holds on categories, subject NULL), on every database. The query is
// the Store's own, as sqlretention builds it (inForceFor); Holds is run
// on the same rows to check that it is.
func TestHoldsUsesSubjectIndex(t *testing.T) {
	t.Parallel()
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		db := testdb.Open(t, d)
		s := testdb.Migrated(t, d, db, sqlretention.New)
		ctx := t.Context()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		ins := "INSERT INTO gdpr_retention_holds (id, subject, categories, reason, placed_by_kind, placed_by_id, placed_us, released_by_kind, released_by_id)" +
			" VALUES (?, ?, ?, 'claim', 'staff', 'legal', ?, '', '')"
		if d == sqldialect.Postgres {
			ins = strings.NewReplacer("?, ?, ?, 'claim'", "$1, $2, $3, 'claim'", "'legal', ?", "'legal', $4").Replace(ins)
		}
		const n = 5000
		for i := range n {
			var subject, cats any = fmt.Sprintf("subject-%d", i), nil
			if i%50 == 0 {
				subject, cats = nil, `["orders"]`
			}
			if _, err := tx.ExecContext(ctx, ins, fmt.Sprintf("h%05d", i), subject, cats, storeT0.Add(-time.Hour).UnixMicro()); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		analyze := map[sqldialect.Dialect]string{sqldialect.Postgres: "ANALYZE gdpr_retention_holds",
			sqldialect.MySQL: "ANALYZE TABLE gdpr_retention_holds", sqldialect.SQLite: "ANALYZE"}[d]
		if _, err := db.ExecContext(ctx, analyze); err != nil {
			t.Fatal(err)
		}
		hs, err := s.Holds(ctx, "subject-7", storeT0)
		if err != nil || len(hs) != n/50+1 || hs[1].ID != "h00007" {
			t.Fatalf("Holds: %d, %v; want the subject's one and the %d on categories", len(hs), err, n/50)
		}

		q := "SELECT h.id FROM gdpr_retention_holds h WHERE (h.subject = ? OR h.subject IS NULL)" +
			" AND h.placed_us <= ? AND (h.ends_us IS NULL OR h.ends_us > ?) AND h.id > ? ORDER BY h.id LIMIT ?"
		explain := "EXPLAIN "
		switch d {
		case sqldialect.Postgres:
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
			}
		case sqldialect.SQLite:
			explain = "EXPLAIN QUERY PLAN "
		}
		nowUS := storeT0.UnixMicro()
		rows, err := db.QueryContext(ctx, explain+q, "subject-7", nowUS, nowUS, "", retention.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var plan []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var parts []string
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				parts = append(parts, fmt.Sprintf("%s=%v", cols[i], v))
			}
			plan = append(plan, strings.Join(parts, " "))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		var ok bool
		switch d {
		case sqldialect.Postgres:
			ok = strings.Count(text, "Index Scan on gdpr_retention_hold_subject") >= 2 ||
				strings.Contains(text, "Index Scan using gdpr_retention_hold_subject")
		case sqldialect.MySQL:
			ok = strings.Contains(text, "key=gdpr_retention_hold_subject ")
		case sqldialect.SQLite:
			ok = strings.Count(text, "USING INDEX gdpr_retention_hold_subject") >= 2
		}
		if !ok {
			t.Errorf("Holds(subject) on %d holds does not read the index on subject:\n%s", n, text)
		}
	})
}
