package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

// keys are one Ed25519 signer and its verifier, shared by the tests.
var keys = func() struct {
	skey, vkey string
} {
	s, v, err := audit.GenerateKey("example.com/audit")
	if err != nil {
		panic(err)
	}
	return struct{ skey, vkey string }{s, v}
}()

func pseudonymKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

type fixture struct {
	store  audit.Store
	log    *audit.Log
	key    []byte
	anchor *audit.FileAnchor
}

func open(t testing.TB, store audit.Store, opts ...audit.Option) *fixture {
	t.Helper()
	f := &fixture{store: store, key: pseudonymKey(), anchor: &audit.FileAnchor{Dir: t.TempDir()}}
	f.log = f.reopen(t, opts...)
	return f
}

func (f *fixture) reopen(t testing.TB, opts ...audit.Option) *audit.Log {
	t.Helper()
	s, v, err := audit.NewSigner(keys.skey)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]audit.Option{audit.WithAnchor(f.anchor), audit.WithCheckpoints(0, 0)}, opts...)
	l, err := audit.New(t.Context(), f.store, f.key, s, v, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

func event(i int, subject gdpr.SubjectID) gdpr.Event {
	return gdpr.Event{
		Time:  time.Date(2026, 11, 25, 10, 0, i, 0, time.UTC),
		Actor: gdpr.Staff("agent-7"), Action: "crypto.decrypt", Subject: subject,
		Purpose: "support", Categories: []string{"contact"}, Resource: fmt.Sprintf("profiles/%d", i),
		Outcome: gdpr.Success, Attrs: map[string]string{"n": fmt.Sprint(i)},
	}
}

func TestRecordAndQuery(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	for i := range 10 {
		subject := gdpr.SubjectID("alice")
		if i%2 == 1 {
			subject = "bob"
		}
		if err := f.log.Record(ctx, event(i, subject)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.log.Entries(ctx, audit.Filter{Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("alice has %d entries, want 5", len(got))
	}
	for i, e := range got {
		if e.Index != int64(2*i) || e.Action != "crypto.decrypt" || e.Resource != fmt.Sprintf("profiles/%d", 2*i) ||
			e.Actor.Kind != gdpr.ActorStaff || e.Actor.ID == "agent-7" || e.Subject.IsZero() || e.Attrs["n"] != fmt.Sprint(2*i) {
			t.Fatalf("entry %d = %+v", i, e)
		}
		if e.Subject != got[0].Subject || e.Actor.ID != got[0].Actor.ID {
			t.Fatal("one subject or actor has two pseudonyms")
		}
	}
	bob, _ := f.log.Entries(ctx, audit.Filter{Subject: "bob", Limit: 2})
	if len(bob) != 2 || bob[0].Subject == got[0].Subject {
		t.Fatalf("bob's first page = %d entries (or alice's pseudonym)", len(bob))
	}
	next, _ := f.log.Entries(ctx, audit.Filter{Subject: "bob", From: bob[1].Index + 1})
	if len(next) != 3 {
		t.Fatalf("bob's second page has %d entries, want 3", len(next))
	}
	byActor, _ := f.log.Entries(ctx, audit.Filter{Actor: gdpr.Staff("agent-7")})
	if len(byActor) != 10 {
		t.Fatalf("agent-7 has %d entries, want 10", len(byActor))
	}
	window, _ := f.log.Entries(ctx, audit.Filter{Since: event(3, "").Time, Until: event(6, "").Time})
	if len(window) != 3 || window[0].Index != 3 {
		t.Fatalf("time window [3,6) gives %d entries", len(window))
	}
	none, err := f.log.Entries(ctx, audit.Filter{Subject: "carol"})
	if err != nil || len(none) != 0 {
		t.Fatalf("a subject never recorded gives %d entries, %v", len(none), err)
	}
	// Looking carol up left no salt behind: erasing her finds nothing.
	if rep, err := f.log.EraseSubject(ctx, "carol"); err != nil || rep.Erased != 0 {
		t.Fatalf("EraseSubject(never recorded) = %+v, %v; want 0", rep, err)
	}
}

func TestInvalidEventWritesNothing(t *testing.T) {
	ctx := t.Context()
	store := memaudit.New()
	f := open(t, store)
	canary := "canary-4242@example.com"
	bad := []gdpr.Event{
		{Actor: gdpr.System("x"), Action: "Bad Action", Subject: gdpr.SubjectID(canary), Outcome: gdpr.Success},
		{Actor: gdpr.Staff(""), Action: "a.b", Outcome: gdpr.Success},
		{Actor: gdpr.System("x"), Action: "a.b", Outcome: "perhaps"},
		{Actor: gdpr.System("x"), Action: "a.b", Outcome: gdpr.Success, Attrs: map[string]string{"email": "a\nb" + canary}},
		{Actor: gdpr.System("x"), Action: "a.b", Outcome: gdpr.Success, Subject: "bad\x00id"},
	}
	for i, e := range bad {
		_, err := f.log.Append(ctx, event(0, "ok"), e)
		if !errors.Is(err, audit.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
			t.Fatalf("event %d: Append = %v, want ErrInvalid", i, err)
		}
		if strings.Contains(err.Error(), canary) {
			t.Fatalf("event %d: error %q holds personal data", i, err)
		}
	}
	if h, _ := f.log.Head(ctx); h.Size != 0 {
		t.Fatalf("head size %d after refused appends, want 0", h.Size)
	}
	if rep, _ := f.log.EraseSubject(ctx, gdpr.SubjectID(canary)); rep.Erased != 0 {
		t.Fatal("a refused event created a salt")
	}
}

func TestConcurrentRecordsOneTree(t *testing.T) {
	ctx := t.Context()
	store := memaudit.New()
	f := open(t, store, audit.WithMaxBatch(64))
	second := f.reopen(t) // another instance on the same store
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := f.log
			if g%2 == 1 {
				l = second
			}
			for i := range 50 {
				if err := l.Record(ctx, event(i, gdpr.SubjectID(fmt.Sprint("s", g)))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rep, err := f.log.Verify(ctx, audit.VerifyOptions{})
	if err != nil {
		t.Fatalf("Verify: %v (%v)", err, rep.Problems)
	}
	if rep.Size != 800 || rep.Entries != 800 {
		t.Fatalf("size %d, entries %d; want 800", rep.Size, rep.Entries)
	}
	// The root equals tlog's over the bodies in index order.
	var bodies [][]byte
	ses, _ := store.Entries(ctx, 0, 1000)
	for i, se := range ses {
		if se.Index != int64(i) {
			t.Fatalf("index %d at position %d", se.Index, i)
		}
		bodies = append(bodies, se.Body)
	}
	if want := mustRoot(t, bodies); rep.Root != want {
		t.Fatal("root differs from tlog's over the same records")
	}
}

func TestProofs(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	var events []gdpr.Event
	for i := range 37 {
		events = append(events, event(i, "alice"))
	}
	if _, err := f.log.Append(ctx, events[:20]...); err != nil {
		t.Fatal(err)
	}
	old, err := f.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Append(ctx, events[20:]...); err != nil {
		t.Fatal(err)
	}
	cur, err := f.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if old.Size != 20 || cur.Size != 37 {
		t.Fatalf("checkpoint sizes %d, %d", old.Size, cur.Size)
	}
	// The checkpoint is a C2SP signed note that opens with the verifier key.
	_, verifier, _ := audit.NewSigner(keys.skey)
	if _, err := audit.OpenCheckpoint(cur.Note, "example.com/audit", verifier); err != nil {
		t.Fatal(err)
	}
	for i := range int64(37) {
		e, body, err := f.log.Entry(ctx, i)
		if err != nil || e.Index != i {
			t.Fatal(err)
		}
		p, err := f.log.ProveEntry(ctx, i, cur.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.CheckEntry(cur, i, body, p); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if err := tlog.CheckRecord(p, cur.Size, cur.Root, i, tlog.RecordHash(body)); err != nil {
			t.Fatalf("tlog.CheckRecord entry %d: %v", i, err)
		}
		if audit.CheckEntry(cur, i, append(bytes.Clone(body), 0), p) == nil {
			t.Fatalf("entry %d: an altered body passes", i)
		}
	}
	p, err := f.log.ProveConsistency(ctx, old.Size, cur.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.CheckConsistency(old, cur, p); err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(p, cur.Size, cur.Root, old.Size, old.Root); err != nil {
		t.Fatal(err)
	}
	forged := old
	forged.Root[0] ^= 1
	if err := audit.CheckConsistency(forged, cur, p); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("consistency with a forged old root = %v", err)
	}
}

func TestEraseSubjectUnlinksAndStillVerifies(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	for i := range 6 {
		f.log.Record(ctx, event(i, "alice"))
	}
	before, _ := f.log.Entries(ctx, audit.Filter{Subject: "alice"})
	rep, err := f.log.EraseSubject(ctx, "alice")
	if err != nil || rep.Erased != 1 {
		t.Fatalf("EraseSubject = %+v, %v", rep, err)
	}
	if got, _ := f.log.Entries(ctx, audit.Filter{Subject: "alice"}); len(got) != 0 {
		t.Fatalf("after erasure %d entries still link to the subject", len(got))
	}
	// Again: idempotent, a zero report.
	if rep, err := f.log.EraseSubject(ctx, "alice"); err != nil || rep.Erased != 0 {
		t.Fatalf("second EraseSubject = %+v, %v", rep, err)
	}
	// A fresh Log with the same key cannot link them either.
	l2 := f.reopen(t)
	if got, _ := l2.Entries(ctx, audit.Filter{Subject: "alice"}); len(got) != 0 {
		t.Fatal("another instance still links the subject")
	}
	// A new event gets a new pseudonym.
	l2.Record(ctx, event(9, "alice"))
	after, _ := l2.Entries(ctx, audit.Filter{Subject: "alice"})
	if len(after) != 1 || after[0].Subject == before[0].Subject {
		t.Fatal("the subject's new entries carry the old pseudonym")
	}
	if _, err := f.log.Verify(ctx, audit.VerifyOptions{}); err != nil {
		t.Fatalf("Verify after erasure: %v", err)
	}
}

func TestRedact(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	for i := range 5 {
		f.log.Record(ctx, event(i, "alice"))
	}
	cp, _ := f.log.Checkpoint(ctx)
	if err := f.log.Redact(ctx, gdpr.Staff("dpo"), 2, "recorded_in_error"); err != nil {
		t.Fatal(err)
	}
	if err := f.log.Redact(ctx, gdpr.Staff("dpo"), 2, "recorded_in_error"); err != nil {
		t.Fatalf("second Redact: %v", err)
	}
	if _, _, err := f.log.Entry(ctx, 2); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("Entry(redacted) = %v, want ErrNotFound", err)
	}
	got, _ := f.log.Entries(ctx, audit.Filter{Subject: "alice"})
	if len(got) != 4 {
		t.Fatalf("alice has %d entries after a redaction, want 4", len(got))
	}
	rec, _ := f.log.Entries(ctx, audit.Filter{From: 5})
	if len(rec) != 1 || rec[0].Action != "audit.redact" || rec[0].Resource != "audit/entry/2" || rec[0].Attrs["reason"] != "recorded_in_error" {
		t.Fatalf("redaction record = %+v", rec)
	}
	if err := f.log.Redact(ctx, gdpr.Staff("dpo"), 5, "x"); !errors.Is(err, audit.ErrInvalid) {
		t.Fatalf("redacting a redaction record = %v, want ErrInvalid", err)
	}
	if err := f.log.Redact(ctx, gdpr.Staff("dpo"), 99, "x"); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("redacting a missing entry = %v, want ErrNotFound", err)
	}
	rep, err := f.log.Verify(ctx, audit.VerifyOptions{Trusted: [][]byte{cp.Note}})
	if err != nil {
		t.Fatalf("Verify after redaction: %v %v", err, rep.Problems)
	}
	if rep.Redacted != 1 {
		t.Fatalf("report counts %d redacted, want 1", rep.Redacted)
	}
	// The proof of the redacted entry's neighbours still checks.
	_, body, _ := f.log.Entry(ctx, 3)
	p, _ := f.log.ProveEntry(ctx, 3, cp.Size)
	if err := audit.CheckEntry(cp, 3, body, p); err != nil {
		t.Fatal(err)
	}
}

func TestExportSubject(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	for i := range 3 {
		f.log.Record(ctx, event(i, "alice"))
	}
	f.log.Record(ctx, event(5, "bob"))
	var recs []gdpr.Record
	err := f.log.ExportSubject(ctx, "alice", gdpr.RecordWriterFunc(func(_ context.Context, r gdpr.Record) error {
		recs = append(recs, r)
		return nil
	}))
	if err != nil || len(recs) != 3 {
		t.Fatalf("export = %d records, %v", len(recs), err)
	}
	r := recs[0]
	if r.Dataset != "audit_entries" || r.Fields["action"] != "crypto.decrypt" || r.Fields["actor_kind"] != "staff" || r.Fields["purpose"] != "support" {
		t.Fatalf("record = %+v", r)
	}
	if _, ok := r.Fields["actor"]; ok {
		t.Fatal("the export names the staff member's pseudonym")
	}
}

func TestCheckpointsAndAnchor(t *testing.T) {
	ctx := t.Context()
	store := memaudit.New()
	f := open(t, store, audit.WithCheckpoints(10, 0))
	for i := range 25 {
		f.log.Record(ctx, event(i, "alice"))
	}
	if err := f.log.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.log.Record(ctx, event(0, "alice")); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Record after Close = %v, want ErrClosed", err)
	}
	b, err := f.anchor.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, v, _ := audit.NewSigner(keys.skey)
	cp, err := audit.OpenCheckpoint(b, "example.com/audit", v)
	if err != nil || cp.Size != 25 {
		t.Fatalf("anchored checkpoint at %d, %v; want 25 (Close checkpoints)", cp.Size, err)
	}
	stored, _ := store.LatestCheckpoint(ctx)
	if !bytes.Equal(stored, b) {
		t.Fatal("store and anchor hold different latest checkpoints")
	}
	text := string(b)
	if !strings.HasPrefix(text, "example.com/audit\n25\n") || !strings.Contains(text, "\n\n— example.com/audit ") {
		t.Fatalf("checkpoint is not a C2SP signed note:\n%s", text)
	}
}

func TestNewRefusesALogBehindItsAnchor(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	for i := range 8 {
		f.log.Record(ctx, event(i, "alice"))
	}
	f.log.Checkpoint(ctx)
	f.log.Close(ctx)
	// The same anchor, a log restored from an older (empty) backup.
	s, v, _ := audit.NewSigner(keys.skey)
	_, err := audit.New(ctx, memaudit.New(), f.key, s, v, audit.WithAnchor(f.anchor))
	if !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("New over a log shorter than its anchor = %v, want ErrTampered", err)
	}
}

func TestNewRefusesMismatchedKeys(t *testing.T) {
	s, _, _ := audit.NewSigner(keys.skey)
	other, _, _ := audit.GenerateKey("example.com/audit")
	_, v2, _ := audit.NewSigner(other)
	_, err := audit.New(t.Context(), memaudit.New(), pseudonymKey(), s, v2)
	if !errors.Is(err, audit.ErrInvalid) {
		t.Fatalf("New with a verifier of another key = %v, want ErrInvalid", err)
	}
	_, err = audit.New(t.Context(), memaudit.New(), make([]byte, 16), s, v2)
	if !errors.Is(err, audit.ErrInvalid) {
		t.Fatalf("New with a short key = %v, want ErrInvalid", err)
	}
}

func TestAppendTx(t *testing.T) {
	ctx := t.Context()
	store := memaudit.New()
	f := open(t, store)
	f.log.Record(ctx, event(0, "alice"))
	first, err := f.log.AppendTx(ctx, store, event(1, "alice"), event(2, "bob"))
	if err != nil || first != 1 {
		t.Fatalf("AppendTx = %d, %v", first, err)
	}
	// The group commit continues from the head the appender moved.
	if err := f.log.Record(ctx, event(3, "alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Verify(ctx, audit.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

func mustRoot(t testing.TB, bodies [][]byte) tlog.Hash {
	t.Helper()
	h, err := audittest.Root(bodies)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestReservedActionsRefused(t *testing.T) {
	f := open(t, memaudit.New())
	forged := gdpr.Event{Actor: gdpr.Staff("x"), Action: "audit.redact", Resource: "audit/entry/0", Outcome: gdpr.Success}
	if err := f.log.Record(t.Context(), forged); !errors.Is(err, audit.ErrInvalid) {
		t.Fatalf("recording an audit.* action = %v, want ErrInvalid", err)
	}
	store := memaudit.New()
	if _, err := f.log.AppendTx(t.Context(), store, forged); !errors.Is(err, audit.ErrInvalid) {
		t.Fatalf("AppendTx of an audit.* action = %v, want ErrInvalid", err)
	}
}

func TestErasureLatencyIsThePseudonymCacheTTL(t *testing.T) {
	f := open(t, memaudit.New(), audit.WithPseudonymCache(10, 2*time.Minute))
	if got := f.log.ErasureLatency(); got < 2*time.Minute || got > 2*time.Minute+time.Second {
		t.Errorf("ErasureLatency = %v, want the pseudonym cache TTL", got)
	}
	if got := open(t, memaudit.New(), audit.WithPseudonymCache(0, 0)).log.ErasureLatency(); got != 0 {
		t.Errorf("without a cache: %v, want 0", got)
	}
}
