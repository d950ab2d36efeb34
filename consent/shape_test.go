package consent_test

// Regression tests for the module's one API shape (issue 8, section 3) and
// the consent items of section 4: error texts, options, nil contexts,
// secrets under fmt, audit actors, idempotent Publish, exported records tied
// to the Register, the Store's DeleteSubject.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

// personal is a value a host might pass in the wrong field: it must never
// come back in an error text.
const personal = "ann@example.org"

func TestErrorTexts(t *testing.T) {
	_, err := consent.New(memconsent.New(), consent.WithClock(nil))
	if got, want := fmt.Sprint(err), "consent new: WithClock: invalid input: nil clock"; got != want {
		t.Errorf("New(WithClock(nil)) = %q, want %q", got, want)
	}
	_, err = consent.New(nil)
	if got, want := fmt.Sprint(err), "consent new: store: invalid input: nil store"; got != want {
		t.Errorf("New(nil) = %q, want %q", got, want)
	}
	f := newFixture(t, consent.WithRegister(testRegister()))
	c := f.choice("alice")
	c.Purpose = "unknown_purpose"
	_, err = f.l.Give(f.ctx, c)
	if got, want := fmt.Sprint(err), `consent give: purpose: unknown purpose: "unknown_purpose"`; got != want {
		t.Errorf("Give for an unknown purpose = %q, want %q", got, want)
	}
	mustRequest(t, f, "bob")
	_, err = f.l.Confirm(f.ctx, "c1.nope", consent.Evidence{})
	if got, want := fmt.Sprint(err), "consent confirm: invalid token"; got != want {
		t.Errorf("Confirm of a malformed token = %q, want %q", got, want)
	}
	for _, s := range []error{consent.ErrInvalid, consent.ErrNotFound, consent.ErrConflict, consent.ErrUnknownPurpose,
		consent.ErrUnknownNotice, consent.ErrNotConsentBased, consent.ErrStaleNotice, consent.ErrNotOverridable,
		consent.ErrInvalidToken, consent.ErrInvalidReceipt, consent.ErrTokenExpired, consent.ErrTokenUsed, consent.ErrSuperseded} {
		if txt := s.Error(); strings.HasPrefix(txt, "consent") || strings.HasPrefix(txt, "gdpr") || strings.Contains(txt, ": invalid input") {
			t.Errorf("sentinel text %q names a package: the *Error around it does", txt)
		}
	}
}

func TestSentinelRelations(t *testing.T) {
	for err, parents := range map[error][]error{
		consent.ErrInvalid:         {gdpr.ErrInvalid},
		consent.ErrNotFound:        {gdpr.ErrNotFound},
		consent.ErrConflict:        {gdpr.ErrConflict},
		consent.ErrUnknownPurpose:  {consent.ErrInvalid, gdpr.ErrInvalid},
		consent.ErrUnknownNotice:   {consent.ErrInvalid, gdpr.ErrInvalid},
		consent.ErrNotConsentBased: {consent.ErrInvalid, gdpr.ErrInvalid},
		consent.ErrStaleNotice:     {consent.ErrInvalid, gdpr.ErrInvalid},
		consent.ErrNotOverridable:  {consent.ErrInvalid, gdpr.ErrInvalid},
		consent.ErrInvalidToken:    {consent.ErrInvalid, gdpr.ErrInvalid},
		consent.ErrInvalidReceipt:  {consent.ErrInvalid, gdpr.ErrInvalid},
		consent.ErrTokenExpired:    {consent.ErrInvalid, gdpr.ErrInvalid},
		consent.ErrTokenUsed:       {consent.ErrConflict, gdpr.ErrConflict},
		consent.ErrSuperseded:      {consent.ErrConflict, gdpr.ErrConflict},
	} {
		for _, p := range parents {
			if !errors.Is(err, p) {
				t.Errorf("%v does not wrap %v", err, p)
			}
		}
		if errors.Is(err, consent.ErrInvalid) && errors.Is(err, consent.ErrConflict) {
			t.Errorf("%v wraps both ErrInvalid and ErrConflict", err)
		}
	}
}

