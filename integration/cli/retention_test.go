package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestRetentionSweep: what a sweep would delete, then the sweep, from
// the shell, on every database: the register's six months apply, a legal
// hold keeps one user's rows, and the dry run changes nothing.
func TestRetentionSweep(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		f := newFixture(t, d)
		store := testdb.Migrated(t, d, f.db, sqlretention.New)
		ddl := []string{"CREATE TABLE login_log (id VARCHAR(64) NOT NULL PRIMARY KEY, subject VARCHAR(255) NULL, at_us BIGINT NULL)",
			"CREATE INDEX login_log_at ON login_log (at_us, id)"}
		for _, q := range ddl {
			if _, err := f.db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		for i := range 30 {
			at := now.AddDate(0, -7, 0) // past the six months
			if i >= 20 {
				at = now.AddDate(0, -1, 0)
			}
			subject := fmt.Sprintf("user-%d", i%5)
			if _, err := f.db.ExecContext(ctx, dialect.Of(d).Rebind("INSERT INTO login_log (id, subject, at_us) VALUES (?, ?, ?)"),
				fmt.Sprintf("l-%02d", i), subject, at.UnixMicro()); err != nil {
				t.Fatal(err)
			}
		}
		holds, err := retention.NewHolds(store)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := holds.Place(ctx, retention.Hold{ID: "case-1", Subject: "user-0", Reason: "claim pending", PlacedBy: gdpr.Staff("legal")}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		reg := &gdpr.Register{Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
			Activities: []gdpr.Activity{{ID: "security", Name: "Sign-in log", Purpose: "security", Basis: gdpr.LegitimateInterests,
				LegitimateInterestAssessment: "LIA-1", SubjectCategories: []string{"users"},
				DataCategories: []gdpr.Category{{ID: "logins", Description: "sign-in times"}},
				Retention:      gdpr.RetentionRule{Period: gdpr.Period{Months: 6}}}}}
		rf, err := os.Create(filepath.Join(dir, "register.json"))
		if err != nil {
			t.Fatal(err)
		}
		reg.WriteJSON(rf)
		rf.Close()
		tfile := filepath.Join(dir, "targets.json")
		os.WriteFile(tfile, []byte(`{"targets":[{"name":"login_log","category":"logins","table":"login_log","key":"id",
			"subject":"subject","time":"at_us","time_unit":"unix_micros"}]}`), 0o644)
		count := func() int {
			var n int
			f.db.QueryRow("SELECT COUNT(*) FROM login_log").Scan(&n)
			return n
		}
		args := []string{"retention", "sweep", "--register", rf.Name(), "--targets", tfile, "--json"}
		var res struct {
			Targets []struct {
				Target      string
				Acted       int64
				HeldRecords int64 `json:"held_records"`
			}
		}
		// A misspelt column or key is refused before anything is swept
		// (SQLite would read an unknown quoted column as a string, and a
		// misspelt time unit would fall back to another): nothing deleted.
		for name, js := range map[string]string{
			"a subject column that is not there": `{"targets":[{"name":"login_log","category":"logins","table":"login_log","key":"id","subject":"subject_id","time":"at_us","time_unit":"unix_micros"}]}`,
			"a misspelt key":                     `{"targets":[{"name":"login_log","category":"logins","table":"login_log","key":"id","subject":"subject","time":"at_us","time_units":"unix_micros"}]}`,
			"no subject":                         `{"targets":[{"name":"login_log","category":"logins","table":"login_log","key":"id","time":"at_us"}]}`,
		} {
			bad := filepath.Join(dir, "bad.json")
			os.WriteFile(bad, []byte(js), 0o644)
			if r := gdprCmd(t, f.env, "retention", "sweep", "--run", "--register", rf.Name(), "--targets", bad); r.code != 2 || count() != 30 {
				t.Errorf("%s: exit %d, %d rows left\n%s", name, r.code, count(), r.stderr)
			}
		}
		r := gdprCmd(t, f.env, append(args, "--dry-run")...)
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 || len(res.Targets) != 1 || res.Targets[0].Acted != 16 || count() != 30 {
			t.Fatalf("dry run: exit %d, %+v, %v, %d rows\n%s%s", r.code, res, err, count(), r.stdout, r.stderr)
		}
		r = gdprCmd(t, f.env, append(args, "--run", "--as", "dpo")...)
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 || res.Targets[0].Acted != 16 || res.Targets[0].HeldRecords != 4 || count() != 14 {
			t.Fatalf("run: exit %d, %+v, %v, %d rows\n%s%s", r.code, res, err, count(), r.stdout, r.stderr)
		}
		if r := gdprCmd(t, f.env, "retention", "sweep", "--register", rf.Name(), "--targets", tfile); r.code != 2 || !strings.Contains(r.stderr, "--dry-run") {
			t.Errorf("neither --dry-run nor --run: exit %d", r.code)
		}
		if r := gdprCmd(t, f.env, "audit", "verify"); r.code != 0 {
			t.Errorf("the trail after the sweep: exit %d %s", r.code, r.stdout)
		}
	})
}
