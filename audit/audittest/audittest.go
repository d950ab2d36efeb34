package audittest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/internal/suite"
)

// RunStoreTests runs the conformance suite of audit.Store against the
// storages newStore makes.
//
// newStore is called once per subtest with that subtest's t. It returns two
// handles, s and other, on one fresh, empty storage that no other subtest
// uses, as two processes of one program would open it: for a SQL store,
// two Stores on two connection pools (two *sql.DB) to the same database,
// schema or file; for an in-memory store, which one process alone can
// reach, the same Store twice. It registers any cleanup with t.Cleanup and
// fails t itself if it cannot open the storage.
//
// Subtests work through s, and where it proves that the handles share the
// storage they read back, or write, through other as well: what one
// process appends, redacts, salts, deletes or checkpoints, the other sees
// at once. The subtests named ...FromTwoHandles race the two handles against
// each other: appends that must make one tree, Salt calls for one ref that
// must all get one salt, DeleteSalt against LookupSalt, and PutCheckpoint
// of the same sizes. For a SQL store this is where the database, not the
// Store value, has to serialise the writers.
//
// For a SQL store:
//
//	func TestStore(t *testing.T) {
//		audittest.RunStoreTests(t, func(t *testing.T) (s, other audit.Store) {
//			dsn := createTestDatabase(t) // a new, empty database, dropped by t.Cleanup
//			s = migrated(t, mystore.New(openPool(t, dsn)))
//			other = mystore.New(openPool(t, dsn)) // a second pool, as a second process
//			return s, other
//		})
//	}
//
// For an in-memory store:
//
//	func TestStore(t *testing.T) {
//		audittest.RunStoreTests(t, func(*testing.T) (s, other audit.Store) {
//			s = memstore.New()
//			return s, s
//		})
//	}
func RunStoreTests(t *testing.T, newStore func(t *testing.T) (s, other audit.Store)) {
	tests := []suite.Test[audit.Store]{
		{"EmptyStore", testEmpty},
		{"AppendBatches", testAppendBatches},
		{"ReadHashesInOrderAsked", suite.One(testReadHashesOrder)},
		{"ReadHashesNotStored", suite.One(testReadHashesNotStored)},
		{"AppendFuncSeesCommittedState", testAppendFuncSees},
		{"AppendStaleBatch", testAppendStale},
		{"AppendBatchPastHead", suite.One(testAppendPastHead)},
		{"AppendWrongHashCount", suite.One(testAppendWrongHashCount)},
		{"AppendFuncError", suite.One(testAppendFuncError)},
		{"ConcurrentAppends", suite.One(testConcurrentAppends)},
		{"RaceAppends", testTwoHandlesAppend},
		{"BinaryBodies", testBinaryBodies},
		{"BytesNotAliased", suite.One(testNotAliased)},
		{"TimesTruncatedToMicrosecondUTC", suite.One(testTimes)},
		{"EntriesPaging", suite.One(testEntriesPaging)},
		{"QueryBySubject", suite.One(testQueryBySubject)},
		{"QueryByActor", suite.One(testQueryByActor)},
		{"QueryByTime", suite.One(testQueryByTime)},
		{"QueryFrom", suite.One(testQueryFrom)},
		{"QueryCombined", suite.One(testQueryCombined)},
		{"QueryPaging", suite.One(testQueryPaging)},
		{"QueryRedactedNeverMatches", suite.One(testQueryRedacted)},
		{"QueryZeroFilter", testQueryZeroFilter},
		{"QueryInvalidLimit", suite.One(testQueryInvalidLimit)},
		{"Redact", testRedact},
		{"RedactUnknown", suite.One(testRedactUnknown)},
		{"SaltGetOrCreate", testSaltGetOrCreate},
		{"SaltConcurrent", suite.One(testSaltConcurrent)},
		{"RaceSalt", testTwoHandlesSalt},
		{"SaltDelete", testSaltDelete},
		{"RaceDeleteSaltLookupSalt", testTwoHandlesDeleteLookup},
		{"AppendSalts", testAppendSalts},
		{"AppendSaltsDiscarded", testAppendSaltsDiscarded},
		{"AppendSaltsInvalid", suite.One(testAppendSaltsInvalid)},
		{"RaceAppendSalts", testTwoHandlesAppendSalts},
		{"LookupSalts", testLookupSalts},
		{"LookupSaltsEmpty", suite.One(testLookupSaltsEmpty)},
		{"LookupSaltsAfterDeleteSalt", testLookupSaltsAfterDelete},
		{"LookupSaltsMany", testLookupSaltsMany},
		{"LookupSaltsInvalid", suite.One(testLookupSaltsInvalid)},
		{"CheckpointLatest", testCheckpointLatest},
		{"CheckpointSameSizeKeepsFirst", testCheckpointKeepsFirst},
		{"RacePutCheckpoint", testTwoHandlesCheckpoint},
		{"CanceledContext", testCanceledContext},
	}
	suite.Run(t, "audit.Store", newStore, tests)
}

// saltRef returns a 32-byte salt reference, as the Log keys salts.
func saltRef(name string) []byte { return sum("salt-ref", name) }

// saltValue returns a 32-byte salt.
func saltValue(name string) []byte { return sum("salt", name) }

// checkpointNote returns a signed note of a tree of n entries, in the
// shape of golang.org/x/mod/sumdb/note (UTF-8, with an em dash).
func checkpointNote(n int64) []byte {
	root := sum("root", fmt.Sprint(n))
	sig := sum("sig", fmt.Sprint(n))
	return fmt.Appendf(nil, "gdprkit.test/audit\n%d\n%s\n\n— gdprkit.test/audit %s\n",
		n, base64.StdEncoding.EncodeToString(root), base64.StdEncoding.EncodeToString(sig))
}

