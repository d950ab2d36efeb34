package memaudit_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

// Every method refuses a nil context with an *audit.Error (Field "ctx")
// wrapping audit.ErrInvalid, and never panics.
func TestNilContext(t *testing.T) {
	var nilCtx context.Context
	s := memaudit.New()
	calls := map[string]func() error{
		"head":        func() error { _, err := s.Head(nilCtx); return err },
		"read hashes": func() error { _, err := s.ReadHashes(nilCtx, []int64{0}); return err },
		"append": func() error {
			return s.Append(nilCtx, func(audit.Head, tlog.HashReader) (*audit.Batch, error) { return nil, nil })
		},
		"entries":           func() error { _, err := s.Entries(nilCtx, 0, 1); return err },
		"query":             func() error { _, err := s.Query(nilCtx, audit.StoreFilter{Limit: 1}); return err },
		"redact":            func() error { return s.Redact(nilCtx, 0) },
		"salt":              func() error { _, err := s.Salt(nilCtx, []byte("r"), make([]byte, 32)); return err },
		"lookup salt":       func() error { _, err := s.LookupSalt(nilCtx, []byte("r")); return err },
		"delete salt":       func() error { _, err := s.DeleteSalt(nilCtx, []byte("r")); return err },
		"put checkpoint":    func() error { return s.PutCheckpoint(nilCtx, 0, []byte("n")) },
		"latest checkpoint": func() error { _, err := s.LatestCheckpoint(nilCtx); return err },
		"audittest append": func() error {
			_, err := audittest.Append(nilCtx, s, audit.StoredEntry{Body: []byte("x")})
			return err
		},
	}
	for op, call := range calls {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s with a nil context panicked: %v", op, r)
				}
			}()
			err := call()
			if !errors.Is(err, audit.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
				t.Errorf("%s with a nil context: %v; want audit.ErrInvalid", op, err)
				return
			}
			var e *audit.Error
			if op != "audittest append" && (!errors.As(err, &e) || e.Op != op || e.Field != "ctx") {
				t.Errorf("%s with a nil context: %v; want an *audit.Error with Op %q, Field ctx", op, err, op)
			}
		}()
	}
	if h, _ := s.Head(t.Context()); h.Size != 0 {
		t.Errorf("a refused call wrote: head %d", h.Size)
	}
	if _, err := s.LookupSalt(t.Context(), []byte("r")); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("a refused Salt stored a salt: %v", err)
	}
}

// A Store prints none of its salts (which, with the Log's key, link
// pseudonyms back to IDs) nor its entries, under any verb.
func TestStorePrintsNoSalt(t *testing.T) {
	ctx := t.Context()
	s := memaudit.New()
	salt := []byte("SALT-0123456789abcdefghijklmnopqr")
	if _, err := s.Salt(ctx, []byte("ref"), salt); err != nil {
		t.Fatal(err)
	}
	body := []byte("BODY-of-an-entry")
	if _, err := audittest.Append(ctx, s, audit.StoredEntry{Subject: []byte("PSEUDONYM-x"), Body: body}); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		out := fmt.Sprintf(verb, s)
		for _, secret := range [][]byte{salt, body, []byte("PSEUDONYM-x")} {
			dec := fmt.Sprint(secret)
			for _, form := range []string{string(secret), hex.EncodeToString(secret), strings.ToUpper(hex.EncodeToString(secret)),
				base64.StdEncoding.EncodeToString(secret), dec[1 : len(dec)-1]} {
				if strings.Contains(out, form) {
					t.Errorf("fmt %s of a *Store prints stored bytes (%.20q…): %.200s", verb, form, out)
				}
			}
		}
	}
	if got := fmt.Sprint(s); got != "memaudit.Store" {
		t.Errorf("%%v of a *Store = %q", got)
	}
}
