package audittest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
)

// The salts of an append (audit.SaltReader): the reader Append gives fn
// creates salts that commit with the batch, and only with it.

// saltReader returns r as an audit.SaltReader, failing t if it is not one.
func saltReader(t *testing.T, r tlog.HashReader) audit.SaltReader {
	t.Helper()
	sr, ok := r.(audit.SaltReader)
	if !ok {
		t.Fatalf("the reader Append gave fn is a %T, not an audit.SaltReader: the Log creates new subjects' salts through it, in the append's transaction", r)
	}
	return sr
}

func testAppendSalts(t *testing.T, s, other audit.Store) {
	ctx := t.Context()
	m := &model{}
	a, b := saltRef("append-a"), saltRef("append-b")
	sa := saltValue("append-a")
	if _, err := s.Salt(ctx, a, sa); err != nil {
		t.Fatalf("Salt: %v", err)
	}
	var got [][]byte
	err := s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		var err error
		got, err = saltReader(t, r).Salts([][]byte{a, b, b}, [][]byte{saltValue("other"), saltValue("b-1"), saltValue("b-2")})
		if err != nil {
			return nil, err
		}
		if again, err := saltReader(t, r).Salts([][]byte{b}, [][]byte{saltValue("b-3")}); err != nil || len(again) != 1 || !bytes.Equal(again[0], saltValue("b-1")) {
			t.Errorf("a second Salts of a ref created in the same append = %v, %v; want the salt the first created", again, err)
		}
		return NextBatch(h, r, []audit.StoredEntry{mixedEntry(0)})
	})
	if err != nil {
		t.Fatalf("Append whose fn calls Salts: %v", err)
	}
	m.add(mixedEntry(0))
	switch {
	case len(got) != 3:
		t.Fatalf("Salts of 3 refs returned %d salts", len(got))
	case !bytes.Equal(got[0], sa):
		t.Errorf("Salts of a stored ref = %s; want the stored salt %s", short(got[0]), short(sa))
	case !bytes.Equal(got[1], saltValue("b-1")) || !bytes.Equal(got[2], got[1]):
		t.Errorf("Salts of a new ref given twice = %s, %s; want its first fresh salt, %s, twice", short(got[1]), short(got[2]), short(saltValue("b-1")))
	}
	wantSalt(t, s, b, saltValue("b-1"), "the salt created in the committed append")
	wantSalt(t, other, b, saltValue("b-1"), "through the other handle, the salt created in the committed append")
	wantSalt(t, s, a, sa, "a stored salt is not changed by Salts")
	if got, err := s.Salt(ctx, b, saltValue("b-4")); err != nil || !bytes.Equal(got, saltValue("b-1")) {
		t.Errorf("Salt of a ref created in an append = %s, %v; want that salt", short(got), err)
	}
	wantLog(t, s, m, "after an Append that created a salt")
}

func testAppendSaltsDiscarded(t *testing.T, s, other audit.Store) {
	ctx := t.Context()
	m := &model{}
	mustAppend(t, s, m, mixedEntry(0))
	refused := errors.New("refused")
	cases := []struct {
		name string
		ret  func(h audit.Head, r tlog.HashReader) (*audit.Batch, error)
		want error
	}{
		{"fn returns an error", func(audit.Head, tlog.HashReader) (*audit.Batch, error) { return nil, refused }, refused},
		{"fn returns a nil Batch", func(audit.Head, tlog.HashReader) (*audit.Batch, error) { return nil, nil }, nil},
		{"the Batch is refused", func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
			b, err := NextBatch(h, r, []audit.StoredEntry{mixedEntry(1)})
			if err == nil {
				b.Hashes = b.Hashes[:len(b.Hashes)-1]
			}
			return b, err
		}, audit.ErrConflict},
	}
	for i, c := range cases {
		ref := saltRef(fmt.Sprint("discarded-", i))
		err := s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
			if _, err := saltReader(t, r).Salts([][]byte{ref}, [][]byte{saltValue("discarded")}); err != nil {
				t.Errorf("Salts of a new ref: %v", err)
			}
			return c.ret(h, r)
		})
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("Append when %s = %v; want %v", c.name, err, c.want)
		}
		for h, st := range []audit.Store{s, other} {
			if got, err := st.LookupSalt(ctx, ref); !errors.Is(err, audit.ErrNotFound) {
				t.Errorf("through handle %s, after an Append where %s, LookupSalt of the ref its fn created = %s, %v; want ErrNotFound: a salt is stored only with its batch",
					handleNames[h], c.name, short(got), err)
			}
		}
	}
	wantLog(t, s, m, "after appends that wrote nothing")
}