func testEmpty(t *testing.T, s, other audit.Store) {
	ctx := t.Context()
	if h := mustHead(t, s); h != (audit.Head{}) {
		t.Errorf("Head of an empty store = size %d root %v; want size 0 and the zero Hash", h.Size, h.Root)
	}
	if h := mustHead(t, other); h != (audit.Head{}) {
		t.Errorf("Head of an empty store through the other handle = size %d root %v; want size 0 and the zero Hash: newStore returns two handles on one fresh, empty storage", h.Size, h.Root)
	}
	if es, err := s.Entries(ctx, 0, 10); err != nil || len(es) != 0 {
		t.Errorf("Entries(0, 10) of an empty store = %d entries, %v; want none and nil", len(es), err)
	}
	if es, err := s.Query(ctx, audit.StoreFilter{Limit: 10}); err != nil || len(es) != 0 {
		t.Errorf("Query({Limit:10}) of an empty store = %d entries, %v; want none and nil", len(es), err)
	}
	for _, idx := range [][]int64{nil, {}} {
		if hs, err := s.ReadHashes(ctx, idx); err != nil || len(hs) != 0 {
			t.Errorf("ReadHashes(%#v) = %d hashes, %v; want none and nil (tlog asks for no hashes when it stores an even-numbered record)", idx, len(hs), err)
		}
	}
	_, err := s.ReadHashes(ctx, []int64{0})
	wantErr(t, err, audit.ErrNotFound, "ReadHashes([0]) of an empty store", "nothing is stored")
	_, err = s.LatestCheckpoint(ctx)
	wantErr(t, err, audit.ErrNotFound, "LatestCheckpoint of an empty store", "there is no checkpoint")
	_, err = s.LookupSalt(ctx, saltRef("alice"))
	wantErr(t, err, audit.ErrNotFound, "LookupSalt of an empty store", "there is no salt")
	wantErr(t, s.Redact(ctx, 0), audit.ErrNotFound, "Redact(0) of an empty store", "there is no entry")
	if ok, err := s.DeleteSalt(ctx, saltRef("alice")); ok || err != nil {
		t.Errorf("DeleteSalt of an empty store = %v, %v; want false and nil: deleting a missing salt succeeds with false", ok, err)
	}
}

func testAppendBatches(t *testing.T, s, other audit.Store) {
	m := &model{}
	n := 0
	// 1034 entries in all: sizes that are and are not powers of two, and
	// one batch of 1024 entries and about 2,000 hashes, more rows than a
	// single multi-row INSERT can carry under SQLite's or MySQL's limits.
	for _, size := range []int{1, 2, 7, 1024, 3} {
		prev := m.head()
		batch := make([]audit.StoredEntry, size)
		for i := range batch {
			batch[i] = mixedEntry(n)
			n++
		}
		mustAppend(t, s, m, batch...)
		call := fmt.Sprintf("after a batch of %d entries (size %d)", size, m.size())
		wantHashes(t, s, m, call)
		wantEntries(t, "Entries "+call, readAll(t, s), m.entries)
		wantProofs(t, s, m, prev)
		wantHead(t, other, m.head(), "Head through the other handle "+call+" (both handles reach one storage)")
		if t.Failed() {
			t.FailNow()
		}
	}
	wantLog(t, other, m, "through the other handle, after every batch was appended through the first")
	wantProofs(t, other, m, audit.Head{Size: 10})
}

func testReadHashesOrder(t *testing.T, s audit.Store) {
	m := &model{}
	for i := range 10 {
		mustAppend(t, s, m, mixedEntry(i))
	}
	idx := hashIndexes(int64(len(m.hashes)))
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	idx = append(idx, idx[0], 0, idx[3])
	got, err := s.ReadHashes(t.Context(), idx)
	if err != nil || len(got) != len(idx) {
		t.Fatalf("ReadHashes of %d stored indexes, shuffled, some twice: %d hashes, %v; want one hash per index asked", len(idx), len(got), err)
	}
	for i, x := range idx {
		if got[i] != m.hashes[x] {
			t.Errorf("ReadHashes(%v)[%d] = %v; want the hash at storage index %d, %v: hashes come in the order asked, repeated when asked twice",
				idx, i, got[i], x, m.hashes[x])
		}
	}
	for _, none := range [][]int64{nil, {}} {
		if hs, err := s.ReadHashes(t.Context(), none); err != nil || len(hs) != 0 {
			t.Errorf("ReadHashes(%#v) = %d hashes, %v; want none and nil (tlog asks for no hashes when it stores an even-numbered record)", none, len(hs), err)
		}
	}
}

func testReadHashesNotStored(t *testing.T, s audit.Store) {
	m := &model{}
	mustAppend(t, s, m, mixedEntry(0), mixedEntry(1), mixedEntry(2), mixedEntry(3), mixedEntry(4))
	n := int64(len(m.hashes))
	for _, idx := range [][]int64{{n}, {0, n}, {n - 1, n + 1, 0}, {n + 1000}, {1 << 40}} {
		_, err := s.ReadHashes(t.Context(), idx)
		wantErr(t, err, audit.ErrNotFound, fmt.Sprintf("ReadHashes(%v) of a log of 5 entries (%d hashes)", idx, n),
			"ReadHashes fails if one of the indexes asked is not stored")
	}
}

func testAppendFuncSees(t *testing.T, s, other audit.Store) {
	ctx := t.Context()
	m := &model{}
	first := []audit.StoredEntry{mixedEntry(0)}
	err := s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		if h != (audit.Head{}) {
			t.Errorf("first Append gave fn the head size %d root %v; want size 0 and the zero Hash", h.Size, h.Root)
		}
		if hs, err := r.ReadHashes(nil); err != nil || len(hs) != 0 {
			t.Errorf("the reader Append gave fn: ReadHashes(nil) = %d hashes, %v; want none and nil", len(hs), err)
		}
		if _, err := r.ReadHashes([]int64{0}); err == nil {
			t.Errorf("the reader Append gave fn on an empty log returned a hash at storage index 0; want an error: nothing is stored")
		}
		return NextBatch(h, r, first)
	})
	if err != nil {
		t.Fatalf("first Append: %v", err)
	}
	m.add(first[0])
	wantLog(t, s, m, "after the first Append")

	// Another process appends: fn, called through s, must see its batch.
	mustAppend(t, other, m, mixedEntry(1), mixedEntry(2), mixedEntry(3), mixedEntry(4))
	next := []audit.StoredEntry{mixedEntry(5), mixedEntry(6)}
	err = s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		if want := m.head(); h != want {
			t.Errorf("Append gave fn the head size %d root %v; want the committed head, size %d root %v, appended through the other handle", h.Size, h.Root, want.Size, want.Root)
		}
		n := int64(len(m.hashes))
		hs, err := r.ReadHashes(hashIndexes(n))
		if err != nil || !slices.Equal(hs, m.hashes) {
			t.Errorf("the reader Append gave fn: ReadHashes of all %d stored indexes = %d hashes, %v; want the %d committed hashes",
				n, len(hs), err, n)
		}
		if _, err := r.ReadHashes([]int64{n}); err == nil {
			t.Errorf("the reader Append gave fn returned a hash at storage index %d of a log of %d; want an error: it is not stored", n, m.size())
		}
		return NextBatch(h, r, next)
	})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	for _, e := range next {
		m.add(e)
	}
	wantLog(t, s, m, "after Append")
	wantLog(t, other, m, "through the other handle, after Append")
}

