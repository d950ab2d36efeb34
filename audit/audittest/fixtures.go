package audittest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
)

// base is the suite's clock: a UTC instant on a whole second.
var base = time.Date(2025, time.March, 3, 9, 30, 0, 0, time.UTC)

// at returns base plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// sum returns the SHA-256 of the parts joined by "/": 32 bytes that stand
// for a pseudonym, a salt reference or a salt.
func sum(parts ...string) []byte {
	h := sha256.Sum256([]byte(strings.Join(parts, "/")))
	return h[:]
}

// pseudonym returns a 32-byte subject pseudonym, as the Log derives them.
func pseudonym(name string) []byte { return sum("subject", name) }

// staff returns the actor value of a staff member: "staff:" and a 32-byte
// pseudonym.
func staff(name string) []byte { return append([]byte("staff:"), sum("staff", name)...) }

// subjectActor returns the actor value of a subject acting for themselves.
func subjectActor(name string) []byte { return append([]byte("subject:"), pseudonym(name)...) }

// near returns b with its last byte changed: a value that a store must not
// confuse with b.
func near(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)-1] ^= 0x01
	return c
}

var (
	alice     = pseudonym("alice")
	bob       = pseudonym("bob")
	carol     = pseudonym("carol")
	dave      = pseudonym("dave") // never stored
	aliceNear = near(alice)

	staffX      = staff("x")
	staffY      = staff("y")
	staffZ      = staff("z") // never stored
	aliceActor  = subjectActor("alice")
	worker      = []byte("system:worker")
	workerSpace = []byte("system:worker ") // distinct from worker: no PAD SPACE
)

// label names a fixture value in failure messages.
func label(b []byte) string {
	if b == nil {
		return "nil"
	}
	for _, f := range []struct {
		name  string
		value []byte
	}{
		{"alice", alice}, {"bob", bob}, {"carol", carol}, {"dave", dave}, {"alice'", aliceNear},
		{"staff:x", staffX}, {"staff:y", staffY}, {"staff:z", staffZ}, {"subject:alice", aliceActor},
		{"system:worker", worker}, {`"system:worker "`, workerSpace},
	} {
		if bytes.Equal(b, f.value) {
			return f.name
		}
	}
	return short(b)
}

// short describes b without printing all of it.
func short(b []byte) string {
	switch {
	case b == nil:
		return "nil"
	case len(b) <= 16:
		return fmt.Sprintf("%d bytes %x", len(b), b)
	}
	return fmt.Sprintf("%d bytes %x…", len(b), b[:16])
}

// body returns the n-th body of the suite: binary, with zero and 0xff
// bytes, as a canonical encoding may be.
func body(n int) []byte { return fmt.Appendf([]byte{0x01, 0x00, 0xff}, "entry %d\x00", n) }

// newEntry returns the n-th entry of the suite, at minute n.
func newEntry(n int, subject, actor []byte) audit.StoredEntry {
	return audit.StoredEntry{Time: at(n), Subject: subject, Actor: actor, Body: body(n)}
}

// mixedEntry returns the n-th entry of a log of several subjects and
// actors, system events without a subject among them.
func mixedEntry(n int) audit.StoredEntry {
	subjects := [][]byte{alice, bob, nil}
	actors := [][]byte{staffX, aliceActor, worker, staffY}
	return newEntry(n, subjects[n%len(subjects)], actors[n%len(actors)])
}

func normTime(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// model is the suite's own copy of a log: the entries as a Store keeps
// them, in index order, and the stored hashes that tlog computes for their
// bodies one record at a time, independently of any Store.
type model struct {
	entries []audit.StoredEntry
	hashes  []tlog.Hash
}

// ReadHashes implements tlog.HashReader over the model's hashes.
func (m *model) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("audittest: model has no hash at storage index %d", x)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

// add appends a copy of e, as a Store keeps it, at the next index.
func (m *model) add(e audit.StoredEntry) {
	e.Index = int64(len(m.entries))
	e.Time = normTime(e.Time)
	e.Subject, e.Actor, e.Body = bytes.Clone(e.Subject), bytes.Clone(e.Actor), bytes.Clone(e.Body)
	hs, err := tlog.StoredHashes(e.Index, e.Body, m)
	if err != nil {
		panic("audittest: model: " + err.Error()) // the model has every hash
	}
	m.hashes = append(m.hashes, hs...)
	m.entries = append(m.entries, e)
}

// redact drops all but the Index of the entry at i.
func (m *model) redact(i int64) { m.entries[i] = audit.StoredEntry{Index: i} }

func (m *model) size() int64 { return int64(len(m.entries)) }

// head returns the head a Store must report: the zero Head when empty.
func (m *model) head() audit.Head {
	n := m.size()
	if n == 0 {
		return audit.Head{}
	}
	root, err := tlog.TreeHash(n, m)
	if err != nil {
		panic("audittest: model: " + err.Error())
	}
	return audit.Head{Size: n, Root: root}
}

// hashIndexes returns the storage indexes 0 to n-1.
func hashIndexes(n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

// storeReader reads s's stored hashes, as tlog's proofs need them.
func storeReader(t *testing.T, s audit.Store) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		return s.ReadHashes(t.Context(), indexes)
	})
}

