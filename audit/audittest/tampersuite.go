package audittest

import (
	"bytes"
	"context"
	"crypto/rand"
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

// RunTamperTests checks that audit.Log.Verify, over the stores newStore
// makes, catches every change an insider with write access to the database
// can make — each single-entry modification, deletion, insertion,
// reordering and tail truncation, rewritten hashes, and query columns
// (subject, actor, time) moved away from their entry's body — and flags
// none of the entries left untouched; that Log.Entries and
// Log.ExportSubject refuse, with audit.ErrTampered, to answer from a row
// whose columns disagree with its body; that a Log refuses to sign, or
// to append onto, a tail rewritten behind it since its last checkpoint
// (entries, hashes and head kept consistent), Close included; that
// redaction and forgetting keep the log verifying; and that no stored
// byte holds a subject ID or staff ID in clear. newStore is called once per subtest and returns an empty store
// that no other subtest uses, and the Tamperer that changes it.
func RunTamperTests(t *testing.T, newStore func(t *testing.T) (audit.Store, Tamperer)) {
	tests := []struct {
		name string
		fn   func(*testing.T, *tamperFixture)
	}{
		{"UntouchedLogVerifies", testUntouched},
		{"EachEntryModified", testEachModified},
		{"EachEntryReplacedByAValidOne", testEachReplaced},
		{"EachEntryDeleted", testEachDeleted},
		{"EachBodyDropped", testEachDropped},
		{"EntryInserted", testInserted},
		{"EntriesReordered", testReordered},
		{"QueryColumnsMoved", testColumnsMoved},
		{"EntryAndItsLeafHashRewritten", testRewrittenWithHash},
		{"InteriorHashRewritten", testInteriorHash},
		{"TailTruncated", testTruncated},
		{"TailRewrittenSinceCheckpoint", testTailRewritten},
		{"ForgedCheckpoint", testForgedCheckpoint},
		{"RedactionAndForgettingVerify", testRedactForget},
		{"NoPersonalDataStored", testCanary},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, tam := newStore(t)
			tc.fn(t, newTamperFixture(t, s, tam))
		})
	}
}

// tamperEntries is how many entries each tamper test's log holds.
const tamperEntries = 23

type tamperFixture struct {
	ctx    context.Context
	store  audit.Store
	tam    Tamperer
	log    *audit.Log
	key    []byte
	anchor *audit.FileAnchor
	skey   string
	cp     audit.Checkpoint // anchored, of the whole log
	bodies [][]byte
}

func newTamperFixture(t *testing.T, s audit.Store, tam Tamperer) *tamperFixture {
	f := &tamperFixture{ctx: t.Context(), store: s, tam: tam, anchor: &audit.FileAnchor{Dir: t.TempDir()}, key: make([]byte, 32)}
	rand.Read(f.key)
	var err error
	if f.skey, _, err = audit.GenerateKey("audittest.example/log"); err != nil {
		t.Fatal(err)
	}
	f.log = f.open(t)
	var events []gdpr.Event
	for i := range tamperEntries {
		events = append(events, gdpr.Event{
			Time:    time.Date(2026, 1, 2, 3, 4, i, 0, time.UTC),
			Actor:   gdpr.Staff(fmt.Sprint("agent-", i%3)),
			Action:  "crypto.decrypt",
			Subject: gdpr.SubjectID(fmt.Sprint("subject-", i%5)),
			Purpose: "support", Resource: fmt.Sprint("profiles/", i), Outcome: gdpr.Success,
		})
	}
	// Two appends, so the tree was built in more than one batch.
	if _, err := f.log.Append(f.ctx, events[:9]...); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if _, err := f.log.Append(f.ctx, events[9:]...); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if f.cp, err = f.log.Checkpoint(f.ctx); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	ents, err := s.Entries(f.ctx, 0, tamperEntries+1)
	if err != nil || len(ents) != tamperEntries {
		t.Fatalf("Entries = %d entries, %v", len(ents), err)
	}
	for _, e := range ents {
		f.bodies = append(f.bodies, e.Body)
	}
	return f
}

