package sqlaudit_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

// tamperer is an insider with write access to a Store's tables: it changes
// rows with raw SQL, behind the Store's back.
type tamperer struct {
	d      sqldialect.Dialect
	db     *sql.DB
	prefix string
}

var _ audittest.Tamperer = (*tamperer)(nil)

// newTamperable returns a migrated Store on a fresh database of dialect d,
// and a Tamperer of its tables.
func newTamperable(t *testing.T, d sqldialect.Dialect) (*sqlaudit.Store, audittest.Tamperer) {
	t.Helper()
	db := testdb.Open(t, d)
	return newStore(t, d, db), &tamperer{d: d, db: db, prefix: "gdpr_"}
}

func (tm *tamperer) table(name string) string { return tm.prefix + "audit_" + name }

// exec runs a statement and returns the rows it matched or changed.
func (tm *tamperer) exec(t testing.TB, q string, args ...any) int64 {
	t.Helper()
	res, err := tm.db.ExecContext(t.Context(), dialect.Of(tm.d).Rebind(q), args...)
	if err != nil {
		t.Fatalf("tamper: %.80s: %v", q, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
	return n
}

// mustEntry fails t unless an entry is stored at i.
func (tm *tamperer) mustEntry(t testing.TB, i int64) (timeUS sql.NullInt64, subject, actor, body []byte) {
	t.Helper()
	err := tm.db.QueryRowContext(t.Context(), dialect.Of(tm.d).Rebind("SELECT time_us, subject, actor, body FROM "+tm.table("entries")+" WHERE idx = ?"), i).
		Scan(&timeUS, &subject, &actor, &body)
	if err != nil {
		t.Fatalf("tamper: entry %d: %v", i, err)
	}
	return
}

func bind(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func (tm *tamperer) SetBody(t testing.TB, i int64, body []byte) {
	t.Helper()
	tm.mustEntry(t, i)
	tm.exec(t, "UPDATE "+tm.table("entries")+" SET body = ? WHERE idx = ?", bind(body), i)
}

func (tm *tamperer) SetColumns(t testing.TB, i int64, at time.Time, subject, actor []byte) {
	t.Helper()
	tm.mustEntry(t, i)
	tm.exec(t, "UPDATE "+tm.table("entries")+" SET time_us = ?, subject = ?, actor = ? WHERE idx = ?",
		at.UnixMicro(), bind(subject), bind(actor), i)
}

func (tm *tamperer) DeleteEntry(t testing.TB, i int64) {
	t.Helper()
	if tm.exec(t, "DELETE FROM "+tm.table("entries")+" WHERE idx = ?", i) != 1 {
		t.Fatalf("tamper: no entry %d to delete", i)
	}
}

func (tm *tamperer) InsertEntry(t testing.TB, e audit.StoredEntry) {
	t.Helper()
	var us any
	if !e.Time.IsZero() || e.Body != nil {
		us = e.Time.UnixMicro()
	}
	tm.exec(t, "INSERT INTO "+tm.table("entries")+" (idx, time_us, subject, actor, body) VALUES (?, ?, ?, ?, ?)",
		e.Index, us, bind(e.Subject), bind(e.Actor), bind(e.Body))
}

func (tm *tamperer) SwapBodies(t testing.TB, i, j int64) {
	t.Helper()
	ti, si, ai, bi := tm.mustEntry(t, i)
	tj, sj, aj, bj := tm.mustEntry(t, j)
	set := "UPDATE " + tm.table("entries") + " SET time_us = ?, subject = ?, actor = ?, body = ? WHERE idx = ?"
	tm.exec(t, set, tj, bind(sj), bind(aj), bind(bj), i)
	tm.exec(t, set, ti, bind(si), bind(ai), bind(bi), j)
}

func (tm *tamperer) SetHash(t testing.TB, idx int64, h tlog.Hash) {
	t.Helper()
	var one int
	if err := tm.db.QueryRowContext(t.Context(), dialect.Of(tm.d).Rebind("SELECT 1 FROM "+tm.table("hashes")+" WHERE idx = ?"), idx).Scan(&one); err != nil {
		t.Fatalf("tamper: stored hash %d: %v", idx, err)
	}
	tm.exec(t, "UPDATE "+tm.table("hashes")+" SET hash = ? WHERE idx = ?", h[:], idx)
}

func (tm *tamperer) Truncate(t testing.TB, size int64, root tlog.Hash) {
	t.Helper()
	tm.exec(t, "DELETE FROM "+tm.table("entries")+" WHERE idx >= ?", size)
	tm.exec(t, "DELETE FROM "+tm.table("hashes")+" WHERE idx >= ?", tlog.StoredHashIndex(0, size))
	tm.exec(t, "DELETE FROM "+tm.table("checkpoints")+" WHERE size > ?", size)
	if tm.exec(t, "UPDATE "+tm.table("head")+" SET size = ?, root = ? WHERE id = 1", size, root[:]) != 1 {
		t.Fatalf("tamper: no head row")
	}
}

// RawBytes returns every value of every row of the Store's tables: byte
// strings as they are, numbers as their decimal text.
func (tm *tamperer) RawBytes(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, name := range []string{"head", "entries", "hashes", "salts", "checkpoints"} {
		rows, err := tm.db.QueryContext(t.Context(), "SELECT * FROM "+tm.table(name))
		if err != nil {
			t.Fatalf("tamper: read %s: %v", name, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("tamper: read %s: %v", name, err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case nil:
				case []byte:
					out = append(out, bytes.Clone(v))
				case string:
					out = append(out, []byte(v))
				case int64:
					out = append(out, strconv.AppendInt(nil, v, 10))
				case int32:
					out = append(out, strconv.AppendInt(nil, int64(v), 10))
				case int16:
					out = append(out, strconv.AppendInt(nil, int64(v), 10))
				case uint64:
					out = append(out, strconv.AppendUint(nil, v, 10))
				default:
					out = append(out, fmt.Append(nil, v))
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

// TestTamper runs the tamper suite: verification must catch every change
// an insider makes to the tables.
func TestTamper(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		audittest.RunTamperTests(t, func(t *testing.T) (audit.Store, audittest.Tamperer) { return newTamperable(t, d) })
	})
}

// TestTamperer checks that each of the tamperer's changes is what it says,
// as the Store sees it.
func TestTamperer(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s, tm := newTamperable(t, d)
		if err := appendFast(ctx, s, entries(0, 10)); err != nil {
			t.Fatal(err)
		}
		if err := s.PutCheckpoint(ctx, 10, []byte("checkpoint at 10")); err != nil {
			t.Fatal(err)
		}
		salt := []byte("SALT-CANARY-0123456789abcdefghij")
		if _, err := s.Salt(ctx, []byte("REF-CANARY"), salt); err != nil {
			t.Fatal(err)
		}
		raw := tm.RawBytes(t)
		for what, v := range map[string][]byte{
			"a body": entry(2).Body, "a subject": entry(2).Subject, "an actor": entry(2).Actor,
			"a salt": salt, "a ref": []byte("REF-CANARY"), "a checkpoint": []byte("checkpoint at 10"),
			"the head size": []byte("10"),
			"a time":        strconv.AppendInt(nil, entry(3).Time.UnixMicro(), 10),
		} {
			if !slices.ContainsFunc(raw, func(b []byte) bool { return bytes.Equal(b, v) }) {
				t.Errorf("RawBytes lacks %s", what)
			}
		}
		h, _ := s.Head(ctx)
		hs, _ := s.ReadHashes(ctx, []int64{0})
		if !slices.ContainsFunc(raw, func(b []byte) bool { return bytes.Equal(b, h.Root[:]) }) ||
			!slices.ContainsFunc(raw, func(b []byte) bool { return bytes.Equal(b, hs[0][:]) }) {
			t.Errorf("RawBytes lacks the root or a hash")
		}

		tm.SetBody(t, 2, []byte("forged"))
		tm.SetColumns(t, 3, time.Unix(9, 0), entry(8).Subject, []byte("system:other"))
		if es, err := s.Query(ctx, audit.StoreFilter{Subject: entry(8).Subject, Actor: []byte("system:other"), Limit: 10}); err != nil ||
			len(es) != 1 || es[0].Index != 3 || !es[0].Time.Equal(time.Unix(9, 0)) || !bytes.Equal(es[0].Body, entry(3).Body) {
			t.Errorf("SetColumns: Query by the new columns = %+v, %v; want entry 3 with its body", es, err)
		}
		tm.SwapBodies(t, 4, 5)
		tm.DeleteEntry(t, 6)
		tm.InsertEntry(t, audit.StoredEntry{Index: 20, Time: time.Unix(5, 0), Body: []byte("inserted")})
		tm.SetHash(t, 0, tlog.Hash{1})
		es, err := s.Entries(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		byIdx := map[int64]audit.StoredEntry{}
		for _, e := range es {
			byIdx[e.Index] = e
		}
		if string(byIdx[2].Body) != "forged" {
			t.Errorf("SetBody: body %q", byIdx[2].Body)
		}
		if !bytes.Equal(byIdx[4].Body, entry(5).Body) || !bytes.Equal(byIdx[5].Body, entry(4).Body) ||
			!byIdx[4].Time.Equal(entry(5).Time.Truncate(time.Microsecond)) || !bytes.Equal(byIdx[4].Actor, entry(5).Actor) {
			t.Errorf("SwapBodies: entries 4 and 5 not swapped")
		}
		if _, ok := byIdx[6]; ok {
			t.Errorf("DeleteEntry: entry 6 still there")
		}
		if e := byIdx[20]; string(e.Body) != "inserted" || !e.Time.Equal(time.Unix(5, 0)) {
			t.Errorf("InsertEntry: got %+v", e)
		}
		if got, _ := s.ReadHashes(ctx, []int64{0}); got[0] != (tlog.Hash{1}) {
			t.Errorf("SetHash: hash 0 = %v", got[0])
		}
		tm.Truncate(t, 3, tlog.Hash{7})
		if h, _ := s.Head(ctx); h.Size != 3 || h.Root != (tlog.Hash{7}) {
			t.Errorf("Truncate: head %v", h)
		}
		if es, _ := s.Entries(ctx, 0, 100); len(es) != 3 {
			t.Errorf("Truncate: %d entries left; want 3", len(es))
		}
		if _, err := s.ReadHashes(ctx, []int64{tlog.StoredHashIndex(0, 3)}); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("Truncate: hash at the cut still stored (%v)", err)
		}
		if _, err := s.ReadHashes(ctx, []int64{tlog.StoredHashIndex(0, 3) - 1}); err != nil {
			t.Errorf("Truncate: hash before the cut gone (%v)", err)
		}
		if _, err := s.LatestCheckpoint(ctx); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("Truncate: checkpoint of 10 entries still stored (%v)", err)
		}
	})
}
