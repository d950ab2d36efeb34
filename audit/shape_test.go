package audit_test

// Regression tests for the shape every package of the module shares
// (issue 8, section 3): sentinels and one typed error with Op and Field,
// text without stutter; options validated in New; a nil context refused,
// never a panic; nothing secret printed under any fmt verb; the actor and
// purpose of the context; paging defaults stated and enforced.

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

// wantError fails t unless err is an *audit.Error with op and field that
// wraps sentinel and, through it, root (if not nil).
func wantError(t *testing.T, what string, err error, op, field string, sentinel, root error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	var e *audit.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: %T %v is not an *audit.Error", what, err, err)
		return
	}
	if e.Op != op || e.Field != field {
		t.Errorf("%s: Op %q Field %q, want %q %q (%v)", what, e.Op, e.Field, op, field, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: %v does not wrap %v", what, err, sentinel)
	}
	if root != nil && !errors.Is(err, root) {
		t.Errorf("%s: %v does not wrap the root's %v", what, err, root)
	}
	noStutter(t, what, err)
}

// noStutter fails t if err's text names a package twice.
func noStutter(t *testing.T, what string, err error) {
	t.Helper()
	s := err.Error()
	if !strings.HasPrefix(s, "audit ") && !strings.HasPrefix(s, "audit: ") {
		t.Errorf("%s: %q does not start with the package name", what, s)
	}
	if n := strings.Count(s, "audit ") + strings.Count(s, "audit:"); n != 1 {
		t.Errorf("%s: %q names the package %d times", what, s, n)
	}
	if strings.Contains(s, "gdpr:") {
		t.Errorf("%s: %q names the root package", what, s)
	}
}

func TestSentinels(t *testing.T) {
	for _, tc := range []struct {
		err  error
		text string
		root error
	}{
		{audit.ErrInvalid, "invalid input", gdpr.ErrInvalid},
		{audit.ErrNotFound, "not found", gdpr.ErrNotFound},
		{audit.ErrConflict, "conflict", gdpr.ErrConflict},
		{audit.ErrTampered, "log tampered with", nil},
		{audit.ErrClosed, "log closed", nil},
	} {
		if tc.err.Error() != tc.text {
			t.Errorf("sentinel text %q, want %q (no package prefix)", tc.err.Error(), tc.text)
		}
		if tc.root != nil && !errors.Is(tc.err, tc.root) {
			t.Errorf("%q does not wrap %v", tc.text, tc.root)
		}
		if tc.root == nil {
			for _, r := range []error{gdpr.ErrInvalid, gdpr.ErrNotFound, gdpr.ErrConflict} {
				if errors.Is(tc.err, r) {
					t.Errorf("%q wraps %v", tc.text, r)
				}
			}
		}
	}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  *audit.Error
		want string
	}{
		{&audit.Error{Op: "new", Field: "WithClock", Err: fmt.Errorf("%w: nil clock", audit.ErrInvalid)},
			"audit new: WithClock: invalid input: nil clock"},
		{&audit.Error{Op: "record", Err: audit.ErrClosed}, "audit record: log closed"},
		{&audit.Error{Op: "verify", Err: gdpr.ErrInvalid}, "audit verify: invalid input"},
		{&audit.Error{Op: "record", Err: &audit.Error{Op: "append", Err: fmt.Errorf("memaudit: %w: x", audit.ErrConflict)}},
			"audit record: append: memaudit: conflict: x"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if errors.Unwrap(tc.err) != tc.err.Err {
			t.Errorf("%q does not unwrap to its Err", tc.want)
		}
	}
}

// A Store error under a Log operation names the package once.
func TestStoreErrorUnderLogNoStutter(t *testing.T) {
	ctx := t.Context()
	f := open(t, &failingStore{Store: memaudit.New()})
	_, err := f.log.Entries(ctx, audit.Filter{})
	if err == nil {
		t.Fatal("no error from a failing store")
	}
	t.Log(err)
	noStutter(t, "Entries over a failing store", err)
}

type failingStore struct{ audit.Store }

func (s *failingStore) Query(ctx context.Context, f audit.StoreFilter) ([]audit.StoredEntry, error) {
	return nil, &audit.Error{Op: "query", Err: fmt.Errorf("teststore: %w: down", audit.ErrNotFound)}
}