func (f *tamperFixture) open(t *testing.T) *audit.Log {
	t.Helper()
	signer, verifier, err := audit.NewSigner(f.skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(f.ctx, f.store, f.key, signer, verifier, audit.WithAnchor(f.anchor), audit.WithCheckpoints(0, 0))
	if err != nil {
		t.Fatalf("audit.New: %v", err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

// verify runs Verify and returns the problems, failing t if Verify's
// error and its report disagree.
func (f *tamperFixture) verify(t *testing.T) []audit.Problem {
	t.Helper()
	rep, err := f.log.Verify(f.ctx, audit.VerifyOptions{PageSize: 7})
	if rep == nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.OK() != (err == nil) {
		t.Fatalf("Verify returned %v with %d problems", err, len(rep.Problems))
	}
	if err != nil && !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("Verify error %v does not wrap ErrTampered", err)
	}
	return rep.Problems
}

// expect fails t unless problems are exactly want (kind and index).
func expect(t *testing.T, what string, problems []audit.Problem, want ...audit.Problem) {
	t.Helper()
	got := make([]string, len(problems))
	for i, p := range problems {
		got[i] = fmt.Sprintf("%s@%d", p.Kind, p.Index)
	}
	exp := make([]string, len(want))
	for i, p := range want {
		exp[i] = fmt.Sprintf("%s@%d", p.Kind, p.Index)
	}
	slices.Sort(got)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		t.Fatalf("%s: Verify found %v; want exactly %v (no untouched entry may be flagged)", what, got, exp)
	}
}

func (f *tamperFixture) mustVerify(t *testing.T, what string) {
	t.Helper()
	expect(t, what, f.verify(t))
}

func testUntouched(t *testing.T, f *tamperFixture) {
	f.mustVerify(t, "untouched log")
}

func testEachModified(t *testing.T, f *tamperFixture) {
	edits := map[string]func([]byte) []byte{
		"flip a bit":  func(b []byte) []byte { b[len(b)/2] ^= 1; return b },
		"append byte": func(b []byte) []byte { return append(b, 0) },
		"cut a byte":  func(b []byte) []byte { return b[:len(b)-1] },
	}
	for name, edit := range edits {
		for i := range int64(tamperEntries) {
			f.tam.SetBody(t, i, edit(bytes.Clone(f.bodies[i])))
			expect(t, fmt.Sprintf("%s of entry %d", name, i), f.verify(t), audit.Problem{Kind: audit.EntryAltered, Index: i})
			f.tam.SetBody(t, i, f.bodies[i])
		}
	}
	f.mustVerify(t, "after restoring every entry")
}

// testEachReplaced replaces each entry with a well-formed entry saying
// something else, as an insider who knows the format would.
func testEachReplaced(t *testing.T, f *tamperFixture) {
	for i := range int64(tamperEntries) {
		var e audit.Entry
		if err := e.UnmarshalBinary(f.bodies[i]); err != nil {
			t.Fatalf("entry %d does not decode: %v", i, err)
		}
		e.Action, e.Outcome = "crypto.shred", gdpr.Denied
		forged, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		f.tam.SetBody(t, i, forged)
		expect(t, fmt.Sprintf("entry %d replaced", i), f.verify(t), audit.Problem{Kind: audit.EntryAltered, Index: i})
		f.tam.SetBody(t, i, f.bodies[i])
	}
}

func testEachDeleted(t *testing.T, f *tamperFixture) {
	ents, err := f.store.Entries(f.ctx, 0, tamperEntries)
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(tamperEntries) {
		f.tam.DeleteEntry(t, i)
		expect(t, fmt.Sprintf("entry %d deleted", i), f.verify(t), audit.Problem{Kind: audit.EntryMissing, Index: i})
		f.tam.InsertEntry(t, ents[i])
	}
	f.mustVerify(t, "after re-inserting every entry")
}

// testEachDropped drops each entry's body without the audit.redact record
// a redaction writes: a deletion of its content.
func testEachDropped(t *testing.T, f *tamperFixture) {
	for i := range int64(tamperEntries) {
		f.tam.SetBody(t, i, nil)
		expect(t, fmt.Sprintf("body %d dropped", i), f.verify(t), audit.Problem{Kind: audit.RedactionUnrecorded, Index: i})
		f.tam.SetBody(t, i, f.bodies[i])
	}
}

func testInserted(t *testing.T, f *tamperFixture) {
	for _, i := range []int64{tamperEntries, tamperEntries + 5} {
		f.tam.InsertEntry(t, audit.StoredEntry{Index: i, Time: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Body: f.bodies[3]})
		expect(t, fmt.Sprintf("entry inserted at %d", i), f.verify(t), audit.Problem{Kind: audit.EntryExtra, Index: i})
		f.tam.DeleteEntry(t, i)
	}
	f.mustVerify(t, "after removing the insertions")
}

func testReordered(t *testing.T, f *tamperFixture) {
	for _, p := range [][2]int64{{0, 1}, {3, 17}, {8, 9}, {tamperEntries - 2, tamperEntries - 1}} {
		f.tam.SwapBodies(t, p[0], p[1])
		expect(t, fmt.Sprintf("entries %d and %d swapped", p[0], p[1]), f.verify(t),
			audit.Problem{Kind: audit.EntryAltered, Index: p[0]}, audit.Problem{Kind: audit.EntryAltered, Index: p[1]})
		f.tam.SwapBodies(t, p[0], p[1])
	}
	f.mustVerify(t, "after swapping back")
}

// testRewrittenWithHash rewrites an entry and its leaf hash consistently:
// the entry matches its leaf, but the tree above it and the checkpoint
// do not.
func testRewrittenWithHash(t *testing.T, f *tamperFixture) {
	for _, i := range []int64{0, 6, tamperEntries - 1} {
		forged := bytes.Clone(f.bodies[i])
		forged[len(forged)-1] ^= 1
		leafIdx := tlog.StoredHashIndex(0, i)
		old := readHash(t, f, leafIdx)
		f.tam.SetBody(t, i, forged)
		f.tam.SetHash(t, leafIdx, tlog.RecordHash(forged))
		problems := f.verify(t)
		var kinds []audit.ProblemKind
		for _, p := range problems {
			kinds = append(kinds, p.Kind)
			if p.Kind == audit.EntryAltered || p.Kind == audit.EntryMissing {
				t.Fatalf("entry %d and its leaf rewritten: Verify flags entry %d (%s)", i, p.Index, p.Kind)
			}
		}
		if !slices.Contains(kinds, audit.RootMismatch) {
			t.Fatalf("entry %d and its leaf rewritten: Verify found %v; want a root mismatch against the checkpoint", i, problems)
		}
		if i%2 == 0 && i+1 < tamperEntries && !slices.Contains(kinds, audit.HashMismatch) {
			t.Fatalf("entry %d and its leaf rewritten: Verify found %v; want the hash above it flagged", i, problems)
		}
		f.tam.SetBody(t, i, f.bodies[i])
		f.tam.SetHash(t, leafIdx, old)
	}
	f.mustVerify(t, "after restoring")
}

func testInteriorHash(t *testing.T, f *tamperFixture) {
	idx := tlog.StoredHashIndex(2, 1) // the node over entries 4 to 7
	old := readHash(t, f, idx)
	bad := old
	bad[0] ^= 0xff
	f.tam.SetHash(t, idx, bad)
	expect(t, "interior hash rewritten", f.verify(t), audit.Problem{Kind: audit.HashMismatch, Index: 4})
	// Proofs through that node fail.
	p, err := f.log.ProveEntry(f.ctx, 0, f.cp.Size)
	if err == nil && audit.CheckEntry(f.cp, 0, f.bodies[0], p) == nil {
		t.Fatal("an inclusion proof through a rewritten hash checks")
	}
	f.tam.SetHash(t, idx, old)
	f.mustVerify(t, "after restoring the hash")
}

func readHash(t *testing.T, f *tamperFixture, idx int64) tlog.Hash {
	t.Helper()
	hs, err := f.store.ReadHashes(f.ctx, []int64{idx})
	if err != nil {
		t.Fatal(err)
	}
	return hs[0]
}

func testTruncated(t *testing.T, f *tamperFixture) {
	// Cut the tail as a careful insider would: entries, hashes, the
	// checkpoints past the cut and the head all agree afterwards. Only the
	// anchored checkpoint, held outside, disagrees.
	const size = tamperEntries - 4
	root, err := tlog.TreeHash(size, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		return f.store.ReadHashes(f.ctx, idx)
	}))
	if err != nil {
		t.Fatal(err)
	}
	f.tam.Truncate(t, size, root)
	if h, err := f.store.Head(f.ctx); err != nil || h.Size != size {
		t.Fatalf("after Truncate the head is %d, %v", h.Size, err)
	}
	expect(t, "tail truncated", f.verify(t), audit.Problem{Kind: audit.Truncated, Index: tamperEntries})
	signer, verifier, _ := audit.NewSigner(f.skey)
	if _, err := audit.New(f.ctx, f.store, f.key, signer, verifier, audit.WithAnchor(f.anchor)); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("New over a truncated log = %v, want ErrTampered", err)
	}
	if _, err := f.log.Checkpoint(f.ctx); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("Checkpoint of a truncated log = %v, want ErrTampered (it must not sign a cut history)", err)
	}
}

