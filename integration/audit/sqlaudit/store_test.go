package sqlaudit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

func newStore(t testing.TB, d sqldialect.Dialect, db *sql.DB) *sqlaudit.Store {
	t.Helper()
	return testdb.Migrated(t, d, db, sqlaudit.New)
}

// TestConformance runs the conformance suite on every database, with its
// two handles on two connection pools to one fresh database, as two
// processes: races between them (appends making one tree, Salt, DeleteSalt
// against LookupSalt, PutCheckpoint) are the suite's.
func TestConformance(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		audittest.RunStoreTests(t, func(t *testing.T) (audit.Store, audit.Store) {
			return testdb.Pair(t, d, sqlaudit.New)
		})
	})
}

// entry returns the n-th test entry: a binary body with zero bytes, a
// 32-byte subject pseudonym for most, an actor for all.
func entry(n int) audit.StoredEntry {
	e := audit.StoredEntry{
		Time:  time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC).Add(time.Duration(n)*time.Minute + 1234567*time.Nanosecond),
		Actor: fmt.Appendf(nil, "system:worker-%d", n%3),
		Body:  fmt.Appendf([]byte{0x00, 0xff}, "entry %d\x00", n),
	}
	if n%4 != 3 {
		s := sha256.Sum256(fmt.Appendf(nil, "subject %d", n%5))
		e.Subject = s[:]
	}
	return e
}

func entries(from, n int) []audit.StoredEntry {
	out := make([]audit.StoredEntry, n)
	for i := range out {
		out[i] = entry(from + i)
	}
	return out
}

// seq returns lo, lo+1, …, hi-1.
func seq(lo, hi int64) []int64 {
	var out []int64
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

// edge returns the storage indexes of the perfect subtrees that make up a
// tree of n entries: all the stored hashes an append to it reads.
func edge(n int64) []int64 {
	var out []int64
	for lo := int64(0); lo < n; {
		level := bits.Len64(uint64(n-lo)) - 1
		out = append(out, tlog.StoredHashIndex(level, lo>>level))
		lo += 1 << level
	}
	return out
}

// appendFast appends es as a Log should: one ReadHashes of the tree's edge,
// which the Store's reader keeps, then the batch.
func appendFast(ctx context.Context, a audit.Appender, es []audit.StoredEntry) error {
	return a.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		if e := edge(h.Size); len(e) > 0 {
			if _, err := r.ReadHashes(e); err != nil {
				return nil, err
			}
		}
		return audittest.NextBatch(h, r, es)
	})
}

// wantTree fails t unless s holds one consistent tree: entries 0 … n-1,
// each once, whose tlog root over the bodies in index order is the head's,
// and whose stored hashes are the ones tlog computes.
func wantTree(t *testing.T, s audit.Store, n int64) {
	t.Helper()
	ctx := t.Context()
	h, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Size != n {
		t.Fatalf("head size %d; want %d", h.Size, n)
	}
	es, err := s.Entries(ctx, 0, int(n)+10)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(es)) != n {
		t.Fatalf("%d entries stored; want %d", len(es), n)
	}
	var hashes []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for i, e := range es {
		if e.Index != int64(i) {
			t.Fatalf("entry %d has index %d; want each index once, in order", i, e.Index)
		}
		hs, err := tlog.StoredHashes(e.Index, e.Body, r)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hs...)
	}
	root, err := tlog.TreeHash(n, r)
	if err != nil {
		t.Fatal(err)
	}
	if root != h.Root {
		t.Fatalf("head root %v; tlog over the %d stored bodies gives %v", h.Root, n, root)
	}
	idx := make([]int64, len(hashes))
	for i := range idx {
		idx[i] = int64(i)
	}
	got, err := s.ReadHashes(ctx, idx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, hashes) {
		t.Fatalf("stored hashes differ from tlog's over the stored bodies")
	}
	if _, err := s.ReadHashes(ctx, []int64{int64(len(hashes))}); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("ReadHashes past the last stored hash: %v; want ErrNotFound", err)
	}
}

