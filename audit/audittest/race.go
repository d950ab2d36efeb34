package audittest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
)

// The subtests in this file race the two handles newStore returns, as two
// processes sharing one database race each other. Each is bounded: a fixed
// number of calls, all under a context that ends after raceTimeout, so that
// handles that deadlock fail the subtest instead of hanging the run.

// raceTimeout bounds every race subtest.
const raceTimeout = 2 * time.Minute

// handleNames name the two handles in failure messages.
var handleNames = [2]string{"s", "other"}

// raceContext returns the context of a race: t's, ending after raceTimeout.
func raceContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), raceTimeout)
	t.Cleanup(cancel)
	return ctx
}

// timedOut says, for a failure message, whether the race ran out of time.
func timedOut(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf(" (the race did not end within %v: do the handles deadlock?)", raceTimeout)
	}
	return ""
}

// edge returns the storage indexes of the perfect subtrees that make up a
// tree of n entries: all the stored hashes an append to it reads. A Log
// reads them in one ReadHashes before it computes a batch.
func edge(n int64) []int64 {
	var out []int64
	for lo := int64(0); lo < n; {
		level := bits.Len64(uint64(n-lo)) - 1
		out = append(out, tlog.StoredHashIndex(level, lo>>level))
		lo += 1 << level
	}
	return out
}

// Sizes of testTwoHandlesAppend: per handle, twoWriters goroutines append
// twoRounds batches of 1 to 40 entries each (about 1,900 entries in all).
const twoWriters, twoRounds = 8, 6

