package crypto_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// The sentinels name their condition once, without a package prefix, and
// keep their errors.Is relations to the root package's sentinels.
func TestSentinels(t *testing.T) {
	for _, tc := range []struct {
		err  error
		text string
		root error
	}{
		{crypto.ErrInvalid, "invalid input", gdpr.ErrInvalid},
		{crypto.ErrNotFound, "not found", gdpr.ErrNotFound},
		{crypto.ErrConflict, "conflict", gdpr.ErrConflict},
		{crypto.ErrShredded, "key shredded", gdpr.ErrShredded},
		{crypto.ErrRestricted, "processing restricted", gdpr.ErrRestricted},
		{crypto.ErrDecrypt, "decryption failed", nil},
	} {
		if tc.err.Error() != tc.text {
			t.Errorf("sentinel text %q, want %q", tc.err, tc.text)
		}
		if tc.root != nil && !errors.Is(tc.err, tc.root) {
			t.Errorf("%q does not wrap %q", tc.err, tc.root)
		}
	}
	if errors.Unwrap(crypto.ErrDecrypt) != nil {
		t.Error("ErrDecrypt wraps something; it has no root parent")
	}
	for _, root := range []error{gdpr.ErrInvalid, gdpr.ErrNotFound, gdpr.ErrConflict, gdpr.ErrShredded, gdpr.ErrRestricted} {
		//lint:ignore SA1032 the order is meant: ErrDecrypt must not match any root sentinel
		if errors.Is(crypto.ErrDecrypt, root) {
			t.Errorf("ErrDecrypt wraps %q", root)
		}
	}
	e := &crypto.Error{Op: "new", Field: "WithGuard", Err: crypto.ErrInvalid}
	if got := e.Error(); got != "crypto new: WithGuard: invalid input" {
		t.Errorf("Error text %q", got)
	}
	if !errors.Is(e, gdpr.ErrInvalid) {
		t.Error("*Error does not unwrap to its cause")
	}
}

// wantFieldErr fails t unless err is an *Error of op and field wrapping
// crypto.ErrInvalid and gdpr.ErrInvalid, whose text says "crypto" once.
func wantFieldErr(t *testing.T, what string, err error, op, field string) {
	t.Helper()
	var ce *crypto.Error
	switch {
	case err == nil:
		t.Errorf("%s: accepted; want an error", what)
	case !errors.As(err, &ce):
		t.Errorf("%s: %v is not a *crypto.Error", what, err)
	case ce.Op != op || ce.Field != field:
		t.Errorf("%s: Op %q, Field %q; want %q, %q (%v)", what, ce.Op, ce.Field, op, field, err)
	case !errors.Is(err, crypto.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid):
		t.Errorf("%s: %v does not wrap ErrInvalid", what, err)
	case strings.Count(err.Error(), "crypto") != 1 || strings.Contains(err.Error(), "gdpr"):
		t.Errorf("%s: text %q stutters", what, err)
	}
}

// Every option validates its argument in New; nil is an error.
func TestOptionsValidated(t *testing.T) {
	ctx := context.Background()
	kek, _ := crypto.EphemeralKEK("kek-1")
	other, _ := crypto.EphemeralKEK("kek-0")
	twin, _ := crypto.EphemeralKEK("kek-0")
	for _, tc := range []struct {
		field string
		opts  []crypto.Option
	}{
		{"WithGuard", []crypto.Option{crypto.WithGuard(nil)}},
		{"WithClock", []crypto.Option{crypto.WithClock(nil)}},
		{"WithRecorder", []crypto.Option{crypto.WithRecorder(nil)}},
		{"WithCache", []crypto.Option{crypto.WithCache(-1, time.Minute)}},
		{"WithCache", []crypto.Option{crypto.WithCache(10, 0)}},
		{"WithCache", []crypto.Option{crypto.WithCache(10, -time.Second)}},
		{"WithPreviousKEKs", []crypto.Option{crypto.WithPreviousKEKs(crypto.KEK{ID: "x"})}},
		{"WithPreviousKEKs", []crypto.Option{crypto.WithPreviousKEKs(crypto.NewKEK("", nil))}},
		{"WithPreviousKEKs", []crypto.Option{crypto.WithPreviousKEKs(other, twin)}},
		{"WithPreviousKEKs", []crypto.Option{crypto.WithPreviousKEKs(kek)}},
		{"WithDecryptAudit", []crypto.Option{crypto.WithDecryptAudit()}},
		{"opts", []crypto.Option{nil}},
	} {
		k, err := crypto.New(ctx, memkeys.New(), kek, tc.opts...)
		if k != nil {
			t.Errorf("%s: New returned a Keyring with an error", tc.field)
		}
		wantFieldErr(t, tc.field, err, "new", tc.field)
	}
	wantFieldErr(t, "nil store", second(crypto.New(ctx, nil, kek)), "new", "store")
	wantFieldErr(t, "zero KEK", second(crypto.New(ctx, memkeys.New(), crypto.KEK{})), "new", "kek")
	_, err := crypto.New(ctx, memkeys.New(), kek, crypto.WithGuard(nil))
	if got, want := err.Error(), "crypto new: WithGuard: invalid input: nil guard"; got != want {
		t.Errorf("WithGuard(nil): %q, want %q", got, want)
	}
	// WithDecryptAudit needs a Recorder, given before or after it.
	rec := gdpr.RecorderFunc(func(context.Context, gdpr.Event) error { return nil })
	for _, opts := range [][]crypto.Option{
		{crypto.WithDecryptAudit(), crypto.WithRecorder(rec)},
		{crypto.WithRecorder(rec), crypto.WithDecryptAudit()},
		{crypto.WithPreviousKEKs(), crypto.WithPreviousKEKs(other)},
	} {
		if _, err := crypto.New(ctx, memkeys.New(), kek, opts...); err != nil {
			t.Errorf("valid options refused: %v", err)
		}
	}
}

