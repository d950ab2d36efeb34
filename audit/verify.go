package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint signs a checkpoint of the log as it is now, stores it, and
// publishes it to the Anchor. Before it signs, it checks with consistency
// proofs that the log extends the tree this Log last appended (the size
// and root it committed, which it keeps in memory), the last checkpoint
// this Log signed or opened with, the latest stored one and the anchor's
// latest, and refuses with an error wrapping ErrTampered if not: a Log
// does not sign a history rewritten under a checkpoint it knows of, nor
// one rewritten since, behind it, over entries it wrote itself. A store
// error while reading a proof (a timeout, a lost connection, ctx done) is
// returned wrapped, not as ErrTampered. The
// Log calls it on its own (see WithCheckpoints); call it to checkpoint at
// a moment of your choosing. The error is an *Error with Op "checkpoint";
// a nil ctx is refused with ErrInvalid.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	if err := checkCtx(ctx, "checkpoint"); err != nil {
		return Checkpoint{}, err
	}
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	cp, err := l.checkpoint(ctx)
	return cp, wrap("checkpoint", err)
}

func (l *Log) checkpoint(ctx context.Context) (Checkpoint, error) {
	// What the new checkpoint must extend: the last one this Log signed
	// or saw, the latest stored, the anchor's latest. Loaded before the
	// head, so the head read after them is never behind them unless the
	// log was cut.
	// First of all the tree this Log itself last committed: whatever
	// checkpoints say, it signs no tree that does not extend what it
	// wrote (an insider who rewrote the tail since the last checkpoint,
	// hashes and head kept consistent, still extends every checkpoint).
	l.treeMu.Lock()
	own := l.tree
	l.treeMu.Unlock()
	trusted := []Checkpoint{}
	if l.lastSeen.Note != nil || l.lastSeen.Size > 0 {
		trusted = append(trusted, l.lastSeen)
	}
	for _, src := range l.trustedSources() {
		cp, err := src.load(ctx, l)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return Checkpoint{}, fmt.Errorf("%s: %w", src.name, err)
		default:
			trusted = append(trusted, cp)
		}
	}
	h, err := l.store.Head(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	if own.size > 0 {
		if err := l.extends(ctx, h, Checkpoint{Size: own.size, Root: own.root}); err != nil {
			return Checkpoint{}, fmt.Errorf("the log as this Log last wrote it, %d entries: %w", own.size, err)
		}
	}
	for _, cp := range trusted {
		if err := l.extends(ctx, h, cp); err != nil {
			return Checkpoint{}, err
		}
	}
	cp, err := signCheckpoint(Checkpoint{Origin: l.origin, Size: h.Size, Root: headRoot(h)}, l.signer.s)
	if err != nil {
		return Checkpoint{}, err
	}
	if err := l.store.PutCheckpoint(ctx, cp.Size, cp.Note); err != nil {
		return Checkpoint{}, err
	}
	if l.anchor != nil {
		if err := l.anchor.Publish(ctx, cp); err != nil {
			return Checkpoint{}, err
		}
	}
	if cp.Size > l.lastCP.Load() {
		l.lastCP.Store(cp.Size)
	}
	l.lastSeen = cp
	return cp, nil
}

// A source of trusted checkpoints.
type source struct {
	name string
	load func(context.Context, *Log) (Checkpoint, error)
}

func (l *Log) trustedSources() []source {
	s := []source{{"stored checkpoint", loadStored}}
	if l.anchor != nil {
		s = append(s, source{"anchored checkpoint", loadAnchor})
	}
	return s
}