func TestAppendAndRead(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s := newStore(t, d, testdb.Open(t, d))
		if h, err := s.Head(ctx); err != nil || h != (audit.Head{}) {
			t.Fatalf("Head of an empty log = %v, %v; want the zero Head", h, err)
		}
		// Batches of every size around the chunk boundaries.
		n := 0
		for _, k := range []int{1, 2, 3, 191, 192, 193, 255, 256, 257, 1024, 600, 1} {
			if err := appendFast(ctx, s, entries(n, k)); err != nil {
				t.Fatalf("Append of %d entries at %d: %v", k, n, err)
			}
			n += k
		}
		// Large bodies: the MySQL and SQLite inserts split by bytes too.
		big := entries(n, 150)
		for i := range big {
			big[i].Body = append(bytes.Repeat([]byte{byte(i)}, 16<<10), big[i].Body...)
		}
		if err := appendFast(ctx, s, big); err != nil {
			t.Fatalf("Append of 150 entries of 16 KiB: %v", err)
		}
		n += len(big)
		wantTree(t, s, int64(n))
		got, err := s.Entries(ctx, 5, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range got {
			want := entry(5 + i)
			want.Index = int64(5 + i)
			want.Time = want.Time.Truncate(time.Microsecond)
			if e.Index != want.Index || !e.Time.Equal(want.Time) || e.Time.Location() != time.UTC ||
				!bytes.Equal(e.Subject, want.Subject) || !bytes.Equal(e.Actor, want.Actor) || !bytes.Equal(e.Body, want.Body) ||
				(want.Subject == nil) != (e.Subject == nil) {
				t.Errorf("Entries(5, 3)[%d] = %+v; want %+v", i, e, want)
			}
		}
		// Hashes come back in the order asked, duplicates included.
		hs, err := s.ReadHashes(ctx, []int64{7, 0, 7, 3})
		if err != nil {
			t.Fatal(err)
		}
		all, _ := s.ReadHashes(ctx, []int64{0, 3, 7})
		if !slices.Equal(hs, []tlog.Hash{all[2], all[0], all[2], all[1]}) {
			t.Errorf("ReadHashes([7 0 7 3]) not in the order asked")
		}
		// Runs read as ranges, mixed with scattered indexes.
		count := tlog.StoredHashCount(int64(n))
		var want []tlog.Hash
		var mixed []int64
		for _, i := range append(append([]int64{count - 1, 5}, seq(100, 140)...), append([]int64{3}, seq(200, 203)...)...) {
			h, err := s.ReadHashes(ctx, []int64{i})
			if err != nil {
				t.Fatal(err)
			}
			mixed, want = append(mixed, i), append(want, h[0])
		}
		if got, err := s.ReadHashes(ctx, mixed); err != nil || !slices.Equal(got, want) {
			t.Errorf("ReadHashes of runs and scattered indexes: %v; want the hashes asked, in order", err)
		}
		if got, err := s.ReadHashes(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("ReadHashes(nil) = %d hashes, %v; want none", len(got), err)
		}
		for _, idx := range [][]int64{seq(count-2, count+2), append(seq(0, 20), count), {-1}, append(seq(0, 20), -1)} {
			if _, err := s.ReadHashes(ctx, idx); !errors.Is(err, audit.ErrNotFound) {
				t.Errorf("ReadHashes(%v) with an index not stored: %v; want ErrNotFound", idx, err)
			}
		}
		for _, limit := range []int{0, -1} {
			if got, err := s.Entries(ctx, 0, limit); err != nil || len(got) != 0 {
				t.Errorf("Entries(0, %d) = %d entries, %v; want none", limit, len(got), err)
			}
		}
	})
}