// nilSigner is a crypto.Signer whose nil pointer panics in Public.
type nilSigner struct{ k ed25519.PrivateKey }

func (s *nilSigner) Public() crypto.PublicKey { return s.k.Public() }
func (s *nilSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return s.k.Sign(r, d, o)
}

func TestOptionsValidate(t *testing.T) {
	ctrl := validController()
	_, priv, _ := ed25519.GenerateKey(nil)
	for name, tc := range map[string]struct {
		opt   consent.Option
		field string
	}{
		"nil register":          {consent.WithRegister(nil), "WithRegister"},
		"invalid register":      {consent.WithRegister(&gdpr.Register{}), "WithRegister"},
		"nil recorder":          {consent.WithRecorder(nil), "WithRecorder"},
		"nil clock":             {consent.WithClock(nil), "WithClock"},
		"short TTL":             {consent.WithConfirmationTTL(time.Second), "WithConfirmationTTL"},
		"long TTL":              {consent.WithConfirmationTTL(31 * 24 * time.Hour), "WithConfirmationTTL"},
		"nil unsubscriber":      {consent.WithUnsubscriber(nil), "WithUnsubscriber"},
		"keyless unsubscriber":  {consent.WithUnsubscriber(&consent.Unsubscriber{}), "WithUnsubscriber"},
		"nil signer":            {consent.WithReceipts(nil, ctrl, ""), "WithReceipts"},
		"nil ed25519 key":       {consent.WithReceipts(ed25519.PrivateKey(nil), ctrl, ""), "WithReceipts"},
		"typed nil signer":      {consent.WithReceipts((*nilSigner)(nil), ctrl, ""), "WithReceipts"},
		"controller no contact": {consent.WithReceipts(priv, consent.Controller{Name: "C"}, ""), "WithReceipts"},
		"nil option":            {nil, "opts"},
	} {
		t.Run(name, func(t *testing.T) {
			l, err := consent.New(memconsent.New(), tc.opt)
			var ce *consent.Error
			if l != nil || !errors.As(err, &ce) || ce.Op != "new" || ce.Field != tc.field {
				t.Fatalf("New = %v, %v; want a *consent.Error with Op new and Field %s", l, err, tc.field)
			}
			if !errors.Is(err, consent.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
				t.Errorf("%v does not wrap consent.ErrInvalid and gdpr.ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "consent new: "+tc.field+": invalid input: ") {
				t.Errorf("error text %q", err)
			}
		})
	}
	// A bad register keeps its problems reachable.
	_, err := consent.New(memconsent.New(), consent.WithRegister(&gdpr.Register{}))
	var ve *gdpr.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("WithRegister of an invalid register: %v, want the *gdpr.ValidationError reachable", err)
	}
}

// Every WithX doc states its default.
func TestOptionDocsStateDefaults(t *testing.T) {
	fset := token.NewFileSet()
	n := 0
	for _, file := range []string{"ledger.go"} {
		f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !strings.HasPrefix(fd.Name.Name, "With") {
				continue
			}
			n++
			if doc := fd.Doc.Text(); !strings.Contains(doc, "Default:") {
				t.Errorf("%s's doc does not state its default (\"Default: …\"):\n%s", fd.Name.Name, doc)
			}
		}
	}
	if n < 6 {
		t.Fatalf("found %d options in ledger.go; want every WithX", n)
	}
}