func sentinelName(target error) (name string, root error) {
	switch target {
	case audit.ErrNotFound:
		return "ErrNotFound", gdpr.ErrNotFound
	case audit.ErrConflict:
		return "ErrConflict", gdpr.ErrConflict
	}
	return "ErrInvalid", gdpr.ErrInvalid
}

// wantErr fails t unless err wraps target (one of the audit sentinels) and
// the root package's sentinel of the same name.
func wantErr(t *testing.T, err, target error, call, why string) {
	t.Helper()
	name, root := sentinelName(target)
	switch {
	case err == nil:
		t.Errorf("%s: got nil error, want an error wrapping audit.%s: %s", call, name, why)
	case !errors.Is(err, target):
		t.Errorf("%s: got %v, want an error wrapping audit.%s: %s", call, err, name, why)
	case !errors.Is(err, root):
		t.Errorf("%s: got %v, which wraps audit.%s but not gdpr.%s; wrap the audit sentinel itself", call, err, name, name)
	}
}

// mustAppend appends entries as one batch, adds them to m, and fails t
// unless the Store's head is then m's.
func mustAppend(t *testing.T, s audit.Store, m *model, entries ...audit.StoredEntry) {
	t.Helper()
	h, err := Append(t.Context(), s, entries...)
	if err != nil {
		t.Fatalf("Append of a batch of %d entries to a log of %d: %v; want nil for a batch computed from the head and hashes Append gave fn",
			len(entries), m.size(), err)
	}
	for _, e := range entries {
		m.add(e)
	}
	if want := m.head(); h != want {
		t.Fatalf("the batch appended has head %d %v; the suite's own tlog computation gives %d %v (suite bug, or the reader Append gave fn returned wrong hashes)",
			h.Size, h.Root, want.Size, want.Root)
	}
	wantHead(t, s, m.head(), fmt.Sprintf("Head after appending %d entries", len(entries)))
}

// mustHead returns s's head.
func mustHead(t *testing.T, s audit.Store) audit.Head {
	t.Helper()
	h, err := s.Head(t.Context())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return h
}

func wantHead(t *testing.T, s audit.Store, want audit.Head, call string) {
	t.Helper()
	if got := mustHead(t, s); got != want {
		t.Errorf("%s = size %d root %v; want size %d root %v (the size and tlog root of the entries appended)",
			call, got.Size, got.Root, want.Size, want.Root)
	}
}

// readAll pages through s.Entries until an empty page.
func readAll(t *testing.T, s audit.Store) []audit.StoredEntry {
	t.Helper()
	const limit = 500
	var all []audit.StoredEntry
	for from := int64(0); ; {
		page, err := s.Entries(t.Context(), from, limit)
		if err != nil {
			t.Fatalf("Entries(%d, %d): %v", from, limit, err)
		}
		if len(page) == 0 {
			return all
		}
		if len(page) > limit {
			t.Fatalf("Entries(%d, %d) returned %d entries; want at most limit", from, limit, len(page))
		}
		if page[0].Index < from {
			t.Fatalf("Entries(%d, %d) returned index %d first; want indexes >= from", from, limit, page[0].Index)
		}
		all = append(all, page...)
		from = page[len(page)-1].Index + 1
	}
}