// TestAppendRefusals checks the batch rules and that a refused batch writes
// nothing.
func TestAppendRefusals(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s := newStore(t, d, testdb.Open(t, d))
		if err := appendFast(ctx, s, entries(0, 5)); err != nil {
			t.Fatal(err)
		}
		before, _ := s.Head(ctx)
		bad := map[string]func(*audit.Batch){
			"an entry index off by one": func(b *audit.Batch) { b.Entries[1].Index++ },
			"a start past the head": func(b *audit.Batch) {
				for i := range b.Entries {
					b.Entries[i].Index++
				}
				b.Size++
			},
			"a hash too few":  func(b *audit.Batch) { b.Hashes = b.Hashes[1:] },
			"a hash too many": func(b *audit.Batch) { b.Hashes = append(b.Hashes, tlog.Hash{}) },
			"a wrong size":    func(b *audit.Batch) { b.Size-- },
			"no entries but a size": func(b *audit.Batch) {
				b.Entries = nil
				b.Hashes = nil
			},
		}
		for what, spoil := range bad {
			err := s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
				b, err := audittest.NextBatch(h, r, entries(5, 3))
				if err == nil {
					spoil(b)
				}
				return b, err
			})
			if !errors.Is(err, audit.ErrConflict) || !errors.Is(err, gdpr.ErrConflict) {
				t.Errorf("Append of a batch with %s: %v; want ErrConflict", what, err)
			}
		}
		for what, spoil := range map[string]func(*audit.StoredEntry){
			"a 33-byte subject":    func(e *audit.StoredEntry) { e.Subject = make([]byte, 33) },
			"a 256-byte actor":     func(e *audit.StoredEntry) { e.Actor = make([]byte, 256) },
			"a body over the max":  func(e *audit.StoredEntry) { e.Body = make([]byte, sqlaudit.MaxBodyLen+1) },
			"no body (a redacted)": func(e *audit.StoredEntry) { e.Body = nil },
		} {
			es := entries(5, 3)
			spoil(&es[2])
			if err := appendFast(ctx, s, es); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("Append of an entry with %s: %v; want ErrInvalid", what, err)
			}
		}
		// fn's error comes back as it is.
		mine := errors.New("mine")
		if err := s.Append(ctx, func(audit.Head, tlog.HashReader) (*audit.Batch, error) { return nil, mine }); err != mine {
			t.Errorf("Append with fn failing: %v; want fn's error", err)
		}
		// A nil batch writes nothing and succeeds.
		if err := s.Append(ctx, func(audit.Head, tlog.HashReader) (*audit.Batch, error) { return nil, nil }); err != nil {
			t.Errorf("Append of a nil batch: %v; want nil", err)
		}
		// The reader refuses a hash that is not stored.
		err := s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
			_, err := r.ReadHashes([]int64{0, tlog.StoredHashCount(h.Size)})
			return nil, err
		})
		if !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("reading a hash past the stored ones in Append: %v; want ErrNotFound", err)
		}
		if after, _ := s.Head(ctx); after != before {
			t.Errorf("head moved from %v to %v after refused appends", before, after)
		}
		wantTree(t, s, 5)
	})
}

// TestDuplicateIndex stores an entry behind the Store's back at the next
// index: the append that meets it fails with ErrConflict, without the
// server's text, and writes nothing.
func TestDuplicateIndex(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s, tam := newTamperable(t, d)
		if err := appendFast(ctx, s, entries(0, 3)); err != nil {
			t.Fatal(err)
		}
		tam.InsertEntry(t, audit.StoredEntry{Index: 4, Time: time.Now(), Body: []byte("CANARY")})
		err := appendFast(ctx, s, entries(3, 300))
		if !errors.Is(err, audit.ErrConflict) {
			t.Fatalf("Append over a stored index: %v; want ErrConflict", err)
		}
		if msg := strings.ToLower(err.Error()); strings.Contains(msg, "canary") || strings.Contains(msg, "duplicate") || strings.Contains(msg, "unique") {
			t.Errorf("error %q quotes the row or the server's text", err)
		}
		if h, _ := s.Head(ctx); h.Size != 3 {
			t.Errorf("head size %d after a refused append; want 3", h.Size)
		}
		if es, _ := s.Entries(ctx, 0, 100); len(es) != 4 {
			t.Errorf("%d entries after a refused append; want the 3 appended and the planted one", len(es))
		}
	})
}