func TestIndexOptionsValidated(t *testing.T) {
	f := newFixture(t)
	for _, n := range []int{-1, 0, 3, 33} {
		b, err := f.k.BlindIndex(email, crypto.WithIndexSize(n))
		if b != nil {
			t.Errorf("WithIndexSize(%d) returned an index", n)
		}
		wantFieldErr(t, fmt.Sprintf("WithIndexSize(%d)", n), err, "blind_index", "WithIndexSize")
	}
	wantFieldErr(t, "WithIndexNormalizer(nil)", second(f.k.BlindIndex(email, crypto.WithIndexNormalizer(nil))), "blind_index", "WithIndexNormalizer")
	wantFieldErr(t, "nil IndexOption", second(f.k.BlindIndex(email, nil)), "blind_index", "opts")
	wantFieldErr(t, "field without a column", second(f.k.BlindIndex(crypto.Field{Table: "t"})), "blind_index", "field")
	for _, n := range []int{4, 32} {
		if b, err := f.k.BlindIndex(email, crypto.WithIndexSize(n)); err != nil || b.Size() != n || len(b.Sum("x")) != n {
			t.Errorf("WithIndexSize(%d): %v", n, err)
		}
	}
}

// A nil context is an error wrapping ErrInvalid with Field "ctx", never a
// panic, in every exported method that takes one.
func TestNilContext(t *testing.T) {
	f := newFixture(t)
	ct := f.encrypt("alice", email, "x")
	var nilCtx context.Context
	sink := gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return nil })
	calls := map[string]struct {
		op string
		fn func() error
	}{
		"New":          {"new", func() error { return second(crypto.New(nilCtx, f.store, f.kek)) }},
		"Encrypt":      {"encrypt", func() error { return second(f.k.Encrypt(nilCtx, "alice", email, []byte("x"))) }},
		"Decrypt":      {"decrypt", func() error { return second(f.k.Decrypt(nilCtx, "alice", email, ct)) }},
		"Reencrypt":    {"reencrypt", func() error { return second(f.k.Reencrypt(nilCtx, "alice", email, ct)) }},
		"Shred":        {"shred", func() error { return f.k.Shred(nilCtx, "alice") }},
		"EraseSubject": {"erase", func() error { return second(f.k.EraseSubject(nilCtx, "alice")) }},
		"ExportSubject": {"export", func() error {
			return f.k.ExportSubject(nilCtx, "alice", sink)
		}},
		"Revive":       {"revive", func() error { return f.k.Revive(nilCtx, "alice") }},
		"Rotate":       {"rotate", func() error { return f.k.Rotate(nilCtx, "alice") }},
		"Rewrap":       {"rewrap", func() error { return second(f.k.Rewrap(nilCtx, "", 10, nil)) }},
		"EncryptScope": {"encrypt_scope", func() error { return second(f.k.EncryptScope(nilCtx, "ticket/1", email, []byte("x"))) }},
		"DecryptScope": {"decrypt_scope", func() error { return second(f.k.DecryptScope(nilCtx, "ticket/1", email, ct)) }},
		"ShredScope":   {"shred_scope", func() error { return f.k.ShredScope(nilCtx, "ticket/1") }},
		"SubjectKeys":  {"subject_keys", func() error { return second(f.k.SubjectKeys(nilCtx, []gdpr.SubjectID{"alice"})) }},
	}
	for name, c := range calls {
		t.Run(name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s(nil ctx) panicked: %v", name, r)
					}
				}()
				err = c.fn()
			}()
			wantFieldErr(t, name+"(nil ctx)", err, c.op, "ctx")
		})
	}
	// Nothing happened: alice's key is live and her ciphertext opens.
	if p, err := f.k.Decrypt(f.ctx, "alice", email, ct); err != nil || string(p) != "x" {
		t.Fatalf("after the nil-context calls: %q, %v", p, err)
	}
}