func testAppendSaltsInvalid(t *testing.T, s audit.Store) {
	ctx := t.Context()
	err := s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		sr := saltReader(t, r)
		_, err := sr.Salts([][]byte{saltRef("x"), saltRef("y")}, [][]byte{saltValue("x")})
		wantErr(t, err, audit.ErrInvalid, "Salts of 2 refs with 1 fresh salt", "refs and fresh have the same length")
		_, err = sr.Salts([][]byte{{}}, [][]byte{saltValue("x")})
		wantErr(t, err, audit.ErrInvalid, "Salts of an empty ref", "a ref is what Store.Salt accepts")
		if got, err := sr.Salts(nil, nil); err != nil || len(got) != 0 {
			t.Errorf("Salts of no refs = %d salts, %v; want none and nil", len(got), err)
		}
		return nil, nil
	})
	if err != nil {
		t.Errorf("Append: %v", err)
	}
}

// Sizes of testTwoHandlesAppendSalts: per handle, appenders goroutines
// create the salts of saltRefs refs in appends, while as many call
// Store.Salt for them.
const saltAppenders = 3

func testTwoHandlesAppendSalts(t *testing.T, s, other audit.Store) {
	ctx := raceContext(t)
	hs := [2]audit.Store{s, other}
	refs := make([][]byte, saltRefs)
	for i := range refs {
		refs[i] = saltRef(fmt.Sprint("append-race-", i))
	}
	type result struct {
		salts [][]byte
		err   error
	}
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	start := make(chan struct{})
	for h := range 2 {
		for g := range saltAppenders {
			wg.Go(func() {
				<-start
				fresh := make([][]byte, len(refs))
				for i := range fresh {
					fresh[i] = saltValue(fmt.Sprintf("append-race/%d/%d/%d", h, g, i))
				}
				var got [][]byte
				_, err := Append(ctx, appenderFunc(func(h audit.Head, r tlog.HashReader) error {
					var err error
					got, err = saltReader(t, r).Salts(refs, fresh)
					return err
				}, hs[h]), mixedEntry(h*saltAppenders+g))
				mu.Lock()
				results = append(results, result{got, err})
				mu.Unlock()
			})
			wg.Go(func() {
				<-start
				got := make([][]byte, len(refs))
				var err error
				for i := range refs {
					if got[i], err = hs[h].Salt(ctx, refs[i], saltValue(fmt.Sprintf("salt-race/%d/%d/%d", h, g, i))); err != nil {
						break
					}
				}
				mu.Lock()
				results = append(results, result{got, err})
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			t.Fatalf("Salts in an append or Salt, racing the other handle: %v%s; want nil", r.err, timedOut(ctx))
		}
	}
	for i, ref := range refs {
		want, err := s.LookupSalt(t.Context(), ref)
		if err != nil {
			t.Fatalf("LookupSalt after the race: %v", err)
		}
		for _, r := range results {
			if !bytes.Equal(r.salts[i], want) {
				t.Errorf("ref %d: a caller got %s, the stored salt is %s; want every caller, through appends or Salt, in every process, to get one salt", i, short(r.salts[i]), short(want))
			}
		}
		wantSalt(t, other, ref, want, "through the other handle, the salt every racer got")
	}
	if h := mustHead(t, s); h.Size != 2*saltAppenders {
		t.Errorf("after %d racing appends the head has size %d", 2*saltAppenders, h.Size)
	}
}

// appenderFunc is an Appender that calls pre with the head and reader
// under the lock before the append's own fn.
type appenderFuncT struct {
	pre func(audit.Head, tlog.HashReader) error
	a   audit.Appender
}

func appenderFunc(pre func(audit.Head, tlog.HashReader) error, a audit.Appender) audit.Appender {
	return appenderFuncT{pre, a}
}

func (a appenderFuncT) Append(ctx context.Context, fn audit.AppendFunc) error {
	return a.a.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		if err := a.pre(h, r); err != nil {
			return nil, err
		}
		return fn(h, r)
	})
}
