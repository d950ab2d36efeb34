package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

func TestFrontierVsTlog(t *testing.T) {
	var stored memHashes
	var f frontier
	var v verifier
	for n := int64(0); n <= 5000; n++ {
		// root check at size n
		want, err := tlog.TreeHash(n, stored)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.root(); got != want {
			t.Fatalf("root at %d differs", n)
		}
		if got := v.f.root(); got != want {
			t.Fatalf("verifier root at %d differs", n)
		}
		// frontier from store matches
		idx := frontierIndexes(n)
		hs, _ := stored.ReadHashes(idx)
		ff := frontier{n: n, hashes: hs}
		if n > 0 && ff.root() != want {
			t.Fatalf("frontierIndexes root at %d differs", n)
		}
		for i := range hs {
			if hs[i] != f.hashes[i] {
				t.Fatalf("frontier at %d differs at %d", n, i)
			}
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(n))
		leaf := tlog.RecordHash(b[:])
		wantHs, err := tlog.StoredHashes(n, b[:], stored)
		if err != nil {
			t.Fatal(err)
		}
		var got []tlog.Hash
		f.push(leaf, func(h tlog.Hash) { got = append(got, h) })
		if len(got) != len(wantHs) {
			t.Fatalf("push %d: %d hashes want %d", n, len(got), len(wantHs))
		}
		for i := range got {
			if got[i] != wantHs[i] {
				t.Fatalf("push %d: hash %d differs", n, i)
			}
		}
		k := 0
		v.push(leaf, true, func(h tlog.Hash, c bool) bool {
			k++
			if h != wantHs[k] {
				t.Fatalf("verifier push %d: hash %d differs", n, k)
			}
			return c
		})
		if k != len(wantHs)-1 {
			t.Fatalf("verifier push %d: %d interior", n, k)
		}
		stored = append(stored, wantHs...)
		if int64(len(stored)) != tlog.StoredHashCount(n+1) {
			t.Fatal("count")
		}
	}
	_ = sha256.New
}