func TestEmptyValues(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s := newStore(t, d, testdb.Open(t, d))
		e := audit.StoredEntry{Body: []byte{}, Subject: nil, Actor: []byte{}}
		if err := appendFast(ctx, s, []audit.StoredEntry{e}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Entries(ctx, 0, 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("Entries: %v, %v", got, err)
		}
		g := got[0]
		if g.Body == nil || len(g.Body) != 0 || g.Redacted() {
			t.Errorf("empty body read back as %#v; want a non-nil empty slice (not redacted)", g.Body)
		}
		if g.Subject != nil {
			t.Errorf("nil subject read back as %#v; want nil", g.Subject)
		}
		if g.Actor == nil || len(g.Actor) != 0 {
			t.Errorf("empty actor read back as %#v; want a non-nil empty slice", g.Actor)
		}
		if !g.Time.IsZero() || g.Time.Location() != time.UTC {
			t.Errorf("zero time read back as %v; want the zero time", g.Time)
		}
		if qs, err := s.Query(ctx, audit.StoreFilter{Limit: 10}); err != nil || len(qs) != 1 {
			t.Errorf("Query of everything = %d entries, %v; want the entry with an empty body (it is not redacted)", len(qs), err)
		}
	})
}

func TestQueryRedactSaltsCheckpoints(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s := newStore(t, d, testdb.Open(t, d))
		es := entries(0, 40)
		if err := appendFast(ctx, s, es); err != nil {
			t.Fatal(err)
		}
		for i := range es {
			es[i].Index = int64(i)
			es[i].Time = es[i].Time.Truncate(time.Microsecond)
		}
		if err := s.Redact(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.Redact(ctx, 1); err != nil {
			t.Errorf("second Redact: %v; want nil (idempotent)", err)
		}
		if err := s.Redact(ctx, 40); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("Redact of a missing index: %v; want ErrNotFound", err)
		}
		red, _ := s.Entries(ctx, 1, 1)
		if len(red) != 1 || red[0].Index != 1 || !red[0].Redacted() || red[0].Subject != nil || red[0].Actor != nil || !red[0].Time.IsZero() {
			t.Errorf("redacted entry = %+v; want Index 1 and nothing else", red)
		}
		wantQuery := func(f audit.StoreFilter) {
			t.Helper()
			var want []int64
			for _, e := range es {
				if e.Index != 1 && e.Index >= f.From &&
					(f.Subject == nil || bytes.Equal(e.Subject, f.Subject)) &&
					(f.Actor == nil || bytes.Equal(e.Actor, f.Actor)) &&
					(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
					(f.Until.IsZero() || e.Time.Before(f.Until)) && len(want) < f.Limit {
					want = append(want, e.Index)
				}
			}
			got, err := s.Query(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var gi []int64
			for _, e := range got {
				gi = append(gi, e.Index)
			}
			if !slices.Equal(gi, want) {
				t.Errorf("Query(%+v) = %v; want %v", f, gi, want)
			}
		}
		subj := es[6].Subject
		wantQuery(audit.StoreFilter{Limit: 100})
		wantQuery(audit.StoreFilter{Limit: 3, From: 10})
		wantQuery(audit.StoreFilter{Subject: subj, Limit: 100})
		wantQuery(audit.StoreFilter{Subject: es[1].Subject, Limit: 100}) // the redacted entry's subject
		wantQuery(audit.StoreFilter{Actor: es[2].Actor, Limit: 4, From: 3})
		wantQuery(audit.StoreFilter{Subject: subj, Actor: es[6].Actor, Limit: 100})
		wantQuery(audit.StoreFilter{Since: es[5].Time, Until: es[20].Time, Limit: 100})
		wantQuery(audit.StoreFilter{Since: es[5].Time.Add(time.Microsecond), Limit: 100})
		wantQuery(audit.StoreFilter{Until: es[5].Time.Add(time.Microsecond), Subject: subj, Limit: 100})
		if _, err := s.Query(ctx, audit.StoreFilter{}); !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("Query with Limit 0: %v; want ErrInvalid", err)
		}

		// Salts.
		ref, fresh, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
		if _, err := s.LookupSalt(ctx, ref); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("LookupSalt of a new ref: %v; want ErrNotFound", err)
		}
		var wg sync.WaitGroup
		salts := make([][]byte, 16)
		for i := range salts {
			wg.Go(func() {
				f := bytes.Repeat([]byte{byte(10 + i)}, 32)
				got, err := s.Salt(ctx, ref, f)
				if err != nil {
					t.Error(err)
				}
				salts[i] = got
			})
		}
		wg.Wait()
		for _, salt := range salts {
			if !bytes.Equal(salt, salts[0]) {
				t.Fatalf("concurrent Salt calls returned different salts")
			}
		}
		if got, err := s.Salt(ctx, ref, fresh); err != nil || !bytes.Equal(got, salts[0]) {
			t.Errorf("Salt of a stored ref = %x, %v; want the stored salt", got, err)
		}
		if got, err := s.LookupSalt(ctx, ref); err != nil || !bytes.Equal(got, salts[0]) {
			t.Errorf("LookupSalt = %x, %v; want the stored salt", got, err)
		}
		if ok, err := s.DeleteSalt(ctx, ref); !ok || err != nil {
			t.Errorf("DeleteSalt = %v, %v; want true", ok, err)
		}
		if ok, err := s.DeleteSalt(ctx, ref); ok || err != nil {
			t.Errorf("second DeleteSalt = %v, %v; want false, nil", ok, err)
		}
		if got, err := s.Salt(ctx, ref, other); err != nil || !bytes.Equal(got, other) {
			t.Errorf("Salt after DeleteSalt = %x, %v; want the fresh salt", got, err)
		}
		for what, err := range map[string]error{
			"Salt with an empty ref":   func() error { _, err := s.Salt(ctx, nil, fresh); return err }(),
			"Salt with no fresh salt":  func() error { _, err := s.Salt(ctx, fresh, nil); return err }(),
			"LookupSalt of a long ref": func() error { _, err := s.LookupSalt(ctx, make([]byte, 65)); return err }(),
			"PutCheckpoint, no note":   s.PutCheckpoint(ctx, 3, nil),
			"PutCheckpoint, size -1":   s.PutCheckpoint(ctx, -1, []byte("n")),
		} {
			if !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("%s: %v; want ErrInvalid", what, err)
			}
		}

		// Checkpoints.
		if _, err := s.LatestCheckpoint(ctx); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("LatestCheckpoint of none: %v; want ErrNotFound", err)
		}
		for _, c := range []struct {
			size int64
			note string
		}{{10, "ten"}, {30, "thirty"}, {20, "twenty"}, {30, "thirty again"}} {
			if err := s.PutCheckpoint(ctx, c.size, []byte(c.note)); err != nil {
				t.Fatalf("PutCheckpoint(%d): %v", c.size, err)
			}
		}
		if got, err := s.LatestCheckpoint(ctx); err != nil || string(got) != "thirty" {
			t.Errorf("LatestCheckpoint = %q, %v; want the first stored at the greatest size", got, err)
		}
	})
}

