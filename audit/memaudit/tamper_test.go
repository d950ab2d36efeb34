package memaudit

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
)

// tamperer is the audittest.Tamperer of a Store: it changes the Store's
// fields directly, bypassing every rule of its methods, as an insider with
// write access to a database would. It keeps the query indexes in step
// with the entries, as a database keeps its own indexes.
type tamperer struct{ s *Store }

var _ audittest.Tamperer = tamperer{}

// lock takes the append lock and the data lock, so that a change never
// lands in the middle of an Append, and returns their unlock.
func (tp tamperer) lock() func() {
	tp.s.appendMu.Lock()
	tp.s.mu.Lock()
	return func() {
		tp.s.mu.Unlock()
		tp.s.appendMu.Unlock()
	}
}

// entry returns the stored entry at i, failing t if there is none.
func (tp tamperer) entry(t testing.TB, i int64) *audit.StoredEntry {
	t.Helper()
	if i < 0 || i >= int64(len(tp.s.entries)) || tp.s.entries[i] == nil {
		t.Fatalf("memaudit tamperer: no entry at index %d", i)
	}
	return tp.s.entries[i]
}

func (tp tamperer) SetBody(t testing.TB, i int64, body []byte) {
	t.Helper()
	defer tp.lock()()
	e := tp.entry(t, i)
	tp.s.unindex(e)
	e.Body = bytes.Clone(body)
	tp.s.index(e)
}

func (tp tamperer) SetColumns(t testing.TB, i int64, tm time.Time, subject, actor []byte) {
	t.Helper()
	defer tp.lock()()
	e := tp.entry(t, i)
	tp.s.unindex(e)
	e.Time, e.Subject, e.Actor = norm(tm), bytes.Clone(subject), bytes.Clone(actor)
	tp.s.index(e)
}

func (tp tamperer) DeleteEntry(t testing.TB, i int64) {
	t.Helper()
	defer tp.lock()()
	tp.s.unindex(tp.entry(t, i))
	tp.s.entries[i] = nil
}

func (tp tamperer) InsertEntry(t testing.TB, e audit.StoredEntry) {
	t.Helper()
	defer tp.lock()()
	s := tp.s
	switch {
	case e.Index < 0:
		t.Fatalf("memaudit tamperer: cannot insert an entry at index %d", e.Index)
	case e.Index < int64(len(s.entries)) && s.entries[e.Index] != nil:
		t.Fatalf("memaudit tamperer: index %d is not free", e.Index)
	}
	if n := e.Index + 1 - int64(len(s.entries)); n > 0 {
		s.entries = append(s.entries, make([]*audit.StoredEntry, n)...)
	}
	st := stored(e)
	s.entries[e.Index] = st
	s.index(st)
}

func (tp tamperer) SwapBodies(t testing.TB, i, j int64) {
	t.Helper()
	defer tp.lock()()
	a, b := tp.entry(t, i), tp.entry(t, j)
	tp.s.unindex(a)
	tp.s.unindex(b)
	a.Time, b.Time = b.Time, a.Time
	a.Subject, b.Subject = b.Subject, a.Subject
	a.Actor, b.Actor = b.Actor, a.Actor
	a.Body, b.Body = b.Body, a.Body
	tp.s.index(a)
	tp.s.index(b)
}

func (tp tamperer) SetHash(t testing.TB, idx int64, h tlog.Hash) {
	t.Helper()
	defer tp.lock()()
	if idx < 0 || idx >= tp.s.hashes.len() {
		t.Fatalf("memaudit tamperer: no hash at storage index %d", idx)
	}
	*tp.s.hashes.at(idx) = h
}

func (tp tamperer) Truncate(t testing.TB, size int64, root tlog.Hash) {
	t.Helper()
	defer tp.lock()()
	s := tp.s
	if size < 0 || size > s.head.Size {
		t.Fatalf("memaudit tamperer: cannot truncate a log of %d entries to %d", s.head.Size, size)
	}
	for _, e := range s.entries[size:] {
		if e != nil {
			s.unindex(e)
		}
	}
	clear(s.entries[size:])
	s.entries = s.entries[:size]
	s.hashes.truncate(tlog.StoredHashIndex(0, size))
	for n := range s.checkpoints {
		if n > size {
			delete(s.checkpoints, n)
		}
	}
	s.head = audit.Head{Size: size, Root: root}
}

func (tp tamperer) RawBytes(t testing.TB) [][]byte {
	t.Helper()
	defer tp.lock()()
	s := tp.s
	var out [][]byte
	num := func(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }
	out = append(out, num(s.head.Size), bytes.Clone(s.head.Root[:]))
	for i := range s.hashes.len() {
		out = append(out, num(i), bytes.Clone(s.hashes.at(i)[:]))
	}
	for _, e := range s.entries {
		if e == nil {
			continue
		}
		tm, err := e.Time.MarshalBinary()
		if err != nil {
			t.Fatalf("memaudit tamperer: time of entry %d: %v", e.Index, err)
		}
		out = append(out, num(e.Index), tm, bytes.Clone(e.Subject), bytes.Clone(e.Actor), bytes.Clone(e.Body))
	}
	for _, m := range []postings{s.bySubject, s.byActor} {
		for key := range m {
			out = append(out, []byte(key))
		}
	}
	for ref, salt := range s.salts {
		out = append(out, []byte(ref), bytes.Clone(salt))
	}
	for n, note := range s.checkpoints {
		out = append(out, num(n), bytes.Clone(note))
	}
	return out
}