func TestNilContext(t *testing.T) {
	u := mustOK(consent.NewUnsubscriber([]byte(strings.Repeat("k", 32))))
	_, priv, _ := ed25519.GenerateKey(nil)
	f := newFixture(t, consent.WithUnsubscriber(u), consent.WithRegister(testRegister()),
		consent.WithReceipts(priv, validController(), ""))
	g := mustOK(f.l.Give(f.ctx, f.choice("alice")))
	_, tok := mustRequest(t, f, "bob")
	utok := mustOK(f.l.UnsubscribeToken("alice", "newsletter", consent.Email, 0))
	var nilCtx context.Context
	c := f.choice("alice")
	w := gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return nil })
	calls := map[string]func() error{
		"Publish": func() error {
			_, err := f.l.Publish(nilCtx, consent.Notice{ID: "n", Version: 1, TextHash: consent.HashText("n")})
			return err
		},
		"Notice":   func() error { _, err := f.l.Notice(nilCtx, "newsletter-notice", 1); return err },
		"Give":     func() error { _, err := f.l.Give(nilCtx, c); return err },
		"Refuse":   func() error { _, err := f.l.Refuse(nilCtx, c); return err },
		"Withdraw": func() error { _, err := f.l.Withdraw(nilCtx, c); return err },
		"Object":   func() error { _, err := f.l.Object(nilCtx, c); return err },
		"Expire":   func() error { _, err := f.l.Expire(nilCtx, c); return err },
		"OverrideObjection": func() error {
			_, err := f.l.OverrideObjection(nilCtx, consent.Choice{Subject: "alice", Purpose: "customer_mailings",
				Actor: gdpr.Staff("dpo"), Evidence: consent.Evidence{Locator: "x"}})
			return err
		},
		"Request": func() error { _, _, err := f.l.Request(nilCtx, c); return err },
		"Confirm": func() error { _, err := f.l.Confirm(nilCtx, tok, consent.Evidence{}); return err },
		"Decide": func() error {
			_, err := f.l.Decide(nilCtx, consent.Query{Subject: "alice", Purpose: "newsletter"})
			return err
		},
		"Allowed":       func() error { _, err := f.l.Allowed(nilCtx, "alice", "newsletter"); return err },
		"StaleSubjects": func() error { _, err := f.l.StaleSubjects(nilCtx, "newsletter-notice", "", 10); return err },
		"History":       func() error { _, err := f.l.History(nilCtx, "alice", ""); return err },
		"Receipt":       func() error { _, _, err := f.l.Receipt(nilCtx, g.ID); return err },
		"Unsubscribe":   func() error { _, err := f.l.Unsubscribe(nilCtx, utok, consent.Evidence{}); return err },
		"EraseSubject":  func() error { _, err := f.l.EraseSubject(nilCtx, "alice"); return err },
		"ExportSubject": func() error { return f.l.ExportSubject(nilCtx, "alice", w) },
	}
	before := len(mustOK(f.l.History(f.ctx, "alice", "")))
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s(nil ctx) panicked: %v", name, r)
					}
				}()
				err = call()
			}()
			var ce *consent.Error
			if !errors.Is(err, consent.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) || !errors.As(err, &ce) || ce.Field != "ctx" {
				t.Fatalf("%s(nil ctx) = %v; want a *consent.Error with Field ctx wrapping ErrInvalid", name, err)
			}
		})
	}
	if after := len(mustOK(f.l.History(f.ctx, "alice", ""))); after != before {
		t.Errorf("calls with a nil context wrote %d events", after-before)
	}
}

func TestMemconsentNilContext(t *testing.T) {
	s := memconsent.New()
	var nilCtx context.Context
	for name, call := range map[string]func() error{
		"Append":        func() error { return s.Append(nilCtx, consent.Event{ID: "x"}) },
		"Event":         func() error { _, err := s.Event(nilCtx, "x"); return err },
		"Latest":        func() error { _, err := s.Latest(nilCtx, consent.Query{}); return err },
		"Events":        func() error { _, err := s.Events(nilCtx, "s", ""); return err },
		"DeleteSubject": func() error { _, err := s.DeleteSubject(nilCtx, "s"); return err },
		"PutNotice":     func() error { return s.PutNotice(nilCtx, consent.Notice{ID: "n", Version: 1}) },
		"Notices":       func() error { _, err := s.Notices(nilCtx, "n"); return err },
		"StaleSubjects": func() error { _, err := s.StaleSubjects(nilCtx, consent.StaleQuery{Notice: "n"}); return err },
		"StaleEvents": func() error {
			_, err := s.StaleEvents(nilCtx, consent.StaleQuery{Notice: "n"})
			return err
		},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("memconsent %s(nil ctx) panicked: %v", name, r)
				}
			}()
			if err := call(); !errors.Is(err, consent.ErrInvalid) {
				t.Errorf("memconsent %s(nil ctx) = %v; want ErrInvalid", name, err)
			}
		}()
	}
}