// wantLog fails t unless s holds exactly m: its head, its entries, its
// stored hashes and no hash beyond them.
func wantLog(t *testing.T, s audit.Store, m *model, call string) {
	t.Helper()
	wantHead(t, s, m.head(), "Head "+call)
	wantEntries(t, "Entries "+call, readAll(t, s), m.entries)
	wantHashes(t, s, m, call)
}

// wantHashes fails t unless ReadHashes, in one call, returns m's hashes,
// and the next storage index is not stored.
func wantHashes(t *testing.T, s audit.Store, m *model, call string) {
	t.Helper()
	n := int64(len(m.hashes))
	got, err := s.ReadHashes(t.Context(), hashIndexes(n))
	switch {
	case err != nil:
		t.Errorf("ReadHashes of all %d storage indexes %s: %v; want the hashes of a log of %d entries", n, call, err, m.size())
	case len(got) != len(m.hashes):
		t.Errorf("ReadHashes of %d storage indexes %s returned %d hashes; want one per index", n, call, len(got))
	default:
		for i := range got {
			if got[i] != m.hashes[i] {
				t.Errorf("ReadHashes %s: storage index %d = %v; want %v (the hash tlog.StoredHashes computes; stored hashes never change)",
					call, i, got[i], m.hashes[i])
				break
			}
		}
	}
	_, err = s.ReadHashes(t.Context(), []int64{n})
	wantErr(t, err, audit.ErrNotFound, fmt.Sprintf("ReadHashes of storage index %d %s", n, call),
		fmt.Sprintf("a log of %d entries stores tlog.StoredHashCount = %d hashes", m.size(), n))
}

// wantProofs fails t unless tlog's record and tree proofs, built from the
// stored hashes, check against m's head; prev is an earlier head.
func wantProofs(t *testing.T, s audit.Store, m *model, prev audit.Head) {
	t.Helper()
	h, r := m.head(), storeReader(t, s)
	var idx []int64
	for _, i := range []int64{0, prev.Size, h.Size / 2, h.Size - 1} {
		if i < h.Size && !slices.Contains(idx, i) {
			idx = append(idx, i)
		}
	}
	for _, i := range idx {
		p, err := tlog.ProveRecord(h.Size, i, r)
		if err != nil {
			t.Errorf("tlog.ProveRecord(%d, %d) over ReadHashes: %v; want a record proof from the stored hashes", h.Size, i, err)
			continue
		}
		if err := tlog.CheckRecord(p, h.Size, h.Root, i, tlog.RecordHash(m.entries[i].Body)); err != nil {
			t.Errorf("tlog.CheckRecord of entry %d in the tree of %d: %v; want the proof from the stored hashes to check", i, h.Size, err)
		}
	}
	for _, old := range []int64{1, prev.Size} {
		if old < 1 || old > h.Size {
			continue
		}
		oldRoot, err := tlog.TreeHash(old, m)
		if err != nil {
			t.Fatal(err)
		}
		p, err := tlog.ProveTree(h.Size, old, r)
		if err != nil {
			t.Errorf("tlog.ProveTree(%d, %d) over ReadHashes: %v; want a consistency proof from the stored hashes", h.Size, old, err)
			continue
		}
		if err := tlog.CheckTree(p, h.Size, h.Root, old, oldRoot); err != nil {
			t.Errorf("tlog.CheckTree from size %d to %d: %v; want the tree of %d to extend the tree of %d", old, h.Size, err, h.Size, old)
		}
	}
}

// wantEntries fails t unless got, as returned by call, equals want.
func wantEntries(t *testing.T, call string, got, want []audit.StoredEntry) {
	t.Helper()
	if gi, wi := indexesOf(got), indexesOf(want); !slices.Equal(gi, wi) {
		t.Errorf("%s returned the entries at indexes %v; want %v", call, brief(gi), brief(wi))
		return
	}
	for i := range got {
		if d := entryDiff(got[i], want[i]); len(d) > 0 {
			t.Errorf("%s: entry %d differs from the one appended:\n\t%s", call, want[i].Index, strings.Join(d, "\n\t"))
		}
	}
}

func indexesOf(es []audit.StoredEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Index
	}
	return out
}

// brief shortens a long list of indexes for a failure message.
func brief(l []int64) string {
	if len(l) <= 40 {
		return fmt.Sprint(l)
	}
	return fmt.Sprintf("%v … %v (%d indexes)", l[:20], l[len(l)-10:], len(l))
}

