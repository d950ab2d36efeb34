package keystest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
)

// The subtests of crypto.BatchGetter, for a Store that implements it;
// they skip for one that does not.

func batchGetter(t *testing.T, s crypto.Store) crypto.BatchGetter {
	t.Helper()
	bg, ok := s.(crypto.BatchGetter)
	if !ok {
		t.Skip("the Store is not a crypto.BatchGetter")
	}
	return bg
}

// wantState fails t unless got is what a Store holding want (a live
// record, a tombstone of when, or nothing) should answer.
func wantState(t *testing.T, call string, got crypto.RefState, state gdpr.KeyState, rec crypto.Record, when time.Time) {
	t.Helper()
	if got.State != state {
		t.Errorf("%s: State %s, want %s", call, got.State, state)
		return
	}
	switch state {
	case gdpr.KeyLive:
		wantRecord(t, call, got.Record, rec)
		if !got.Shredded.IsZero() {
			t.Errorf("%s: a live record with Shredded %s; want it zero", call, got.Shredded)
		}
	case gdpr.KeyShredded:
		want := normTime(when)
		if !got.Shredded.Equal(want) || got.Shredded.Location() != time.UTC {
			t.Errorf("%s: tombstone time %s, want %s: the time of the first Shred, to the microsecond, in UTC",
				call, got.Shredded.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
		if got.Record.Ref != "" || got.Record.Wrapped != nil || got.Record.KEK != "" {
			t.Errorf("%s: a tombstone with a Record (Ref %q, KEK %q); want a zero Record: a tombstone holds the Ref and the time only", call, got.Record.Ref, got.Record.KEK)
		}
	case gdpr.KeyNone:
		if got.Record.Ref != "" || got.Record.Wrapped != nil || got.Record.KEK != "" || !got.Shredded.IsZero() {
			t.Errorf("%s: a Record (Ref %q, KEK %q) or a tombstone time (%s) for a Ref with neither a record nor a tombstone; want the zero RefState",
				call, got.Record.Ref, got.Record.KEK, got.Shredded)
		}
	}
}

// testGetMany checks that GetMany answers each Ref, in order, as Get and
// Tombstone would: live records whole, tombstones with the time of the
// first Shred, nothing for an unknown Ref, the same for a repeated one;
// and that it writes nothing.
func testGetMany(t *testing.T, s crypto.Store) {
	bg := batchGetter(t, s)
	ctx := t.Context()
	a, b, c := NewRecord(Ref("a"), 1, 0), NewRecord(Ref("b"), 1, 1), NewRecord(Ref("c"), 1, 2)
	mustCreate(t, s, a, b, c)
	u := NewRecord(b.Ref, 2, 7)
	u.Created = b.Created
	if err := s.Update(ctx, u); err != nil {
		t.Fatalf("Update: %v", err)
	}
	b = u
	b.Version = 2
	paris := time.FixedZone("CET", 3600)
	when := time.Date(2025, 3, 3, 10, 45, 0, 123456789, paris)
	mustShred(t, s, c.Ref, when)
	mustShred(t, s, c.Ref, when.Add(time.Hour))
	mustShred(t, s, Ref("tombstone-only"), at(9))
	before := allRefs(t, s)

	refs := []string{a.Ref, Ref("nobody"), c.Ref, b.Ref, a.Ref, Ref("tombstone-only"), Ref("nobody")}
	got, err := bg.GetMany(ctx, refs)
	if err != nil || len(got) != len(refs) {
		t.Fatalf("GetMany of %d Refs = %d answers, %v; want %d answers and nil", len(refs), len(got), err, len(refs))
	}
	wantState(t, "GetMany, a live Ref", got[0], gdpr.KeyLive, a, time.Time{})
	wantState(t, "GetMany, a Ref never seen", got[1], gdpr.KeyNone, crypto.Record{}, time.Time{})
	wantState(t, "GetMany, a shredded Ref", got[2], gdpr.KeyShredded, crypto.Record{}, when)
	wantState(t, "GetMany, an updated Ref (Wrapped, KEK, Updated and Version as the Update left them)", got[3], gdpr.KeyLive, b, time.Time{})
	wantState(t, "GetMany, a Ref repeated", got[4], gdpr.KeyLive, a, time.Time{})
	wantState(t, "GetMany, a Ref shredded and never created", got[5], gdpr.KeyShredded, crypto.Record{}, at(9))
	wantState(t, "GetMany, an unknown Ref repeated", got[6], gdpr.KeyNone, crypto.Record{}, time.Time{})
	if tr, ok := s.(crypto.TombstoneReader); ok {
		if t0, err := tr.Tombstone(ctx, c.Ref); err != nil || !t0.Equal(got[2].Shredded) {
			t.Errorf("Tombstone = %s, %v; GetMany said %s: both give the time of the first Shred", t0, err, got[2].Shredded)
		}
	}
	got[0].Record.Wrapped[0] ^= 0xff
	wantRecord(t, "Get after changing the Wrapped bytes GetMany returned", mustGet(t, s, a.Ref), a)
	if after := allRefs(t, s); len(after) != len(before) {
		t.Errorf("GetMany changed the Refs the Store holds from %d to %d; want it to write nothing", len(before), len(after))
	}
	if _, err := s.Get(ctx, Ref("nobody")); !errors.Is(err, crypto.ErrNotFound) {
		t.Errorf("Get of a Ref GetMany was asked for and never created: %v; want ErrNotFound: GetMany creates nothing", err)
	}

	for _, refs := range [][]string{nil, {}} {
		if got, err := bg.GetMany(ctx, refs); err != nil || len(got) != 0 {
			t.Errorf("GetMany of no Refs = %d answers, %v; want none and nil", len(got), err)
		}
	}

	if err := s.Revive(ctx, NewRecord(c.Ref, 3, 30)); err != nil {
		t.Fatalf("Revive: %v", err)
	}
	got, err = bg.GetMany(ctx, []string{c.Ref})
	if err != nil || len(got) != 1 {
		t.Fatalf("GetMany after Revive = %d answers, %v", len(got), err)
	}
	wantState(t, "GetMany of a revived Ref", got[0], gdpr.KeyLive, NewRecord(c.Ref, 3, 30), time.Time{})
}

// allRefs returns every Ref s holds, live or shredded.
func allRefs(t *testing.T, s crypto.Store) []string {
	t.Helper()
	var all []string
	after := ""
	for {
		refs, err := s.Refs(t.Context(), after, 500)
		if err != nil {
			t.Fatalf("Refs: %v", err)
		}
		all = append(all, refs...)
		if len(refs) < 500 {
			return all
		}
		after = refs[len(refs)-1]
	}
}

// testGetManyLarge checks one GetMany of more Refs than a SQL store reads
// in one statement (1,200: 300 stored, a third of them shredded, and 900
// never seen, shuffled), so chunks and their padding are exercised.
func testGetManyLarge(t *testing.T, s crypto.Store) {
	bg := batchGetter(t, s)
	const stored, unknown = 300, 900
	type want struct {
		state gdpr.KeyState
		rec   crypto.Record // live
		when  time.Time     // shredded
	}
	wants := map[string]want{}
	var refs []string
	for i := range stored {
		r := NewRecord(Ref(fmt.Sprint("many-", i)), i, i%60)
		mustCreate(t, s, r)
		w := want{state: gdpr.KeyLive, rec: r}
		if i%3 == 1 {
			mustShred(t, s, r.Ref, at(100+i))
			w = want{state: gdpr.KeyShredded, when: at(100 + i)}
		}
		wants[r.Ref] = w
		refs = append(refs, r.Ref)
	}
	for i := range unknown {
		ref := Ref(fmt.Sprint("unknown-", i))
		wants[ref] = want{state: gdpr.KeyNone}
		refs = append(refs, ref)
	}
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
	got, err := bg.GetMany(t.Context(), refs)
	if err != nil || len(got) != len(refs) {
		t.Fatalf("GetMany of %d Refs = %d answers, %v; want %d answers and nil", len(refs), len(got), err, len(refs))
	}
	bad := 0
	for i, ref := range refs {
		w := wants[ref]
		if got[i].State != w.state || (w.state == gdpr.KeyLive && len(recordDiff(got[i].Record, w.rec)) > 0) ||
			(w.state == gdpr.KeyShredded && !got[i].Shredded.Equal(w.when)) {
			if bad++; bad <= 5 {
				t.Errorf("GetMany, answer %d of %d: %s; want %s, the answer of its own Ref (answers in the order of refs)", i, len(refs), got[i].State, w.state)
			}
		}
	}
	if bad > 5 {
		t.Errorf("GetMany: %d answers of %d wrong in all", bad, len(refs))
	}
}

// testRaceGetManyShred runs GetManys through one handle while the other
// shreds the Refs they read: each answer is the live record or the
// tombstone, never nothing and never another Ref's record, and once the
// Shreds have returned every answer is the tombstone.
func testRaceGetManyShred(t *testing.T, s, other crypto.Store) {
	if _, ok := s.(crypto.BatchGetter); !ok {
		t.Skip("the Store is not a crypto.BatchGetter")
	}
	const n = 40
	recs := make([]crypto.Record, n)
	refs := make([]string, n)
	for i := range recs {
		recs[i] = NewRecord(Ref(fmt.Sprint("race-get-", i)), i, 0)
		refs[i] = recs[i].Ref
		mustCreate(t, s, recs[i])
	}
	var answers [][]crypto.RefState
	errs := race(t, 2, s, other, func(ctx context.Context, g int, h crypto.Store) error {
		if g == 0 {
			for range 5 {
				got, err := h.(crypto.BatchGetter).GetMany(ctx, refs)
				if err != nil {
					return err
				}
				answers = append(answers, got)
			}
			return nil
		}
		for _, ref := range refs {
			if err := h.Shred(ctx, ref, at(9)); err != nil {
				return err
			}
		}
		return nil
	})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("GetMany racing Shreds: %v; Shreds: %v; want nil for both", errs[0], errs[1])
	}
	for k, got := range answers {
		if len(got) != n {
			t.Fatalf("GetMany %d of %d Refs: %d answers", k, n, len(got))
		}
		for i, st := range got {
			switch st.State {
			case gdpr.KeyLive:
				wantRecord(t, fmt.Sprintf("GetMany %d, Ref %d, live while the other handle shredded", k, i), st.Record, recs[i])
			case gdpr.KeyShredded:
			default:
				t.Errorf("GetMany %d, Ref %d: State %s while a Shred ran; want live or shredded: the Ref always has a record or a tombstone", k, i, st.State)
			}
		}
	}
	got, err := s.(crypto.BatchGetter).GetMany(t.Context(), refs)
	if err != nil || len(got) != n {
		t.Fatalf("GetMany after the Shreds = %d answers, %v", len(got), err)
	}
	for i, st := range got {
		wantState(t, fmt.Sprintf("GetMany after the Shreds returned, Ref %d", i), st, gdpr.KeyShredded, crypto.Record{}, at(9))
	}
}