// TestTx appends inside a host's transaction: a rollback leaves nothing, a
// commit shows the entries, and a refused batch leaves the transaction
// usable.
func TestTx(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		db := testdb.Open(t, d)
		s := newStore(t, d, db)
		if _, err := db.ExecContext(ctx, "CREATE TABLE host_rows (id INTEGER NOT NULL PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		if err := appendFast(ctx, s, entries(0, 2)); err != nil {
			t.Fatal(err)
		}
		before, _ := s.Head(ctx)

		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, dialect.Of(d).Rebind("INSERT INTO host_rows (id) VALUES (?)"), 1); err != nil {
			t.Fatal(err)
		}
		if err := appendFast(ctx, s.Tx(tx), entries(2, 3)); err != nil {
			t.Fatalf("Append in a host transaction: %v", err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.Head(ctx); h != before {
			t.Errorf("head %v after a rolled-back Tx append; want %v", h, before)
		}
		wantTree(t, s, 2)

		tx, err = db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, dialect.Of(d).Rebind("INSERT INTO host_rows (id) VALUES (?)"), 2); err != nil {
			t.Fatal(err)
		}
		a := s.Tx(tx)
		// A batch that does not start at the head is refused; tx stays usable.
		err = a.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
			b, err := audittest.NextBatch(h, r, entries(2, 1))
			if err == nil {
				b.Entries[0].Index++
			}
			return b, err
		})
		if !errors.Is(err, audit.ErrConflict) {
			t.Errorf("Tx Append of a batch off the head: %v; want ErrConflict", err)
		}
		if err := appendFast(ctx, a, entries(2, 3)); err != nil {
			t.Fatalf("Append in a host transaction: %v", err)
		}
		if err := appendFast(ctx, a, entries(5, 2)); err != nil {
			t.Fatalf("second Append in the same host transaction: %v", err)
		}
		// Another writer waits for the host's commit.
		done := make(chan error, 1)
		go func() { done <- appendFast(ctx, s, entries(7, 1)) }()
		select {
		case err := <-done:
			t.Fatalf("an append finished (%v) while a host transaction held the append lock", err)
		case <-time.After(200 * time.Millisecond):
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("append after the host's commit: %v", err)
		}
		wantTree(t, s, 8)
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM host_rows").Scan(&n); err != nil || n != 1 {
			t.Errorf("host rows = %d, %v; want the committed one", n, err)
		}
	})
}