// wantRefused fails t unless appending the batch b, which does not fit the
// head, returns an error wrapping audit.ErrConflict and writes nothing.
func wantRefused(t *testing.T, s audit.Store, m *model, b *audit.Batch, what string) {
	t.Helper()
	err := s.Append(t.Context(), func(audit.Head, tlog.HashReader) (*audit.Batch, error) { return b, nil })
	wantErr(t, err, audit.ErrConflict, fmt.Sprintf("Append of %s to a log of %d", what, m.size()),
		"Append refuses a batch that does not start at the head, writing nothing")
	wantLog(t, s, m, "after a refused Append of "+what)
}

func testAppendStale(t *testing.T, s, other audit.Store) {
	m := &model{}
	mustAppend(t, s, m, mixedEntry(0), mixedEntry(1), mixedEntry(2))
	stale, err := NextBatch(m.head(), storeReader(t, s), []audit.StoredEntry{mixedEntry(10), mixedEntry(11)})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, other, m, mixedEntry(3), mixedEntry(4)) // another process wins
	wantRefused(t, s, m, stale, "a batch computed at size 3 (its indexes 3 and 4 are stored)")

	var fresh model
	rewrite, err := NextBatch(audit.Head{}, &fresh, []audit.StoredEntry{mixedEntry(20)})
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, s, m, rewrite, "a batch for an empty log (index 0 is stored)")

	mustAppend(t, s, m, mixedEntry(5))
	wantLog(t, s, m, "after a refused Append and a good one")
	wantLog(t, other, m, "through the other handle, after a refused Append and a good one")
}

func testAppendPastHead(t *testing.T, s audit.Store) {
	m := &model{}
	mustAppend(t, s, m, mixedEntry(0), mixedEntry(1), mixedEntry(2))
	// A batch for the log as it would be with one more entry: it starts at
	// index 4 and carries the hashes that belong from there on.
	ahead := &model{}
	for i := range 4 {
		ahead.add(mixedEntry(i))
	}
	b, err := NextBatch(ahead.head(), ahead, []audit.StoredEntry{mixedEntry(10)})
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, s, m, b, "a batch that starts at index 4 (past the head: it would leave a gap)")

	// A batch right in all but its entries' indexes, which are one off.
	for _, shift := range []int64{1, -1} {
		b, err := NextBatch(m.head(), storeReader(t, s), []audit.StoredEntry{mixedEntry(10), mixedEntry(11)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.Entries {
			b.Entries[i].Index += shift
		}
		wantRefused(t, s, m, b, fmt.Sprintf("a batch whose hashes, size and root fit the head but whose entries start at index %d", 3+shift))
	}
}

func testAppendWrongHashCount(t *testing.T, s audit.Store) {
	m := &model{}
	mustAppend(t, s, m, mixedEntry(0), mixedEntry(1), mixedEntry(2), mixedEntry(3), mixedEntry(4))
	for _, tc := range []struct {
		name   string
		change func(*audit.Batch)
	}{
		{"one hash short", func(b *audit.Batch) { b.Hashes = b.Hashes[:len(b.Hashes)-1] }},
		{"one hash too many", func(b *audit.Batch) { b.Hashes = append(b.Hashes, tlog.RecordHash([]byte("extra"))) }},
		{"no hashes", func(b *audit.Batch) { b.Hashes = nil }},
	} {
		err := s.Append(t.Context(), func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
			b, err := NextBatch(h, r, []audit.StoredEntry{mixedEntry(5), mixedEntry(6)})
			if err != nil {
				return nil, err
			}
			tc.change(b)
			return b, nil
		})
		wantErr(t, err, audit.ErrConflict, fmt.Sprintf("Append of 2 entries to a log of 5 with %s", tc.name),
			"a batch from size n to size m carries the tlog.StoredHashCount(m)-tlog.StoredHashCount(n) hashes from storage index tlog.StoredHashIndex(0, n) on")
		wantLog(t, s, m, "after a refused Append with "+tc.name)
	}
	mustAppend(t, s, m, mixedEntry(5), mixedEntry(6))
	wantLog(t, s, m, "after refused Appends and a good one")
}

func testAppendFuncError(t *testing.T, s audit.Store) {
	m := &model{}
	mustAppend(t, s, m, mixedEntry(0), mixedEntry(1), mixedEntry(2))
	errRefused := errors.New("audittest: fn refuses")
	err := s.Append(t.Context(), func(audit.Head, tlog.HashReader) (*audit.Batch, error) { return nil, errRefused })
	if !errors.Is(err, errRefused) {
		t.Errorf("Append whose fn returns an error returned %v; want that error (errors.Is)", err)
	}
	wantLog(t, s, m, "after fn returned an error")

	err = s.Append(t.Context(), func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		b, err := NextBatch(h, r, []audit.StoredEntry{mixedEntry(3)})
		if err != nil {
			return nil, err
		}
		return b, errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Errorf("Append whose fn returns a valid Batch and an error returned %v; want that error (errors.Is)", err)
	}
	wantLog(t, s, m, "after fn returned a Batch and an error (if fn returns an error, Append writes nothing)")

	mustAppend(t, s, m, mixedEntry(3))
	wantLog(t, s, m, "after failed Appends and a good one")
}