func newSigner(t *testing.T) (note.Signer, note.Verifier) {
	t.Helper()
	s, v, err := audit.NewSigner(keys.skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func TestOptionsValidatedInNew(t *testing.T) {
	ctx := t.Context()
	s, v := newSigner(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		field string
		opt   audit.Option
	}{
		{"WithClock", audit.WithClock(nil)},
		{"WithErrorHandler", audit.WithErrorHandler(nil)},
		{"WithAnchor", audit.WithAnchor(nil)},
		{"WithAnchor", audit.WithAnchor((*audit.FileAnchor)(nil))},
		{"WithAnchor", audit.WithAnchor(&audit.FileAnchor{})},
		{"WithAnchor", audit.WithAnchor(&audit.FileAnchor{Dir: dir, Keep: -1})},
		{"WithOrigin", audit.WithOrigin("")},
		{"WithOrigin", audit.WithOrigin("two\nlines")},
		{"WithCheckpoints", audit.WithCheckpoints(-1, 0)},
		{"WithCheckpoints", audit.WithCheckpoints(0, -time.Second)},
		{"WithMaxBatch", audit.WithMaxBatch(0)},
		{"WithMaxBatch", audit.WithMaxBatch(audit.MaxAppend + 1)},
		{"WithPseudonymCache", audit.WithPseudonymCache(-1, time.Minute)},
		{"WithPseudonymCache", audit.WithPseudonymCache(1, -time.Minute)},
		{"opts", nil},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("New with a bad %s panicked: %v", tc.field, r)
				}
			}()
			l, err := audit.New(ctx, memaudit.New(), pseudonymKey(), s, v, tc.opt)
			if l != nil {
				l.Close(ctx)
			}
			wantError(t, "New with a bad "+tc.field, err, "new", tc.field, audit.ErrInvalid, gdpr.ErrInvalid)
		}()
	}
}

func TestNewArgumentsNamed(t *testing.T) {
	ctx := t.Context()
	s, v := newSigner(t)
	_, otherV := func() (note.Signer, note.Verifier) {
		sk, _, _ := audit.GenerateKey("example.com/audit")
		s, v, _ := audit.NewSigner(sk)
		return s, v
	}()
	for _, tc := range []struct {
		field string
		new   func() (*audit.Log, error)
	}{
		{"store", func() (*audit.Log, error) { return audit.New(ctx, nil, pseudonymKey(), s, v) }},
		{"key", func() (*audit.Log, error) { return audit.New(ctx, memaudit.New(), make([]byte, 31), s, v) }},
		{"signer", func() (*audit.Log, error) { return audit.New(ctx, memaudit.New(), pseudonymKey(), nil, v) }},
		{"verifier", func() (*audit.Log, error) { return audit.New(ctx, memaudit.New(), pseudonymKey(), s, nil) }},
		{"verifier", func() (*audit.Log, error) { return audit.New(ctx, memaudit.New(), pseudonymKey(), s, otherV) }},
	} {
		l, err := tc.new()
		if l != nil {
			l.Close(ctx)
		}
		wantError(t, "New with a bad "+tc.field, err, "new", tc.field, audit.ErrInvalid, gdpr.ErrInvalid)
	}
}

func TestWithClockStampsEvents(t *testing.T) {
	ctx := t.Context()
	at := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))
	var calls atomic.Int32
	f := open(t, memaudit.New(), audit.WithClock(func() time.Time { calls.Add(1); return at }))
	e := event(0, "alice")
	e.Time = time.Time{}
	if _, err := f.log.Append(ctx, e, e); err != nil {
		t.Fatal(err)
	}
	es, err := f.log.Entries(ctx, audit.Filter{})
	if err != nil || len(es) != 2 {
		t.Fatalf("Entries = %d, %v", len(es), err)
	}
	want := at.Truncate(time.Microsecond).UTC()
	for _, e := range es {
		if !e.Time.Equal(want) || e.Time.Location() != time.UTC {
			t.Errorf("entry %d stamped %v, want the clock's %v", e.Index, e.Time, want)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the clock was read %d times for one Append, want 1", n)
	}
	// An event with a time keeps it.
	if err := f.log.Record(ctx, event(3, "alice")); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := f.log.Entry(ctx, 2); !e.Time.Equal(event(3, "").Time) {
		t.Errorf("an event's own time %v was replaced by %v", event(3, "").Time, e.Time)
	}
}

// brokenCheckpoints is a Store whose checkpoints cannot be stored.
type brokenCheckpoints struct{ audit.Store }