func loadStored(ctx context.Context, l *Log) (Checkpoint, error) {
	b, err := l.store.LatestCheckpoint(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	return openCheckpoint(b, l.origin, l.verifier)
}

func loadAnchor(ctx context.Context, l *Log) (Checkpoint, error) {
	b, err := l.anchor.Latest(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	return openCheckpoint(b, l.origin, l.verifier)
}

// extends checks, with a consistency proof from the stored hashes, that the
// tree at head h extends the checkpoint cp. It reads about log₂ n hashes;
// it does not look at entries (Verify does).
func (l *Log) extends(ctx context.Context, h Head, cp Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return proveExtends(l.hashReader(ctx), h, cp)
}

// proveExtends checks, with a consistency proof read through r, that the
// tree at head h extends the tree of old (its Size and Root). It returns an
// error wrapping ErrTampered if it does not, or if a hash the proof needs
// is not stored (ErrNotFound: the hashes under a checkpoint were cut); an
// error of r's otherwise (a timeout, a lost connection, a cancelled
// context), wrapped but not as ErrTampered, since it says nothing about
// the log.
func proveExtends(r tlog.HashReader, h Head, old Checkpoint) error {
	switch {
	case old.Size > h.Size:
		return fmt.Errorf("%w: the log has %d entries, fewer than the %d of a checkpoint (cut short, or restored from an older backup)", ErrTampered, h.Size, old.Size)
	case old.Size == h.Size:
		if headRoot(h) != old.Root {
			return fmt.Errorf("%w: the log's root at size %d differs from its checkpoint's", ErrTampered, h.Size)
		}
		return nil
	case old.Size == 0:
		return nil
	}
	var readErr error
	rr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		hs, err := r.ReadHashes(idx)
		if err != nil {
			readErr = err
		}
		return hs, err
	})
	p, err := tlog.ProveTree(h.Size, old.Size, rr)
	switch {
	case err == nil:
	case readErr != nil && !errors.Is(readErr, ErrNotFound):
		return fmt.Errorf("consistency proof from size %d to %d: %w", old.Size, h.Size, readErr)
	default:
		return fmt.Errorf("%w: no consistency proof from size %d to %d: %v", ErrTampered, old.Size, h.Size, err)
	}
	if err := tlog.CheckTree(p, h.Size, headRoot(h), old.Size, old.Root); err != nil {
		return fmt.Errorf("%w: the log at size %d does not extend its checkpoint at size %d", ErrTampered, h.Size, old.Size)
	}
	return nil
}

func (l *Log) hashReader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return l.store.ReadHashes(ctx, idx) })
}

// Head returns the log's current size and root hash. A nil ctx is refused
// with an *Error (Op "head") wrapping ErrInvalid.
func (l *Log) Head(ctx context.Context) (Head, error) {
	if err := checkCtx(ctx, "head"); err != nil {
		return Head{}, err
	}
	h, err := l.store.Head(ctx)
	h.Root = headRoot(h)
	return h, wrap("head", err)
}

// ProveEntry returns the proof that the entry at index is in the tree of
// size entries, for CheckEntry against a checkpoint of that size. The
// error is an *Error with Op "prove"; a nil ctx and an index not in
// [0, size) wrap ErrInvalid.
func (l *Log) ProveEntry(ctx context.Context, index, size int64) (tlog.RecordProof, error) {
	if err := checkCtx(ctx, "prove"); err != nil {
		return nil, err
	}
	if index < 0 || index >= size {
		return nil, wrap("prove", invalid("index", fmt.Sprintf("index %d is not below size %d", index, size)))
	}
	p, err := tlog.ProveRecord(size, index, l.hashReader(ctx))
	return p, wrap("prove", err)
}

// ProveConsistency returns the proof that the tree of newSize entries
// extends the tree of oldSize, for CheckConsistency. The error is an
// *Error with Op "prove"; a nil ctx and sizes out of order wrap
// ErrInvalid.
func (l *Log) ProveConsistency(ctx context.Context, oldSize, newSize int64) (tlog.TreeProof, error) {
	if err := checkCtx(ctx, "prove"); err != nil {
		return nil, err
	}
	if oldSize < 0 || oldSize > newSize {
		return nil, wrap("prove", invalid("oldSize", fmt.Sprintf("sizes %d and %d out of order", oldSize, newSize)))
	}
	if oldSize == 0 || oldSize == newSize {
		return tlog.TreeProof{}, nil
	}
	p, err := tlog.ProveTree(newSize, oldSize, l.hashReader(ctx))
	return p, wrap("prove", err)
}