func testConcurrentAppends(t *testing.T, s audit.Store) {
	const goroutines, appends, per = 8, 25, 2
	ctx := t.Context()
	type origin struct{ g, seq int }
	origins := make(map[string]origin)
	batches := make([][][]audit.StoredEntry, goroutines)
	for g := range goroutines {
		batches[g] = make([][]audit.StoredEntry, appends)
		for k := range appends {
			for i := range per {
				e := newEntry(k, pseudonym(fmt.Sprint(g)), worker)
				e.Body = fmt.Appendf([]byte{0x00}, "g%d/a%d/e%d\xff", g, k, i)
				batches[g][k] = append(batches[g][k], e)
				origins[string(e.Body)] = origin{g, k*per + i}
			}
		}
	}

	errs := make([]error, goroutines)
	var readErr error
	var wg, readers sync.WaitGroup
	start, done := make(chan struct{}), make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for k, b := range batches[g] {
				err := s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
					// Give other writers time to read the same head, as
					// they would if Append did not hold the append lock.
					time.Sleep(50 * time.Microsecond)
					return NextBatch(h, r, b)
				})
				if err != nil {
					errs[g] = fmt.Errorf("append %d: %w", k, err)
					return
				}
			}
		}()
	}
	// A reader checks that every head it sees has its hashes stored.
	readers.Add(1)
	go func() {
		defer readers.Done()
		<-start
		r := storeReader(t, s)
		for {
			select {
			case <-done:
				return
			default:
			}
			h, err := s.Head(ctx)
			if err != nil {
				readErr = fmt.Errorf("head: %w", err)
				return
			}
			if h.Size == 0 {
				continue
			}
			if root, err := tlog.TreeHash(h.Size, r); err != nil || root != h.Root {
				readErr = fmt.Errorf("head = size %d root %v, but the stored hashes give root %v (%v)", h.Size, h.Root, root, err)
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	close(start)
	wg.Wait()
	close(done)
	readers.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v; want nil: appends are serialised under the append lock, and each batch was computed from the head Append gave fn", g, err)
		}
	}
	if readErr != nil {
		t.Errorf("reading during concurrent appends: %v; want the head, entries and hashes written atomically", readErr)
	}

	all := readAll(t, s)
	const n = goroutines * appends * per
	if len(all) != n {
		t.Fatalf("after %d concurrent appends of %d entries, Entries returned %d entries; want %d", goroutines*appends, per, len(all), n)
	}
	last := make([]int, goroutines)
	for g := range last {
		last[g] = -1
	}
	m := &model{}
	for i, e := range all {
		if e.Index != int64(i) {
			t.Fatalf("after concurrent appends, the entry at position %d of Entries has index %d; want indexes 0..%d, each once (no gap, no index written twice)", i, e.Index, n-1)
		}
		o, ok := origins[string(e.Body)]
		switch {
		case !ok:
			t.Fatalf("entry %d has a body that was never appended, %s", i, short(e.Body))
		case o.seq <= last[o.g]:
			t.Errorf("entry %d is entry %d of goroutine %d, stored after its entry %d; want each goroutine's entries in the order it appended them", i, o.seq, o.g, last[o.g])
		}
		last[o.g] = o.seq
		delete(origins, string(e.Body))
		m.add(e)
	}
	wantHead(t, s, m.head(), "Head after concurrent appends (the tlog root over every body in index order: the tree did not fork)")
	wantHashes(t, s, m, "after concurrent appends")
}

func testBinaryBodies(t *testing.T, s, other audit.Store) {
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	big := make([]byte, 64<<10) // one byte more than a MySQL BLOB holds
	for i := range big {
		big[i] = byte(i*31 + 7)
		if i%100 == 0 {
			big[i] = 0
		}
	}
	bodies := [][]byte{
		{0x00}, {0xff}, {0x00, 0x00}, {0xff, 0x00, 0xff}, {'a', 0, 0, 0}, {0, 0, 0, 'a'},
		every, slices.Repeat([]byte{0}, 4095), []byte("{\"action\":\"read\",\"note\":\"caf\u00e9 \u2014 \xff\"}"), big,
	}
	m := &model{}
	entries := make([]audit.StoredEntry, len(bodies))
	for i, b := range bodies {
		entries[i] = newEntry(i, alice, worker)
		entries[i].Body = b
	}
	mustAppend(t, s, m, entries[:4]...)
	mustAppend(t, other, m, entries[4:]...)
	wantLog(t, s, m, "after appending binary bodies of 1 byte to 64 KiB, the last six through the other handle")
	wantLog(t, other, m, "through the other handle, after appending binary bodies of 1 byte to 64 KiB")
	wantQuery(t, s, m, audit.StoreFilter{Subject: alice, Limit: 100}, "Query returns bodies byte for byte")
	for i := range bodies {
		es, err := s.Entries(t.Context(), int64(i), 1)
		if err != nil || len(es) != 1 {
			t.Errorf("Entries(%d, 1) = %d entries, %v; want the entry", i, len(es), err)
			continue
		}
		wantEntries(t, fmt.Sprintf("Entries(%d, 1)", i), es, m.entries[i:i+1])
	}
}

func testNotAliased(t *testing.T, s audit.Store) {
	ctx := t.Context()
	m := &model{}
	e := newEntry(0, bytes.Clone(alice), bytes.Clone(staffX))
	mustAppend(t, s, m, e)
	e.Body[0] ^= 0xff
	e.Subject[0] ^= 0xff
	e.Actor[0] ^= 0xff
	wantEntries(t, "Entries after the caller changed the Body, Subject and Actor bytes it appended", readAll(t, s), m.entries)

	got := readAll(t, s)
	got[0].Body[0] ^= 0xff
	got[0].Subject[0] ^= 0xff
	got[0].Actor[0] ^= 0xff
	wantEntries(t, "Entries after the caller changed the bytes of the entries Entries returned", readAll(t, s), m.entries)

	q, err := s.Query(ctx, audit.StoreFilter{Subject: alice, Limit: 1})
	if err != nil || len(q) != 1 {
		t.Fatalf("Query(Subject:alice) = %d entries, %v; want the entry", len(q), err)
	}
	q[0].Body[1] ^= 0xff
	q[0].Subject[1] ^= 0xff
	q[0].Actor[1] ^= 0xff
	wantEntries(t, "Entries after the caller changed the bytes of the entries Query returned", readAll(t, s), m.entries)

	hs, err := s.ReadHashes(ctx, []int64{0})
	if err != nil || len(hs) != 1 {
		t.Fatalf("ReadHashes([0]) = %d hashes, %v", len(hs), err)
	}
	hs[0][0] ^= 0xff
	wantHashes(t, s, m, "after the caller changed the hashes ReadHashes returned")

	var kept *audit.Batch
	next := newEntry(1, bob, worker)
	err = s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		b, err := NextBatch(h, r, []audit.StoredEntry{next})
		kept = b
		return b, err
	})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	m.add(next)
	for i := range kept.Hashes {
		kept.Hashes[i][0] ^= 0xff
	}
	kept.Hashes = kept.Hashes[:0]
	kept.Entries[0].Body[0] ^= 0xff
	wantLog(t, s, m, "after the caller changed the Batch its fn returned")

	ref, fresh := saltRef("alice"), saltValue("alice")
	salt, err := s.Salt(ctx, ref, fresh)
	if err != nil {
		t.Fatalf("Salt: %v", err)
	}
	ref[0] ^= 0xff
	fresh[0] ^= 0xff
	salt[0] ^= 0xff
	for _, call := range []string{"after the caller changed the ref, fresh salt and returned salt of Salt", "after the caller changed the salt LookupSalt returned"} {
		got, err := s.LookupSalt(ctx, saltRef("alice"))
		if err != nil || !bytes.Equal(got, saltValue("alice")) {
			t.Errorf("LookupSalt %s = %s, %v; want the salt stored", call, short(got), err)
		}
		if got != nil {
			got[0] ^= 0xff
		}
	}

	note := checkpointNote(2)
	if err := s.PutCheckpoint(ctx, 2, note); err != nil {
		t.Fatalf("PutCheckpoint: %v", err)
	}
	note[0] ^= 0xff
	for _, call := range []string{"after the caller changed the note it put", "after the caller changed the note LatestCheckpoint returned"} {
		got, err := s.LatestCheckpoint(ctx)
		if err != nil || !bytes.Equal(got, checkpointNote(2)) {
			t.Errorf("LatestCheckpoint %s = %q, %v; want the note stored", call, got, err)
		}
		if len(got) > 0 {
			got[0] ^= 0xff
		}
	}
}

