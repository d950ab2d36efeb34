package audit

import (
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// treeState is the right edge of a tree: what appending to it needs.
type treeState struct {
	size     int64
	root     tlog.Hash
	frontier []tlog.Hash // see frontier
}

// frontier is the right edge of a Merkle tree of some size n: the hashes
// of its largest complete subtrees, one per 1 bit of n, from the highest
// level down. It is all that appending a leaf, or computing the root,
// needs, which is how the Log appends without reading the tree back.
type frontier struct {
	n      int64
	hashes []tlog.Hash
}

// frontierIndexes returns the storage indexes of the frontier of a tree of
// n leaves, in frontier order.
func frontierIndexes(n int64) []int64 {
	idx := make([]int64, 0, bits.OnesCount64(uint64(n)))
	var start int64
	for l := 62; l >= 0; l-- {
		if n&(1<<l) != 0 {
			idx = append(idx, tlog.StoredHashIndex(l, start>>l))
			start += 1 << l
		}
	}
	return idx
}

// push appends a leaf and calls emit with each stored hash it creates, in
// storage order: the leaf, then each completed subtree, lowest first
// (exactly tlog.StoredHashesForRecordHash's result).
func (f *frontier) push(leaf tlog.Hash, emit func(tlog.Hash)) {
	h := leaf
	emit(h)
	for m := bits.TrailingZeros64(uint64(f.n + 1)); m > 0; m-- {
		last := len(f.hashes) - 1
		h = tlog.NodeHash(f.hashes[last], h)
		f.hashes = f.hashes[:last]
		emit(h)
	}
	f.hashes = append(f.hashes, h)
	f.n++
}

// root returns the RFC 6962 root hash of the tree.
func (f *frontier) root() tlog.Hash {
	if f.n == 0 {
		return emptyRoot
	}
	h := f.hashes[len(f.hashes)-1]
	for i := len(f.hashes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.hashes[i], h)
	}
	return h
}

// emptyRoot is the root hash of the empty tree, SHA-256 of nothing.
var emptyRoot, _ = tlog.TreeHash(0, nil)

// headRoot returns h's root, the empty tree's for an empty head (which a
// Store reports with the zero Hash).
func headRoot(h Head) tlog.Hash {
	if h.Size == 0 {
		return emptyRoot
	}
	return h.Root
}

// frontierAt returns the frontier of the tree at head h: this Log's own if
// it last wrote that head, else read from the store.
func (l *Log) frontierAt(h Head, r tlog.HashReader) (frontier, error) {
	l.treeMu.Lock()
	t := l.tree
	l.treeMu.Unlock()
	if t.size == h.Size && t.root == headRoot(h) && t.frontier != nil {
		return frontier{n: t.size, hashes: append(make([]tlog.Hash, 0, len(t.frontier)+1), t.frontier...)}, nil
	}
	if h.Size < t.size {
		return frontier{}, fmt.Errorf("%w: the log has %d entries, fewer than the %d this process wrote", ErrTampered, h.Size, t.size)
	}
	idx := frontierIndexes(h.Size)
	var hs []tlog.Hash // the frontier's hashes, once read
	if t.size > 0 {
		// Another writer moved the head (another instance, AppendTx), or
		// an insider rewrote what this Log wrote: build only on a tree
		// that extends it, or the next checkpoint would sign the rewrite.
		// The proof's hashes and the frontier's are read at once: one
		// round trip under the append lock, not two.
		both := tlog.HashReaderFunc(func(need []int64) ([]tlog.Hash, error) {
			all := append(need[:len(need):len(need)], idx...)
			got, err := r.ReadHashes(all)
			if err != nil {
				return nil, err
			}
			if len(got) != len(all) {
				return nil, fmt.Errorf("store returned %d hashes for %d", len(got), len(all))
			}
			hs = got[len(need):]
			return got[:len(need)], nil
		})
		if err := proveExtends(both, h, Checkpoint{Size: t.size, Root: t.root}); err != nil {
			return frontier{}, fmt.Errorf("the log as this Log last wrote it, %d entries: %w", t.size, err)
		}
	}
	if len(idx) == 0 {
		return frontier{}, nil
	}
	if hs == nil {
		var err error
		if hs, err = r.ReadHashes(idx); err != nil {
			return frontier{}, err
		}
	}
	if len(hs) != len(idx) {
		return frontier{}, fmt.Errorf("store returned %d hashes for %d", len(hs), len(idx))
	}
	f := frontier{n: h.Size, hashes: hs}
	if f.root() != h.Root {
		return frontier{}, fmt.Errorf("%w: the stored hashes do not give the head's root at size %d", ErrTampered, h.Size)
	}
	return f, nil
}

// build computes the Batch that appends recs to the tree at head h.
func (l *Log) build(h Head, r tlog.HashReader, recs []record) (*Batch, error) {
	b, _, err := l.buildFrontier(h, r, recs)
	return b, err
}

func (l *Log) buildFrontier(h Head, r tlog.HashReader, recs []record) (*Batch, []tlog.Hash, error) {
	f, err := l.frontierAt(h, r)
	if err != nil {
		return nil, nil, err
	}
	n := int64(len(recs))
	b := &Batch{
		Entries: make([]StoredEntry, len(recs)),
		Hashes:  make([]tlog.Hash, 0, tlog.StoredHashCount(h.Size+n)-tlog.StoredHashCount(h.Size)),
	}
	emit := func(x tlog.Hash) { b.Hashes = append(b.Hashes, x) }
	for i, rec := range recs {
		b.Entries[i] = StoredEntry{Index: h.Size + int64(i), Time: rec.time, Subject: rec.subject, Actor: rec.actor, Body: rec.body}
		f.push(tlog.RecordHash(rec.body), emit)
	}
	b.Size, b.Root = f.n, f.root()
	return b, f.hashes, nil
}