// TestTxDuplicateKeepsTx plants an entry at the next index; a Tx append that
// meets it is refused, and the host's transaction goes on and commits.
func TestTxDuplicateKeepsTx(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s, tam := newTamperable(t, d)
		tam.InsertEntry(t, audit.StoredEntry{Index: 1, Body: []byte("planted")})
		db := tam.(*tamperer).db
		if _, err := db.ExecContext(ctx, "CREATE TABLE host_rows (id INTEGER NOT NULL PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := appendFast(ctx, s.Tx(tx), entries(0, 3)); !errors.Is(err, audit.ErrConflict) {
			t.Fatalf("Tx append over a stored index: %v; want ErrConflict", err)
		}
		if _, err := tx.ExecContext(ctx, dialect.Of(d).Rebind("INSERT INTO host_rows (id) VALUES (?)"), 1); err != nil {
			t.Fatalf("host statement after a refused Tx append: %v; want the transaction usable", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.Head(ctx); h.Size != 0 {
			t.Errorf("head size %d; want 0", h.Size)
		}
		if es, _ := s.Entries(ctx, 0, 10); len(es) != 1 {
			t.Errorf("%d entries; want the planted one only", len(es))
		}
	})
}

// TestTxSalt creates a salt inside a host's transaction, which holds the
// append lock (on SQLite the database's write lock): rolled back with it,
// or committed with it.
func TestTxSalt(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		db := testdb.Open(t, d)
		s := newStore(t, d, db)
		ref, fresh := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
		for _, commit := range []bool{false, true} {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			a := s.Tx(tx)
			if err := appendFast(ctx, a, entries(0, 1)); err != nil {
				t.Fatal(err)
			}
			salter := a
			if got, err := salter.Salt(ctx, ref, fresh); err != nil || !bytes.Equal(got, fresh) {
				t.Fatalf("Tx Salt of a new ref = %x, %v; want the fresh salt", got, err)
			}
			if got, err := salter.Salt(ctx, ref, bytes.Repeat([]byte{3}, 32)); err != nil || !bytes.Equal(got, fresh) {
				t.Fatalf("second Tx Salt = %x, %v; want the first salt", got, err)
			}
			if commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.LookupSalt(ctx, ref)
			switch {
			case commit && (err != nil || !bytes.Equal(got, fresh)):
				t.Errorf("LookupSalt after commit = %x, %v; want the salt created in the transaction", got, err)
			case !commit && !errors.Is(err, audit.ErrNotFound):
				t.Errorf("LookupSalt after rollback = %x, %v; want ErrNotFound", got, err)
			}
		}
	})
}

// TestMySQLMigrationRerun runs the MySQL migration's statements a second
// time, as a Migrate after a half-applied run would: they must all succeed.
func TestMySQLMigrationRerun(t *testing.T) {
	if !testdb.Available(sqldialect.MySQL) && os.Getenv(testdb.EnvCI) == "" {
		t.Skip("no MySQL")
	}
	db := testdb.Open(t, sqldialect.MySQL)
	newStore(t, sqldialect.MySQL, db)
	fsys, err := sqlaudit.Migrations(sqldialect.MySQL, "gdpr_")
	if err != nil {
		t.Fatal(err)
	}
	b, err := fs.ReadFile(fsys, "0001_audit.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.SplitAfter(string(b), ";\n") {
		var lines []string
		for _, l := range strings.Split(stmt, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";"))
		if stmt == "" {
			continue
		}
		if _, err := db.ExecContext(t.Context(), stmt); err != nil {
			t.Errorf("re-running %.60q…: %v", stmt, err)
		}
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM gdpr_audit_head").Scan(&n); err != nil || n != 1 {
		t.Errorf("head rows = %d, %v; want 1", n, err)
	}
}