// CheckEntry checks with tlog.CheckRecord that body, an entry's encoding
// as StoredEntry.Body holds it, is at index in the tree of checkpoint c.
// The error is an *Error (Op "check entry") wrapping ErrTampered if not.
func CheckEntry(c Checkpoint, index int64, body []byte, p tlog.RecordProof) error {
	if err := tlog.CheckRecord(p, c.Size, c.Root, index, tlog.RecordHash(body)); err != nil {
		return wrap("check entry", fmt.Errorf("%w: entry %d is not in the tree of size %d", ErrTampered, index, c.Size))
	}
	return nil
}

// CheckConsistency checks with tlog.CheckTree that checkpoint newer
// extends checkpoint older. The error is an *Error (Op "check
// consistency") wrapping ErrTampered if not.
func CheckConsistency(older, newer Checkpoint, p tlog.TreeProof) error {
	return wrap("check consistency", checkConsistency(older, newer, p))
}

func checkConsistency(older, newer Checkpoint, p tlog.TreeProof) error {
	switch {
	case older.Origin != newer.Origin:
		return fmt.Errorf("%w: checkpoints of different logs", ErrTampered)
	case older.Size > newer.Size:
		return fmt.Errorf("%w: the newer checkpoint has fewer entries (%d < %d)", ErrTampered, newer.Size, older.Size)
	case older.Size == newer.Size:
		if older.Root != newer.Root {
			return fmt.Errorf("%w: two checkpoints of size %d with different roots", ErrTampered, older.Size)
		}
		return nil
	case older.Size == 0:
		return nil
	}
	if err := tlog.CheckTree(p, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("%w: the tree of size %d does not extend the tree of size %d", ErrTampered, newer.Size, older.Size)
	}
	return nil
}

// ProblemKind says what Verify found wrong.
type ProblemKind string

// The kinds of problem.
const (
	// EntryAltered: the entry's body does not hash to its stored leaf.
	EntryAltered ProblemKind = "entry_altered"
	// EntryMissing: no entry at an index below the head's size.
	EntryMissing ProblemKind = "entry_missing"
	// EntryExtra: an entry at an index at or past the head's size.
	EntryExtra ProblemKind = "entry_extra"
	// ColumnMismatch: a query column of the entry (its time, subject or
	// actor, which Store.Query selects on) differs from what its body,
	// intact, says: the entry was moved to another time, subject or
	// actor. Detail names the columns. Queries refuse to answer from it.
	ColumnMismatch ProblemKind = "column_mismatch"
	// RedactionUnrecorded: the entry's body is gone but no audit.redact
	// entry records its redaction.
	RedactionUnrecorded ProblemKind = "redaction_unrecorded"
	// HashMismatch: a stored hash of the tree differs from the one its
	// children give, though they are intact (Index is the first leaf under
	// it). Inclusion proofs through it fail.
	HashMismatch ProblemKind = "hash_mismatch"
	// HashMissing: a stored hash of the tree is missing.
	HashMissing ProblemKind = "hash_missing"
	// RootMismatch: the root recomputed from the entries differs from the
	// head's or from a checkpoint's (Index is that size).
	RootMismatch ProblemKind = "root_mismatch"
	// Truncated: a checkpoint has more entries than the log (Index is the
	// checkpoint's size).
	Truncated ProblemKind = "truncated"
	// CheckpointInvalid: a checkpoint does not verify with the Log's key.
	CheckpointInvalid ProblemKind = "checkpoint_invalid"
)

// Problem is one thing Verify found wrong.
type Problem struct {
	Kind ProblemKind `json:"kind"`
	// Index is the entry concerned, or a size for RootMismatch and
	// Truncated.
	Index int64 `json:"index"`
	// Detail says more, for people; no personal data.
	Detail string `json:"detail,omitempty"`
}