func testTwoHandlesAppend(t *testing.T, s, other audit.Store) {
	ctx := raceContext(t)
	hs := [2]audit.Store{s, other}

	type batchID struct{ h, w, r int }
	type origin struct {
		batch batchID
		i, n  int // the entry's place in its batch, and the batch's size
		e     audit.StoredEntry
	}
	origins := map[string]origin{}
	var batches [2][twoWriters][twoRounds][]audit.StoredEntry
	n := 0
	for h := range 2 {
		for w := range twoWriters {
			for r := range twoRounds {
				k := 1 + (w*7+r*13+h*3)%40
				id := batchID{h, w, r}
				for i := range k {
					e := newEntry(n, pseudonym(fmt.Sprintf("%d/%d", h, w)), worker)
					if n%5 == 4 {
						e.Subject = nil // a system event
					}
					e.Body = fmt.Appendf([]byte{0x00}, "h%d/w%d/r%d/e%d\xff", h, w, r, i)
					batches[h][w][r] = append(batches[h][w][r], e)
					origins[string(e.Body)] = origin{batch: id, i: i, n: k, e: e}
					n++
				}
			}
		}
	}

	var errs [2][twoWriters]error
	var readErrs [2]error
	var wg, readers sync.WaitGroup
	start, done := make(chan struct{}), make(chan struct{})
	for h := range 2 {
		for w := range twoWriters {
			wg.Go(func() {
				<-start
				for r, b := range batches[h][w] {
					err := hs[h].Append(ctx, func(head audit.Head, hr tlog.HashReader) (*audit.Batch, error) {
						// Give the other process time to read the same head,
						// as it would if the append lock were not shared.
						time.Sleep(50 * time.Microsecond)
						if r%2 == 1 {
							// As a Log does: the tree's edge in one read first.
							if e := edge(head.Size); len(e) > 0 {
								if _, err := hr.ReadHashes(e); err != nil {
									return nil, fmt.Errorf("reading the edge of a tree of %d: %w", head.Size, err)
								}
							}
						}
						return NextBatch(head, hr, b)
					})
					if err != nil {
						errs[h][w] = fmt.Errorf("append %d: %w", r, err)
						return
					}
				}
			})
		}
		// A reader on each handle checks that every head it sees has its
		// hashes stored, whichever handle wrote them.
		readers.Go(func() {
			<-start
			hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return hs[h].ReadHashes(ctx, idx) })
			for {
				select {
				case <-done:
					return
				default:
				}
				head, err := hs[h].Head(ctx)
				if err != nil {
					readErrs[h] = fmt.Errorf("reading the head: %w", err)
					return
				}
				if head.Size > 0 {
					if root, err := tlog.TreeHash(head.Size, hr); err != nil || root != head.Root {
						readErrs[h] = fmt.Errorf("the head (size %d, root %v) differs from the root of the stored hashes, %v (%v)", head.Size, head.Root, root, err)
						return
					}
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	close(start)
	wg.Wait()
	close(done)
	readers.Wait()
	for h := range 2 {
		for w, err := range errs[h] {
			if err != nil {
				t.Errorf("writer %d on handle %s: %v%s; want nil: the append lock is shared by every process, so a batch computed from the head Append gave fn always fits",
					w, handleNames[h], err, timedOut(ctx))
			}
		}
		if readErrs[h] != nil {
			t.Errorf("reading through handle %s while both handles append: %v%s; want the head, entries and hashes written atomically",
				handleNames[h], readErrs[h], timedOut(ctx))
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	all := readAll(t, s)
	if len(all) != n {
		t.Fatalf("after %d appends from two handles, %d entries in all, Entries returned %d entries; want every entry once",
			2*twoWriters*twoRounds, n, len(all))
	}
	var last [2][twoWriters]int
	for h := range last {
		for w := range last[h] {
			last[h][w] = -1
		}
	}
	m := &model{}
	var prev origin
	for i, e := range all {
		if e.Index != int64(i) {
			t.Fatalf("after appends from two handles, the entry at position %d of Entries has index %d; want indexes 0..%d, each once (no gap, no index written twice)", i, e.Index, n-1)
		}
		o, ok := origins[string(e.Body)]
		if !ok {
			t.Fatalf("entry %d has a body that was never appended, or was appended twice: %s; want every batch stored once", i, short(e.Body))
		}
		delete(origins, string(e.Body))
		b := o.batch
		switch {
		case o.i > 0 && (prev.batch != b || prev.i != o.i-1):
			t.Fatalf("entry %d is entry %d of batch %d of writer %d on handle %s, but entry %d is not the one before it in that batch; want each batch's entries at consecutive indexes: a Batch is written atomically",
				i, o.i, b.r, b.w, handleNames[b.h], i-1)
		case o.i == 0 && i > 0 && prev.i != prev.n-1:
			t.Fatalf("entry %d starts a batch, but entry %d is entry %d of a batch of %d; want each batch's entries at consecutive indexes: a Batch is written atomically",
				i, i-1, prev.i, prev.n)
		case o.i == 0 && b.r <= last[b.h][b.w]:
			t.Fatalf("entry %d starts batch %d of writer %d on handle %s, stored after its batch %d; want each writer's batches in the order it appended them",
				i, b.r, b.w, handleNames[b.h], last[b.h][b.w])
		}
		if o.i == 0 {
			last[b.h][b.w] = b.r
		}
		prev = o
		m.add(o.e)
	}
	if prev.i != prev.n-1 {
		t.Fatalf("the last entry is entry %d of a batch of %d; want whole batches only", prev.i, prev.n)
	}
	wantLog(t, s, m, "after appends from two handles at once (one tree: the tlog root over every body in index order)")
	wantLog(t, other, m, "through the other handle, after appends from two handles at once")
	wantProofs(t, other, m, audit.Head{Size: int64(len(batches[0][0][0]))})
}

// Sizes of testTwoHandlesSalt: saltCallers goroutines per handle race for
// each of saltRefs refs, 64 Salt calls in all.
const saltRefs, saltCallers = 4, 8

func testTwoHandlesSalt(t *testing.T, s, other audit.Store) {
	ctx := raceContext(t)
	hs := [2]audit.Store{s, other}
	fresh := func(ref, h, g int) []byte { return saltValue(fmt.Sprintf("race/%d/%d/%d", ref, h, g)) }
	var got [saltRefs][2][saltCallers][]byte
	var errs [saltRefs][2][saltCallers]error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for ref := range saltRefs {
		for h := range 2 {
			for g := range saltCallers {
				wg.Go(func() {
					<-start
					got[ref][h][g], errs[ref][h][g] = hs[h].Salt(ctx, saltRef(fmt.Sprint("race-", ref)), fresh(ref, h, g))
				})
			}
		}
	}
	close(start)
	wg.Wait()
	for ref := range saltRefs {
		want := got[ref][0][0]
		for h := range 2 {
			for g := range saltCallers {
				switch err := errs[ref][h][g]; {
				case err != nil:
					t.Errorf("Salt #%d of ref %d through handle %s, racing the other handle: %v%s; want nil", g, ref, handleNames[h], err, timedOut(ctx))
				case !bytes.Equal(got[ref][h][g], want):
					t.Errorf("Salt #%d of ref %d through handle %s = %s, but #0 through s got %s; want every caller, in every process, to get the same salt",
						g, ref, handleNames[h], short(got[ref][h][g]), short(want))
				}
			}
		}
		if t.Failed() {
			continue
		}
		winner := false
		for h := range 2 {
			for g := range saltCallers {
				winner = winner || bytes.Equal(want, fresh(ref, h, g))
			}
		}
		if !winner {
			t.Errorf("racing Salts of ref %d returned %s; want one of the fresh salts given for that ref", ref, short(want))
			continue
		}
		for h := range 2 {
			wantSalt(t, hs[h], saltRef(fmt.Sprint("race-", ref)), want, "through handle "+handleNames[h]+", the salt every racing Salt returned")
		}
	}
}

// Sizes of testTwoHandlesDeleteLookup: per handle, deleters goroutines
// delete one salt while lookers goroutines look it and another up
// lookups times each.
const deleters, lookers, lookups = 2, 4, 25

func testTwoHandlesDeleteLookup(t *testing.T, s, other audit.Store) {
	ctx := raceContext(t)
	hs := [2]audit.Store{s, other}
	a, b := saltRef("deleted"), saltRef("kept")
	saltA, saltB := saltValue("deleted"), saltValue("kept")
	for _, x := range []struct{ ref, salt []byte }{{a, saltA}, {b, saltB}} {
		if got, err := s.Salt(t.Context(), x.ref, x.salt); err != nil || !bytes.Equal(got, x.salt) {
			t.Fatalf("Salt of a new ref = %s, %v; want its fresh salt", short(got), err)
		}
	}
	wantSalt(t, other, a, saltA, "through the other handle, before the race")
	wantSalt(t, other, b, saltB, "through the other handle, before the race")

	var deleted [2][deleters]bool
	var delErrs [2][deleters]error
	var problems [2][lookers]string // the first wrong lookup of each looker
	var wg sync.WaitGroup
	start := make(chan struct{})
	for h := range 2 {
		for d := range deleters {
			wg.Go(func() {
				<-start
				deleted[h][d], delErrs[h][d] = hs[h].DeleteSalt(ctx, a)
			})
		}
		for l := range lookers {
			wg.Go(func() {
				<-start
				gone := false
				for k := range lookups {
					got, err := hs[h].LookupSalt(ctx, a)
					switch {
					case err == nil && bytes.Equal(got, saltA):
						if gone {
							problems[h][l] = fmt.Sprintf("LookupSalt #%d of the deleted ref found its salt after an earlier LookupSalt found none; want a deleted salt to stay deleted (nothing stored it anew)", k)
							return
						}
					case err == nil:
						problems[h][l] = fmt.Sprintf("LookupSalt #%d of the deleted ref = %s; want its salt %s or an error wrapping audit.ErrNotFound", k, short(got), short(saltA))
						return
					case errors.Is(err, audit.ErrNotFound):
						gone = true
					default:
						problems[h][l] = fmt.Sprintf("LookupSalt #%d of the ref being deleted: %v%s; want its salt or an error wrapping audit.ErrNotFound", k, err, timedOut(ctx))
						return
					}
					if got, err := hs[h].LookupSalt(ctx, b); err != nil || !bytes.Equal(got, saltB) {
						problems[h][l] = fmt.Sprintf("LookupSalt #%d of another ref = %s, %v%s; want its salt %s: DeleteSalt deletes its own ref's salt only", k, short(got), err, timedOut(ctx), short(saltB))
						return
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	trues := 0
	for h := range 2 {
		for d := range deleters {
			if err := delErrs[h][d]; err != nil {
				t.Errorf("DeleteSalt #%d through handle %s, racing LookupSalt and DeleteSalt: %v%s; want nil", d, handleNames[h], err, timedOut(ctx))
			}
			if deleted[h][d] {
				trues++
			}
		}
		for l, p := range problems[h] {
			if p != "" {
				t.Errorf("looker %d through handle %s: %s", l, handleNames[h], p)
			}
		}
	}
	if trues != 1 && !t.Failed() {
		t.Errorf("%d of %d racing DeleteSalt calls of one stored salt reported true; want exactly one: DeleteSalt reports whether there was a salt, and there was one salt to delete",
			trues, 2*deleters)
	}
	for h := range 2 {
		_, err := hs[h].LookupSalt(t.Context(), a)
		wantErr(t, err, audit.ErrNotFound, "LookupSalt through handle "+handleNames[h]+" after the racing DeleteSalts", "the salt was deleted")
		wantSalt(t, hs[h], b, saltB, "through handle "+handleNames[h]+", after the race: DeleteSalt deletes its own ref's salt only")
	}
	fresh := saltValue("deleted, then salted anew")
	if got, err := other.Salt(t.Context(), a, fresh); err != nil || !bytes.Equal(got, fresh) {
		t.Errorf("Salt through the other handle after the racing DeleteSalts = %s, %v; want the new fresh salt %s, stored anew", short(got), err, short(fresh))
	}
	wantSalt(t, s, a, fresh, "Salt after DeleteSalt stores the new fresh salt, for every process")
}

// Sizes of testTwoHandlesCheckpoint: per handle, putters goroutines each
// put a checkpoint of every size from 1 to cpSizes, in orders of their own.
const putters, cpSizes = 4, 16

// raceNote returns a signed-note-shaped checkpoint of size n by who: each
// putter's note for a size differs from the others'.
func raceNote(n int64, who string) []byte {
	root := sum("root", fmt.Sprint(n), who)
	sig := sum("sig", fmt.Sprint(n), who)
	return fmt.Appendf(nil, "gdprkit.test/audit\n%d\n%s\n\n— gdprkit.test/audit %s\n",
		n, base64.StdEncoding.EncodeToString(root), base64.StdEncoding.EncodeToString(sig))
}

func testTwoHandlesCheckpoint(t *testing.T, s, other audit.Store) {
	ctx := raceContext(t)
	hs := [2]audit.Store{s, other}
	sizeOf := map[string]int64{} // every note put, and its size
	for h := range 2 {
		for p := range putters {
			for n := int64(1); n <= cpSizes; n++ {
				sizeOf[string(raceNote(n, fmt.Sprintf("%d/%d", h, p)))] = n
			}
		}
	}
	var errs [2][putters]error
	var readErrs [2]string
	var wg, readers sync.WaitGroup
	start, done := make(chan struct{}), make(chan struct{})
	for h := range 2 {
		for p := range putters {
			wg.Go(func() {
				<-start
				for j := range int64(cpSizes) {
					n := 1 + (j+int64(p*5+h*3))%cpSizes
					if err := hs[h].PutCheckpoint(ctx, n, raceNote(n, fmt.Sprintf("%d/%d", h, p))); err != nil {
						errs[h][p] = fmt.Errorf("PutCheckpoint(%d): %w", n, err)
						return
					}
				}
			})
		}
		// A reader on each handle: the latest checkpoint is one that was
		// put, and its size never goes down (checkpoints are never deleted).
		readers.Go(func() {
			<-start
			seen := int64(0)
			for {
				select {
				case <-done:
					return
				default:
				}
				b, err := hs[h].LatestCheckpoint(ctx)
				switch n, ok := sizeOf[string(b)]; {
				case errors.Is(err, audit.ErrNotFound) && seen == 0:
				case err != nil:
					readErrs[h] = fmt.Sprintf("LatestCheckpoint after one of size %d: %v%s; want the checkpoint with the greatest size", seen, err, timedOut(ctx))
					return
				case !ok:
					readErrs[h] = fmt.Sprintf("LatestCheckpoint = %q; want one of the notes put, byte for byte", b)
					return
				case n < seen:
					readErrs[h] = fmt.Sprintf("LatestCheckpoint returned a checkpoint of size %d after one of size %d; want the greatest size stored, which never goes down", n, seen)
					return
				default:
					seen = n
				}
				time.Sleep(500 * time.Microsecond)
			}
		})
	}
	close(start)
	wg.Wait()
	close(done)
	readers.Wait()
	for h := range 2 {
		for p, err := range errs[h] {
			if err != nil {
				t.Errorf("putter %d on handle %s, racing the other handle's puts of the same sizes: %v%s; want nil: storing a second checkpoint for a size keeps the first and succeeds",
					p, handleNames[h], err, timedOut(ctx))
			}
		}
		if readErrs[h] != "" {
			t.Errorf("reading through handle %s while both handles put checkpoints: %s", handleNames[h], readErrs[h])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	var latest [2][]byte
	for h := range 2 {
		b, err := hs[h].LatestCheckpoint(t.Context())
		if n, ok := sizeOf[string(b)]; err != nil || !ok || n != cpSizes {
			t.Fatalf("LatestCheckpoint through handle %s after the race = %q, %v; want one of the notes put for size %d, the greatest", handleNames[h], b, err, cpSizes)
		}
		latest[h] = b
	}
	if !bytes.Equal(latest[0], latest[1]) {
		t.Fatalf("after the race, LatestCheckpoint through s = %q and through other = %q; want the same note: the first checkpoint of a size is kept, for every process", latest[0], latest[1])
	}
	if err := s.PutCheckpoint(t.Context(), cpSizes, raceNote(cpSizes, "late")); err != nil {
		t.Errorf("PutCheckpoint(%d) after the race: %v; want nil", cpSizes, err)
	}
	if b, err := other.LatestCheckpoint(t.Context()); err != nil || !bytes.Equal(b, latest[0]) {
		t.Errorf("LatestCheckpoint through the other handle after a late PutCheckpoint(%d) = %q, %v; want the note kept first, %q", cpSizes, b, err, latest[0])
	}
	next := raceNote(cpSizes+1, "next")
	if err := other.PutCheckpoint(t.Context(), cpSizes+1, next); err != nil {
		t.Fatalf("PutCheckpoint(%d) through the other handle: %v", cpSizes+1, err)
	}
	if b, err := s.LatestCheckpoint(t.Context()); err != nil || !bytes.Equal(b, next) {
		t.Errorf("LatestCheckpoint = %q, %v after PutCheckpoint(%d) through the other handle; want that checkpoint, the greatest size", b, err, cpSizes+1)
	}
}