func TestErrorsDoNotEchoPersonalValues(t *testing.T) {
	f := newFixture(t, consent.WithRegister(testRegister()))
	errs := map[string]error{}
	_, errs["decide contact"] = f.l.Decide(f.ctx, consent.Query{Subject: "s", Purpose: "newsletter", Contact: personal})
	_, errs["decide purpose"] = f.l.Decide(f.ctx, consent.Query{Subject: "s", Purpose: personal})
	c := f.choice("s")
	c.Purpose = personal
	_, errs["give purpose"] = f.l.Give(f.ctx, c)
	c = f.choice("s")
	c.Notice.ID = personal
	_, errs["give notice"] = f.l.Give(f.ctx, c)
	_, errs["notice"] = f.l.Notice(f.ctx, personal, 1)
	rl := mustOK(consent.New(memconsent.New(), consent.WithReceipts(ed25519.NewKeyFromSeed(make([]byte, 32)),
		validController(), "")))
	_, _, errs["receipt"] = rl.Receipt(f.ctx, personal)
	u := mustOK(consent.NewUnsubscriber([]byte(strings.Repeat("k", 32))))
	_, errs["sign contact"] = u.Sign(consent.Claims{Subject: "s", Purpose: "p", Contact: personal})
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), personal) {
			t.Errorf("%s: error %q echoes the rejected value", name, err)
		}
	}
	// A value that looks like a key is quoted, to help the caller.
	_, err := f.l.Decide(f.ctx, consent.Query{Subject: "s", Purpose: "newsletter", Contact: "pigeon"})
	if !strings.Contains(fmt.Sprint(err), `"pigeon"`) {
		t.Errorf("Decide with contact pigeon: %v, want the key quoted", err)
	}
}

// secretForms are the ways a key's bytes could show in printed output.
func secretForms(b []byte) []string {
	return []string{string(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
		base64.StdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
		strings.Trim(fmt.Sprint(b[:8]), "[]"), fmt.Sprintf("%#v", b[:8])[len("[]byte{"):]}
}

func TestSecretsDoNotPrint(t *testing.T) {
	secret := []byte("unsubscribe-secret-planted-0123456789")
	seed := bytes.Repeat([]byte{0xA7, 0x3C, 0x5E, 0x91}, 8)
	priv := ed25519.NewKeyFromSeed(seed)
	u := mustOK(consent.NewUnsubscriber(secret))
	l := mustOK(consent.New(memconsent.New(), consent.WithUnsubscriber(u),
		consent.WithReceipts(priv, validController(), "")))
	values := map[string]any{"*Unsubscriber": u, "Unsubscriber": *u, "*Ledger": l, "[]any{*Ledger}": []any{l},
		"struct{*Ledger}": struct{ L *consent.Ledger }{l}}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			out := fmt.Sprintf(verb, v)
			for _, form := range append(secretForms(secret), secretForms(seed)...) {
				if strings.Contains(out, form) {
					t.Errorf("%s under %s prints key material (%q): %s", name, verb, form, out)
				}
			}
		}
	}
	if s := fmt.Sprint(l); !strings.Contains(s, "consent.Ledger") {
		t.Errorf("Ledger prints as %q; want a summary", s)
	}
}

// auditOf returns the audit events recorded so far.
func auditOf(f *fixture) []gdpr.Event {
	return f.audit.Events()
}

func lastAudit(t *testing.T, f *fixture, action string) gdpr.Event {
	t.Helper()
	evs := auditOf(f)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Action == action {
			return evs[i]
		}
	}
	t.Fatalf("no %s audit event", action)
	return gdpr.Event{}
}