// Texts say "crypto" once, name the field at fault, and pass on no Store
// text (which may name a Ref).
func TestErrorTexts(t *testing.T) {
	f := newFixture(t)
	ct := f.encrypt("alice", email, "x")
	if err := f.k.Shred(f.ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	bad := crypto.Field{Table: "users", Column: "email", Category: "bad\x00category"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(f.k.Decrypt(f.ctx, "alice", email, ct)), "crypto decrypt: key shredded"},
		{second(f.k.Encrypt(f.ctx, "alice", email, []byte("x"))), "crypto encrypt: key shredded"},
		{second(f.k.Decrypt(f.ctx, "bob", email, ct)), "crypto decrypt: decryption failed"},
		{f.k.Rotate(f.ctx, "bob"), "crypto rotate: not found"},
		{second(f.k.Encrypt(f.ctx, "", email, nil)), "crypto encrypt: subject: invalid input: empty subject ID"},
		{second(f.k.Encrypt(f.ctx, "bob", crypto.Field{Table: "users"}, nil)), "crypto encrypt: field: invalid input: empty column"},
		{second(f.k.Encrypt(f.ctx, "bob", bad, nil)), "crypto encrypt: field: invalid input: category must match ^[a-z0-9_.-]{1,64}$"},
		{second(f.k.EncryptScope(f.ctx, "", email, nil)), "crypto encrypt_scope: scope: invalid input: empty scope"},
		{second(f.k.Encrypt(gdpr.WithActor(f.ctx, gdpr.Actor{Kind: "robot", ID: "r"}), "bob", email, nil)),
			`crypto encrypt: actor: invalid input: unknown actor kind "robot"`},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("got %v, want %q", tc.err, tc.want)
		}
	}
	// The wrong KEK: the Keyring's own keys do not open (Field "kek").
	wrong, _ := crypto.EphemeralKEK("test-kek-1")
	_, err := crypto.New(f.ctx, f.store, wrong)
	var ce *crypto.Error
	if !errors.As(err, &ce) || ce.Field != "kek" || !errors.Is(err, crypto.ErrDecrypt) || err.Error() != "crypto new: kek: decryption failed" {
		t.Errorf("New with the wrong KEK: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// failingStore fails every Get of a subject's Ref as a database-backed
// Store would; the Keyring's own keys load.
type failingStore struct {
	crypto.Store
	err error
}

func (s failingStore) Get(ctx context.Context, ref string) (crypto.Record, error) {
	if strings.HasPrefix(ref, "meta/") {
		return s.Store.Get(ctx, ref)
	}
	return crypto.Record{}, s.err
}

// A Store's own failure is passed on behind "store", once prefixed, and
// still matches with errors.Is; a Store's text about a known condition is
// not passed on (it may name a Ref).
func TestStoreErrorsPassedOn(t *testing.T) {
	f := newFixture(t)
	down := errors.New("connection refused")
	fs := &failingStore{Store: f.store, err: &crypto.Error{Op: "get", Err: down}}
	k, err := crypto.New(f.ctx, fs, f.kek)
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.Encrypt(f.ctx, "ann", email, []byte("x"))
	if !errors.Is(err, down) || err.Error() != "crypto encrypt: store get: connection refused" {
		t.Errorf("Encrypt over a failing Store: %v", err)
	}
	fs.err = &crypto.Error{Op: "get", Field: "ref", Err: fmt.Errorf("%w: ref 9f86d081 was shredded", crypto.ErrShredded)}
	_, err = k.Encrypt(f.ctx, "ann", email, []byte("x"))
	if !errors.Is(err, crypto.ErrShredded) || err.Error() != "crypto encrypt: key shredded" {
		t.Errorf("a Store's text naming a Ref was passed on: %v", err)
	}
}