func testTimes(t *testing.T, s audit.Store) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	west := time.FixedZone("X", -7*3600)
	e0 := newEntry(0, alice, staffX)
	e0.Time = time.Date(2025, 3, 3, 10, 30, 0, 123456789, paris)
	e1 := newEntry(1, alice, staffX)
	e1.Time = time.Date(2025, 3, 3, 2, 31, 0, 999999999, west)
	m := &model{}
	mustAppend(t, s, m, e0, e1)
	all := readAll(t, s)
	wantEntries(t, "Entries of entries whose times have nanoseconds and zones", all, m.entries)
	t0 := time.Date(2025, 3, 3, 9, 30, 0, 123456000, time.UTC)
	if len(all) > 0 && (!all[0].Time.Equal(t0) || all[0].Time.Location() != time.UTC) {
		t.Errorf("Time = %s; want %s: times are kept to the microsecond, truncated, in UTC", all[0].Time.Format(time.RFC3339Nano), t0.Format(time.RFC3339Nano))
	}
	us := time.Microsecond
	for _, tc := range []struct {
		f   audit.StoreFilter
		why string
	}{
		{audit.StoreFilter{Since: t0}, "Since equal to the stored time matches"},
		{audit.StoreFilter{Since: t0.In(paris)}, "times are instants, whatever their zone"},
		{audit.StoreFilter{Since: t0.Add(us)}, "the stored time is truncated, so a Since 1µs later excludes it"},
		{audit.StoreFilter{Until: t0}, "Until equal to the stored time excludes it"},
		{audit.StoreFilter{Until: t0.Add(us).In(west)}, "Until 1µs after the stored time includes it, whatever its zone"},
		{audit.StoreFilter{Since: t0, Until: t0.Add(us)}, "a 1µs window holds the entry at its start"},
	} {
		tc.f.Limit = 10
		wantQuery(t, s, m, tc.f, tc.why)
	}
}

func testEntriesPaging(t *testing.T, s audit.Store) {
	ctx := t.Context()
	m := &model{}
	for k := 0; k < 23; k += 8 {
		var batch []audit.StoredEntry
		for i := k; i < min(k+8, 23); i++ {
			batch = append(batch, mixedEntry(i))
		}
		mustAppend(t, s, m, batch...)
	}
	for _, i := range []int64{0, 5, 22} {
		if err := s.Redact(ctx, i); err != nil {
			t.Fatalf("Redact(%d): %v", i, err)
		}
		m.redact(i)
	}
	for _, from := range []int64{0, 5, 7} {
		for _, limit := range []int{1, 4, 16, 23, 50} {
			var visited []int64
			for cursor, page := from, 0; ; page++ {
				if page > 30 {
					t.Fatalf("Entries paging from %d with limit %d did not end", from, limit)
				}
				got, err := s.Entries(ctx, cursor, limit)
				if err != nil {
					t.Fatalf("Entries(%d, %d): %v", cursor, limit, err)
				}
				want := m.entries[min(cursor, m.size()):]
				want = want[:min(len(want), limit)]
				wantEntries(t, fmt.Sprintf("Entries(%d, %d) (the first limit entries from index from, redacted ones with a nil Body)", cursor, limit), got, want)
				if len(got) == 0 || t.Failed() {
					break
				}
				visited = append(visited, indexesOf(got)...)
				cursor = got[len(got)-1].Index + 1
			}
			if want := hashIndexes(m.size())[from:]; !t.Failed() && !slices.Equal(visited, want) {
				t.Errorf("paging through Entries from %d with limit %d visited %v; want every index once, ascending: %v", from, limit, visited, want)
			}
		}
	}
	for _, e := range readAll(t, s) {
		if r := slices.Contains([]int64{0, 5, 22}, e.Index); r != e.Redacted() {
			t.Errorf("entry %d: Redacted() = %v; want %v", e.Index, e.Redacted(), r)
		}
	}
	for _, from := range []int64{23, 24, 1 << 40} {
		if got, err := s.Entries(ctx, from, 10); err != nil || len(got) != 0 {
			t.Errorf("Entries(%d, 10) of a log of 23 = %d entries, %v; want none and nil", from, len(got), err)
		}
	}
}

// queryRedacted are the indexes queryLog redacts.
var queryRedacted = []int64{4, 17, 30, 47}

// queryLog appends the query data set to s: 48 entries in three batches,
// two a minute from base on, of the subjects alice, bob, carol and alice'
// (which differs from alice in its last byte) and of system events without
// a subject, by the actors staff:x, staff:y, system:worker, "system:worker "
// and subject:alice; then it redacts the entries at queryRedacted. It
// returns the model and the entries as appended, with their indexes.
func queryLog(t *testing.T, s audit.Store) (*model, []audit.StoredEntry) {
	t.Helper()
	subjects := [][]byte{alice, bob, nil, carol, aliceNear}
	actors := [][]byte{staffX, staffY, worker, workerSpace, aliceActor}
	appended := make([]audit.StoredEntry, 48)
	for i := range appended {
		appended[i] = newEntry(i, subjects[i%len(subjects)], actors[(i/3)%len(actors)])
		appended[i].Time = at(i / 2)
		appended[i].Index = int64(i)
	}
	m := &model{}
	for k := 0; k < len(appended); k += 16 {
		mustAppend(t, s, m, appended[k:k+16]...)
	}
	for _, i := range queryRedacted {
		if err := s.Redact(t.Context(), i); err != nil {
			t.Fatalf("Redact(%d): %v", i, err)
		}
		m.redact(i)
	}
	return m, appended
}

