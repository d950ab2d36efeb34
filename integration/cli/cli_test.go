// Package cli_test runs the operator's command line, cmd/gdpr, as a
// subprocess against SQLite, PostgreSQL and MariaDB: what it prints, its
// JSON parsed back, and its exit codes.
package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

// bin is the command and gentrail the trail generator, built once for
// the package's tests.
var bin, gentrail string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gdpr-cli")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	bin, gentrail = filepath.Join(dir, "gdpr"), filepath.Join(dir, "gentrail")
	for out, pkg := range map[string]string{bin: "github.com/gdprkit/gdpr/cmd/gdpr",
		gentrail: "github.com/gdprkit/gdpr/integration/cli/internal/gentrail"} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg+":", err)
			os.Exit(2)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

func gdprCmd(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errw bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errw
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errw.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("gdpr %v: %v", args, err)
	}
	return r
}

// dsnOf returns a DSN the command reaches db's database with.
func dsnOf(t *testing.T, d sqldialect.Dialect, db *sql.DB) string {
	t.Helper()
	ctx := t.Context()
	switch d {
	case sqldialect.SQLite:
		var seq int
		var name, file string
		if err := db.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
			t.Fatal(err)
		}
		return file
	case sqldialect.Postgres:
		var schema string
		if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(os.Getenv(testdb.EnvPostgres))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	default:
		var name string
		if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		c, err := mysql.ParseDSN(os.Getenv(testdb.EnvMySQL))
		if err != nil {
			t.Fatal(err)
		}
		c.DBName = name
		return c.FormatDSN()
	}
}

// fixture is a database with an audit trail and a breach, and the key
// files the command reads.
type fixture struct {
	d        sqldialect.Dialect
	db       *sql.DB
	env      []string // GDPR_DSN and the key files
	breachID string
	entries  int64
}

