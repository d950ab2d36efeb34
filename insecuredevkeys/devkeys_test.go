package insecuredevkeys_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/insecuredevkeys"
)

func TestLoadSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev", "keys.json")
	first, err := insecuredevkeys.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	ctx := context.Background()
	store := memkeys.New() // the database, which outlives the process
	ring, err := crypto.New(ctx, store, first.KEK())
	if err != nil {
		t.Fatal(err)
	}
	f := crypto.Field{Table: "users", Column: "email"}
	ct, err := ring.Encrypt(ctx, "user-42", f, []byte("ann@example.org"))
	if err != nil {
		t.Fatal(err)
	}

	again, err := insecuredevkeys.Load(path) // the next run
	if err != nil {
		t.Fatal(err)
	}
	ring, err = crypto.New(ctx, store, again.KEK())
	if err != nil {
		t.Fatalf("the reloaded KEK does not open the Keyring's own keys: %v", err)
	}
	if pt, err := ring.Decrypt(ctx, "user-42", f, ct); err != nil || string(pt) != "ann@example.org" {
		t.Fatalf("the reloaded KEK does not open what the first run wrapped: %v", err)
	}
	if !bytes.Equal(first.PseudonymKey(), again.PseudonymKey()) || !bytes.Equal(first.UnsubscribeSecret(), again.UnsubscribeSecret()) ||
		!first.ReceiptKey().Equal(again.ReceiptKey()) || again.KEK().ID != insecuredevkeys.KEKID {
		t.Fatal("a reloaded key differs from the first run's")
	}
	s1, _, err := first.AuditSigner()
	if err != nil {
		t.Fatal(err)
	}
	s2, v2, err := again.AuditSigner()
	if err != nil || s1.KeyHash() != s2.KeyHash() || v2.Name() != insecuredevkeys.AuditKeyName {
		t.Fatalf("audit signer differs across runs: %v", err)
	}
	msg := []byte("checkpoint")
	sig, _ := s1.Sign(msg)
	if !v2.Verify(msg, sig) {
		t.Fatal("the second run cannot verify the first run's signature")
	}
	if len(first.ReceiptKey()) != ed25519.PrivateKeySize {
		t.Fatal("receipt key size")
	}
}

func TestTwoNewKeySetsDiffer(t *testing.T) {
	a, err := insecuredevkeys.Load(filepath.Join(t.TempDir(), "k.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := insecuredevkeys.Load(filepath.Join(t.TempDir(), "k.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.PseudonymKey(), b.PseudonymKey()) || bytes.Equal(a.UnsubscribeSecret(), b.UnsubscribeSecret()) {
		t.Fatal("two new key sets share a key: they are not random")
	}
}

func TestConcurrentFirstLoadsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.json")
	const n = 8
	keys := make([]*insecuredevkeys.Keys, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = insecuredevkeys.Load(path)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(keys[i].PseudonymKey(), keys[0].PseudonymKey()) {
			t.Fatal("two processes starting at once got different key sets")
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".devkeys-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

func TestLoadRefusesAFileOthersCanRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.json")
	if _, err := insecuredevkeys.Load(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := insecuredevkeys.Load(path); !errors.Is(err, insecuredevkeys.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
		t.Fatalf("Load of a world-readable key file = %v; want ErrInvalid", err)
	}
}

func TestParseRefusesWithoutQuotingKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.json")
	if _, err := insecuredevkeys.Load(path); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	secret := m["pseudonym_key"].(string)
	for field, v := range map[string]any{
		"pseudonym_key":      secret[:20],
		"receipt_key":        "AAAA",
		"unsubscribe_secret": nil,
		"audit_signer_key":   "PRIVATE+KEY+x",
		"kek_keyset":         map[string]any{"primaryKeyId": 1},
		"version":            2,
		"surprise":           "field",
	} {
		c := map[string]any{}
		for k, x := range m {
			c[k] = x
		}
		c[field] = v
		b, _ := json.Marshal(c)
		_, err := insecuredevkeys.Parse(b)
		var e *insecuredevkeys.Error
		if !errors.Is(err, insecuredevkeys.ErrInvalid) || !errors.As(err, &e) {
			t.Errorf("Parse with a bad %s = %v; want an *Error wrapping ErrInvalid", field, err)
			continue
		}
		if field != "surprise" && e.Field != field {
			t.Errorf("bad %s: error names field %q", field, e.Field)
		}
		if strings.Contains(err.Error(), secret[:12]) || strings.Contains(err.Error(), "PRIVATE") {
			t.Errorf("bad %s: error %q quotes key material", field, err)
		}
	}
	if _, err := insecuredevkeys.Parse(append(good, []byte(`{}`)...)); !errors.Is(err, insecuredevkeys.ErrInvalid) {
		t.Errorf("trailing data accepted: %v", err)
	}
}

func TestKeysNeverPrint(t *testing.T) {
	k, err := insecuredevkeys.Load(filepath.Join(t.TempDir(), "k.json"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := [][]byte{k.PseudonymKey(), k.UnsubscribeSecret(), k.ReceiptKey().Seed()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		out := fmt.Sprintf(verb, k)
		for _, s := range secrets {
			if strings.Contains(out, string(s)) || strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", s)[:16]) {
				t.Errorf("%s of Keys prints a key: %s", verb, out)
			}
		}
	}
	if out := fmt.Sprintf("%v", struct{ K *insecuredevkeys.Keys }{k}); strings.Contains(out, fmt.Sprintf("%x", secrets[0])[:16]) {
		t.Errorf("Keys in a struct prints a key: %s", out)
	}
}

func FuzzParse(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "k.json")
	if _, err := insecuredevkeys.Load(path); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := insecuredevkeys.Parse(b)
		if err != nil {
			if !errors.Is(err, insecuredevkeys.ErrInvalid) {
				t.Fatalf("Parse error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(k.PseudonymKey()) != 32 || len(k.UnsubscribeSecret()) != 32 {
			t.Fatal("Parse accepted a key of the wrong size")
		}
	})
}