func (brokenCheckpoints) PutCheckpoint(context.Context, int64, []byte) error {
	return errors.New("disk full")
}

func TestWithErrorHandlerReceivesBackgroundErrors(t *testing.T) {
	ctx := t.Context()
	got := make(chan error, 10)
	s, v := newSigner(t)
	l, err := audit.New(ctx, brokenCheckpoints{memaudit.New()}, pseudonymKey(), s, v,
		audit.WithCheckpoints(1, 0), audit.WithErrorHandler(func(err error) { got <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	if err := l.Record(ctx, event(0, "alice")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		wantError(t, "background checkpoint", err, "checkpoint", "", err, nil)
	case <-time.After(10 * time.Second):
		t.Fatal("the error handler was not called for a failed background checkpoint")
	}
}

func TestNilContext(t *testing.T) {
	ctx := t.Context()
	var nilCtx context.Context // a nil context, as a careless caller passes it
	store := memaudit.New()
	f := open(t, store)
	if err := f.log.Record(ctx, event(0, "alice")); err != nil {
		t.Fatal(err)
	}
	cp, err := f.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, v := newSigner(t)
	anchor := &audit.FileAnchor{Dir: t.TempDir()}
	calls := []struct {
		op   string
		call func() error
	}{
		{"new", func() error {
			l, err := audit.New(nilCtx, memaudit.New(), pseudonymKey(), s, v)
			if l != nil {
				l.Close(ctx)
			}
			return err
		}},
		{"record", func() error { return f.log.Record(nilCtx, event(1, "bob")) }},
		{"record", func() error { _, err := f.log.Append(nilCtx, event(1, "bob")); return err }},
		{"record", func() error { _, err := f.log.AppendTx(nilCtx, store, event(1, "bob")); return err }},
		{"checkpoint", func() error { _, err := f.log.Checkpoint(nilCtx); return err }},
		{"head", func() error { _, err := f.log.Head(nilCtx); return err }},
		{"prove", func() error { _, err := f.log.ProveEntry(nilCtx, 0, 1); return err }},
		{"prove", func() error { _, err := f.log.ProveConsistency(nilCtx, 0, 1); return err }},
		{"verify", func() error { _, err := f.log.Verify(nilCtx, audit.VerifyOptions{}); return err }},
		{"entries", func() error { _, err := f.log.Entries(nilCtx, audit.Filter{}); return err }},
		{"entry", func() error { _, _, err := f.log.Entry(nilCtx, 0); return err }},
		{"redact", func() error { return f.log.Redact(nilCtx, gdpr.Staff("dpo"), 0, "court_order") }},
		{"erase", func() error { _, err := f.log.EraseSubject(nilCtx, "alice"); return err }},
		{"forget", func() error { _, err := f.log.ForgetActor(nilCtx, "agent-7"); return err }},
		{"export", func() error {
			return f.log.ExportSubject(nilCtx, "alice", gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return nil }))
		}},
		{"search", func() error {
			for _, err := range f.log.Search(nilCtx, gdpr.TrailQuery{Since: time.Unix(0, 0), Until: time.Now()}) {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"subject tokens", func() error { _, err := f.log.SubjectTokens(nilCtx, []gdpr.SubjectID{"alice"}); return err }},
		{"close", func() error { return f.log.Close(nilCtx) }},
		{"anchor publish", func() error { return anchor.Publish(nilCtx, cp) }},
		{"anchor latest", func() error { _, err := anchor.Latest(nilCtx); return err }},
	}
	for _, c := range calls {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s with a nil context panicked: %v", c.op, r)
				}
			}()
			wantError(t, c.op+" with a nil context", c.call(), c.op, "ctx", audit.ErrInvalid, gdpr.ErrInvalid)
		}()
	}
	// None of them changed anything: the log is open, one entry long,
	// alice still linked.
	if h, err := f.log.Head(ctx); err != nil || h.Size != 1 {
		t.Errorf("after the refused calls: head %d, %v; want 1", h.Size, err)
	}
	if err := f.log.Record(ctx, event(2, "alice")); err != nil {
		t.Errorf("Record after Close(nil): %v; a refused Close must not close", err)
	}
	if es, _ := f.log.Entries(ctx, audit.Filter{Subject: "alice"}); len(es) != 2 {
		t.Errorf("alice has %d entries after the refused calls, want 2", len(es))
	}
}

