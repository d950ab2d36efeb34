package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/insecuredevkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// wantTour is what one walk prints for subject s.
func wantTour(s string) []string {
	return []string{
		"1. ledger, request store and audit trail ready on ",
		"entries from earlier runs)",
		`2. notice "newsletter" version 1 published`,
		"3. after sign-up: newsletter by e-mail denied (none)",
		"4. after confirmation: newsletter by e-mail allowed (given, decided by given event ",
		"5. receipt ",
		"6. after unsubscribing: newsletter by e-mail denied (withdrawn, decided by withdrawn event ",
		"7. profile stored encrypted; found by e-mail: " + s + " (Ann Example)",
		"8. audit trail of " + s + ": 6 entries (consent.pending, consent.given, consent.withdrawn, crypto.key_created, crypto.decrypt, crypto.decrypt)",
		"9. restricted (Art. 18(1)(a)): support refused: true; for legal claims (Art. 18(2)): Ann Example; subject told: completed Art. 18(1), lifting Art. 18(3), completed Art. 18(3); after the lift support reads: Ann Example",
		"10. access request ",
		" answered: bundle of personal-data-",
		".zip verified (14 files, signed), audit_entries ",
		"consent_events 3, crypto_keys 1, dsar_requests 3, dsar_restrictions 1, profiles 1; the link works once: true",
		"11. erasure request ",
		" received on the web, verified, due by the end of ",
		"(Art. 12(3), Europe/Berlin time)",
		"12. erased, target by target: deliveries nothing_found 0, consent erased 3, profiles erased 1, keys erased 1, audit erased 1; completed once other instances' key caches expired (",
		"13. erasure receipt verified: request ",
		" completed, 5 targets, answered in time: true, signed by key ",
		"14. after erasure: newsletter by e-mail denied (none)",
		"15. profile restored from the backup, unreadable: true; journal replay: 1 of 1 subjects erased before, erased again: completed",
		"16. retention sweep of login_log: sign-ins before ",
		" deleted: 2, kept under legal hold: ",
		"visitor-" + strings.TrimPrefix(s, "user-") + " keeps 1 of 3, claimant-" + strings.TrimPrefix(s, "user-") + " (hold case-" + strings.TrimPrefix(s, "user-") + ") keeps 2 of 2; warned ahead: [visitor-" + strings.TrimPrefix(s, "user-") + "]",
		"17. audit trail verified: ",
		"entry 0 proven: true, entries still linked to " + s + ": 0",
		"18. breach ",
		": the hijacked account's reads concern 2 of 4 customers (2 entries); due ",
		"(72 hours), authority notified in time: true, 0 items to follow; customers told: 2 sent, 0 failed",
	}
}

func check(t *testing.T, out string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	sub, rc := submittedRE.FindStringSubmatch(out), receiptRE.FindStringSubmatch(out)
	if sub == nil || rc == nil || sub[1] != rc[1] {
		t.Errorf("the erasure receipt is not the submitted request's:\n%s", out)
	}
}

var subjectRE = regexp.MustCompile(`found by e-mail: (user-[0-9a-f]{8}) `)
var earlierRE = regexp.MustCompile(`\((\d+) entries from earlier runs\)`)
var submittedRE = regexp.MustCompile(`11\. erasure request (\S+) received`)
var receiptRE = regexp.MustCompile(`13\. erasure receipt verified: request (\S+) `)

// TestQuickstart runs the README's command: a temporary SQLite database.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, "sqlite", "", "gdpr_", ""); err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, out.String())
	}
	m := subjectRE.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no subject in the output:\n%s", out.String())
	}
	check(t, out.String(), wantTour(m[1]))
	if !strings.Contains(out.String(), "(0 entries from earlier runs)") {
		t.Errorf("a fresh database reports earlier entries:\n%s", out.String())
	}
}

// TestQuickstartRestarts runs the quickstart twice against one database
// and one state directory, as a developer restarting it would: the second
// run continues the same trail, key store and ledger with the same keys.
func TestQuickstartRestarts(t *testing.T) {
	dir := t.TempDir()
	dsn := "file:" + filepath.Join(dir, "app.db") + "?" + testdb.SQLiteDSNParams
	state := filepath.Join(dir, "state")
	var first, second bytes.Buffer
	if err := run(context.Background(), &first, "sqlite", dsn, "gdpr_", state); err != nil {
		t.Fatalf("first run: %v\n%s", err, first.String())
	}
	if err := run(context.Background(), &second, "sqlite", dsn, "gdpr_", state); err != nil {
		t.Fatalf("second run against the same database: %v\n%s", err, second.String())
	}
	s := subjectRE.FindStringSubmatch(second.String())
	e := earlierRE.FindStringSubmatch(second.String())
	if s == nil || e == nil || e[1] == "0" {
		t.Fatalf("the second run does not continue the first's trail:\n%s", second.String())
	}
	check(t, second.String(), wantTour(s[1]))
	if f := subjectRE.FindStringSubmatch(first.String()); f == nil || f[1] == s[1] {
		t.Errorf("both runs used one subject")
	}
	// The journal, in the state directory, keeps both runs' erasures: each
	// run's request and its replay.
	b, err := os.ReadFile(filepath.Join(state, "erasure-journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for _, l := range lines {
		if _, err := erasure.DecodeJournalLine([]byte(l)); err != nil {
			t.Errorf("journal line %q: %v", l, err)
		}
	}
	if len(lines) != 4 {
		t.Errorf("the journal holds %d entries after two runs, want 4:\n%s", len(lines), b)
	}
}

// The same walk runs on PostgreSQL and MySQL, each in a fresh schema.
func TestQuickstartServers(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		keys, err := insecuredevkeys.Load(filepath.Join(t.TempDir(), "keys.json"))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := walk(context.Background(), &out, db, d, "qs_", keys, t.TempDir(), gdpr.SubjectID("user-1001")); err != nil {
			t.Fatalf("quickstart on %s: %v\n%s", d.String(), err, out.String())
		}
		check(t, out.String(), wantTour("user-1001"))
	})
}
