package crypto_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/memaudit"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// newAuditLog returns a real audit.Log over memaudit, closed when the test
// ends.
func newAuditLog(t testing.TB) *audit.Log { return audittest.NewLog(t, memaudit.New()) }

// auditedKEK is the KEK of auditedKeyring's Keyrings.
var auditedKEK = func() crypto.KEK {
	k, err := crypto.EphemeralKEK("audited")
	if err != nil {
		panic(err)
	}
	return k
}()

// auditedKeyring returns a Keyring over a fresh memkeys Store that records
// into log, decryptions included.
func auditedKeyring(t testing.TB, log gdpr.Recorder, opts ...crypto.Option) (*crypto.Keyring, *memkeys.Store) {
	t.Helper()
	store := memkeys.New()
	k, err := crypto.New(context.Background(), store, auditedKEK,
		append([]crypto.Option{crypto.WithRecorder(log), crypto.WithDecryptAudit()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return k, store
}

// A field name Encrypt accepts is one the audit log accepts: an audited
// Decrypt of every field Encrypt accepts succeeds, with the real audit.Log
// (its Resource is "table.column", at most audit.MaxResourceLen bytes of
// printable UTF-8; its Categories match ^[a-z0-9_.-]{1,audit.MaxKeyLen}$).
// What the log would refuse, Encrypt refuses first (ErrInvalid, Field
// "field"), before a key is made. Row never reaches the trail: it is only
// bound into the ciphertext, and keeps its own limit.
func TestFieldAcceptedIsAuditable(t *testing.T) {
	ctx := context.Background()
	log := newAuditLog(t)
	k, store := auditedKeyring(t, log)
	// The subject's key exists already; a refused Encrypt must not make the
	// key of a new subject either.
	if _, err := k.Encrypt(ctx, "ann", email, []byte("x")); err != nil {
		t.Fatal(err)
	}
	half := (audit.MaxResourceLen - 1) / 2
	for _, c := range []struct {
		name string
		f    crypto.Field
		ok   bool
	}{
		{"plain", crypto.Field{Table: "users", Column: "email", Category: "contact"}, true},
		{"resource at the limit", crypto.Field{Table: strings.Repeat("t", half), Column: strings.Repeat("c", audit.MaxResourceLen-1-half)}, true},
		{"table at the limit", crypto.Field{Table: strings.Repeat("t", audit.MaxResourceLen-2), Column: "c"}, true},
		{"column at the limit", crypto.Field{Table: "t", Column: strings.Repeat("c", audit.MaxResourceLen-2)}, true},
		{"resource one over", crypto.Field{Table: strings.Repeat("t", half+1), Column: strings.Repeat("c", audit.MaxResourceLen-1-half)}, false},
		{"table 255 bytes", crypto.Field{Table: strings.Repeat("t", 255), Column: "c"}, false},
		{"table and column 255 bytes each", crypto.Field{Table: strings.Repeat("t", 255), Column: strings.Repeat("c", 255)}, false},
		{"non-ASCII", crypto.Field{Table: "kunden", Column: "straße_é_名前"}, true},
		{"multibyte at the limit", crypto.Field{Table: strings.Repeat("é", 127), Column: "c"}, true}, // 254 + 1 + 1
		{"multibyte one over", crypto.Field{Table: strings.Repeat("é", 127), Column: "cc"}, false},
		{"C0 in table", crypto.Field{Table: "users\x00", Column: "email"}, false},
		{"newline in column", crypto.Field{Table: "users", Column: "e\nmail"}, false},
		{"DEL in column", crypto.Field{Table: "users", Column: "email\x7f"}, false},
		{"C1 in table", crypto.Field{Table: "users\u0085", Column: "email"}, false},
		{"C1 at the end of column", crypto.Field{Table: "users", Column: "email\u009f"}, false},
		{"invalid UTF-8", crypto.Field{Table: "users\xff", Column: "email"}, false},
		{"empty table", crypto.Field{Column: "email"}, false},
		{"empty column", crypto.Field{Table: "users"}, false},
		{"category at the limit", crypto.Field{Table: "users", Column: "email", Category: strings.Repeat("c", audit.MaxKeyLen)}, true},
		{"category with every allowed kind", crypto.Field{Table: "users", Column: "email", Category: "a-z_0.9"}, true},
		{"category one over", crypto.Field{Table: "users", Column: "email", Category: strings.Repeat("c", audit.MaxKeyLen+1)}, false},
		{"category upper case", crypto.Field{Table: "users", Column: "email", Category: "Contact"}, false},
		{"category with a space", crypto.Field{Table: "users", Column: "email", Category: "contact data"}, false},
		{"category non-ASCII", crypto.Field{Table: "users", Column: "email", Category: "données"}, false},
		{"category with a control character", crypto.Field{Table: "users", Column: "email", Category: "contact\x01"}, false},
		{"row at its limit, any bytes", crypto.Field{Table: "users", Column: "email", Row: strings.Repeat("\x00\xff\n", 341) + "r"}, true},
		{"row over its limit", crypto.Field{Table: "users", Column: "email", Row: strings.Repeat("r", 1025)}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			newcomer := gdpr.SubjectID("newcomer/" + c.name)
			for _, s := range []gdpr.SubjectID{"ann", newcomer} {
				ct, err := k.Encrypt(ctx, s, c.f, []byte("v"))
				if !c.ok {
					var ce *crypto.Error
					if !errors.Is(err, crypto.ErrInvalid) || !errors.As(err, &ce) || ce.Field != "field" {
						t.Fatalf("Encrypt for %s: %v; want ErrInvalid with Field \"field\" (the audit log would refuse this field)", s, err)
					}
					if _, err := store.Get(ctx, k.Ref(newcomer)); !errors.Is(err, crypto.ErrNotFound) {
						t.Errorf("a refused Encrypt made a key for a new subject: %v", err)
					}
					if _, err := k.Decrypt(ctx, s, c.f, []byte{crypto.FormatV1}); !errors.Is(err, crypto.ErrInvalid) {
						t.Errorf("Decrypt of the refused field: %v; want ErrInvalid", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Encrypt for %s: %v; want it accepted", s, err)
				}
				if pt, err := k.Decrypt(ctx, s, c.f, ct); err != nil || string(pt) != "v" {
					t.Fatalf("audited Decrypt of a field Encrypt accepted: (%q, %v); want the value: the audit log refused the event", pt, err)
				}
				if _, err := k.DecryptScope(ctx, "ticket/1", c.f, ct); !errors.Is(err, crypto.ErrDecrypt) {
					t.Errorf("audited failed DecryptScope: %v; want ErrDecrypt", err)
				}
			}
		})
	}
}

// A scope EncryptScope accepts is one the audit log accepts in
// Attrs["scope"]: printable UTF-8 (no C0, DEL or C1 control character) of
// at most audit.MaxAttrValueLen bytes.
func TestScopeAcceptedIsAuditable(t *testing.T) {
	ctx := context.Background()
	k, store := auditedKeyring(t, newAuditLog(t))
	for _, c := range []struct {
		name  string
		scope crypto.Scope
		ok    bool
	}{
		{"plain", "ticket/4711", true},
		{"at the limit", crypto.Scope(strings.Repeat("s", 255)), true},
		{"non-ASCII", "ticket/é名", true},
		{"C1", "ticket/\u0085", false},
		{"C1 last", "ticket/4711\u009f", false},
		{"DEL", "ticket/\x7f", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ct, err := k.EncryptScope(ctx, c.scope, email, []byte("v"))
			if !c.ok {
				if !errors.Is(err, crypto.ErrInvalid) {
					t.Fatalf("EncryptScope: %v; want ErrInvalid (the audit log refuses the scope attribute)", err)
				}
				if err := c.scope.Validate(); !errors.Is(err, crypto.ErrInvalid) {
					t.Errorf("Scope.Validate: %v; want ErrInvalid", err)
				}
				if _, err := store.Get(ctx, k.ScopeRef(c.scope)); !errors.Is(err, crypto.ErrNotFound) {
					t.Errorf("a refused EncryptScope made a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("EncryptScope: %v", err)
			}
			if pt, err := k.DecryptScope(ctx, c.scope, email, ct); err != nil || string(pt) != "v" {
				t.Fatalf("audited DecryptScope: (%q, %v)", pt, err)
			}
			if err := k.ShredScope(ctx, c.scope); err != nil {
				t.Fatalf("audited ShredScope: %v", err)
			}
		})
	}
}

// FuzzFieldAudited: every Field that Encrypt accepts is one whose audited
// Decrypt succeeds with the real audit.Log (memaudit), and so is every
// failed one recorded; a Field Encrypt refuses is refused as ErrInvalid
// with Field "field".
func FuzzFieldAudited(f *testing.F) {
	ctx := context.Background()
	log := newAuditLog(f)
	k, _ := auditedKeyring(f, log)
	f.Add("users", "email", "", "contact")
	f.Add("users", "email", "17", "")
	f.Add(strings.Repeat("t", 127), strings.Repeat("c", 128), "", "")
	f.Add(strings.Repeat("t", 128), strings.Repeat("c", 128), "", "")
	f.Add(strings.Repeat("t", 255), strings.Repeat("c", 255), strings.Repeat("r", 1024), strings.Repeat("k", 64))
	f.Add("users\u0085", "email", "", "")
	f.Add("users", "e\x00mail", "", "")
	f.Add("users", "email\x7f", "\x00", "contact\n")
	f.Add("tab\xffle", "email", "", "")
	f.Add("users", "email", "", "Contact")
	f.Add("users", "email", "", strings.Repeat("k", 65))
	f.Add("é", "名", "\xff", "a.b-c_9")
	f.Fuzz(func(t *testing.T, table, column, row, category string) {
		fld := crypto.Field{Table: table, Column: column, Row: row, Category: category}
		ct, err := k.Encrypt(ctx, "fuzz-subject", fld, []byte("v"))
		if err != nil {
			var ce *crypto.Error
			if !errors.Is(err, crypto.ErrInvalid) || !errors.As(err, &ce) || ce.Field != "field" {
				t.Fatalf("Encrypt refused a field with %v; want ErrInvalid with Field \"field\"", err)
			}
			return
		}
		if pt, err := k.Decrypt(ctx, "fuzz-subject", fld, ct); err != nil || string(pt) != "v" {
			t.Fatalf("Encrypt accepted a field (table %d bytes, column %d, row %d, category %d) whose audited Decrypt fails: %v",
				len(table), len(column), len(row), len(category), err)
		}
	})
}