func TestAuditActors(t *testing.T) {
	u := mustOK(consent.NewUnsubscriber([]byte(strings.Repeat("k", 32))))
	f := newFixture(t, consent.WithUnsubscriber(u))
	staff := gdpr.Staff("agent-7")
	ctx := gdpr.WithPurpose(gdpr.WithActor(f.ctx, staff), "support")

	// The Choice's actor wins over the context's.
	c := f.choice("alice")
	c.Actor = gdpr.Staff("clerk-1")
	e := mustOK(f.l.Give(ctx, c))
	if a := lastAudit(t, f, "consent.given"); e.Actor != c.Actor || a.Actor != c.Actor || a.Purpose != "newsletter" {
		t.Errorf("Give with a Choice actor: event actor %v, audit actor %v purpose %q; want %v and the event's purpose", e.Actor, a.Actor, a.Purpose, c.Actor)
	}
	// Without one, the context's.
	e = mustOK(f.l.Withdraw(ctx, consent.Choice{Subject: "alice", Purpose: "newsletter"}))
	if a := lastAudit(t, f, "consent.withdrawn"); e.Actor != staff || a.Actor != staff || a.Purpose != "newsletter" {
		t.Errorf("Withdraw with a context actor: event %v, audit %v %q; want %v and the event's purpose", e.Actor, a.Actor, a.Purpose, staff)
	}
	e = mustOK(f.l.Expire(ctx, consent.Choice{Subject: "alice", Purpose: "newsletter"}))
	if e.Actor != staff {
		t.Errorf("Expire with a context actor: %v, want %v", e.Actor, staff)
	}
	// Without either: the subject for a choice, the system for an expiry.
	if e := mustOK(f.l.Give(f.ctx, f.choice("bob"))); e.Actor != gdpr.SubjectActor() || lastAudit(t, f, "consent.given").Actor != gdpr.SubjectActor() {
		t.Errorf("Give without actor: %v, want the subject", e.Actor)
	}
	if e := mustOK(f.l.Expire(f.ctx, consent.Choice{Subject: "bob", Purpose: "newsletter"})); e.Actor != gdpr.System("consent") {
		t.Errorf("Expire without actor: %v, want system consent", e.Actor)
	}
	// Calls without a Choice: the context's actor and purpose, else the system.
	mustOK(f.l.Publish(ctx, consent.Notice{ID: "n2", Version: 1, TextHash: consent.HashText("n2")}))
	if a := lastAudit(t, f, "consent.notice_published"); a.Actor != staff || a.Purpose != "support" {
		t.Errorf("Publish with a context actor: audit %v %q", a.Actor, a.Purpose)
	}
	if a := auditOf(f)[0]; a.Action != "consent.notice_published" || a.Actor != gdpr.System("consent") || a.Purpose != "" {
		t.Errorf("Publish without a context actor: audit %+v, want system consent", a)
	}
	w := gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return nil })
	if err := f.l.ExportSubject(ctx, "alice", w); err != nil {
		t.Fatal(err)
	}
	if a := lastAudit(t, f, "consent.exported"); a.Actor != staff || a.Purpose != "support" {
		t.Errorf("ExportSubject: audit %v %q", a.Actor, a.Purpose)
	}
	if err := f.l.ExportSubject(f.ctx, "alice", w); err != nil {
		t.Fatal(err)
	}
	if a := lastAudit(t, f, "consent.exported"); a.Actor != gdpr.System("consent") || a.Purpose != "" {
		t.Errorf("ExportSubject without context: audit %v %q", a.Actor, a.Purpose)
	}
	// Tokens prove the subject acted, whatever the context says.
	_, tok := mustRequest(t, f, "carol")
	if e := mustOK(f.l.Confirm(ctx, tok, consent.Evidence{})); e.Actor != gdpr.SubjectActor() || lastAudit(t, f, "consent.given").Actor != gdpr.SubjectActor() {
		t.Errorf("Confirm: actor %v, want the subject", e.Actor)
	}
	ut := mustOK(f.l.UnsubscribeToken("carol", "newsletter", consent.Email, 0))
	if e := mustOK(f.l.Unsubscribe(ctx, ut, consent.Evidence{})); e.Actor != gdpr.SubjectActor() {
		t.Errorf("Unsubscribe: actor %v, want the subject", e.Actor)
	}
	if _, err := f.l.EraseSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if a := lastAudit(t, f, "consent.erased"); a.Actor != staff || a.Purpose != "support" {
		t.Errorf("EraseSubject: audit %v %q", a.Actor, a.Purpose)
	}
	// An invalid actor in the context is refused, and nothing is written.
	bad := gdpr.WithActor(f.ctx, gdpr.Actor{Kind: gdpr.ActorStaff})
	n := len(auditOf(f))
	for name, err := range map[string]error{
		"Give": func() error { _, err := f.l.Give(bad, f.choice("dan")); return err }(),
		"Publish": func() error {
			_, err := f.l.Publish(bad, consent.Notice{ID: "n3", Version: 1, TextHash: consent.HashText("n3")})
			return err
		}(),
		"Erase": func() error { _, err := f.l.EraseSubject(bad, "bob"); return err }(),
	} {
		var ce *consent.Error
		if !errors.Is(err, consent.ErrInvalid) || !errors.As(err, &ce) || ce.Field != "ctx" {
			t.Errorf("%s with an invalid context actor: %v; want ErrInvalid for field ctx", name, err)
		}
	}
	if len(auditOf(f)) != n || len(mustOK(f.l.History(f.ctx, "dan", ""))) != 0 || len(mustOK(f.l.History(f.ctx, "bob", ""))) == 0 {
		t.Error("a call with an invalid context actor wrote something")
	}
}