func TestCloseThenAppend(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, sqldialect.SQLite, testdb.Open(t, sqldialect.SQLite))
	if err := appendFast(ctx, s, entries(0, 300)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := appendFast(ctx, s, entries(300, 300)); err != nil {
		t.Fatalf("Append after Close: %v; want the Store to prepare its statements again", err)
	}
	wantTree(t, s, 600)
}

// BenchmarkAppend appends batches of 256 entries with 200-byte bodies from
// 8 goroutines, on every available database, and reports entries/s. The
// baseline is the same rows written by plain multi-row INSERTs in a
// transaction with no lock, no hash reads and no tree: what the database
// costs without the log.
func BenchmarkAppend(b *testing.B) {
	const batch, writers = 256, 8
	for _, d := range testdb.All() {
		b.Run(d.String(), func(b *testing.B) {
			if !testdb.Available(d) {
				b.Skipf("%s: no DSN set (see integration/testdb)", d.String())
			}
			ctx := context.Background()
			db := testdb.Open(b, d)
			db.SetMaxOpenConns(2 * writers)
			db.SetMaxIdleConns(2 * writers)
			s := newStore(b, d, db)
			body := bytes.Repeat([]byte("x"), 200)
			mk := func(w, i int) []audit.StoredEntry {
				es := make([]audit.StoredEntry, batch)
				for k := range es {
					sub := sha256.Sum256(fmt.Appendf(nil, "s%d", k%50))
					es[k] = audit.StoredEntry{Time: time.Now(), Subject: sub[:], Actor: []byte("system:bench"),
						Body: fmt.Appendf(slices.Clip(body), "%d/%d/%d", w, i, k)}
				}
				return es
			}
			run := func(b *testing.B, do func(w, i int) error) {
				var wg sync.WaitGroup
				var n atomic.Int64
				b.ResetTimer()
				start := time.Now()
				for w := range writers {
					wg.Go(func() {
						for i := 0; ; i++ {
							if n.Add(1) > int64(b.N) {
								return
							}
							if err := do(w, i); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				el := time.Since(start)
				b.ReportMetric(float64(b.N*batch)/el.Seconds(), "entries/s")
				b.ReportMetric(float64(el.Microseconds())/float64(b.N), "µs/batch")
			}
			b.Run("sqlaudit", func(b *testing.B) {
				run(b, func(w, i int) error { return appendFast(ctx, s, mk(w, i)) })
			})
			var next atomic.Int64 // the baseline's next index, across its runs
			b.Run("insert-baseline", func(b *testing.B) {
				if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS bench_rows (idx BIGINT NOT NULL PRIMARY KEY, time_us BIGINT, subject "+
					map[sqldialect.Dialect]string{sqldialect.MySQL: "VARBINARY(32)", sqldialect.Postgres: "BYTEA", sqldialect.SQLite: "BLOB"}[d]+", actor "+
					map[sqldialect.Dialect]string{sqldialect.MySQL: "VARBINARY(255)", sqldialect.Postgres: "BYTEA", sqldialect.SQLite: "BLOB"}[d]+", body "+
					map[sqldialect.Dialect]string{sqldialect.MySQL: "MEDIUMBLOB", sqldialect.Postgres: "BYTEA", sqldialect.SQLite: "BLOB"}[d]+")"); err != nil {
					b.Fatal(err)
				}
				q := dialect.Of(d).Rebind("INSERT INTO bench_rows (idx, time_us, subject, actor, body) VALUES " +
					strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", batch), ", "))
				st, err := db.PrepareContext(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				run(b, func(w, i int) error {
					first := next.Add(batch) - batch
					args := make([]any, 0, 5*batch)
					for k, e := range mk(w, i) {
						args = append(args, first+int64(k), e.Time.UnixMicro(), e.Subject, e.Actor, e.Body)
					}
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						return err
					}
					defer tx.Rollback()
					if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
						return err
					}
					return tx.Commit()
				})
			})
		})
	}
}