func testQueryBySubject(t *testing.T, s audit.Store) {
	m, _ := queryLog(t, s)
	for _, sub := range [][]byte{alice, bob, carol, aliceNear, dave} {
		wantQuery(t, s, m, audit.StoreFilter{Subject: sub, Limit: 100},
			"Query selects the unredacted entries whose subject pseudonym equals Subject, byte for byte")
	}
}

func testQueryByActor(t *testing.T, s audit.Store) {
	m, _ := queryLog(t, s)
	for _, actor := range [][]byte{staffX, staffY, worker, workerSpace, aliceActor, staffZ} {
		wantQuery(t, s, m, audit.StoreFilter{Actor: actor, Limit: 100},
			"Query selects the unredacted entries whose actor equals Actor, byte for byte (no PAD SPACE)")
	}
}

func testQueryByTime(t *testing.T, s audit.Store) {
	m, _ := queryLog(t, s)
	us := time.Microsecond
	for _, tc := range []struct {
		since, until time.Time
		why          string
	}{
		{at(5), time.Time{}, "Since <= Time, Until zero: no upper bound"},
		{time.Time{}, at(10), "Time < Until, Since zero: no lower bound"},
		{at(3), at(9), "Since <= Time < Until"},
		{at(3).Add(us), at(9).Add(us), "Since <= Time < Until, to the microsecond"},
		{at(3).Add(-us), at(9).Add(-us), "Since <= Time < Until, to the microsecond"},
		{at(3).In(time.FixedZone("X", -7*3600)), at(9).In(time.FixedZone("Y", 5*3600+1800)), "times are instants, whatever their zone"},
		{at(4), at(4), "an empty window selects nothing"},
		{at(9), at(3), "Since after Until selects nothing"},
		{at(-60), at(1000), "a window around every entry"},
	} {
		wantQuery(t, s, m, audit.StoreFilter{Since: tc.since, Until: tc.until, Limit: 100}, tc.why)
	}
}

func testQueryFrom(t *testing.T, s audit.Store) {
	m, _ := queryLog(t, s)
	for _, from := range []int64{0, 1, 4, 17, 30, 46, 47, 48, 1000} {
		wantQuery(t, s, m, audit.StoreFilter{From: from, Limit: 100}, "Query selects entries with Index >= From")
		wantQuery(t, s, m, audit.StoreFilter{Subject: alice, From: from, Limit: 100}, "Query selects entries with Index >= From")
		wantQuery(t, s, m, audit.StoreFilter{Actor: worker, From: from, Limit: 100}, "Query selects entries with Index >= From")
	}
}

func testQueryCombined(t *testing.T, s audit.Store) {
	m, _ := queryLog(t, s)
	windows := [][2]time.Time{{}, {at(3), at(15)}, {at(10), {}}}
	for _, sub := range [][]byte{nil, alice, bob, aliceNear, dave} {
		for _, actor := range [][]byte{nil, staffX, worker, workerSpace} {
			for _, w := range windows {
				for _, from := range []int64{0, 13} {
					f := audit.StoreFilter{Subject: sub, Actor: actor, Since: w[0], Until: w[1], From: from, Limit: 100}
					wantQuery(t, s, m, f, "the non-zero fields of a StoreFilter must all match")
				}
			}
		}
	}
}

func testQueryPaging(t *testing.T, s audit.Store) {
	m, _ := queryLog(t, s)
	for _, f := range []audit.StoreFilter{
		{},
		{Subject: alice},
		{Actor: worker},
		{Since: at(2), Until: at(20)},
		{Subject: bob, Actor: staffY},
		{Subject: dave},
	} {
		for _, limit := range []int{1, 2, 5} {
			f.Limit, f.From = limit, 0
			var visited []int64
			for page := 0; ; page++ {
				if page > 50 {
					t.Fatalf("paging through Query(%s) did not end", fmtFilter(f))
				}
				got := wantQuery(t, s, m, f, "each page holds the first Limit matches from From on")
				if len(got) == 0 || t.Failed() {
					break
				}
				visited = append(visited, indexesOf(got)...)
				f.From = got[len(got)-1].Index + 1
			}
			all := f
			all.From, all.Limit = 0, 1000
			if want := indexesOf(m.query(all)); !t.Failed() && !slices.Equal(visited, want) {
				t.Errorf("paging through Query(%s) by From visited %v; want every match once, ascending: %v", fmtFilter(f), visited, want)
			}
		}
	}
}

func testQueryRedacted(t *testing.T, s audit.Store) {
	m, appended := queryLog(t, s)
	for _, i := range queryRedacted {
		e := appended[i]
		why := fmt.Sprintf("entry %d is redacted and never matches", i)
		for _, f := range []audit.StoreFilter{
			{Subject: e.Subject, Limit: 100},
			{Actor: e.Actor, Limit: 100},
			{Subject: e.Subject, Actor: e.Actor, Since: e.Time, Until: e.Time.Add(time.Minute), Limit: 100},
			{From: i, Limit: 1},
		} {
			for _, got := range wantQuery(t, s, m, f, why) {
				if got.Index == i || got.Redacted() {
					t.Errorf("Query(%s) returned entry %d (Redacted() = %v); want no redacted entry: redacted entries never match", fmtFilter(f), got.Index, got.Redacted())
				}
			}
		}
	}
}

func testQueryZeroFilter(t *testing.T, s, other audit.Store) {
	m, _ := queryLog(t, s)
	got := wantQuery(t, s, m, audit.StoreFilter{Limit: 100}, "zero fields select everything but redacted entries")
	if len(got) != 48-len(queryRedacted) && !t.Failed() {
		t.Errorf("Query({Limit:100}) returned %d entries; want the %d unredacted ones", len(got), 48-len(queryRedacted))
	}
	wantQuery(t, s, m, audit.StoreFilter{Limit: 7}, "at most Limit entries, the first ones in index order")
	wantQuery(t, other, m, audit.StoreFilter{Limit: 100}, "through the other handle: the entries appended and redacted through the first")
	wantQuery(t, other, m, audit.StoreFilter{Subject: alice, Actor: staffX, Limit: 100}, "through the other handle: the entries appended and redacted through the first")
}