// String returns "<kind> at <index>: <detail>", for logs; no personal data.
func (p Problem) String() string {
	s := string(p.Kind) + " at " + strconv.FormatInt(p.Index, 10)
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Report is the result of Verify.
type Report struct {
	// Size and Root are the head's.
	Size int64     `json:"size"`
	Root tlog.Hash `json:"root"`
	// Checkpoints are the trusted checkpoints the recomputed roots were
	// compared with.
	Checkpoints []Checkpoint `json:"checkpoints"`
	// Entries counts the entries read; Redacted those without a body.
	Entries  int64 `json:"entries"`
	Redacted int64 `json:"redacted"`
	// Problems lists what is wrong; empty if the log verifies.
	Problems []Problem `json:"problems,omitempty"`
}

// OK reports whether the log verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Trusted are signed checkpoints held outside the log, e.g. by an
	// auditor; the log's latest stored checkpoint and its anchor's latest
	// are always used too.
	Trusted [][]byte
	// Progress, if set, is called after each page with the entries done
	// and the total.
	Progress func(done, total int64)
	// PageSize is how many entries are read from the Store at once, 1 or
	// more; there is no maximum but memory. Default (0): 4096. A negative
	// PageSize is refused with ErrInvalid (Field "PageSize").
	PageSize int
}

// defaultVerifyPage is VerifyOptions.PageSize's default.
const defaultVerifyPage = 4096

// Verify reads the whole log and checks it: every entry's body against its
// leaf hash, the query columns beside an intact body (time, subject and
// actor, which Entries selects on) against what the body says, every
// stored hash of the tree against its children, the root
// against the head, the latest stored checkpoint, the anchor's latest and
// opts.Trusted, and every redaction against the audit.redact entry that
// records it. It returns the report and, if a problem was found, an error
// wrapping ErrTampered. An altered entry is named by its index, and so is
// one moved to another subject, actor or time by an edit of its columns
// (ColumnMismatch): the entry a query for its real subject no longer
// finds, and a query for the other refuses to answer from. An
// attacker who also rewrote its leaf hash is caught by the hash above it
// (reported with the subtree's first index) and by the checkpoints; one who
// rewrote every hash up to the root, the head's included, by the
// checkpoints alone (a root mismatch at the checkpoint's size). Verify can
// run while the log grows; it checks the log up to the head it reads at
// the start. Its error is an *Error with Op "verify"; a nil ctx and a
// negative opts.PageSize wrap ErrInvalid, and the report is then nil.
func (l *Log) Verify(ctx context.Context, opts VerifyOptions) (*Report, error) {
	if err := checkCtx(ctx, "verify"); err != nil {
		return nil, err
	}
	if opts.PageSize < 0 {
		return nil, wrap("verify", invalid("PageSize", "a negative page size"))
	}
	rep, err := l.verify(ctx, opts)
	if err == nil && !rep.OK() {
		err = fmt.Errorf("%w: %d problems, the first %s", ErrTampered, len(rep.Problems), rep.Problems[0])
	}
	return rep, wrap("verify", err)
}