// leakySigner is a note.Signer that keeps its key in its value, as a
// host's KMS or HSM wrapper might: printing it field by field prints the
// key.
type leakySigner struct {
	Key   []byte
	inner note.Signer
}

func (s leakySigner) Name() string                    { return s.inner.Name() }
func (s leakySigner) KeyHash() uint32                 { return s.inner.KeyHash() }
func (s leakySigner) Sign(msg []byte) ([]byte, error) { return s.inner.Sign(msg) }

// secretForms returns the ways fmt may spell secret.
func secretForms(secret []byte) []string {
	return []string{
		string(secret), hex.EncodeToString(secret), strings.ToUpper(hex.EncodeToString(secret)),
		base64.StdEncoding.EncodeToString(secret), fmt.Sprint(secret)[1 : len(fmt.Sprint(secret))-1],
		fmt.Sprintf("%q", secret),
	}
}

// verbs are the fmt verbs a secret must survive.
var verbs = []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"}

func TestLogPrintsNoSecret(t *testing.T) {
	ctx := t.Context()
	key := []byte("PSEUDONYM-KEY-0123456789abcdefghijkl") // planted
	signerKey := []byte("SIGNER-KEY-0123456789abcdefghijklmn")
	s, v := newSigner(t)
	l, err := audit.New(ctx, memaudit.New(), key, leakySigner{Key: signerKey, inner: s}, v,
		audit.WithCheckpoints(0, 0), audit.WithOrigin("example.com/audit"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	if err := l.Record(ctx, event(0, "alice")); err != nil {
		t.Fatal(err)
	}
	for _, verb := range verbs {
		out := fmt.Sprintf(verb, l)
		for _, secret := range [][]byte{key, signerKey} {
			for _, form := range secretForms(secret) {
				if strings.Contains(out, form) {
					t.Errorf("fmt %s of a *Log prints a key (%q): %s", verb, form, out)
				}
			}
		}
		if strings.Contains(out, "alice") {
			t.Errorf("fmt %s of a *Log prints a subject ID: %s", verb, out)
		}
	}
	if got := fmt.Sprint(l); got != "audit.Log(example.com/audit)" {
		t.Errorf("%%v of a *Log = %q, want audit.Log(example.com/audit)", got)
	}
	if got := fmt.Sprintf("%#v", l); got != `&audit.Log{origin: "example.com/audit"}` {
		t.Errorf("%%#v of a *Log = %q", got)
	}
	var nilLog *audit.Log
	if got := fmt.Sprint(nilLog); got != "audit.Log(nil)" {
		t.Errorf("%%v of a nil *Log = %q", got)
	}
}

func TestSignerPrintsNoKey(t *testing.T) {
	skey, _, err := audit.GenerateKey("example.com/audit")
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := audit.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	// PRIVATE+KEY+<name>+<hash>+<base64 key>; the key's base64 may itself
	// hold '+'.
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) < 2 {
		t.Fatalf("cannot read the key of %d bytes: %v", len(raw), err)
	}
	for _, verb := range verbs {
		out := fmt.Sprintf(verb, s)
		for _, form := range append(secretForms(raw[1:]), parts[len(parts)-1], skey) {
			if strings.Contains(out, form) {
				t.Errorf("fmt %s of NewSigner's signer prints its key: %s", verb, out)
			}
		}
	}
	// A bad skey is not quoted back.
	bad := "PRIVATE+KEY+example.com/audit+deadbeef+c2VjcmV0LXNlZWQ="
	_, _, err = audit.NewSigner(bad)
	wantError(t, "NewSigner(bad)", err, "new signer", "skey", audit.ErrInvalid, gdpr.ErrInvalid)
	if err != nil && strings.Contains(err.Error(), "c2VjcmV0LXNlZWQ") {
		t.Errorf("NewSigner's error quotes the key: %v", err)
	}
}

func TestContextActorAndPurpose(t *testing.T) {
	ctx := t.Context()
	store := memaudit.New()
	f := open(t, store)
	agent := gdpr.Staff("agent-9")
	cctx := gdpr.WithPurpose(gdpr.WithActor(ctx, agent), "fraud_check")

	bare := gdpr.Event{Action: "crypto.decrypt", Subject: "alice", Outcome: gdpr.Success}
	own := gdpr.Event{Actor: gdpr.System("billing"), Action: "crypto.decrypt", Subject: "alice",
		Purpose: "invoicing", Outcome: gdpr.Success}
	events := []gdpr.Event{bare, own}
	if _, err := f.log.Append(cctx, events...); err != nil {
		t.Fatalf("Append under a context with an actor and purpose: %v", err)
	}
	if !events[0].Actor.IsZero() || events[0].Purpose != "" {
		t.Errorf("Append changed the caller's events: %+v", events[0])
	}
	// AppendTx (here straight onto the store) does the same.
	if _, err := f.log.AppendTx(cctx, store, bare); err != nil {
		t.Fatalf("AppendTx: %v", err)
	}
	es, err := f.log.Entries(ctx, audit.Filter{Subject: "alice"})
	if err != nil || len(es) != 3 {
		t.Fatalf("Entries = %d, %v", len(es), err)
	}
	for _, i := range []int{0, 2} {
		if es[i].Actor.Kind != gdpr.ActorStaff || es[i].Purpose != "fraud_check" {
			t.Errorf("entry %d: actor %v purpose %q; want the context's staff actor and purpose", i, es[i].Actor, es[i].Purpose)
		}
	}
	if es[1].Actor != gdpr.System("billing") || es[1].Purpose != "invoicing" {
		t.Errorf("entry 1: actor %v purpose %q; the event's own actor and purpose must win", es[1].Actor, es[1].Purpose)
	}
	byAgent, err := f.log.Entries(ctx, audit.Filter{Actor: agent})
	if err != nil || len(byAgent) != 2 {
		t.Errorf("entries of the context's actor: %d, %v; want 2", len(byAgent), err)
	}

	// Without an actor anywhere the event is refused, naming the field.
	_, err = f.log.Append(gdpr.WithPurpose(ctx, "x"), bare)
	wantError(t, "Append without an actor", err, "record", "Actor", audit.ErrInvalid, gdpr.ErrInvalid)
	// An invalid actor in the context is refused as one in the event.
	err = f.log.Record(gdpr.WithActor(ctx, gdpr.Actor{Kind: "robot"}), bare)
	wantError(t, "Record under an invalid context actor", err, "record", "Actor", audit.ErrInvalid, gdpr.ErrInvalid)

	// Redact with a zero actor names the context's.
	if err := f.log.Redact(cctx, gdpr.Actor{}, 1, "recorded_in_error"); err != nil {
		t.Fatalf("Redact with the context's actor: %v", err)
	}
	last, _, err := f.log.Entry(ctx, 3)
	if err != nil || last.Action != "audit.redact" || last.Actor.Kind != gdpr.ActorStaff || last.Purpose != "fraud_check" {
		t.Errorf("the redaction entry %+v, %v; want by the context's staff actor, for its purpose", last, err)
	}
}

func TestPagingDefaults(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	events := make([]gdpr.Event, audit.DefaultPage+audit.DefaultPage/2)
	for i := range events {
		events[i] = event(i%60, "alice")
	}
	if _, err := f.log.Append(ctx, events...); err != nil {
		t.Fatal(err)
	}
	if audit.DefaultPage != 100 || audit.MaxPage != 1000 {
		t.Errorf("DefaultPage %d, MaxPage %d; the docs say 100 and 1000", audit.DefaultPage, audit.MaxPage)
	}
	es, err := f.log.Entries(ctx, audit.Filter{})
	if err != nil || len(es) != audit.DefaultPage {
		t.Errorf("Entries with Limit 0 = %d, %v; want DefaultPage (%d)", len(es), err, audit.DefaultPage)
	}
	rest, err := f.log.Entries(ctx, audit.Filter{From: es[len(es)-1].Index + 1})
	if err != nil || len(rest) != len(events)-audit.DefaultPage {
		t.Errorf("the next page = %d, %v; want %d", len(rest), err, len(events)-audit.DefaultPage)
	}
	if es, err := f.log.Entries(ctx, audit.Filter{Limit: audit.MaxPage}); err != nil || len(es) != len(events) {
		t.Errorf("Entries with Limit MaxPage = %d, %v", len(es), err)
	}
	for _, tc := range []struct {
		field string
		f     audit.Filter
	}{
		{"Limit", audit.Filter{Limit: -1}},
		{"Limit", audit.Filter{Limit: audit.MaxPage + 1}},
		{"From", audit.Filter{From: -1}},
	} {
		_, err := f.log.Entries(ctx, tc.f)
		wantError(t, fmt.Sprintf("Entries(%+v)", tc.f), err, "entries", tc.field, audit.ErrInvalid, gdpr.ErrInvalid)
	}
	_, err = f.log.Verify(ctx, audit.VerifyOptions{PageSize: -1})
	wantError(t, "Verify with a negative PageSize", err, "verify", "PageSize", audit.ErrInvalid, gdpr.ErrInvalid)
	if rep, err := f.log.Verify(ctx, audit.VerifyOptions{}); err != nil || rep.Entries != int64(len(events)) {
		t.Errorf("Verify with the default page size: %v", err)
	}
}

func TestFileAnchorRefusesNoDir(t *testing.T) {
	ctx := t.Context()
	cwd := t.TempDir()
	t.Chdir(cwd)
	a := &audit.FileAnchor{}
	err := a.Publish(ctx, audit.Checkpoint{Size: 1, Note: []byte("note")})
	wantError(t, "Publish without a Dir", err, "anchor publish", "Dir", audit.ErrInvalid, gdpr.ErrInvalid)
	_, err = a.Latest(ctx)
	wantError(t, "Latest without a Dir", err, "anchor latest", "Dir", audit.ErrInvalid, gdpr.ErrInvalid)
	var nilAnchor *audit.FileAnchor
	_, err = nilAnchor.Latest(ctx)
	wantError(t, "Latest of a nil FileAnchor", err, "anchor latest", "FileAnchor", audit.ErrInvalid, gdpr.ErrInvalid)
	if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
		t.Errorf("a FileAnchor without a Dir wrote %d files in the working directory", len(ents))
	}
}

