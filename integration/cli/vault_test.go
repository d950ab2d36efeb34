package cli_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// fakeVault is HashiCorp Vault's transit engine as its HTTP API answers,
// on loopback over TLS: encrypt and decrypt of one AES-256-GCM key, with
// associated data, behind a token.
type fakeVault struct {
	*httptest.Server
	token string
	aead  cipher.AEAD
	calls atomic.Int64
}

func newFakeVault(t *testing.T) *fakeVault {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	block, _ := aes.NewCipher(k)
	g, _ := cipher.NewGCM(block)
	v := &fakeVault{token: "s.test-token-" + fmt.Sprint(len(k)), aead: g}
	v.Server = httptest.NewTLSServer(http.HandlerFunc(v.serve))
	t.Cleanup(v.Close)
	return v
}

func (v *fakeVault) serve(w http.ResponseWriter, r *http.Request) {
	v.calls.Add(1)
	if r.Header.Get("X-Vault-Token") != v.token {
		http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
		return
	}
	var req struct {
		Plaintext      string `json:"plaintext"`
		Ciphertext     string `json:"ciphertext"`
		AssociatedData string `json:"associated_data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || (r.Method != http.MethodPut && r.Method != http.MethodPost) {
		http.Error(w, `{"errors":["bad request"]}`, http.StatusBadRequest)
		return
	}
	ad, _ := base64.StdEncoding.DecodeString(req.AssociatedData)
	var data map[string]string
	switch r.URL.Path {
	case "/v1/transit/encrypt/kek":
		pt, err := base64.StdEncoding.DecodeString(req.Plaintext)
		if err != nil {
			http.Error(w, `{"errors":["bad plaintext"]}`, http.StatusBadRequest)
			return
		}
		nonce := make([]byte, v.aead.NonceSize())
		rand.Read(nonce)
		data = map[string]string{"ciphertext": "vault:v1:" + base64.StdEncoding.EncodeToString(v.aead.Seal(nonce, nonce, pt, ad))}
	case "/v1/transit/decrypt/kek":
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(req.Ciphertext, "vault:v1:"))
		if err != nil || len(b) < v.aead.NonceSize() {
			http.Error(w, `{"errors":["bad ciphertext"]}`, http.StatusBadRequest)
			return
		}
		pt, err := v.aead.Open(nil, b[:v.aead.NonceSize()], b[v.aead.NonceSize():], ad)
		if err != nil {
			http.Error(w, `{"errors":["cipher: message authentication failed"]}`, http.StatusBadRequest)
			return
		}
		data = map[string]string{"plaintext": base64.StdEncoding.EncodeToString(pt)}
	default:
		http.Error(w, `{"errors":["no handler"]}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": data})
}

// TestKeysRewrapToVault: the KEK moved into a KMS (HashiCorp Vault's
// transit engine) and out again, from the shell: the token and the CA come
// from the environment, the key records are rewrapped through the KMS, and
// a wrong token changes nothing and shows no secret.
func TestKeysRewrapToVault(t *testing.T) {
	ctx := t.Context()
	v := newFakeVault(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: v.Certificate().Raw}), 0o644)
	db := testdb.Open(t, sqldialect.SQLite)
	store := testdb.Migrated(t, sqldialect.SQLite, db, sqlkeys.New)
	fileA, kekA := newKEK(t, dir, "kek-a")
	fileB, kekB := newKEK(t, dir, "kek-b")
	ring, err := crypto.New(ctx, store, kekA)
	if err != nil {
		t.Fatal(err)
	}
	f := crypto.Field{Table: "profiles", Column: "email"}
	ct, err := ring.Encrypt(ctx, "s-1", f, []byte("a@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 9 {
		ring.Encrypt(ctx, gdpr.SubjectID(fmt.Sprintf("s-%d", i+2)), f, []byte("x"))
	}
	uri := "hcvault://" + strings.TrimPrefix(v.URL, "https://") + "/transit/keys/kek"
	env := []string{"GDPR_DSN=" + dsnOf(t, sqldialect.SQLite, db), "VAULT_CACERT=" + ca, "VAULT_TOKEN=" + v.token}
	total := status(t, env).Records

	r := gdprCmd(t, env, "keys", "rewrap", "--kek-uri", uri, "--kek-id", "vault-kek", "--previous-kek", "kek-a="+fileA, "--json")
	var res struct{ Rewrapped int64 }
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 || res.Rewrapped != total {
		t.Fatalf("rewrap into Vault: exit %d, %+v, %v\n%s%s", r.code, res, err, r.stdout, r.stderr)
	}
	if s := status(t, env); s.ByKEK["vault-kek"] != total || v.calls.Load() < total {
		t.Fatalf("after: %+v, %d calls to Vault", s, v.calls.Load())
	}

	// A wrong token: refused by the KMS, nothing changed, no token shown.
	bad := append(append([]string{}, env[:2]...), "VAULT_TOKEN=s.wrong-token")
	r = gdprCmd(t, bad, "keys", "rewrap", "--kek-file", fileB, "--kek-id", "kek-b", "--previous-kek", "vault-kek="+uri)
	if r.code == 0 || strings.Contains(r.stderr, "s.wrong-token") || strings.Contains(r.stderr, v.token) {
		t.Errorf("a wrong token: exit %d %q", r.code, r.stderr)
	}
	if s := status(t, env); s.ByKEK["vault-kek"] != total {
		t.Errorf("a refused rewrap changed records: %+v", s)
	}
	if r := gdprCmd(t, env[:2], "keys", "rewrap", "--kek-uri", uri, "--kek-id", "vault-kek"); r.code != 2 || !strings.Contains(r.stderr, "VAULT_TOKEN") {
		t.Errorf("no token: exit %d %q", r.code, r.stderr)
	}

	// Out of Vault again: the records open through the KMS.
	r = gdprCmd(t, env, "keys", "rewrap", "--kek-file", fileB, "--kek-id", "kek-b", "--previous-kek", "vault-kek="+uri, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 || res.Rewrapped != total {
		t.Fatalf("rewrap out of Vault: exit %d, %+v\n%s", r.code, res, r.stderr)
	}
	fresh, err := crypto.New(ctx, store, kekB)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := fresh.Decrypt(ctx, "s-1", f, ct); err != nil || string(pt) != "a@example.com" {
		t.Errorf("decrypt after the round trip: %v", err)
	}
}