func (l *Log) verify(ctx context.Context, opts VerifyOptions) (*Report, error) {
	page := opts.PageSize
	if page == 0 {
		page = defaultVerifyPage
	}
	rep := &Report{}
	problem := func(k ProblemKind, i int64, detail string) {
		rep.Problems = append(rep.Problems, Problem{Kind: k, Index: i, Detail: detail})
	}

	// The trusted checkpoints, then the head: a checkpoint is stored only
	// after its head committed, so this order never sees a checkpoint
	// ahead of a head that other instances are still growing.
	var cps []Checkpoint
	for _, src := range l.trustedSources() {
		cp, err := src.load(ctx, l)
		switch {
		case errors.Is(err, ErrNotFound):
		case errors.Is(err, ErrTampered), errors.Is(err, ErrInvalid):
			problem(CheckpointInvalid, -1, src.name)
		case err != nil:
			return nil, err
		default:
			cps = append(cps, cp)
		}
	}
	for _, b := range opts.Trusted {
		cp, err := openCheckpoint(b, l.origin, l.verifier)
		if err != nil {
			problem(CheckpointInvalid, -1, "trusted checkpoint")
			continue
		}
		cps = append(cps, cp)
	}
	h, err := l.store.Head(ctx)
	if err != nil {
		return nil, err
	}
	rep.Size, rep.Root = h.Size, headRoot(h)
	slices.SortFunc(cps, func(a, b Checkpoint) int { return int(min(max(a.Size-b.Size, -1), 1)) })
	rep.Checkpoints = cps
	for _, cp := range cps {
		if cp.Size > h.Size {
			problem(Truncated, cp.Size, fmt.Sprintf("the log has %d entries", h.Size))
		}
	}

	v := verifier{f: frontier{}, dirty: nil}
	redacted := map[int64]bool{}
	recorded := map[int64]bool{}
	next := int64(0) // the next index expected
	cpi := 0         // the next checkpoint to compare
	checkRoots := func() {
		for cpi < len(cps) && cps[cpi].Size == v.f.n {
			if v.f.root() != cps[cpi].Root {
				problem(RootMismatch, v.f.n, "checkpoint")
			}
			cpi++
		}
	}
	checkRoots()
	for next < h.Size {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ents, err := l.store.Entries(ctx, next, page)
		if err != nil {
			return nil, err
		}
		// The entries of [next, end) and their stored hashes.
		end := min(next+int64(page), h.Size)
		lo, hi := tlog.StoredHashIndex(0, next), tlog.StoredHashIndex(0, end)
		stored, missing, err := l.readRange(ctx, lo, hi)
		if err != nil {
			return nil, err
		}
		k := 0
		for i := next; i < end; i++ {
			for k < len(ents) && ents[k].Index < i {
				k++ // an index below next cannot come back; skip
			}
			var body []byte
			have := k < len(ents) && ents[k].Index == i
			if have {
				body = ents[k].Body
				rep.Entries++
			}
			leafIdx := tlog.StoredHashIndex(0, i)
			storedLeaf, leafMissing := stored[leafIdx-lo], missing[leafIdx-lo]
			var leaf tlog.Hash
			clean := true
			switch {
			case have && body != nil:
				leaf = tlog.RecordHash(body)
				if !leafMissing && leaf != storedLeaf {
					// The entry is named; the tree goes on from the
					// stored leaf, so the alteration is reported once and
					// the hashes above are judged on their own.
					problem(EntryAltered, i, "")
					leaf = storedLeaf
					break
				}
				// The body is the one hashed: the columns that queries
				// select on must say what it says.
				c, ok := peekColumns(body)
				if !ok {
					problem(EntryAltered, i, "malformed")
					break
				}
				if d := c.mismatch(&ents[k]); d != "" {
					problem(ColumnMismatch, i, d)
				}
				if string(c.action) == actionRedact {
					if t, ok := redactTarget(body); ok {
						recorded[t] = true
					}
				}
			case have:
				rep.Redacted++
				redacted[i] = true
				leaf = storedLeaf
			default:
				problem(EntryMissing, i, "")
				leaf = storedLeaf
				clean = false
			}
			if leafMissing {
				problem(HashMissing, i, "leaf")
				if body == nil {
					// Nothing to build the tree from.
					clean = false
				}
			}
			sidx := leafIdx // the interior hashes follow their leaf
			v.push(leaf, clean, func(h tlog.Hash, childrenClean bool) bool {
				sidx++
				j := sidx - lo
				if missing[j] {
					problem(HashMissing, i, "interior")
					return false
				}
				if h != stored[j] {
					if childrenClean {
						lvl, n := tlog.SplitStoredHashIndex(sidx)
						problem(HashMismatch, n<<lvl, fmt.Sprintf("level %d", lvl))
					}
					return false
				}
				return childrenClean
			})
			checkRoots()
		}
		next = end
		if opts.Progress != nil {
			opts.Progress(next, h.Size)
		}
	}
	// Entries past the head. Other instances may be appending while this
	// runs: an entry is an intruder only if it lies past the head read
	// after it was seen, since a store commits entries and head together.
	var past []int64
	for from := h.Size; ; {
		ents, err := l.store.Entries(ctx, from, page)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			past = append(past, e.Index)
		}
		if len(ents) < page {
			break
		}
		from = ents[len(ents)-1].Index + 1
	}
	if len(past) > 0 {
		h2, err := l.store.Head(ctx)
		if err != nil {
			return nil, err
		}
		for _, i := range past {
			if i >= h2.Size {
				problem(EntryExtra, i, "")
			}
		}
	}
	if v.f.root() != headRoot(h) {
		problem(RootMismatch, h.Size, "head")
	}
	for i := range redacted {
		if !recorded[i] {
			problem(RedactionUnrecorded, i, "")
		}
	}
	slices.SortStableFunc(rep.Problems, func(a, b Problem) int {
		return int(min(max(a.Index-b.Index, -1), 1))
	})
	return rep, nil
}

