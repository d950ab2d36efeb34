package audittest

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
)

// NextBatch returns the Batch that appends entries, in order, to a log whose
// head is h and whose stored hashes r reads, as an audit.AppendFunc would
// compute it: entry i gets Index h.Size+i (whatever its Index field holds),
// its leaf is tlog.RecordHash of its Body, the new stored hashes are those
// tlog.StoredHashesForRecordHash gives for each leaf in turn, and the new
// root is tlog.TreeHash of the new size. The entries' byte slices are
// shared, not copied. NextBatch returns an error if entries is empty or r
// fails.
func NextBatch(h audit.Head, r tlog.HashReader, entries []audit.StoredEntry) (*audit.Batch, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("audittest: no entries to append")
	}
	b := &audit.Batch{Entries: make([]audit.StoredEntry, len(entries))}
	o := &overlay{start: tlog.StoredHashIndex(0, h.Size), r: r}
	for i, e := range entries {
		e.Index = h.Size + int64(i)
		b.Entries[i] = e
		hs, err := tlog.StoredHashesForRecordHash(e.Index, tlog.RecordHash(e.Body), o)
		if err != nil {
			return nil, fmt.Errorf("audittest: hashes of entry %d: %w", e.Index, err)
		}
		o.hashes = append(o.hashes, hs...)
	}
	b.Hashes = o.hashes
	b.Size = h.Size + int64(len(entries))
	root, err := tlog.TreeHash(b.Size, o)
	if err != nil {
		return nil, fmt.Errorf("audittest: root of a tree of %d entries: %w", b.Size, err)
	}
	b.Root = root
	return b, nil
}

// Append appends entries to a's log as one Batch computed by NextBatch
// under a's append lock, and returns the new head. The entries' Index
// fields are ignored: the first appended entry gets the old head's size.
// A nil ctx is refused with an error wrapping audit.ErrInvalid, before a
// is called.
func Append(ctx context.Context, a audit.Appender, entries ...audit.StoredEntry) (audit.Head, error) {
	if ctx == nil {
		return audit.Head{}, fmt.Errorf("audittest: %w: nil context", audit.ErrInvalid)
	}
	var head audit.Head
	err := a.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		b, err := NextBatch(h, r, entries)
		if err == nil {
			head = audit.Head{Size: b.Size, Root: b.Root}
		}
		return b, err
	})
	if err != nil {
		return audit.Head{}, err
	}
	return head, nil
}

// overlay reads the hashes a batch has computed so far, at storage indexes
// from start on, and the stored ones below start through r.
type overlay struct {
	start  int64
	hashes []tlog.Hash
	r      tlog.HashReader
}

func (o *overlay) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var stored []int64 // the indexes to read through r
	var at []int       // their positions in out
	for i, x := range indexes {
		switch {
		case x < o.start:
			stored = append(stored, x)
			at = append(at, i)
		case x-o.start < int64(len(o.hashes)):
			out[i] = o.hashes[x-o.start]
		default:
			return nil, fmt.Errorf("audittest: hash at storage index %d not computed yet", x)
		}
	}
	if len(stored) == 0 {
		return out, nil
	}
	hs, err := o.r.ReadHashes(stored)
	if err != nil {
		return nil, err
	}
	if len(hs) != len(stored) {
		return nil, fmt.Errorf("audittest: ReadHashes of %d indexes returned %d hashes", len(stored), len(hs))
	}
	for k, i := range at {
		out[i] = hs[k]
	}
	return out, nil
}

// Root returns the RFC 6962 root hash of the tree whose leaves are the
// record hashes of bodies, in order, computed with tlog alone: what a
// Store's head must hold after those entries.
func Root(bodies [][]byte) (tlog.Hash, error) {
	var hashes []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for i, b := range bodies {
		hs, err := tlog.StoredHashes(int64(i), b, r)
		if err != nil {
			return tlog.Hash{}, err
		}
		hashes = append(hashes, hs...)
	}
	return tlog.TreeHash(int64(len(bodies)), r)
}
