package cli_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// newKEK writes a Tink AEAD keyset to dir/name.json and returns its path
// and the KEK.
func newKEK(t *testing.T, dir, id string) (string, crypto.KEK) {
	t.Helper()
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&b)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, id+".json")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := aead.New(h)
	if err != nil {
		t.Fatal(err)
	}
	return path, crypto.NewKEK(id, p)
}

type keyStatus struct {
	Records int64            `json:"records"`
	ByKEK   map[string]int64 `json:"by_kek"`
}

func status(t *testing.T, env []string) keyStatus {
	t.Helper()
	r := gdprCmd(t, env, "keys", "status", "--json")
	var s keyStatus
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || r.code != 0 {
		t.Fatalf("keys status: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	return s
}

// TestKeysRewrap: the KEK rotated from the shell on every database; the
// data stays readable under the new KEK alone.
func TestKeysRewrap(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		db := testdb.Open(t, d)
		dir := t.TempDir()
		fileA, kekA := newKEK(t, dir, "kek-a")
		fileB, kekB := newKEK(t, dir, "kek-b")
		store := testdb.Migrated(t, d, db, sqlkeys.New)
		ring, err := crypto.New(ctx, store, kekA)
		if err != nil {
			t.Fatal(err)
		}
		f := crypto.Field{Table: "profiles", Column: "email"}
		cts := map[gdpr.SubjectID][]byte{}
		for i := range 50 {
			s := gdpr.SubjectID(fmt.Sprintf("s-%d", i))
			if cts[s], err = ring.Encrypt(ctx, s, f, []byte("a@example.com")); err != nil {
				t.Fatal(err)
			}
		}
		env := []string{"GDPR_DSN=" + dsnOf(t, d, db)}
		// 50 subjects' records, and the Keyring's own (its blind-index
		// and scope keys).
		before := status(t, env)
		total := before.Records
		if total < 50 || before.ByKEK["kek-a"] != total {
			t.Fatalf("before: %+v", before)
		}
		r := gdprCmd(t, env, "keys", "rewrap", "--kek-file", fileB, "--kek-id", "kek-b", "--previous-kek", "kek-a="+fileA, "--batch", "7", "--json")
		var res struct{ Visited, Rewrapped int }
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 || int64(res.Rewrapped) != total {
			t.Fatalf("rewrap: exit %d, %+v, %v\n%s%s", r.code, res, err, r.stdout, r.stderr)
		}
		if s := status(t, env); s.ByKEK["kek-b"] != total || s.ByKEK["kek-a"] != 0 {
			t.Errorf("after: %+v", s)
		}
		fresh, err := crypto.New(ctx, store, kekB) // kek-a gone
		if err != nil {
			t.Fatal(err)
		}
		for s, ct := range cts {
			if pt, err := fresh.Decrypt(ctx, s, f, ct); err != nil || string(pt) != "a@example.com" {
				t.Fatalf("decrypt under kek-b alone: %v", err)
			}
		}
		// Without the previous KEK the rewrap cannot read the records:
		// nothing changes, and it says so.
		if r := gdprCmd(t, env, "keys", "rewrap", "--kek-file", fileA, "--kek-id", "kek-a"); r.code == 0 {
			t.Errorf("a rewrap without the KEK of the records succeeded")
		}
		if r := gdprCmd(t, env, "keys", "rewrap", "--kek-file", fileB); r.code != 2 {
			t.Errorf("--kek-file without --kek-id: exit %d", r.code)
		}
	})
}

// TestKeysRewrapInterrupted: Ctrl-C stops a rewrap at a batch's end and
// prints the cursor; the run resumed from it finishes the rest, none
// visited twice.
func TestKeysRewrapInterrupted(t *testing.T) {
	dir := t.TempDir()
	const n = 10_000
	if out, err := exec.CommandContext(t.Context(), gentrail, "-dir", dir, "-n", "1", "-keys", fmt.Sprint(n)).CombinedOutput(); err != nil {
		t.Fatalf("gentrail: %v\n%s", err, out)
	}
	fileB, _ := newKEK(t, dir, "kek-b")
	env := []string{"GDPR_DSN=" + filepath.Join(dir, "app.db")}
	total := int(status(t, env).Records) // n subjects' and the Keyring's own
	args := []string{"keys", "rewrap", "--kek-file", fileB, "--kek-id", "kek-b", "--previous-kek", "kek-a=" + filepath.Join(dir, "kek-a.json"), "--batch", "1", "--json"}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errw bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the rewrap is under way: some records on kek-b.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var k int
		db.QueryRow("SELECT COUNT(*) FROM gdpr_crypto_keys WHERE kek = 'kek-b'").Scan(&k)
		if k > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rewrap did not start")
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("interrupted rewrap: exit %d (it must be interrupted, not finish: %s)", cmd.ProcessState.ExitCode(), out.String())
	}
	m := regexp.MustCompile(`resume with --cursor ([0-9a-f]+)`).FindStringSubmatch(errw.String())
	var first struct{ Visited int }
	if m == nil || json.Unmarshal(out.Bytes(), &first) != nil || first.Visited == 0 || first.Visited >= total {
		t.Fatalf("interrupted rewrap: %q, %q", errw.String(), out.String())
	}
	r := gdprCmd(t, env, append(args, "--cursor", m[1])...)
	var second struct {
		Visited int
		Done    bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &second); err != nil || r.code != 0 || !second.Done {
		t.Fatalf("resumed rewrap: exit %d, %v, %s%s", r.code, err, r.stdout, r.stderr)
	}
	if first.Visited+second.Visited != total {
		t.Errorf("visited %d + %d of %d: some twice or none", first.Visited, second.Visited, total)
	}
	if s := status(t, env); s.ByKEK["kek-b"] != int64(total) || total < n {
		t.Errorf("after the resumed rewrap: %+v", s)
	}
	if strings.Contains(errw.String(), "kek-a.json") && strings.Contains(errw.String(), "AES") {
		t.Errorf("key material in the error stream")
	}
}
