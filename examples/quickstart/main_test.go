package main

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, "sqlite", "", "gdpr_"); err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"1. ledger and audit trail ready on sqlite",
		`2. notice "newsletter" version 1 published`,
		"3. after sign-up: newsletter by e-mail denied (none)",
		"4. after confirmation: newsletter by e-mail allowed (given, decided by given event ",
		"5. receipt ",
		"6. after unsubscribing: newsletter by e-mail denied (withdrawn, decided by withdrawn event ",
		"7. profile stored encrypted; found by e-mail: user-1001 (Ann Example)",
		"8. audit trail of user-1001: 6 entries (consent.pending, consent.given, consent.withdrawn, crypto.key_created, crypto.decrypt, crypto.decrypt)",
		"9. erased: 3 consent events, 1 profile row, 1 encryption key, 1 audit pseudonym (of 3 events)",
		"10. after erasure: newsletter by e-mail denied (none)",
		"11. profile restored from the backup, unreadable: true",
		"12. audit trail verified: ",
		"entry 0 proven: true, entries still linked to user-1001: 0",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// The same walk runs on PostgreSQL and MySQL, each in a fresh schema.
func TestQuickstartServers(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		var out bytes.Buffer
		if err := walk(context.Background(), &out, db, d, "qs_"); err != nil {
			t.Fatalf("quickstart on %s: %v\n%s", d.String(), err, out.String())
		}
		if !strings.Contains(out.String(), "entries still linked to user-1001: 0") {
			t.Errorf("incomplete run on %s:\n%s", d.String(), out.String())
		}
	})
}
