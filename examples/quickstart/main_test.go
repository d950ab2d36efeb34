package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, "sqlite", ""); err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"1. ledger ready on sqlite",
		`2. notice "newsletter" version 1 published`,
		"3. after sign-up: newsletter by e-mail denied (none)",
		"4. after confirmation: newsletter by e-mail allowed (given)",
		"5. receipt ",
		"6. after unsubscribing: newsletter by e-mail denied (withdrawn)",
		"7. erased: 3 of 3 events removed",
		"8. after erasure: newsletter by e-mail denied (none)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// The same program runs on PostgreSQL and MySQL by DSN.
func TestQuickstartServers(t *testing.T) {
	for _, tc := range []struct{ driver, env string }{{"pgx", "GDPR_TEST_POSTGRES_DSN"}, {"mysql", "GDPR_TEST_MYSQL_DSN"}} {
		t.Run(tc.driver, func(t *testing.T) {
			dsn := os.Getenv(tc.env)
			if dsn == "" {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s not set in CI", tc.env)
				}
				t.Skipf("%s not set", tc.env)
			}
			var out bytes.Buffer
			if err := run(context.Background(), &out, tc.driver, dsn); err != nil {
				t.Fatalf("quickstart on %s: %v\n%s", tc.driver, err, out.String())
			}
			if !strings.Contains(out.String(), "8. after erasure") {
				t.Errorf("incomplete run:\n%s", out.String())
			}
		})
	}
}