func testForgedCheckpoint(t *testing.T, f *tamperFixture) {
	other, _, _ := audit.GenerateKey("audittest.example/log")
	signer, _, _ := audit.NewSigner(other)
	c := audit.Checkpoint{Origin: "audittest.example/log", Size: tamperEntries + 100}
	forged, err := signCheckpointForTest(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutCheckpoint(f.ctx, c.Size, forged); err != nil {
		t.Fatal(err)
	}
	expect(t, "checkpoint signed by another key", f.verify(t), audit.Problem{Kind: audit.CheckpointInvalid, Index: -1})
}

func testRedactForget(t *testing.T, f *tamperFixture) {
	if err := f.log.Redact(f.ctx, gdpr.Staff("dpo"), 4, "recorded_in_error"); err != nil {
		t.Fatal(err)
	}
	if rep, err := f.log.EraseSubject(f.ctx, "subject-1"); err != nil || rep.Erased != 1 {
		t.Fatalf("EraseSubject = %+v, %v", rep, err)
	}
	if _, err := f.log.ForgetActor(f.ctx, "agent-2"); err != nil {
		t.Fatal(err)
	}
	f.mustVerify(t, "after a redaction and two erasures")
	if _, err := f.log.Checkpoint(f.ctx); err != nil {
		t.Fatalf("Checkpoint after redaction: %v", err)
	}
	// The anchored checkpoint from before still proves consistent.
	h, _ := f.log.Head(f.ctx)
	p, err := f.log.ProveConsistency(f.ctx, f.cp.Size, h.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.CheckConsistency(f.cp, audit.Checkpoint{Origin: f.cp.Origin, Size: h.Size, Root: h.Root}, p); err != nil {
		t.Fatal(err)
	}
}

// testCanary records events about a canary subject by a canary staff
// member and searches every stored byte for them.
func testCanary(t *testing.T, f *tamperFixture) {
	subject := "canary-subject-7f3a9c"
	email := "canary.person@example.org"
	for i := range 3 {
		err := f.log.Record(f.ctx, gdpr.Event{Actor: gdpr.Staff(email), Action: "crypto.decrypt",
			Subject: gdpr.SubjectID(subject), Purpose: "support", Resource: fmt.Sprint("profiles/", i), Outcome: gdpr.Success})
		if err != nil {
			t.Fatal(err)
		}
		err = f.log.Record(f.ctx, gdpr.Event{Actor: gdpr.Actor{Kind: gdpr.ActorSubject, ID: email}, Action: "consent.given",
			Subject: gdpr.SubjectID(email), Outcome: gdpr.Success})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.log.Checkpoint(f.ctx); err != nil {
		t.Fatal(err)
	}
	raw := f.tam.RawBytes(t)
	if len(raw) == 0 {
		t.Fatal("RawBytes returned nothing")
	}
	for _, v := range raw {
		for _, c := range []string{subject, email, "canary"} {
			if bytes.Contains(bytes.ToLower(v), []byte(strings.ToLower(c))) {
				t.Fatalf("a stored value holds %q in clear", c)
			}
		}
		if bytes.Contains(v, f.key) {
			t.Fatal("a stored value holds the pseudonym key")
		}
	}
}

// testColumnsMoved moves each entry's query columns — the subject, the
// actor, the time that Store.Query selects on — to another entry's, as an
// insider's UPDATE would, leaving the hashed body alone. Verify must name
// the entry; a query that selects the moved row must refuse to answer
// (an Art. 15 answer never includes another subject's entry); restoring
// the columns must verify again.
func testColumnsMoved(t *testing.T, f *tamperFixture) {
	ents, err := f.store.Entries(f.ctx, 0, tamperEntries)
	if err != nil || len(ents) != tamperEntries {
		t.Fatalf("Entries = %d entries, %v", len(ents), err)
	}
	restore := func(i int64) {
		e := ents[i]
		f.tam.SetColumns(t, i, e.Time, e.Subject, e.Actor)
	}
	// Entry i is about subject-(i%5), by agent-(i%3), at second i; entry
	// i+1 (mod tamperEntries) has another subject, actor and time.
	for i := range int64(tamperEntries) {
		e, o := ents[i], ents[(i+1)%tamperEntries]
		j := (i + 1) % tamperEntries

		f.tam.SetColumns(t, i, e.Time, o.Subject, e.Actor)
		what := fmt.Sprintf("subject column of entry %d moved to subject-%d", i, j%5)
		expect(t, what, f.verify(t), audit.Problem{Kind: audit.ColumnMismatch, Index: i})
		f.mustRefuse(t, what, audit.Filter{Subject: gdpr.SubjectID(fmt.Sprint("subject-", j%5))})
		if err := f.log.ExportSubject(f.ctx, gdpr.SubjectID(fmt.Sprint("subject-", j%5)), discard{}); !errors.Is(err, audit.ErrTampered) {
			t.Fatalf("%s: ExportSubject(subject-%d) = %v; want an error wrapping ErrTampered: an Art. 15 answer never includes another subject's entry", what, j%5, err)
		}
		restore(i)

		f.tam.SetColumns(t, i, e.Time, e.Subject, o.Actor)
		what = fmt.Sprintf("actor column of entry %d moved to agent-%d", i, j%3)
		expect(t, what, f.verify(t), audit.Problem{Kind: audit.ColumnMismatch, Index: i})
		f.mustRefuse(t, what, audit.Filter{Actor: gdpr.Staff(fmt.Sprint("agent-", j%3))})
		restore(i)

		f.tam.SetColumns(t, i, o.Time, e.Subject, e.Actor)
		what = fmt.Sprintf("time column of entry %d moved to entry %d's", i, j)
		expect(t, what, f.verify(t), audit.Problem{Kind: audit.ColumnMismatch, Index: i})
		f.mustRefuse(t, what, audit.Filter{Since: o.Time, Until: o.Time.Add(time.Second)})
		restore(i)
	}
	// A subject column dropped, and one added to an entry about no one.
	f.tam.SetColumns(t, 5, ents[5].Time, nil, ents[5].Actor)
	expect(t, "subject column of entry 5 dropped", f.verify(t), audit.Problem{Kind: audit.ColumnMismatch, Index: 5})
	f.mustRefuse(t, "subject column of entry 5 dropped", audit.Filter{})
	f.tam.SetColumns(t, 6, ents[6].Time, ents[6].Subject, nil)
	expect(t, "subject column of entry 5 and actor column of entry 6 dropped", f.verify(t),
		audit.Problem{Kind: audit.ColumnMismatch, Index: 5}, audit.Problem{Kind: audit.ColumnMismatch, Index: 6})
	restore(5)
	restore(6)
	if err := f.log.Record(f.ctx, gdpr.Event{Actor: gdpr.System("sweeper"), Action: "retention.swept", Outcome: gdpr.Success}); err != nil {
		t.Fatal(err)
	}
	f.tam.SetColumns(t, tamperEntries, ents[0].Time, ents[0].Subject, []byte("system:sweeper"))
	expect(t, "a subject column given to an entry about no one", f.verify(t), audit.Problem{Kind: audit.ColumnMismatch, Index: tamperEntries})
	f.mustRefuse(t, "a subject column given to an entry about no one", audit.Filter{Subject: "subject-0"})
	f.tam.SetColumns(t, tamperEntries, ents[0].Time, nil, []byte("system:sweeper"))
	expect(t, "the time column of an entry moved", f.verify(t), audit.Problem{Kind: audit.ColumnMismatch, Index: tamperEntries})
	f.tam.SetColumns(t, tamperEntries, ents[0].Time, nil, []byte("system:other"))
	expect(t, "time and actor columns of an entry moved", f.verify(t), audit.Problem{Kind: audit.ColumnMismatch, Index: tamperEntries})
	f.mustRefuse(t, "the actor column of a system entry moved", audit.Filter{Actor: gdpr.System("other")})
	last, err := f.store.Entries(f.ctx, tamperEntries, 1)
	if err != nil || len(last) != 1 {
		t.Fatalf("Entries = %d, %v", len(last), err)
	}
	var en audit.Entry
	if err := en.UnmarshalBinary(last[0].Body); err != nil {
		t.Fatal(err)
	}
	f.tam.SetColumns(t, tamperEntries, en.Time, nil, []byte("system:sweeper"))
	f.mustVerify(t, "after restoring every column")
}

// mustRefuse fails t unless Log.Entries(q) refuses with ErrTampered: a row
// whose columns disagree with its body is neither returned nor silently
// dropped.
func (f *tamperFixture) mustRefuse(t *testing.T, what string, q audit.Filter) {
	t.Helper()
	q.Limit = audit.MaxPage
	es, err := f.log.Entries(f.ctx, q)
	if !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("%s: Entries(%+v) = %d entries, %v; want an error wrapping ErrTampered: "+
			"a query never answers from a row whose columns disagree with its body", what, q, len(es), err)
	}
	if len(es) != 0 {
		t.Fatalf("%s: Entries returned %d entries with its error; want none", what, len(es))
	}
}

type discard struct{}

func (discard) WriteRecord(context.Context, gdpr.Record) error { return nil }

// testTailRewritten rewrites the entries a Log appended since its last
// checkpoint — bodies saying something else, their hashes and the head
// recomputed so that the store is consistent and still extends every
// checkpoint — as a careful insider would. The Log that wrote the
// genuine tail knows its root: it must refuse to sign the forgery
// (Checkpoint and Close) and to append onto it.
func testTailRewritten(t *testing.T, f *tamperFixture) {
	var evs []gdpr.Event
	for i := range 5 {
		evs = append(evs, gdpr.Event{Time: time.Date(2026, 1, 3, 0, 0, i, 0, time.UTC), Actor: gdpr.Staff("agent-9"),
			Action: "crypto.decrypt", Subject: "subject-9", Purpose: "support", Resource: fmt.Sprint("profiles/", 100+i), Outcome: gdpr.Success})
	}
	if _, err := f.log.Append(f.ctx, evs...); err != nil {
		t.Fatal(err)
	}
	tail, err := f.store.Entries(f.ctx, f.cp.Size, 10)
	if err != nil || len(tail) != len(evs) {
		t.Fatalf("Entries of the tail = %d, %v", len(tail), err)
	}
	forged := make([]audit.StoredEntry, len(tail))
	for k, e := range tail {
		var en audit.Entry
		if err := en.UnmarshalBinary(e.Body); err != nil {
			t.Fatal(err)
		}
		en.Outcome = gdpr.Denied
		body, err := en.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		forged[k] = audit.StoredEntry{Time: e.Time, Subject: e.Subject, Actor: e.Actor, Body: body}
	}
	f.tam.Truncate(t, f.cp.Size, f.cp.Root)
	if _, err := Append(f.ctx, f.store, forged...); err != nil {
		t.Fatalf("rewriting the tail: %v", err)
	}
	if rep := f.verify(t); len(rep) != 0 {
		t.Fatalf("the rewritten tail does not even look consistent: %v", rep)
	}
	if cp, err := f.log.Checkpoint(f.ctx); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("Checkpoint of a tail rewritten since the last checkpoint = %v, %v; want ErrTampered: "+
			"the Log that wrote the tail must not sign another one", cp, err)
	}
	err = f.log.Record(f.ctx, gdpr.Event{Actor: gdpr.System("worker"), Action: "crypto.decrypt", Outcome: gdpr.Success})
	if !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("Record onto a rewritten tail = %v; want ErrTampered: the Log must not build on a history it did not write", err)
	}
	if err := f.log.Close(f.ctx); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("Close over a rewritten tail = %v; want ErrTampered (no last checkpoint signed)", err)
	}
	latest, err := f.store.LatestCheckpoint(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(latest, f.cp.Note) {
		t.Fatal("a checkpoint of the rewritten tail was stored")
	}
	anchored, err := f.anchor.Latest(f.ctx)
	if err != nil || !bytes.Equal(anchored, f.cp.Note) {
		t.Fatalf("a checkpoint of the rewritten tail was anchored (%v)", err)
	}
}
