package crypto_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
)

func (a *auditLog) take() []gdpr.Event {
	e := a.Events()
	a.Reset()
	return e
}

// Who decrypted: the actor and purpose of the context, the field as the
// resource, its category; one event per decryption.
func TestDecryptAuditNamesWhoWhatWhy(t *testing.T) {
	f := newFixture(t)
	contact := crypto.Field{Table: "users", Column: "email", Category: "contact"}
	ct := f.encrypt("ann", contact, "ann@example.org")
	f.audit.take()

	staff := gdpr.WithPurpose(gdpr.WithActor(f.ctx, gdpr.Staff("agent-7")), "support")
	for range 2 {
		if _, err := f.k.Decrypt(staff, "ann", contact, ct); err != nil {
			t.Fatal(err)
		}
	}
	bad := bytes.Clone(ct)
	bad[len(bad)-1] ^= 1
	if _, err := f.k.Decrypt(staff, "ann", contact, bad); !errors.Is(err, crypto.ErrDecrypt) {
		t.Fatal(err)
	}
	evs := f.audit.take()
	if len(evs) != 3 {
		t.Fatalf("%d events for 3 decryptions, want 3", len(evs))
	}
	for i, e := range evs {
		want := gdpr.Success
		if i == 2 {
			want = gdpr.Failure
		}
		if e.Action != "crypto.decrypt" || e.Actor != gdpr.Staff("agent-7") || e.Purpose != "support" ||
			e.Subject != "ann" || e.Resource != "users.email" || !slices.Equal(e.Categories, []string{"contact"}) || e.Outcome != want {
			t.Errorf("event %d = %+v; want staff agent-7, purpose support, resource users.email, category contact, %s", i, e, want)
		}
	}

	// Without an actor in the context, the system "crypto"; no category
	// when the field has none.
	ct2 := f.encrypt("ann", email, "x")
	if _, err := f.k.Decrypt(f.ctx, "ann", email, ct2); err != nil {
		t.Fatal(err)
	}
	evs = f.audit.take()
	last := evs[len(evs)-1]
	if last.Actor != gdpr.System("crypto") || last.Purpose != "" || last.Categories != nil || last.Resource != "users.email" {
		t.Errorf("event without actor = %+v", last)
	}

	// The subject acting in their privacy center: key events name them too.
	self := gdpr.WithActor(f.ctx, gdpr.SubjectActor())
	if _, err := f.k.Encrypt(self, "newcomer", email, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := f.k.Shred(self, "newcomer"); err != nil {
		t.Fatal(err)
	}
	for _, e := range f.audit.take() {
		if e.Actor != gdpr.SubjectActor() || e.Resource != "crypto_key" {
			t.Errorf("%s by the subject: actor %v, resource %q", e.Action, e.Actor, e.Resource)
		}
	}

	// A Guard's refusal names the actor too.
	g := f.keyring(f.kek, crypto.WithRecorder(f.audit), crypto.WithDecryptAudit(),
		crypto.WithGuard(func(context.Context, gdpr.SubjectID) error { return errors.New("restricted") }))
	if _, err := g.Decrypt(staff, "ann", contact, ct); !errors.Is(err, crypto.ErrRestricted) {
		t.Fatal(err)
	}
	evs = f.audit.take()
	if len(evs) != 1 || evs[0].Outcome != gdpr.Denied || evs[0].Actor != gdpr.Staff("agent-7") || !slices.Equal(evs[0].Categories, []string{"contact"}) {
		t.Errorf("denied decryption events: %+v", evs)
	}
}

// An invalid actor or purpose in the context refuses the call before
// anything happens.
func TestInvalidActorOrPurposeRefused(t *testing.T) {
	f := newFixture(t)
	ct := f.encrypt("ann", email, "x")
	f.audit.take()
	for field, ctx := range map[string]context.Context{
		"actor":   gdpr.WithActor(f.ctx, gdpr.Actor{Kind: gdpr.ActorStaff}),
		"purpose": gdpr.WithPurpose(f.ctx, ""),
	} {
		wantFieldErr(t, "Decrypt with a bad "+field, second(f.k.Decrypt(ctx, "ann", email, ct)), "decrypt", field)
		wantFieldErr(t, "Encrypt with a bad "+field, second(f.k.Encrypt(ctx, "bob", email, []byte("x"))), "encrypt", field)
		wantFieldErr(t, "Shred with a bad "+field, f.k.Shred(ctx, "ann"), "shred", field)
	}
	if evs := f.audit.take(); len(evs) != 0 {
		t.Errorf("refused calls recorded %d events", len(evs))
	}
	if _, err := f.store.Get(f.ctx, f.k.Ref("bob")); !errors.Is(err, crypto.ErrNotFound) {
		t.Errorf("a refused Encrypt created a key: %v", err)
	}
	if _, err := f.k.Decrypt(f.ctx, "ann", email, ct); err != nil {
		t.Errorf("a refused Shred shredded: %v", err)
	}
}

// Field.Category is validated, and not part of the associated data.
func TestFieldCategory(t *testing.T) {
	f := newFixture(t)
	ct := f.encrypt("ann", email, "x")
	withCat := email
	withCat.Category = "contact"
	if p, err := f.k.Decrypt(f.ctx, "ann", withCat, ct); err != nil || string(p) != "x" {
		t.Errorf("a category added later changed the ciphertext's binding: %q, %v", p, err)
	}
	for _, c := range []string{"a\x00b", string(make([]byte, 256)), "\xff"} {
		bad := email
		bad.Category = c
		wantFieldErr(t, "category", second(f.k.Encrypt(f.ctx, "ann", bad, []byte("x"))), "encrypt", "field")
	}
}

// Decrypt auditing is its own option: a Recorder alone records key events
// only.
func TestRecorderWithoutDecryptAudit(t *testing.T) {
	f := newFixture(t)
	k := f.keyring(f.kek, crypto.WithRecorder(f.audit))
	ct, err := k.Encrypt(f.ctx, "zoe", email, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Decrypt(f.ctx, "zoe", email, ct); err != nil {
		t.Fatal(err)
	}
	acts := f.audit.actions()
	if acts["crypto.key_created"] != 1 || acts["crypto.decrypt"] != 0 {
		t.Errorf("events %v; want the key's creation and no decryption", acts)
	}
}
