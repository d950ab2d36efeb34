package crypto_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// flakyStore fails the first Update of one Ref, as a database that drops
// the connection would.
type flakyStore struct {
	crypto.Store
	mu     sync.Mutex
	ref    string
	failed bool
}

var errDropped = errors.New("connection reset")

func (s *flakyStore) Update(ctx context.Context, r crypto.Record) error {
	s.mu.Lock()
	fail := r.Ref == s.ref && !s.failed
	if fail {
		s.failed = true
	}
	s.mu.Unlock()
	if fail {
		return &crypto.Error{Op: "update", Err: errDropped}
	}
	return s.Store.Update(ctx, r)
}

// Rewrap's cursor names the last record it finished: a run that fails on
// a record returns (and has reported) a cursor before it, so the run
// resumed from that cursor rewraps it, and once every pass is done every
// record is on the new KEK and the old one can be retired without losing
// anyone. The failure is tried on every position of a batch, in the first
// batch and in a later one.
func TestRewrapResumesAtTheFailedRecord(t *testing.T) {
	const subjects = 7 // and the Keyring's own two keys: 9 records
	for _, batch := range []int{100, 3} {
		for fail := range subjects + 2 {
			t.Run(fmt.Sprintf("batch%d/fail%d", batch, fail), func(t *testing.T) {
				f := newFixture(t)
				cts := map[gdpr.SubjectID][]byte{}
				for i := range subjects {
					s := gdpr.SubjectID(fmt.Sprintf("subject-%d", i))
					cts[s] = f.encrypt(s, email, string(s))
				}
				all, err := f.store.List(f.ctx, "", 100)
				if err != nil || len(all) != subjects+2 {
					t.Fatalf("List = %d records, %v", len(all), err)
				}
				store := &flakyStore{Store: f.store, ref: all[fail].Ref}
				newKEK, _ := crypto.EphemeralKEK("test-kek-2")
				k2, err := crypto.New(f.ctx, store, newKEK, crypto.WithPreviousKEKs(f.kek))
				if err != nil {
					t.Fatal(err)
				}
				var reported []string
				p, err := k2.Rewrap(f.ctx, "", batch, func(p crypto.RewrapProgress) { reported = append(reported, p.Cursor) })
				if !errors.Is(err, errDropped) {
					t.Fatalf("Rewrap with a failing Update: %v; want the Store's error", err)
				}
				if p.Cursor >= all[fail].Ref {
					t.Errorf("Rewrap failed on record %d but returned a cursor at or past it (%d records before it finished): the resumed run would skip it", fail, fail)
				}
				if want := ""; fail > 0 {
					want = all[fail-1].Ref
					if p.Cursor != want {
						t.Errorf("Rewrap failed on record %d; its cursor is not record %d, the last it finished", fail, fail-1)
					}
				} else if p.Cursor != want {
					t.Errorf("Rewrap failed on the first record; its cursor is not the empty start")
				}
				for _, c := range reported {
					if c >= all[fail].Ref {
						t.Errorf("progress reported a cursor at or past the record that then failed")
					}
				}
				if p.Rewrapped != fail || p.Visited != fail {
					t.Errorf("failed Rewrap visited %d and rewrapped %d; want %d each (the records it finished)", p.Visited, p.Rewrapped, fail)
				}
				p, err = k2.Rewrap(f.ctx, p.Cursor, batch, nil)
				if err != nil || !p.Done {
					t.Fatalf("resumed Rewrap: done %v, %v", p.Done, err)
				}
				recs, _ := f.store.List(f.ctx, "", 100)
				for i, r := range recs {
					if r.KEK != newKEK.ID {
						t.Errorf("record %d is still on KEK %q after the failed run and its resumption; retiring that KEK loses it", i, r.KEK)
					}
				}
				// Retire the old KEK: everyone still decrypts.
				k3, err := crypto.New(f.ctx, f.store, newKEK)
				if err != nil {
					t.Fatalf("New with the new KEK alone: %v", err)
				}
				for s, ct := range cts {
					if pt, err := k3.Decrypt(f.ctx, s, email, ct); err != nil || string(pt) != string(s) {
						t.Errorf("after the old KEK is retired, a subject's data: %v", err)
					}
				}
			})
		}
	}
}

// flakyBatchStore is a BatchUpdater whose UpdateMany fails once, before
// writing, for the batch that holds one Ref.
type flakyBatchStore struct {
	*memkeys.Store
	mu     sync.Mutex
	ref    string
	failed bool
	calls  int
}

func (s *flakyBatchStore) UpdateMany(ctx context.Context, rs []crypto.Record) ([]error, error) {
	s.mu.Lock()
	s.calls++
	fail := !s.failed && slices.ContainsFunc(rs, func(r crypto.Record) bool { return r.Ref == s.ref })
	if fail {
		s.failed = true
	}
	s.mu.Unlock()
	if fail {
		return nil, &crypto.Error{Op: "update", Err: errDropped}
	}
	return s.Store.UpdateMany(ctx, rs)
}