func TestPublishIdempotent(t *testing.T) {
	f := newFixture(t)
	n := consent.Notice{ID: "terms", Version: 1, TextHash: consent.HashText("terms v1"), Language: "en", URL: "https://example.com/terms"}
	first := mustOK(f.l.Publish(f.ctx, n))
	audits := len(auditOf(f))
	f.clk.Add(time.Hour)
	again, err := f.l.Publish(f.ctx, n)
	if err != nil || again != first {
		t.Fatalf("Publish of the same notice again = %+v, %v; want the stored %+v and no error", again, err, first)
	}
	n2 := n
	n2.Published = first.Published
	if _, err := f.l.Publish(f.ctx, n2); err != nil {
		t.Errorf("Publish again with the stored Published time: %v", err)
	}
	if got := len(auditOf(f)); got != audits {
		t.Errorf("republishing recorded %d audit events; want none", got-audits)
	}
	if ns := mustOK(f.store.Notices(f.ctx, "terms")); len(ns) != 1 {
		t.Errorf("republishing stored %d versions; want 1", len(ns))
	}
	for name, mutate := range map[string]func(*consent.Notice){
		"text":      func(x *consent.Notice) { x.TextHash = consent.HashText("terms v1, edited") },
		"url":       func(x *consent.Notice) { x.URL = "https://example.com/other" },
		"language":  func(x *consent.Notice) { x.Language = "de" },
		"material":  func(x *consent.Notice) { x.Material = true },
		"published": func(x *consent.Notice) { x.Published = first.Published.Add(time.Minute) },
	} {
		x := n
		mutate(&x)
		_, err := f.l.Publish(f.ctx, x)
		if !errors.Is(err, consent.ErrConflict) || !errors.Is(err, gdpr.ErrConflict) {
			t.Errorf("Publish of version 1 with another %s: %v; want ErrConflict", name, err)
		}
	}
	// A version below the latest that was never published is a conflict too.
	mustOK(f.l.Publish(f.ctx, consent.Notice{ID: "terms", Version: 3, TextHash: consent.HashText("terms v3")}))
	if _, err := f.l.Publish(f.ctx, consent.Notice{ID: "terms", Version: 2, TextHash: consent.HashText("terms v2")}); !errors.Is(err, consent.ErrConflict) {
		t.Errorf("Publish of version 2 after 3: %v; want ErrConflict", err)
	}
	// An old version republished as it was is still no conflict.
	if _, err := f.l.Publish(f.ctx, n); err != nil {
		t.Errorf("Publish of version 1 again after version 3: %v", err)
	}
}

// lateStore hides notices from the first Notices call, as a publisher
// racing on another instance would: the version is stored by the time
// PutNotice runs.
type lateStore struct {
	*memconsent.Store
	hide bool
}

func (s *lateStore) Notices(ctx context.Context, id string) ([]consent.Notice, error) {
	if s.hide {
		s.hide = false
		return nil, nil
	}
	return s.Store.Notices(ctx, id)
}