func testQueryInvalidLimit(t *testing.T, s audit.Store) {
	m := &model{}
	mustAppend(t, s, m, mixedEntry(0), mixedEntry(1))
	for _, limit := range []int{0, -1} {
		for _, f := range []audit.StoreFilter{{Limit: limit}, {Subject: alice, Limit: limit}, {Actor: staffX, Since: at(0), Limit: limit}} {
			_, err := s.Query(t.Context(), f)
			wantErr(t, err, audit.ErrInvalid, fmt.Sprintf("Query(%s)", fmtFilter(f)), "Limit is at least 1")
		}
	}
}

func testRedact(t *testing.T, s, other audit.Store) {
	ctx := t.Context()
	m := &model{}
	for k := 0; k < 10; k += 5 {
		mustAppend(t, s, m, mixedEntry(k), mixedEntry(k+1), mixedEntry(k+2), mixedEntry(k+3), mixedEntry(k+4))
	}
	orig := m.entries[4]
	h := m.head()
	if err := s.Redact(ctx, 4); err != nil {
		t.Fatalf("Redact(4): %v; want nil", err)
	}
	m.redact(4)
	wantLog(t, s, m, "after Redact(4) (the entry keeps its place with only its Index; head, hashes and other entries unchanged)")
	p, err := tlog.ProveRecord(h.Size, 4, storeReader(t, s))
	if err != nil {
		t.Fatalf("tlog.ProveRecord(%d, 4) after Redact(4): %v", h.Size, err)
	}
	if err := tlog.CheckRecord(p, h.Size, h.Root, 4, tlog.RecordHash(orig.Body)); err != nil {
		t.Errorf("tlog.CheckRecord of the redacted entry's original body: %v; want Redact to keep the entry's hashes", err)
	}

	wantLog(t, other, m, "through the other handle, after Redact(4) through the first")

	for _, h := range []audit.Store{s, other} {
		if err := h.Redact(ctx, 4); err != nil {
			t.Errorf("Redact(4) of a redacted entry: %v; want nil: Redact is idempotent, through either handle", err)
		}
	}
	wantLog(t, s, m, "after redacting entry 4 three times")

	if err := other.Redact(ctx, 0); err != nil {
		t.Fatalf("Redact(0) through the other handle: %v", err)
	}
	m.redact(0)
	mustAppend(t, s, m, mixedEntry(10), mixedEntry(11))
	wantLog(t, s, m, "after redactions (one through the other handle) and an Append")
	wantLog(t, other, m, "through the other handle, after redactions and an Append")
}

func testRedactUnknown(t *testing.T, s audit.Store) {
	m := &model{}
	mustAppend(t, s, m, mixedEntry(0), mixedEntry(1), mixedEntry(2))
	for _, i := range []int64{3, 4, 1 << 40} {
		wantErr(t, s.Redact(t.Context(), i), audit.ErrNotFound, fmt.Sprintf("Redact(%d) of a log of 3 entries", i), "no entry has that index")
	}
	wantLog(t, s, m, "after Redact of unknown indexes")
}

// wantSalt fails t unless LookupSalt(ref) returns want.
func wantSalt(t *testing.T, s audit.Store, ref, want []byte, why string) {
	t.Helper()
	got, err := s.LookupSalt(t.Context(), ref)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("LookupSalt = %s, %v; want %s: %s", short(got), err, short(want), why)
	}
}

func testSaltGetOrCreate(t *testing.T, s, other audit.Store) {
	ctx := t.Context()
	a, b := saltRef("alice"), near(saltRef("alice"))
	s1, s2, s3 := saltValue("1"), saltValue("2"), saltValue("3")
	got, err := s.Salt(ctx, a, s1)
	if err != nil || !bytes.Equal(got, s1) {
		t.Fatalf("first Salt of a ref = %s, %v; want the fresh salt it was given, %s", short(got), err, short(s1))
	}
	got, err = s.Salt(ctx, a, s2)
	if err != nil || !bytes.Equal(got, s1) {
		t.Errorf("second Salt of a ref, with another fresh salt = %s, %v; want the salt stored first, %s", short(got), err, short(s1))
	}
	got, err = other.Salt(ctx, a, s3)
	if err != nil || !bytes.Equal(got, s1) {
		t.Errorf("Salt of a ref through the other handle, with another fresh salt = %s, %v; want the salt stored first through the first handle, %s", short(got), err, short(s1))
	}
	wantSalt(t, s, a, s1, "the salt stored first")
	wantSalt(t, other, a, s1, "through the other handle, the salt stored first")
	_, err = s.LookupSalt(ctx, b)
	wantErr(t, err, audit.ErrNotFound, "LookupSalt of a ref that differs from a stored one in its last byte", "refs compare byte for byte")
	got, err = s.Salt(ctx, b, s3)
	if err != nil || !bytes.Equal(got, s3) {
		t.Errorf("first Salt of a second ref = %s, %v; want its fresh salt %s", short(got), err, short(s3))
	}
	wantSalt(t, s, a, s1, "a salt is not changed by another ref's")
	wantSalt(t, s, b, s3, "each ref has its own salt")
	wantSalt(t, other, b, s3, "through the other handle, each ref has its own salt")
}

