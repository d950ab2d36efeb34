package cli_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestRequests: list, overdue and retry from the shell, on every
// database; the retry is recorded in the audit trail as the operator's.
func TestRequests(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d)
		store := testdb.Migrated(t, d, f.db, sqlerasure.New)
		key := make([]byte, erasure.MinSubjectKeyLen)
		rand.Read(key)
		// Two months ago, a target that always fails.
		then := time.Now().AddDate(0, -2, 0)
		broken := erasure.Target{Name: "crm", Eraser: gdpr.EraserFunc(func(context.Context, gdpr.SubjectID) (gdpr.ErasureReport, error) {
			return gdpr.ErasureReport{}, errors.New("crm down")
		})}
		eng, err := erasure.New(store, key, erasure.WithTargets(broken), erasure.WithRetry(1, time.Millisecond, time.Millisecond),
			erasure.WithClock(func() time.Time { return then }))
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := eng.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "customer-1", Channel: "web", Authenticated: true})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if r, _ = eng.Process(ctx, r.ID); r.State == erasure.StateFailed {
				break
			}
		}
		if r.State != erasure.StateFailed {
			t.Fatalf("the request is %s, want failed", r.State)
		}
		var rows []struct {
			ID, State string
			Overdue   bool
		}
		res := gdprCmd(t, f.env, "requests", "list", "--state", "failed", "--json")
		if err := json.Unmarshal([]byte(res.stdout), &rows); err != nil || res.code != 0 || len(rows) != 1 || rows[0].ID != r.ID || !rows[0].Overdue {
			t.Fatalf("list: exit %d, %+v, %v\n%s", res.code, rows, err, res.stderr)
		}
		if strings.Contains(res.stdout, "customer-1") {
			t.Error("the listing names the subject")
		}
		if res = gdprCmd(t, f.env, "requests", "overdue"); res.code != 1 || !strings.Contains(res.stdout, r.ID) {
			t.Errorf("overdue: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		res = gdprCmd(t, f.env, "requests", "retry", r.ID, "--as", "alice", "--json")
		var row struct{ State string }
		if err := json.Unmarshal([]byte(res.stdout), &row); err != nil || res.code != 0 || row.State != string(erasure.StateInProgress) {
			t.Fatalf("retry: exit %d, %+v\n%s%s", res.code, row, res.stdout, res.stderr)
		}
		if res = gdprCmd(t, f.env, "requests", "retry", r.ID); res.code != 2 {
			t.Errorf("retry of a request in progress: exit %d", res.code)
		}
		if res = gdprCmd(t, f.env, "audit", "verify", "--json"); res.code != 0 || !strings.Contains(res.stdout, `"entries": 21`) {
			t.Errorf("the retry is not the trail's 21st entry, or the trail does not verify: %s", res.stdout)
		}
	})
}