// tamperLog returns a Store holding six entries, of the subjects "s0", "s1"
// and "s2" in turn, with a checkpoint at sizes 3 and 6 and one salt, its
// tamperer and the head.
func tamperLog(t *testing.T) (*Store, tamperer, audit.Head) {
	t.Helper()
	s := New()
	var es []audit.StoredEntry
	for i := range 6 {
		es = append(es, audit.StoredEntry{Subject: []byte{'s', '0' + byte(i%3)}, Actor: []byte("system:worker"), Body: []byte{'b', '0' + byte(i)}})
	}
	h, err := audittest.Append(t.Context(), s, es...)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{3, 6} {
		if err := s.PutCheckpoint(t.Context(), n, []byte{'c', '0' + byte(n)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Salt(t.Context(), []byte("ref"), []byte("salt")); err != nil {
		t.Fatal(err)
	}
	return s, tamperer{s}, h
}

func bodies(t *testing.T, s *Store) []string {
	t.Helper()
	es, err := s.Entries(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, string(e.Body))
	}
	return out
}

func subjectIndexes(t *testing.T, s *Store, subject string) []int64 {
	t.Helper()
	es, err := s.Query(t.Context(), audit.StoreFilter{Subject: []byte(subject), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range es {
		out = append(out, e.Index)
	}
	return out
}

func TestTamperer(t *testing.T) {
	t.Run("SetBody", func(t *testing.T) {
		s, tp, h := tamperLog(t)
		tp.SetBody(t, 2, []byte("forged"))
		if got, want := bodies(t, s), []string{"b0", "b1", "forged", "b3", "b4", "b5"}; !slices.Equal(got, want) {
			t.Errorf("bodies after SetBody(2) = %q; want %q", got, want)
		}
		if got, _ := s.Head(t.Context()); got != h {
			t.Errorf("SetBody moved the head")
		}
	})
	t.Run("DeleteEntry", func(t *testing.T) {
		s, tp, _ := tamperLog(t)
		tp.DeleteEntry(t, 3)
		if got, want := bodies(t, s), []string{"b0", "b1", "b2", "b4", "b5"}; !slices.Equal(got, want) {
			t.Errorf("bodies after DeleteEntry(3) = %q; want %q", got, want)
		}
		if got := subjectIndexes(t, s, "s0"); !slices.Equal(got, []int64{0}) {
			t.Errorf("Query(s0) after DeleteEntry(3) = %v; want [0]", got)
		}
		if _, err := s.ReadHashes(t.Context(), []int64{tlog.StoredHashIndex(0, 3)}); err != nil {
			t.Errorf("the hash of a deleted entry: %v; want it kept", err)
		}
	})
	t.Run("InsertEntry", func(t *testing.T) {
		s, tp, h := tamperLog(t)
		tp.DeleteEntry(t, 1)
		tp.InsertEntry(t, audit.StoredEntry{Index: 1, Subject: []byte("s0"), Body: []byte("x1")})
		tp.InsertEntry(t, audit.StoredEntry{Index: 8, Subject: []byte("s0"), Body: []byte("x8")})
		if got, want := bodies(t, s), []string{"b0", "x1", "b2", "b3", "b4", "b5", "x8"}; !slices.Equal(got, want) {
			t.Errorf("bodies after InsertEntry(1) and (8) = %q; want %q", got, want)
		}
		if got := subjectIndexes(t, s, "s0"); !slices.Equal(got, []int64{0, 1, 3, 8}) {
			t.Errorf("Query(s0) after InsertEntry = %v; want [0 1 3 8]", got)
		}
		if got, _ := s.Head(t.Context()); got != h {
			t.Errorf("InsertEntry moved the head")
		}
		if _, err := audittest.Append(t.Context(), s, audit.StoredEntry{Body: []byte("late")}); err != nil {
			t.Errorf("Append after inserting at index 8 of a log of 6: %v", err)
		}
		if _, err := audittest.Append(t.Context(), s, audit.StoredEntry{Body: []byte("a")}, audit.StoredEntry{Body: []byte("b")}); err == nil {
			t.Errorf("Append over the inserted index 8: nil error; want a conflict")
		}
	})
	t.Run("SetColumns", func(t *testing.T) {
		s, tp, h := tamperLog(t)
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		tp.SetColumns(t, 0, at, []byte("s2"), []byte("system:other"))
		if got := subjectIndexes(t, s, "s2"); !slices.Equal(got, []int64{0, 2, 5}) {
			t.Errorf("Query(s2) after SetColumns(0) = %v; want [0 2 5]", got)
		}
		if got := subjectIndexes(t, s, "s0"); !slices.Equal(got, []int64{3}) {
			t.Errorf("Query(s0) after SetColumns(0) = %v; want [3]", got)
		}
		es, err := s.Query(t.Context(), audit.StoreFilter{Actor: []byte("system:other"), Since: at, Until: at.Add(time.Microsecond), Limit: 10})
		if err != nil || len(es) != 1 || es[0].Index != 0 || string(es[0].Body) != "b0" {
			t.Errorf("Query(actor, time) after SetColumns(0) = %v, %v; want entry 0 with its body", es, err)
		}
		tp.SetColumns(t, 1, at, nil, nil)
		if got := subjectIndexes(t, s, "s1"); !slices.Equal(got, []int64{4}) {
			t.Errorf("Query(s1) after SetColumns(1, nil) = %v; want [4]", got)
		}
		if got, want := bodies(t, s), []string{"b0", "b1", "b2", "b3", "b4", "b5"}; !slices.Equal(got, want) {
			t.Errorf("bodies after SetColumns = %q; want %q", got, want)
		}
		if got, _ := s.Head(t.Context()); got != h {
			t.Errorf("SetColumns moved the head")
		}
	})
	t.Run("SwapBodies", func(t *testing.T) {
		s, tp, _ := tamperLog(t)
		tp.SwapBodies(t, 0, 1)
		if got, want := bodies(t, s), []string{"b1", "b0", "b2", "b3", "b4", "b5"}; !slices.Equal(got, want) {
			t.Errorf("bodies after SwapBodies(0, 1) = %q; want %q", got, want)
		}
		if got := subjectIndexes(t, s, "s1"); !slices.Equal(got, []int64{0, 4}) {
			t.Errorf("Query(s1) after SwapBodies(0, 1) = %v; want [0 4]: the query columns move with the bodies", got)
		}
	})
	t.Run("SetHash", func(t *testing.T) {
		s, tp, _ := tamperLog(t)
		forged := tlog.RecordHash([]byte("forged"))
		tp.SetHash(t, 4, forged)
		if hs, err := s.ReadHashes(t.Context(), []int64{4}); err != nil || hs[0] != forged {
			t.Errorf("ReadHashes([4]) after SetHash = %v, %v; want the forged hash", hs, err)
		}
	})
	t.Run("Truncate", func(t *testing.T) {
		s, tp, _ := tamperLog(t)
		r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.ReadHashes(t.Context(), idx) })
		root, err := tlog.TreeHash(4, r)
		if err != nil {
			t.Fatal(err)
		}
		tp.Truncate(t, 4, root)
		if got, _ := s.Head(t.Context()); got != (audit.Head{Size: 4, Root: root}) {
			t.Errorf("Head after Truncate(4) = size %d; want 4 and the given root", got.Size)
		}
		if got, want := bodies(t, s), []string{"b0", "b1", "b2", "b3"}; !slices.Equal(got, want) {
			t.Errorf("bodies after Truncate(4) = %q; want %q", got, want)
		}
		if got := subjectIndexes(t, s, "s1"); !slices.Equal(got, []int64{1}) {
			t.Errorf("Query(s1) after Truncate(4) = %v; want [1]", got)
		}
		n := tlog.StoredHashCount(4)
		if _, err := s.ReadHashes(t.Context(), []int64{n - 1}); err != nil {
			t.Errorf("ReadHashes of the last hash of a tree of 4: %v", err)
		}
		if _, err := s.ReadHashes(t.Context(), []int64{n}); err == nil {
			t.Errorf("ReadHashes(%d) after Truncate(4): nil error; want the hash deleted", n)
		}
		if note, err := s.LatestCheckpoint(t.Context()); err != nil || string(note) != "c3" {
			t.Errorf("LatestCheckpoint after Truncate(4) = %q, %v; want the checkpoint of size 3", note, err)
		}
		if _, err := audittest.Append(t.Context(), s, audit.StoredEntry{Body: []byte("again")}); err != nil {
			t.Errorf("Append after Truncate: %v", err)
		}
		if got, want := bodies(t, s), []string{"b0", "b1", "b2", "b3", "again"}; !slices.Equal(got, want) {
			t.Errorf("bodies after Truncate(4) and Append = %q; want %q", got, want)
		}
	})
	t.Run("RawBytes", func(t *testing.T) {
		s, tp, _ := tamperLog(t)
		raw := tp.RawBytes(t)
		h, _ := s.Head(t.Context())
		for _, want := range [][]byte{[]byte("b5"), []byte("s2"), []byte("system:worker"), []byte("ref"), []byte("salt"), []byte("c6"), h.Root[:]} {
			if !slices.ContainsFunc(raw, func(b []byte) bool { return bytes.Equal(b, want) }) {
				t.Errorf("RawBytes does not hold %q", want)
			}
		}
	})
}

func TestTamper(t *testing.T) {
	audittest.RunTamperTests(t, func(t *testing.T) (audit.Store, audittest.Tamperer) {
		s := New()
		return s, tamperer{s}
	})
}
