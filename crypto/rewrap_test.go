package crypto_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
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