func TestPublishIdempotentUnderRace(t *testing.T) {
	ctx := context.Background()
	s := &lateStore{Store: memconsent.New()}
	l := mustOK(consent.New(s))
	n := consent.Notice{ID: "terms", Version: 1, TextHash: consent.HashText("v1"), Published: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	mustOK(l.Publish(ctx, n))
	s.hide = true
	if _, err := l.Publish(ctx, n); err != nil {
		t.Errorf("Publish racing an identical publication: %v; want none", err)
	}
	s.hide = true
	n.TextHash = consent.HashText("v1 edited")
	if _, err := l.Publish(ctx, n); !errors.Is(err, consent.ErrConflict) {
		t.Errorf("Publish racing a different publication: %v; want ErrConflict", err)
	}
}

func exportAll(t *testing.T, l *consent.Ledger, s gdpr.SubjectID) []gdpr.Record {
	t.Helper()
	var recs []gdpr.Record
	if err := l.ExportSubject(context.Background(), s, gdpr.RecordWriterFunc(func(_ context.Context, r gdpr.Record) error {
		recs = append(recs, r)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestExportNamesRegisterEntry(t *testing.T) {
	// Without a register, no activity and no made-up category.
	f := newFixture(t)
	mustOK(f.l.Give(f.ctx, f.choice("alice")))
	for _, r := range exportAll(t, f.l, "alice") {
		if r.Activity != "" || r.Category != "" {
			t.Errorf("record without a register: activity %q category %q; want both empty", r.Activity, r.Category)
		}
	}
	// With one: the activity of the purpose; a category only if it lists one.
	reg := testRegister()
	f = newFixture(t, consent.WithRegister(reg))
	mustOK(f.l.Give(f.ctx, f.choice("alice")))
	mustOK(f.l.Withdraw(f.ctx, consent.Choice{Subject: "alice", Purpose: "retired_purpose"}))
	recs := exportAll(t, f.l, "alice")
	if len(recs) != 2 || recs[0].Activity != "nl" || recs[0].Category != "" || recs[1].Activity != "" || recs[1].Category != "" {
		t.Fatalf("records = %+v; want activity nl with no category, then a record with neither", recs)
	}
	reg.Activities[0].DataCategories = append(reg.Activities[0].DataCategories, gdpr.Category{ID: consent.ExportCategory})
	withCat := mustOK(consent.New(f.store, consent.WithRegister(reg), consent.WithSuppressionKey(suppressionKey)))
	if r := exportAll(t, withCat, "alice")[0]; r.Activity != "nl" || r.Category != consent.ExportCategory {
		t.Errorf("record under an activity listing %q: activity %q category %q", consent.ExportCategory, r.Activity, r.Category)
	}
	if r := exportAll(t, withCat, "alice")[0]; r.Category != "" && !hasCategory(reg, r.Activity, r.Category) {
		t.Errorf("record category %q is not listed under activity %q", r.Category, r.Activity)
	}
}

func hasCategory(reg *gdpr.Register, activity, cat string) bool {
	for _, a := range reg.Activities {
		if a.ID == activity {
			for _, c := range a.DataCategories {
				if c.ID == cat {
					return true
				}
			}
		}
	}
	return false
}

// Ledger.Store bypassed validation and the Recorder; the Store interface's
// deletion no longer shares gdpr.Eraser's name with another signature.
func TestNoBypassAndNoMisleadingNames(t *testing.T) {
	if _, ok := reflect.TypeFor[*consent.Ledger]().MethodByName("Store"); ok {
		t.Error("*consent.Ledger has a Store method: it bypasses validation and the Recorder")
	}
	st := reflect.TypeFor[consent.Store]()
	if _, ok := st.MethodByName("EraseSubject"); ok {
		t.Error("consent.Store has EraseSubject with a signature other than gdpr.Eraser's")
	}
	if _, ok := st.MethodByName("DeleteSubject"); !ok {
		t.Error("consent.Store has no DeleteSubject")
	}
	var s any = memconsent.New()
	if _, ok := s.(gdpr.Eraser); ok {
		t.Error("a memconsent.Store is a gdpr.Eraser: erasure must go through the Ledger, which audits it")
	}
}
