package audittest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
)

// The subtests of audit.SaltLookuper, for a Store that implements it;
// they skip for one that does not.

// saltLookuper returns s as an audit.SaltLookuper, or skips the test.
func saltLookuper(t *testing.T, s audit.Store) audit.SaltLookuper {
	t.Helper()
	sl, ok := s.(audit.SaltLookuper)
	if !ok {
		t.Skip("the Store is not an audit.SaltLookuper")
	}
	return sl
}

// wantSalts fails t unless got holds want's salts, in order, nil where
// want's is.
func wantSalts(t *testing.T, call string, got, want [][]byte, why string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s returned %d salts for %d refs; want one for each ref, in order: %s", call, len(got), len(want), why)
		return
	}
	for i := range want {
		if (got[i] == nil) != (want[i] == nil) || !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s: ref %d got %s; want %s: %s", call, i, short(got[i]), short(want[i]), why)
		}
	}
}

func testLookupSalts(t *testing.T, s, other audit.Store) {
	sl := saltLookuper(t, s)
	ctx := t.Context()
	a, b, missing := saltRef("lookup-a"), saltRef("lookup-b"), saltRef("lookup-missing")
	sa, sb := saltValue("lookup-a"), saltValue("lookup-b")
	for _, p := range [][2][]byte{{a, sa}, {b, sb}} {
		if _, err := s.Salt(ctx, p[0], p[1]); err != nil {
			t.Fatalf("Salt: %v", err)
		}
	}
	refs := [][]byte{a, missing, b, a, near(a)}
	want := [][]byte{sa, nil, sb, sa, nil}
	got, err := sl.LookupSalts(ctx, refs)
	if err != nil {
		t.Fatalf("LookupSalts of 2 stored refs, one of them twice, and 2 missing: %v; want nil", err)
	}
	wantSalts(t, "LookupSalts", got, want,
		"each ref's stored salt, nil for a ref without one (one that differs from a stored ref in its last byte included), a ref given twice getting its salt twice")
	if ol, ok := other.(audit.SaltLookuper); ok {
		got, err := ol.LookupSalts(ctx, refs)
		if err != nil {
			t.Fatalf("LookupSalts through the other handle: %v", err)
		}
		wantSalts(t, "LookupSalts through the other handle", got, want, "the salts stored through the first handle, for every process")
	}
	if len(got) == len(want) && got[0] != nil && got[3] != nil {
		got[0][0] ^= 0xff
		if !bytes.Equal(got[3], sa) {
			t.Errorf("changing the salt LookupSalts returned for a ref changed the one it returned for the same ref given again: the salts of the result must not share their bytes")
		}
	}
	wantSalt(t, s, a, sa, "changing a salt LookupSalts returned changes nothing stored")
	for h, st := range []audit.Store{s, other} {
		if got, err := st.LookupSalt(ctx, missing); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("through handle %s, LookupSalt of a ref LookupSalts did not find = %s, %v; want ErrNotFound: LookupSalts only reads, it never stores a salt", handleNames[h], short(got), err)
		}
	}
	fresh := saltValue("lookup-missing")
	if got, err := s.Salt(ctx, missing, fresh); err != nil || !bytes.Equal(got, fresh) {
		t.Errorf("Salt of a ref LookupSalts did not find = %s, %v; want the fresh salt %s: LookupSalts stores nothing", short(got), err, short(fresh))
	}
}

func testLookupSaltsEmpty(t *testing.T, s audit.Store) {
	sl := saltLookuper(t, s)
	if _, err := s.Salt(t.Context(), saltRef("lookup-a"), saltValue("lookup-a")); err != nil {
		t.Fatalf("Salt: %v", err)
	}
	for _, refs := range [][][]byte{nil, {}} {
		if got, err := sl.LookupSalts(t.Context(), refs); err != nil || len(got) != 0 {
			t.Errorf("LookupSalts(%#v) = %d salts, %v; want none and nil", refs, len(got), err)
		}
	}
}

