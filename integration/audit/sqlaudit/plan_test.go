package sqlaudit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/sqldialect"
)

// TestPostgresGenericPlansUseTheQueryIndexes checks that the subject and
// actor queries, prepared and planned generically (as PostgreSQL does after
// a few runs of a prepared statement), walk their own index rather than the
// primary key: on a rare actor a walk of the primary key reads the table.
func TestPostgresGenericPlansUseTheQueryIndexes(t *testing.T) {
	if !testdb.Available(sqldialect.Postgres) {
		testdb.Open(t, sqldialect.Postgres) // skips, or fails under CI
	}
	ctx := context.Background()
	db := testdb.Open(t, sqldialect.Postgres)
	s, err := New(db, sqldialect.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		`INSERT INTO gdpr_audit_entries (idx, time_us, subject, actor, body)
		 SELECT g, g * 1000, sha256(int4send(g % 5000)), convert_to('staff:' || (g % 50), 'UTF8'), '\x01'::bytea
		 FROM generate_series(0, 99999) g`,
		"ANALYZE gdpr_audit_entries",
		"SET plan_cache_mode = force_generic_plan",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, query, args, index string
	}{
		{"subject", s.q.query[fSubject], "0, sha256(int4send(7)), 100", "gdpr_audit_entries_subject"},
		{"actor", s.q.query[fActor], "0, convert_to('staff:7', 'UTF8'), 100", "gdpr_audit_entries_actor"},
		{"subject and time", s.q.query[fSubject|fSince], "0, sha256(int4send(7)), 5000, 100", "gdpr_audit_entries_subject"},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := "plan_" + strings.ReplaceAll(c.name, " ", "_")
			if _, err := conn.ExecContext(ctx, "PREPARE "+name+" AS "+c.query); err != nil {
				t.Fatal(err)
			}
			rows, err := conn.QueryContext(ctx, "EXPLAIN EXECUTE "+name+"("+c.args+")")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan strings.Builder
			for rows.Next() {
				var line string
				rows.Scan(&line)
				plan.WriteString(line + "\n")
			}
			if !strings.Contains(plan.String(), c.index) {
				t.Fatalf("the generic plan does not use %s:\n%s", c.index, plan.String())
			}
		})
	}
}