// A Store that is a BatchUpdater gets one UpdateMany per batch; one that
// fails finishes no record of its batch, so the cursor stays at the end of
// the batch before, and the run resumed from it rewraps the whole batch.
func TestRewrapBatchFailureResumesAtTheBatch(t *testing.T) {
	const subjects, batch = 10, 4 // and the Keyring's two keys: 12 records, 3 batches
	for fail := range subjects + 2 {
		t.Run(fmt.Sprintf("fail%d", fail), func(t *testing.T) {
			f := newFixture(t)
			for i := range subjects {
				f.encrypt(gdpr.SubjectID(fmt.Sprintf("subject-%d", i)), email, "v")
			}
			all, _ := f.store.List(f.ctx, "", 100)
			store := &flakyBatchStore{Store: f.store, ref: all[fail].Ref}
			newKEK, _ := crypto.EphemeralKEK("test-kek-2")
			k2, err := crypto.New(f.ctx, store, newKEK, crypto.WithPreviousKEKs(f.kek))
			if err != nil {
				t.Fatal(err)
			}
			p, err := k2.Rewrap(f.ctx, "", batch, nil)
			if !errors.Is(err, errDropped) {
				t.Fatalf("Rewrap with a failing UpdateMany: %v; want the Store's error", err)
			}
			start := fail / batch * batch // the failed batch's first record
			want := ""
			if start > 0 {
				want = all[start-1].Ref
			}
			if p.Cursor != want || p.Visited != start || p.Rewrapped != start {
				t.Errorf("Rewrap failed in the batch from record %d: cursor at %d, visited %d, rewrapped %d; want the batch before finished and nothing of this one",
					start, slices.IndexFunc(all, func(r crypto.Record) bool { return r.Ref == p.Cursor }), p.Visited, p.Rewrapped)
			}
			if store.calls != start/batch+1 {
				t.Errorf("Rewrap made %d UpdateMany calls for %d batches; want one per batch", store.calls, start/batch+1)
			}
			q, err := k2.Rewrap(f.ctx, p.Cursor, batch, nil)
			if err != nil || !q.Done || q.Visited != len(all)-start || q.Rewrapped != q.Visited {
				t.Fatalf("resumed Rewrap = %+v, %v; want the %d records from the failed batch on rewrapped", q, err, len(all)-start)
			}
			recs, _ := f.store.List(f.ctx, "", 100)
			for i, r := range recs {
				if r.KEK != newKEK.ID {
					t.Errorf("record %d is still on the old KEK after the failed run and its resumption", i)
				}
			}
		})
	}
}

// updateOnly hides a Store's UpdateMany: Rewrap then writes with Update.
type updateOnly struct{ crypto.Store }

// Rewrap beside Shred, Rotate and Encrypt of the same subjects, with and
// without UpdateMany: a subject shredded during the rewrap stays shredded
// (no batch resurrects its key), a rotated one keeps its new key, each
// record is counted once, and after a second pass everything live is on
// the new KEK and opens without the old one.
func TestRewrapRacingShredRotateEncrypt(t *testing.T) {
	for _, batchStore := range []bool{true, false} {
		t.Run(fmt.Sprintf("UpdateMany=%v", batchStore), func(t *testing.T) {
			const subjects = 400
			f := newFixture(t)
			cts := make([][]byte, subjects)
			subject := func(i int) gdpr.SubjectID { return gdpr.SubjectID(fmt.Sprintf("subject-%d", i)) }
			for i := range subjects {
				cts[i] = f.encrypt(subject(i), email, string(subject(i)))
			}
			var store crypto.Store = f.store
			if !batchStore {
				store = updateOnly{f.store}
			}
			newKEK, _ := crypto.EphemeralKEK("test-kek-2")
			k2, err := crypto.New(f.ctx, store, newKEK, crypto.WithPreviousKEKs(f.kek))
			if err != nil {
				t.Fatal(err)
			}
			// Another instance, started as Rewrap's doc says (the new KEK
			// current, the old one previous).
			other, err := crypto.New(f.ctx, f.store, newKEK, crypto.WithPreviousKEKs(f.kek))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range subjects {
					var err error
					switch i % 4 {
					case 1:
						err = other.Shred(f.ctx, subject(i))
					case 2:
						// Rotate's optimistic version loses to a rewrap of
						// the record: the caller tries again.
						for range 5 {
							if err = other.Rotate(f.ctx, subject(i)); !errors.Is(err, crypto.ErrConflict) {
								break
							}
						}
					case 3:
						_, err = other.Encrypt(f.ctx, subject(i), email, []byte("more"))
						if err == nil {
							_, err = other.Encrypt(f.ctx, gdpr.SubjectID(fmt.Sprint("new-", i)), email, []byte("new"))
						}
					}
					if err != nil {
						t.Error(err)
					}
				}
			}()
			p, err := k2.Rewrap(f.ctx, "", 16, nil)
			wg.Wait()
			if err != nil || !p.Done || p.Visited != p.Rewrapped+p.Skipped+p.Lost {
				t.Fatalf("Rewrap beside live traffic = %+v, %v", p, err)
			}
			if p.Visited > subjects+subjects/4+2 {
				t.Errorf("Rewrap visited %d records of at most %d: one twice", p.Visited, subjects+subjects/4+2)
			}
			if _, err := k2.Rewrap(f.ctx, "", 16, nil); err != nil {
				t.Fatal(err)
			}
			recs, _ := f.store.List(f.ctx, "", 1000)
			for _, r := range recs {
				if r.KEK != newKEK.ID {
					t.Errorf("a record is on KEK %q after two passes", r.KEK)
				}
			}
			if want := subjects + 2; len(recs) != want { // a quarter shredded, as many new
				t.Errorf("%d live records after the race; want %d (every shredded subject stays shredded)", len(recs), want)
			}
			k3, err := crypto.New(f.ctx, f.store, newKEK)
			if err != nil {
				t.Fatal(err)
			}
			for i, ct := range cts {
				pt, err := k3.Decrypt(f.ctx, subject(i), email, ct)
				if i%4 == 1 {
					if !errors.Is(err, crypto.ErrShredded) {
						t.Errorf("subject %d, shredded during the rewrap: Decrypt = %v; want ErrShredded", i, err)
					}
				} else if err != nil || string(pt) != string(subject(i)) {
					t.Errorf("subject %d after the rewrap, with the new KEK alone: %v", i, err)
				}
			}
		})
	}
}