// readRange reads the stored hashes at storage indexes [lo, hi), and which
// of them are missing.
func (l *Log) readRange(ctx context.Context, lo, hi int64) ([]tlog.Hash, []bool, error) {
	idx := make([]int64, hi-lo)
	for i := range idx {
		idx[i] = lo + int64(i)
	}
	missing := make([]bool, len(idx))
	hs, err := l.store.ReadHashes(ctx, idx)
	if err == nil && len(hs) == len(idx) {
		return hs, missing, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, nil, err
	}
	// Some are missing: read one at a time to learn which.
	hs = make([]tlog.Hash, len(idx))
	for i, x := range idx {
		one, err := l.store.ReadHashes(ctx, []int64{x})
		switch {
		case errors.Is(err, ErrNotFound) || (err == nil && len(one) != 1):
			missing[i] = true
		case err != nil:
			return nil, nil, err
		default:
			hs[i] = one[0]
		}
	}
	return hs, missing, nil
}

// verifier recomputes the tree, tracking which subtrees are intact (clean)
// so that one altered entry is reported once, not at every level above it.
type verifier struct {
	f     frontier
	dirty []bool // per frontier hash: something under it was wrong
}

// push adds a leaf, clean or not; check is called with each interior hash
// the leaf completes, in storage order, and whether both its children were
// clean, and returns whether the node is clean.
func (v *verifier) push(leaf tlog.Hash, clean bool, check func(h tlog.Hash, childrenClean bool) bool) {
	h := leaf
	for m := trailingOnes(v.f.n); m > 0; m-- {
		last := len(v.f.hashes) - 1
		h = tlog.NodeHash(v.f.hashes[last], h)
		clean = check(h, clean && !v.dirty[last])
		v.f.hashes = v.f.hashes[:last]
		v.dirty = v.dirty[:last]
	}
	v.f.hashes = append(v.f.hashes, h)
	v.dirty = append(v.dirty, !clean)
	v.f.n++
}

func trailingOnes(n int64) int {
	c := 0
	for n&1 == 1 {
		c++
		n >>= 1
	}
	return c
}

// The action of a redaction record, and its resource's prefix.
const (
	actionRedact   = "audit.redact"
	redactResource = "audit/entry/"
)

// redactTarget returns the index a redaction record names.
func redactTarget(body []byte) (int64, bool) {
	var e Entry
	if e.unmarshalBinary(body) != nil || e.Action != actionRedact {
		return 0, false
	}
	s, ok := strings.CutPrefix(e.Resource, redactResource)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(s, 10, 64)
	return i, err == nil && i >= 0
}
