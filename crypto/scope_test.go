package crypto_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
)

var creds = crypto.Field{Table: "tickets", Column: "site_credentials", Row: "4711"}

func TestScope(t *testing.T) {
	refuse := crypto.WithGuard(func(context.Context, gdpr.SubjectID) error { return errors.New("restricted") })
	f := newFixture(t, refuse)
	const ticket = crypto.Scope("ticket/4711")
	ct, err := f.k.EncryptScope(f.ctx, ticket, creds, []byte(canaryValue))
	if err != nil {
		t.Fatal(err)
	}
	// The Guard judges subjects; a scope has none.
	if p, err := f.k.DecryptScope(f.ctx, ticket, creds, ct); err != nil || string(p) != canaryValue {
		t.Fatalf("DecryptScope = %q, %v", p, err)
	}
	// Scopes and subjects never share a key, even under the same name.
	if f.k.ScopeRef(ticket) == f.k.Ref(gdpr.SubjectID(ticket)) {
		t.Fatal("a scope and a subject of the same name share a Ref")
	}
	if _, err := f.store.Get(f.ctx, f.k.ScopeRef(ticket)); err != nil {
		t.Fatalf("the scope's key is not in the Store under its Ref: %v", err)
	}
	if _, err := f.store.Get(f.ctx, f.k.Ref(gdpr.SubjectID(ticket))); !errors.Is(err, crypto.ErrNotFound) {
		t.Fatalf("EncryptScope made a subject key: %v", err)
	}
	open := f.keyring(f.kek) // no Guard
	subjCT, err := open.Encrypt(f.ctx, gdpr.SubjectID(ticket), creds, []byte("subject's"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open.Decrypt(f.ctx, gdpr.SubjectID(ticket), creds, ct); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("a scope's ciphertext opened as a subject's: %v", err)
	}
	if _, err := open.DecryptScope(f.ctx, ticket, creds, subjCT); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("a subject's ciphertext opened as a scope's: %v", err)
	}
	if _, err := open.DecryptScope(f.ctx, "ticket/4712", creds, ct); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("another scope's ciphertext: %v", err)
	}
	if _, err := open.DecryptScope(f.ctx, ticket, crypto.Field{Table: "tickets", Column: "site_credentials", Row: "4712"}, ct); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("another row's ciphertext: %v", err)
	}

	// Audit events of a scope carry no subject and name the scope.
	if _, err := f.k.DecryptScope(gdpr.WithActor(f.ctx, gdpr.Staff("agent-7")), ticket, creds, ct); err != nil {
		t.Fatal(err)
	}
	evs := f.audit.take()
	if len(evs) == 0 {
		t.Fatal("no audit events for the scope")
	}
	for _, e := range evs {
		if e.Subject != "" || e.Attrs["scope"] != string(ticket) {
			t.Errorf("scope event %s: subject set %v, scope %q", e.Action, e.Subject != "", e.Attrs["scope"])
		}
	}
	if last := evs[len(evs)-1]; last.Action != "crypto.decrypt" || last.Resource != "tickets.site_credentials" || last.Actor != gdpr.Staff("agent-7") {
		t.Errorf("scope decrypt event %+v", last)
	}

	// Shred: the ticket closes.
	if err := f.k.ShredScope(f.ctx, ticket); err != nil {
		t.Fatal(err)
	}
	if err := f.k.ShredScope(f.ctx, ticket); err != nil {
		t.Errorf("second ShredScope: %v", err)
	}
	for _, k := range []*crypto.Keyring{f.k, f.keyring(f.kek, crypto.WithCache(0, 0))} {
		if _, err := k.DecryptScope(f.ctx, ticket, creds, ct); !errors.Is(err, crypto.ErrShredded) || !errors.Is(err, gdpr.ErrShredded) {
			t.Errorf("DecryptScope after ShredScope: %v, want ErrShredded", err)
		}
	}
	if _, err := f.k.EncryptScope(f.ctx, ticket, creds, []byte("new")); !errors.Is(err, crypto.ErrShredded) {
		t.Errorf("EncryptScope after ShredScope: %v, want ErrShredded (no new key)", err)
	}
	// The subject of the same name is untouched.
	if p, err := open.Decrypt(f.ctx, gdpr.SubjectID(ticket), creds, subjCT); err != nil || string(p) != "subject's" {
		t.Errorf("subject after a scope of the same name was shredded: %q, %v", p, err)
	}
	for _, e := range f.audit.take() {
		if e.Action == "crypto.shred" && (e.Subject != "" || e.Attrs["scope"] != string(ticket)) {
			t.Errorf("scope shred event %+v", e)
		}
	}
	// A scope shredded before first use gets no key either.
	if err := f.k.ShredScope(f.ctx, "ticket/9"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.k.EncryptScope(f.ctx, "ticket/9", creds, []byte("x")); !errors.Is(err, crypto.ErrShredded) {
		t.Errorf("EncryptScope of a scope shredded before use: %v", err)
	}
}

func TestScopeValidated(t *testing.T) {
	f := newFixture(t)
	for _, s := range []crypto.Scope{"", "a\nb", "\xff", crypto.Scope(strings.Repeat("x", 256))} {
		wantFieldErr(t, "EncryptScope", second(f.k.EncryptScope(f.ctx, s, creds, []byte("x"))), "encrypt_scope", "scope")
		wantFieldErr(t, "DecryptScope", second(f.k.DecryptScope(f.ctx, s, creds, []byte{1})), "decrypt_scope", "scope")
		wantFieldErr(t, "ShredScope", f.k.ShredScope(f.ctx, s), "shred_scope", "scope")
		if err := s.Validate(); !errors.Is(err, crypto.ErrInvalid) {
			t.Errorf("Validate: %v", err)
		}
	}
	if err := crypto.Scope(strings.Repeat("x", 255)).Validate(); err != nil {
		t.Errorf("a 255-byte scope: %v", err)
	}
}

// A KEK rotation rewraps scopes' keys too.
func TestScopeSurvivesRewrap(t *testing.T) {
	f := newFixture(t)
	ct, err := f.k.EncryptScope(f.ctx, "file/1", creds, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	next, _ := crypto.EphemeralKEK("test-kek-2")
	k2 := f.keyring(next, crypto.WithPreviousKEKs(f.kek))
	if p, err := k2.Rewrap(f.ctx, "", 10, nil); err != nil || p.Rewrapped != 3 {
		t.Fatalf("Rewrap = %+v, %v; want the scope's key and the Keyring's two", p, err)
	}
	if p, err := f.keyring(next).DecryptScope(f.ctx, "file/1", creds, ct); err != nil || string(p) != "x" {
		t.Fatalf("after the KEK rotation: %q, %v", p, err)
	}
}
