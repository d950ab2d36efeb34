package keystest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gdprkit/gdpr/crypto"
)

// The subtests of crypto.BatchUpdater, for a Store that implements it;
// they skip for one that does not.

func batchUpdater(t *testing.T, s crypto.Store) crypto.BatchUpdater {
	t.Helper()
	bu, ok := s.(crypto.BatchUpdater)
	if !ok {
		t.Skip("the Store is not a crypto.BatchUpdater")
	}
	return bu
}

// next returns r as an Update from its Version would write it, with
// Wrapped derived from seed and a new KEK.
func next(r crypto.Record, seed int) crypto.Record {
	n := NewRecord(r.Ref, seed, seed)
	n.Version, n.Created, n.KEK = r.Version, r.Created, "kek-2"
	return n
}

// testUpdateMany checks that UpdateMany applies each record on its own
// condition, as Update would, and reports each outcome in order.
func testUpdateMany(t *testing.T, s crypto.Store) {
	bu := batchUpdater(t, s)
	ctx := t.Context()
	a, b, c, e := NewRecord(Ref("a"), 1, 0), NewRecord(Ref("b"), 1, 0), NewRecord(Ref("c"), 1, 0), NewRecord(Ref("e"), 1, 0)
	mustCreate(t, s, a, b, c, e)
	mustShred(t, s, c.Ref, at(5))
	d := NewRecord(Ref("d"), 1, 0) // never created
	wrongB := next(b, 2)
	wrongB.Version = 2
	rs := []crypto.Record{next(a, 2), wrongB, next(c, 2), next(d, 2), next(e, 2)}
	errs, err := bu.UpdateMany(ctx, rs)
	if err != nil || len(errs) != len(rs) {
		t.Fatalf("UpdateMany of 5 records = %d results, %v; want 5 results and nil", len(errs), err)
	}
	if errs[0] != nil || errs[4] != nil {
		t.Errorf("UpdateMany: records from their stored Version got %v and %v; want nil", errs[0], errs[4])
	}
	wantErr(t, errs[1], crypto.ErrConflict, "UpdateMany, a record from another Version", "each record keeps Update's optimistic version")
	wantErr(t, errs[2], crypto.ErrShredded, "UpdateMany, a shredded Ref", "a tombstone refuses the record as Update's would")
	wantErr(t, errs[3], crypto.ErrNotFound, "UpdateMany, a Ref never created", "UpdateMany does not create")
	for _, i := range []int{0, 4} {
		want := rs[i]
		want.Version = 2
		wantRecord(t, fmt.Sprintf("Get after UpdateMany of record %d (Wrapped, KEK and Updated replaced, Version incremented)", i), mustGet(t, s, rs[i].Ref), want)
	}
	wantRecord(t, "Get of the record UpdateMany refused on its Version", mustGet(t, s, b.Ref), b)
	if _, err := s.Get(ctx, c.Ref); !errors.Is(err, crypto.ErrShredded) {
		t.Errorf("Get of a shredded Ref after UpdateMany: %v; want ErrShredded: a batch never resurrects a key", err)
	}
	if _, err := s.Get(ctx, d.Ref); !errors.Is(err, crypto.ErrNotFound) {
		t.Errorf("Get of an unknown Ref after UpdateMany: %v; want ErrNotFound", err)
	}

	if errs, err := bu.UpdateMany(ctx, nil); err != nil || len(errs) != 0 {
		t.Errorf("UpdateMany of no records = %d results, %v; want none and nil", len(errs), err)
	}
	aNow := mustGet(t, s, a.Ref)
	_, err = bu.UpdateMany(ctx, []crypto.Record{next(aNow, 3), next(b, 3), next(aNow, 4)})
	wantErr(t, err, crypto.ErrInvalid, "UpdateMany with a repeated Ref", "the Refs of one call are distinct")
	wantRecord(t, "Get after a refused UpdateMany with a repeated Ref", mustGet(t, s, a.Ref), aNow)
	wantRecord(t, "Get after a refused UpdateMany with a repeated Ref", mustGet(t, s, b.Ref), b)
}

// testUpdateManyLarge checks a batch of many records, every seventh on a
// stale Version.
func testUpdateManyLarge(t *testing.T, s crypto.Store) {
	bu := batchUpdater(t, s)
	const n = 150
	rs := make([]crypto.Record, n)
	for i := range rs {
		r := NewRecord(Ref(fmt.Sprint("many-", i)), 1, 0)
		mustCreate(t, s, r)
		rs[i] = next(r, 2)
		if i%7 == 3 {
			rs[i].Version = 5
		}
	}
	errs, err := bu.UpdateMany(t.Context(), rs)
	if err != nil || len(errs) != n {
		t.Fatalf("UpdateMany of %d records = %d results, %v", n, len(errs), err)
	}
	for i, r := range rs {
		got := mustGet(t, s, r.Ref)
		if i%7 == 3 {
			wantErr(t, errs[i], crypto.ErrConflict, fmt.Sprintf("UpdateMany, record %d on a stale Version", i), "each record keeps its own condition")
			if got.Version != 1 {
				t.Errorf("record %d refused by UpdateMany is at Version %d; want 1, unchanged", i, got.Version)
			}
			continue
		}
		if errs[i] != nil {
			t.Errorf("UpdateMany, record %d from its stored Version: %v; want nil", i, errs[i])
		}
		want := r
		want.Version = 2
		wantRecord(t, fmt.Sprintf("Get of record %d after UpdateMany", i), got, want)
	}
}

// testRaceUpdateManyShred runs an UpdateMany of many records through one
// handle while the other shreds every other one of them: a shredded Ref
// stays shredded whichever ran first (a rewrap racing a shred never
// resurrects a key), and the UpdateMany's result for it is nil (it ran
// first) or ErrShredded.
func testRaceUpdateManyShred(t *testing.T, s, other crypto.Store) {
	if _, ok := s.(crypto.BatchUpdater); !ok {
		t.Skip("the Store is not a crypto.BatchUpdater")
	}
	const n = 40
	rs := make([]crypto.Record, n)
	for i := range rs {
		r := NewRecord(Ref(fmt.Sprint("race-many-", i)), 1, 0)
		mustCreate(t, s, r)
		rs[i] = next(r, 2)
	}
	var batchErrs []error
	errs := race(t, 2, s, other, func(ctx context.Context, g int, h crypto.Store) error {
		if g == 0 {
			var err error
			batchErrs, err = h.(crypto.BatchUpdater).UpdateMany(ctx, rs)
			return err
		}
		for i := 1; i < n; i += 2 {
			if err := h.Shred(ctx, rs[i].Ref, at(9)); err != nil {
				return err
			}
		}
		return nil
	})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("UpdateMany racing Shreds: %v; Shreds: %v; want nil for both", errs[0], errs[1])
	}
	for i, r := range rs {
		_, err := s.Get(t.Context(), r.Ref)
		if i%2 == 1 {
			if !errors.Is(err, crypto.ErrShredded) {
				t.Errorf("record %d, shredded while an UpdateMany ran: Get = %v; want ErrShredded: the batch resurrected a shredded key", i, err)
			}
			if batchErrs[i] != nil {
				wantErr(t, batchErrs[i], crypto.ErrShredded, fmt.Sprintf("UpdateMany, record %d shredded meanwhile", i), "a record shredded first is refused as shredded")
			}
			continue
		}
		if err != nil || batchErrs[i] != nil {
			t.Errorf("record %d, not shredded: UpdateMany %v, Get %v; want both nil", i, batchErrs[i], err)
		}
	}
}