func newFixture(t *testing.T, d sqldialect.Dialect) *fixture {
	t.Helper()
	ctx := t.Context()
	db := testdb.Open(t, d)
	dir := t.TempDir()
	key := make([]byte, 32)
	rand.Read(key)
	skey, _, err := audit.GenerateKey("cli.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	keyFile, skeyFile := filepath.Join(dir, "pseudonym.key"), filepath.Join(dir, "audit.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(skeyFile, []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store := testdb.Migrated(t, d, db, sqlaudit.New)
	signer, verifier, _ := audit.NewSigner(skey)
	trail, err := audit.New(ctx, store, key, signer, verifier)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := trail.Record(ctx, gdpr.Event{Actor: gdpr.Staff("agent-1"), Action: "crm.read",
			Subject: gdpr.SubjectID(fmt.Sprintf("customer-%d", i)), Categories: []string{"contact"}, Outcome: gdpr.Success}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := trail.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := trail.Close(ctx); err != nil {
		t.Fatal(err)
	}
	bs := testdb.Migrated(t, d, db, sqlbreach.New)
	bl, err := breach.New(bs, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bl.Record(ctx, breach.Report{Aware: time.Now().Add(-time.Hour), Details: breach.Details{
		Description: "A laptop with an export of the CRM was stolen.", Nature: []breach.Nature{breach.Confidentiality}}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{d: d, db: db, breachID: b.ID, entries: 20, env: []string{
		"GDPR_DSN=" + dsnOf(t, d, db), "GDPR_PSEUDONYM_KEY_FILE=" + keyFile, "GDPR_AUDIT_KEY_FILE=" + skeyFile}}
}

func TestAuditVerify(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		f := newFixture(t, d)
		r := gdprCmd(t, f.env, "audit", "verify")
		if r.code != 0 || !strings.Contains(r.stdout, "audit trail verified: 20 entries") {
			t.Fatalf("verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = gdprCmd(t, f.env, "audit", "verify", "--json")
		var rep struct {
			OK       bool            `json:"ok"`
			Entries  int64           `json:"entries"`
			Problems []audit.Problem `json:"problems"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.OK || rep.Entries != 20 || r.code != 0 {
			t.Fatalf("verify --json: exit %d, %+v, %v\n%s", r.code, rep, err, r.stdout)
		}
		if strings.Contains(r.stderr, "\r") {
			t.Errorf("a progress bar on a pipe: %q", r.stderr)
		}

		// An insider edits an entry's body: a finding, exit code 1.
		var body []byte
		if err := f.db.QueryRow("SELECT body FROM gdpr_audit_entries WHERE idx = 7").Scan(&body); err != nil {
			t.Fatal(err)
		}
		body[len(body)-1] ^= 1
		if _, err := f.db.Exec(dialect.Of(d).Rebind("UPDATE gdpr_audit_entries SET body = ? WHERE idx = 7"), body); err != nil {
			t.Fatal(err)
		}
		r = gdprCmd(t, f.env, "audit", "verify", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.OK || r.code != 1 || len(rep.Problems) == 0 || rep.Problems[0].Index != 7 {
			t.Fatalf("verify of a tampered trail: exit %d, %+v, %v\n%s%s", r.code, rep, err, r.stdout, r.stderr)
		}
		if r = gdprCmd(t, f.env, "audit", "verify"); r.code != 1 || !strings.Contains(r.stdout, "at 7") {
			t.Errorf("verify of a tampered trail (text): exit %d\n%s", r.code, r.stdout)
		}
	})
}

func TestAuditProve(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		f := newFixture(t, d)
		r := gdprCmd(t, f.env, "audit", "prove", "--index", "4", "--json")
		var p struct {
			Index      int64    `json:"index"`
			Size       int64    `json:"size"`
			Body       []byte   `json:"body"`
			Proof      []string `json:"proof"`
			Checkpoint string   `json:"checkpoint"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 {
			t.Fatalf("prove: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
		}
		// What an auditor does with it, offline: the checkpoint's body
		// (its signature is checked with the public key the controller
		// published), then the entry against it.
		text, _, _ := strings.Cut(p.Checkpoint, "\n\n")
		cp, err := audit.ParseCheckpoint(text + "\n")
		if err != nil {
			t.Fatal(err)
		}
		proof := make(tlog.RecordProof, len(p.Proof))
		for i, h := range p.Proof {
			b, _ := base64.StdEncoding.DecodeString(h)
			copy(proof[i][:], b)
		}
		if err := audit.CheckEntry(cp, p.Index, p.Body, proof); err != nil || p.Size != cp.Size {
			t.Errorf("the proof does not check: %v", err)
		}
		if r := gdprCmd(t, f.env, "audit", "prove", "--index", "400"); r.code != 1 {
			t.Errorf("prove of an entry beyond the trail: exit %d", r.code)
		}
		r = gdprCmd(t, f.env, "audit", "consistency", "--from", "5", "--json")
		var c struct {
			From, To int64
			Proof    []string
		}
		if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || r.code != 0 || c.From != 5 || c.To < 20 {
			t.Errorf("consistency: exit %d, %+v, %v", r.code, c, err)
		}
		r = gdprCmd(t, f.env, "audit", "checkpoint")
		if r.code != 0 || !strings.Contains(r.stdout, "cli.test/audit") || !strings.Contains(r.stdout, "\n— ") {
			t.Errorf("checkpoint: exit %d\n%s", r.code, r.stdout)
		}
	})
}

func TestBreach(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		f := newFixture(t, d)
		r := gdprCmd(t, f.env, "breach", "list", "--json")
		var rows []struct {
			ID       string `json:"id"`
			Risk     string `json:"risk"`
			Notified bool   `json:"notified"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || r.code != 0 || len(rows) != 1 || rows[0].ID != f.breachID || rows[0].Risk != "unassessed" {
			t.Fatalf("breach list: exit %d, %+v, %v\n%s", r.code, rows, err, r.stderr)
		}
		r = gdprCmd(t, f.env, "breach", "notice", f.breachID, "--format", "html")
		if r.code != 0 || !strings.Contains(r.stdout, "Notification of a personal data breach") || !strings.Contains(r.stdout, "A laptop with an export") {
			t.Errorf("breach notice: exit %d\n%s", r.code, r.stderr)
		}
		r = gdprCmd(t, f.env, "breach", "notice", f.breachID)
		var n breach.AuthorityNotice
		if err := json.Unmarshal([]byte(r.stdout), &n); err != nil || n.Breach != f.breachID || len(n.ToFollow) == 0 {
			t.Errorf("breach notice --format json: %v", err)
		}
		if r := gdprCmd(t, f.env, "breach", "notice", "0196d3c4-2f00-7000-8000-000000000001"); r.code != 2 || strings.Contains(r.stderr, "panic") {
			t.Errorf("notice of an unknown breach: exit %d %s", r.code, r.stderr)
		}
	})
}

// TestUsage: errors of the command's input are exit code 2, with no
// secret or DSN in the message; --help works on every subcommand.
func TestUsage(t *testing.T) {
	f := newFixture(t, sqldialect.SQLite)
	for name, c := range map[string]struct {
		env  []string
		args []string
	}{
		"no keys":              {[]string{"GDPR_DSN=" + strings.TrimPrefix(f.env[0], "GDPR_DSN=")}, []string{"audit", "verify"}},
		"unknown flag":         {f.env, []string{"audit", "verify", "--bogus"}},
		"no database":          {append(f.env, "GDPR_DSN=/nonexistent/app.db"), []string{"audit", "verify"}},
		"unknown scheme":       {append(f.env, "GDPR_DSN=oracle://scott:tiger@db/x"), []string{"audit", "verify"}},
		"unreachable postgres": {append(f.env, "GDPR_DSN=postgres://u:s3cret-pw@127.0.0.1:1/x?connect_timeout=2"), []string{"breach", "list"}},
		"bad format":           {f.env, []string{"breach", "notice", f.breachID, "--format", "pdf"}},
	} {
		r := gdprCmd(t, c.env, c.args...)
		if r.code != 2 || strings.Contains(r.stderr, "s3cret-pw") || strings.Contains(r.stderr, "tiger") {
			t.Errorf("%s: exit %d, %q", name, r.code, r.stderr)
		}
	}
	keyFile := strings.TrimPrefix(f.env[1], "GDPR_PSEUDONYM_KEY_FILE=")
	os.Chmod(keyFile, 0o644)
	if r := gdprCmd(t, f.env, "audit", "verify"); r.code != 2 || !strings.Contains(r.stderr, "0600") {
		t.Errorf("a key file others can read: exit %d %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"--help"}, {"audit", "verify", "--help"}, {"audit", "prove", "--help"}, {"audit", "consistency", "--help"},
		{"audit", "checkpoint", "--help"}, {"register", "validate", "--help"}, {"register", "render", "--help"}, {"breach", "list", "--help"},
		{"breach", "notice", "--help"}, {"keys", "status", "--help"}, {"keys", "rewrap", "--help"}, {"requests", "list", "--help"},
		{"requests", "overdue", "--help"}, {"requests", "retry", "--help"}, {"requests", "replay", "--help"}, {"retention", "sweep", "--help"}} {
		r := gdprCmd(t, nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || (len(args) > 2 && !strings.Contains(r.stdout, "Examples:")) {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stdout)
		}
	}
}

func TestRegisterValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "register.json")
	reg := &gdpr.Register{Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{ID: "newsletter", Name: "Newsletter", Purpose: "newsletter", Basis: gdpr.Consent,
			SubjectCategories: []string{"subscribers"}, DataCategories: []gdpr.Category{{ID: "contact", Description: "e-mail"}},
			Retention: gdpr.RetentionRule{Description: "until withdrawn"}}}}
	var b bytes.Buffer
	if err := reg.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(good, b.Bytes(), 0o644)
	if r := gdprCmd(t, nil, "register", "validate", good); r.code != 0 || !strings.Contains(r.stdout, "register valid: 1 processing activities") {
		t.Errorf("a valid register: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, bytes.Replace(b.Bytes(), []byte(`"basis": "consent"`), []byte(`"basis": "whim"`), 1), 0o644)
	r := gdprCmd(t, nil, "register", "validate", "--json", bad)
	var v struct{ Valid bool }
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Valid || r.code != 1 {
		t.Errorf("an invalid register: exit %d, %s, %v", r.code, r.stdout, err)
	}
	if r := gdprCmd(t, nil, "register", "validate", filepath.Join(dir, "missing.json")); r.code != 2 {
		t.Errorf("a missing file: exit %d", r.code)
	}

	// render: the page and the CSV for the authority (Art. 30(4)), values
	// escaped and formulas made inert.
	reg.Activities[0].Description = `=HYPERLINK("http://evil.example") <script>alert(1)</script>`
	b.Reset()
	reg.WriteJSON(&b)
	os.WriteFile(good, b.Bytes(), 0o644)
	r = gdprCmd(t, nil, "register", "render", good, "--format", "html")
	for _, want := range []string{"Art. 30(1)(a)", "Art. 30(1)(b)", "Art. 30(1)(c)", "Art. 30(1)(d)", "Art. 30(1)(e)", "Art. 30(1)(f)",
		"Art. 30(1)(g)", "Example Ltd", "Newsletter", "&lt;script&gt;", "style-src 'sha256-"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if r.code != 0 || strings.Contains(r.stdout, "<script>") || strings.Contains(r.stdout, "unsafe-inline") {
		t.Errorf("render html: exit %d", r.code)
	}
	r = gdprCmd(t, nil, "register", "render", good, "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || r.code != 0 || len(rows) != 2 || rows[1][1] != "newsletter" || !strings.HasPrefix(rows[1][4], "'=HYPERLINK") {
		t.Errorf("render csv: exit %d, %v, %q", r.code, err, rows)
	}
	if r := gdprCmd(t, nil, "register", "render", bad); r.code != 1 {
		t.Errorf("render of an invalid register: exit %d", r.code)
	}
}