// The typed error names the function for the stateless helpers too.
func TestHelpersTypedErrors(t *testing.T) {
	_, err := audit.ParseCheckpoint("nope")
	wantError(t, "ParseCheckpoint", err, "parse checkpoint", "", audit.ErrInvalid, gdpr.ErrInvalid)
	_, v := newSigner(t)
	_, err = audit.OpenCheckpoint([]byte("nope"), "", v)
	wantError(t, "OpenCheckpoint", err, "open checkpoint", "", audit.ErrTampered, nil)
	_, err = audit.OpenCheckpoint([]byte("nope"), "", nil)
	wantError(t, "OpenCheckpoint(nil verifier)", err, "open checkpoint", "verifier", audit.ErrInvalid, gdpr.ErrInvalid)
	var e audit.Entry
	err = e.UnmarshalBinary([]byte{9})
	wantError(t, "UnmarshalBinary", err, "unmarshal entry", "", audit.ErrInvalid, gdpr.ErrInvalid)
	_, err = (&audit.Entry{Time: time.Now(), Actor: gdpr.System("x"), Action: "Bad", Outcome: gdpr.Success}).MarshalBinary()
	wantError(t, "MarshalBinary", err, "marshal entry", "Action", audit.ErrInvalid, gdpr.ErrInvalid)
	var p audit.Pseudonym
	err = p.UnmarshalText([]byte("zz"))
	wantError(t, "Pseudonym.UnmarshalText", err, "unmarshal pseudonym", "", audit.ErrInvalid, gdpr.ErrInvalid)
	_, _, err = audit.GenerateKey("bad name")
	wantError(t, "GenerateKey", err, "generate key", "name", audit.ErrInvalid, gdpr.ErrInvalid)
	err = audit.CheckEntry(audit.Checkpoint{Size: 1}, 0, []byte("x"), nil)
	wantError(t, "CheckEntry", err, "check entry", "", audit.ErrTampered, nil)
	err = audit.CheckConsistency(audit.Checkpoint{Origin: "a"}, audit.Checkpoint{Origin: "b"}, nil)
	wantError(t, "CheckConsistency", err, "check consistency", "", audit.ErrTampered, nil)
}

// ExportSubject of an empty ID exported every subject's entries: a Filter
// without a Subject selects everything.
func TestExportEmptySubjectExportsNothing(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	if _, err := f.log.Append(ctx, event(0, "alice"), event(1, "bob")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []gdpr.SubjectID{"", "bad\x00id"} {
		n := 0
		err := f.log.ExportSubject(ctx, id, gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { n++; return nil }))
		if n != 0 {
			t.Errorf("ExportSubject(%q) wrote %d records of other subjects", id, n)
		}
		wantError(t, fmt.Sprintf("ExportSubject(%q)", id), err, "export", "subject", audit.ErrInvalid, gdpr.ErrInvalid)
	}
}