func testLookupSaltsAfterDelete(t *testing.T, s, other audit.Store) {
	sl := saltLookuper(t, s)
	ctx := t.Context()
	a, b := saltRef("lookup-a"), saltRef("lookup-b")
	sa, sb := saltValue("lookup-a"), saltValue("lookup-b")
	for _, p := range [][2][]byte{{a, sa}, {b, sb}} {
		if _, err := s.Salt(ctx, p[0], p[1]); err != nil {
			t.Fatalf("Salt: %v", err)
		}
	}
	if ok, err := other.DeleteSalt(ctx, a); !ok || err != nil {
		t.Fatalf("DeleteSalt through the other handle = %v, %v; want true and nil", ok, err)
	}
	got, err := sl.LookupSalts(ctx, [][]byte{a, b})
	if err != nil {
		t.Fatalf("LookupSalts after DeleteSalt: %v", err)
	}
	wantSalts(t, "LookupSalts after DeleteSalt of the first ref through the other handle", got, [][]byte{nil, sb},
		"a deleted salt is gone for every process (this is what erasure means), and the other ref's stays")
	fresh := saltValue("lookup-a again")
	if _, err := s.Salt(ctx, a, fresh); err != nil {
		t.Fatalf("Salt after DeleteSalt: %v", err)
	}
	got, err = sl.LookupSalts(ctx, [][]byte{a})
	if err != nil {
		t.Fatalf("LookupSalts after a new Salt: %v", err)
	}
	wantSalts(t, "LookupSalts after DeleteSalt and a new Salt", got, [][]byte{fresh}, "the new salt, not the deleted one")
}

// lookupMany is the number of refs of testLookupSaltsMany: more than one
// IN list of a SQL store.
const lookupMany = 300

func testLookupSaltsMany(t *testing.T, s, other audit.Store) {
	sl := saltLookuper(t, s)
	ctx := t.Context()
	stored := make([][]byte, lookupMany)
	fresh := make([][]byte, lookupMany)
	for i := range stored {
		stored[i], fresh[i] = saltRef(fmt.Sprint("lookup-many-", i)), saltValue(fmt.Sprint("lookup-many-", i))
	}
	// The salts are created as a Log creates them, in an append.
	if _, err := Append(ctx, appenderFunc(func(_ audit.Head, r tlog.HashReader) error {
		_, err := saltReader(t, r).Salts(stored, fresh)
		return err
	}, s), mixedEntry(0)); err != nil {
		t.Fatalf("Append that creates %d salts: %v", lookupMany, err)
	}
	// Stored and missing refs interleaved, and every tenth stored ref
	// again at the end.
	var refs, want [][]byte
	for i := range stored {
		refs = append(refs, stored[i], saltRef(fmt.Sprint("lookup-many-missing-", i)))
		want = append(want, fresh[i], nil)
	}
	for i := 0; i < lookupMany; i += 10 {
		refs, want = append(refs, stored[i]), append(want, fresh[i])
	}
	got, err := sl.LookupSalts(ctx, refs)
	if err != nil {
		t.Fatalf("LookupSalts of %d refs: %v; want nil", len(refs), err)
	}
	wantSalts(t, fmt.Sprintf("LookupSalts of %d refs", len(refs)), got, want, "each ref's salt, in the order asked, whatever their number")
	if ol, ok := other.(audit.SaltLookuper); ok {
		got, err := ol.LookupSalts(ctx, refs)
		if err != nil {
			t.Fatalf("LookupSalts through the other handle: %v", err)
		}
		wantSalts(t, fmt.Sprintf("LookupSalts of %d refs through the other handle", len(refs)), got, want, "the salts an append created, for every process")
	}
}

func testLookupSaltsInvalid(t *testing.T, s audit.Store) {
	sl := saltLookuper(t, s)
	_, err := sl.LookupSalts(t.Context(), [][]byte{saltRef("lookup-a"), {}})
	wantErr(t, err, audit.ErrInvalid, "LookupSalts with an empty ref", "a ref is what Store.Salt accepts")
}