// entryDiff compares an entry a Store returned with the one expected, as a
// Store keeps it.
func entryDiff(got, want audit.StoredEntry) []string {
	var d []string
	if got.Index != want.Index {
		d = append(d, fmt.Sprintf("Index = %d, want %d", got.Index, want.Index))
	}
	switch {
	case want.Redacted():
		if !got.Redacted() {
			d = append(d, fmt.Sprintf("Body = %s, want nil: a redacted entry keeps only its Index", short(got.Body)))
		}
		if len(got.Subject) > 0 || len(got.Actor) > 0 || !got.Time.IsZero() {
			d = append(d, fmt.Sprintf("Subject = %s, Actor = %s, Time = %s; want none: a redacted entry keeps only its Index",
				label(got.Subject), label(got.Actor), got.Time.Format(time.RFC3339Nano)))
		}
		return d
	case got.Body == nil:
		d = append(d, fmt.Sprintf("Body = nil (redacted), want %s", short(want.Body)))
	case !bytes.Equal(got.Body, want.Body):
		d = append(d, fmt.Sprintf("Body = %s, want %s (byte for byte)", short(got.Body), short(want.Body)))
	}
	if !bytes.Equal(got.Subject, want.Subject) {
		d = append(d, fmt.Sprintf("Subject = %s, want %s", label(got.Subject), label(want.Subject)))
	}
	if !bytes.Equal(got.Actor, want.Actor) {
		d = append(d, fmt.Sprintf("Actor = %s, want %s", label(got.Actor), label(want.Actor)))
	}
	if w := normTime(want.Time); !got.Time.Equal(w) {
		d = append(d, fmt.Sprintf("Time = %s, want %s (the appended time truncated to the microsecond)",
			got.Time.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano)))
	} else if got.Time.Location() != time.UTC {
		d = append(d, fmt.Sprintf("Time is in location %q, want UTC", got.Time.Location()))
	}
	return d
}

// fmtFilter describes f in failure messages.
func fmtFilter(f audit.StoreFilter) string {
	var b strings.Builder
	b.WriteString("{")
	if f.Subject != nil {
		fmt.Fprintf(&b, "Subject:%s ", label(f.Subject))
	}
	if f.Actor != nil {
		fmt.Fprintf(&b, "Actor:%s ", label(f.Actor))
	}
	if !f.Since.IsZero() {
		fmt.Fprintf(&b, "Since:%s ", f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		fmt.Fprintf(&b, "Until:%s ", f.Until.Format(time.RFC3339Nano))
	}
	if f.From != 0 {
		fmt.Fprintf(&b, "From:%d ", f.From)
	}
	fmt.Fprintf(&b, "Limit:%d}", f.Limit)
	return b.String()
}

// matches is the suite's reading of audit.StoreFilter: every non-zero
// field but Limit must match, and a redacted entry never does.
func matches(e audit.StoredEntry, f audit.StoreFilter) bool {
	return !e.Redacted() &&
		e.Index >= f.From &&
		(len(f.Subject) == 0 || bytes.Equal(e.Subject, f.Subject)) &&
		(len(f.Actor) == 0 || bytes.Equal(e.Actor, f.Actor)) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until))
}

// query returns what Query(f) must return from a log holding m.
func (m *model) query(f audit.StoreFilter) []audit.StoredEntry {
	var out []audit.StoredEntry
	for _, e := range m.entries {
		if len(out) == f.Limit {
			break
		}
		if matches(e, f) {
			out = append(out, e)
		}
	}
	return out
}

// wantQuery fails t unless s.Query(f) returns what the contract says for a
// log holding m, and returns what it returned.
func wantQuery(t *testing.T, s audit.Store, m *model, f audit.StoreFilter, why string) []audit.StoredEntry {
	t.Helper()
	got, err := s.Query(t.Context(), f)
	if err != nil {
		t.Errorf("Query(%s): %v; want nil", fmtFilter(f), err)
		return nil
	}
	want := m.query(f)
	if gi, wi := indexesOf(got), indexesOf(want); !slices.Equal(gi, wi) {
		t.Errorf("Query(%s) returned the entries at indexes %v; want %v: %s", fmtFilter(f), brief(gi), brief(wi), why)
		return got
	}
	wantEntries(t, fmt.Sprintf("Query(%s)", fmtFilter(f)), got, want)
	return got
}