func testSaltConcurrent(t *testing.T, s audit.Store) {
	const goroutines = 16
	ref := saltRef("first-use")
	got := make([][]byte, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[g], errs[g] = s.Salt(t.Context(), ref, saltValue(fmt.Sprint(g)))
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for g := range goroutines {
		if bytes.Equal(got[0], saltValue(fmt.Sprint(g))) {
			winner = g
		}
	}
	for g, err := range errs {
		switch {
		case err != nil:
			t.Errorf("concurrent Salt #%d of one ref: %v; want nil", g, err)
		case !bytes.Equal(got[g], got[0]):
			t.Errorf("concurrent Salt #%d of one ref = %s, but #0 got %s; want every caller to get the same salt", g, short(got[g]), short(got[0]))
		}
	}
	if winner < 0 {
		t.Fatalf("concurrent Salts of one ref returned %s; want one of the fresh salts given", short(got[0]))
	}
	wantSalt(t, s, ref, got[0], "the salt every concurrent Salt returned")
}

func testSaltDelete(t *testing.T, s, other audit.Store) {
	ctx := t.Context()
	a, b := saltRef("alice"), saltRef("bob")
	for _, ref := range [][]byte{a, b} {
		if _, err := s.Salt(ctx, ref, saltValue(string(ref))); err != nil {
			t.Fatalf("Salt: %v", err)
		}
	}
	if ok, err := s.DeleteSalt(ctx, a); !ok || err != nil {
		t.Errorf("DeleteSalt of a stored salt = %v, %v; want true and nil", ok, err)
	}
	if ok, err := s.DeleteSalt(ctx, a); ok || err != nil {
		t.Errorf("second DeleteSalt of a ref = %v, %v; want false and nil: deleting a missing salt succeeds with false", ok, err)
	}
	if ok, err := other.DeleteSalt(ctx, a); ok || err != nil {
		t.Errorf("DeleteSalt through the other handle of a ref deleted through the first = %v, %v; want false and nil: the salt is gone for every process", ok, err)
	}
	_, err := s.LookupSalt(ctx, a)
	wantErr(t, err, audit.ErrNotFound, "LookupSalt after DeleteSalt", "the salt was deleted")
	_, err = other.LookupSalt(ctx, a)
	wantErr(t, err, audit.ErrNotFound, "LookupSalt through the other handle after DeleteSalt through the first", "the salt was deleted, for every process")
	wantSalt(t, s, b, saltValue(string(b)), "DeleteSalt deletes its own ref's salt only")
	fresh := saltValue("after delete")
	if got, err := other.Salt(ctx, a, fresh); err != nil || !bytes.Equal(got, fresh) {
		t.Errorf("Salt through the other handle after DeleteSalt = %s, %v; want the new fresh salt %s, stored anew", short(got), err, short(fresh))
	}
	wantSalt(t, s, a, fresh, "Salt after DeleteSalt stores the new fresh salt")
	if ok, err := s.DeleteSalt(ctx, saltRef("never")); ok || err != nil {
		t.Errorf("DeleteSalt of a ref never stored = %v, %v; want false and nil", ok, err)
	}
}

// wantLatest fails t unless LatestCheckpoint returns the note of size n.
func wantLatest(t *testing.T, s audit.Store, n int64, why string) {
	t.Helper()
	got, err := s.LatestCheckpoint(t.Context())
	if err != nil || !bytes.Equal(got, checkpointNote(n)) {
		t.Errorf("LatestCheckpoint = %q, %v; want the checkpoint of size %d: %s", got, err, n, why)
	}
}

func testCheckpointLatest(t *testing.T, s, other audit.Store) {
	for i, step := range []struct{ put, latest int64 }{{3, 3}, {10, 10}, {5, 10}, {1, 10}, {11, 11}, {5_000_000_000, 5_000_000_000}, {7, 5_000_000_000}} {
		// Alternate the handles, as two processes signing checkpoints would.
		put, read := s, other
		if i%2 == 1 {
			put, read = other, s
		}
		if err := put.PutCheckpoint(t.Context(), step.put, checkpointNote(step.put)); err != nil {
			t.Fatalf("PutCheckpoint(%d): %v", step.put, err)
		}
		why := fmt.Sprintf("after putting size %d, the greatest size stored, whatever the order of puts and whichever handle put them", step.put)
		wantLatest(t, read, step.latest, why)
		wantLatest(t, put, step.latest, why)
	}
}

func testCheckpointKeepsFirst(t *testing.T, s, other audit.Store) {
	ctx := t.Context()
	if err := s.PutCheckpoint(ctx, 7, checkpointNote(7)); err != nil {
		t.Fatalf("PutCheckpoint(7): %v", err)
	}
	if err := s.PutCheckpoint(ctx, 7, []byte("another note for size 7\n")); err != nil {
		t.Errorf("second PutCheckpoint(7): %v; want nil: a second checkpoint for a size succeeds", err)
	}
	if err := other.PutCheckpoint(ctx, 7, []byte("a third note for size 7\n")); err != nil {
		t.Errorf("PutCheckpoint(7) through the other handle: %v; want nil: a second checkpoint for a size succeeds, from any process", err)
	}
	wantLatest(t, s, 7, "a second checkpoint for a size keeps the first")
	wantLatest(t, other, 7, "through the other handle, a second checkpoint for a size keeps the first")
	if err := s.PutCheckpoint(ctx, 8, checkpointNote(8)); err != nil {
		t.Fatalf("PutCheckpoint(8): %v", err)
	}
	wantLatest(t, s, 8, "the greatest size")
}

func testCanceledContext(t *testing.T, s, other audit.Store) {
	live := t.Context()
	m := &model{}
	mustAppend(t, s, m, mixedEntry(0), mixedEntry(1), mixedEntry(2))
	ref := saltRef("alice")
	if _, err := s.Salt(live, ref, saltValue("alice")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCheckpoint(live, 3, checkpointNote(3)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(live)
	cancel()
	want := func(call string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s with a canceled context: got nil error; want an error", call)
		}
	}
	want("Append", s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		return NextBatch(h, r, []audit.StoredEntry{mixedEntry(3)})
	}))
	_, err := s.Head(ctx)
	want("Head", err)
	_, err = s.ReadHashes(ctx, []int64{0})
	want("ReadHashes", err)
	_, err = s.Entries(ctx, 0, 10)
	want("Entries", err)
	_, err = s.Query(ctx, audit.StoreFilter{Limit: 10})
	want("Query", err)
	want("Redact", s.Redact(ctx, 1))
	_, err = s.Salt(ctx, saltRef("bob"), saltValue("bob"))
	want("Salt", err)
	_, err = s.LookupSalt(ctx, ref)
	want("LookupSalt", err)
	_, err = s.DeleteSalt(ctx, ref)
	want("DeleteSalt", err)
	if sl, ok := s.(audit.SaltLookuper); ok {
		_, err = sl.LookupSalts(ctx, [][]byte{ref})
		want("LookupSalts", err)
		_, err = sl.LookupSalts(ctx, nil)
		want("LookupSalts of no refs", err)
	}
	want("PutCheckpoint", s.PutCheckpoint(ctx, 4, checkpointNote(4)))
	_, err = s.LatestCheckpoint(ctx)
	want("LatestCheckpoint", err)

	wantLog(t, s, m, "after calls with a canceled context (nothing appended or redacted)")
	wantSalt(t, s, ref, saltValue("alice"), "DeleteSalt with a canceled context deletes nothing")
	_, err = s.LookupSalt(live, saltRef("bob"))
	wantErr(t, err, audit.ErrNotFound, "LookupSalt after Salt with a canceled context", "nothing was stored")
	wantLatest(t, s, 3, "PutCheckpoint with a canceled context stores nothing")
	wantLog(t, other, m, "through the other handle, after calls with a canceled context")
}
