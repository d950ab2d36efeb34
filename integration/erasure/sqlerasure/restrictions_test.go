package sqlerasure_test

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/erasuretest"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestNothingPersonalAfterCloseWithAsk: a rectification closed by an
// Update that still carries a sealed correction and a recipient's
// reference for the subject (the Engine clears both; the Store does so
// too) leaves neither in any column; a restriction and a statement of
// the subject hold its keyed reference only.
func TestNothingPersonalAfterCloseWithAsk(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		db := testdb.Open(t, d)
		s := testdb.Migrated(t, d, db, sqlerasure.New)
		codes := testdb.Migrated(t, d, db, sqlerasure.NewCodeStore)
		testdb.Migrated(t, d, db, sqlerasure.NewJournal) // countCanary reads every erasure table
		const subject, reference, sealed = "CANARY-subj-51c2@example.org", "CANARY-ref-cust-9a7e", "CANARY-sealed-77d1"
		r := request(gdpr.KindRectification, subject, t0)
		r.Ask = erasure.Ask{Corrections: []erasure.Correction{{Target: "crm", Field: "address", Sealed: []byte(sealed)}}}
		r.Steps = []erasure.Step{{Target: "recipient", Recipient: &gdpr.Disclosure{Recipient: "Mailer", Reference: reference}}}
		if _, _, err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		x := erasure.Restriction{ID: r.ID, Kind: gdpr.KindRestriction, SubjectRef: r.SubjectRef, Ground: erasure.GroundAccuracy, Since: t0}
		if err := s.CreateRestriction(ctx, x); err != nil {
			t.Fatal(err)
		}
		if err := s.PutStatement(ctx, erasure.Statement{ID: r.ID + "/0", SubjectRef: r.SubjectRef, Target: "crm", Field: "address",
			Sealed: []byte{0xde, 0xad}, At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := codes.PutCode(ctx, erasure.Code{Request: r.ID, Hash: make([]byte, 32), Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for _, canary := range []string{subject, reference, sealed} {
			if countCanary(t, d, db, canary) == 0 {
				t.Fatalf("a canary is not in the tables of the open request: the test does not see what it looks for")
			}
		}
		done := r
		done.Version = 1
		done.State, done.Subject, done.NextAt, done.Closed = erasure.StateCompleted, "", time.Time{}, t0.Add(time.Minute)
		if err := s.Update(ctx, done, nil, t0); err != nil {
			t.Fatal(err)
		}
		for _, canary := range []string{subject, reference, sealed} {
			if n := countCanary(t, d, db, canary); n != 0 {
				t.Errorf("a personal value of the closed request is still in %d column(s)", n)
			}
		}
		back, err := s.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if back.Ask.Corrections[0].Sealed != nil || back.Steps[0].Recipient.Reference != "" || back.Steps[0].Recipient.Recipient != "Mailer" {
			t.Errorf("Get of the closed request: Sealed %x, Reference set %v, Recipient %q; want none, false, Mailer",
				back.Ask.Corrections[0].Sealed, back.Steps[0].Recipient.Reference != "", back.Steps[0].Recipient.Recipient)
		}
	})
}

// TestRestrictionErrorsWithoutDriverText: a duplicate restriction ID is
// erasure.ErrConflict without the driver's text (MySQL's quotes the key),
// a value longer than its column is erasure.ErrInvalid without the
// value, and a database error keeps only its code.
func TestRestrictionErrorsWithoutDriverText(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		db := testdb.Open(t, d)
		unmigrated, err := sqlerasure.New(db, d)
		if err != nil {
			t.Fatal(err)
		}
		defer unmigrated.Close()
		x := erasure.Restriction{ID: erasuretest.NewID(), Kind: gdpr.KindObjection, SubjectRef: ref("subject-x"), Since: t0}
		for what, err := range map[string]error{
			"CreateRestriction": unmigrated.CreateRestriction(ctx, x),
			"PutStatement":      unmigrated.PutStatement(ctx, erasure.Statement{ID: x.ID + "/0", SubjectRef: x.SubjectRef}),
			"Forget":            func() error { _, err := unmigrated.Forget(ctx, x.SubjectRef); return err }(),
		} {
			var ee *erasure.Error
			if !errors.As(err, &ee) || ee.Op != "sqlerasure."+what || !strings.Contains(err.Error(), "message withheld") {
				t.Errorf("%s before Migrate: %v; want an *erasure.Error with the server's message withheld", what, err)
			}
		}
		s := testdb.Migrated(t, d, db, sqlerasure.New)
		if err := s.CreateRestriction(ctx, x); err != nil {
			t.Fatal(err)
		}
		dup := x
		dup.SubjectRef = ref("subject-y")
		err = s.CreateRestriction(ctx, dup)
		if !errors.Is(err, erasure.ErrConflict) || !errors.Is(err, gdpr.ErrConflict) {
			t.Errorf("CreateRestriction of an existing ID: %v; want ErrConflict", err)
		}
		stale := x
		stale.Version = 9
		for what, err := range map[string]error{"duplicate ID": err, "stale UpdateRestriction": s.UpdateRestriction(ctx, stale)} {
			msg := strings.ToLower(err.Error())
			if strings.Contains(msg, x.SubjectRef) || strings.Contains(msg, dup.SubjectRef) || strings.Contains(msg, "duplicate") || strings.Contains(msg, "unique") {
				t.Errorf("%s: %q quotes a reference or the driver's text", what, err)
			}
		}
		long := x
		long.ID = strings.Repeat("x", sqlerasure.MaxIDLen+1)
		if err := s.CreateRestriction(ctx, long); !errors.Is(err, erasure.ErrInvalid) || strings.Contains(err.Error(), "xxx") {
			t.Errorf("CreateRestriction with an ID longer than the column: %v; want ErrInvalid without the value", err)
		}
		if err := s.PutStatement(ctx, erasure.Statement{ID: "s/0", Field: strings.Repeat("f", sqlerasure.MaxIDLen+1)}); !errors.Is(err, erasure.ErrInvalid) {
			t.Errorf("PutStatement with a Field longer than the column: %v; want ErrInvalid", err)
		}
	})
}

// TestRestrictionsNotLiftedIndexed: the listing Engine.Check reads on
// each refresh, the restrictions not lifted in ID order, is served by
// the index of the rows not lifted, not by a scan of the table.
func TestRestrictionsNotLiftedIndexed(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		db := testdb.Open(t, d)
		s := testdb.Migrated(t, d, db, sqlerasure.New)
		for i := range 300 {
			x := erasure.Restriction{ID: erasuretest.NewID(), Kind: gdpr.KindRestriction, SubjectRef: ref(gdpr.SubjectID(fmt.Sprint("subject-", i))), Since: t0}
			if i%20 != 0 {
				x.Lifted, x.LiftedBy = t0.Add(time.Hour), erasuretest.NewID()
			}
			if err := s.CreateRestriction(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		const list = "SELECT id, kind, subject_ref, lifted_us, version, body FROM gdpr_erasure_restrictions WHERE lifted_us IS NULL AND id > '' ORDER BY id LIMIT 1000"
		var plan string
		switch d {
		case sqldialect.SQLite:
			plan = explain(t, db, "EXPLAIN QUERY PLAN "+list, 3)
		case sqldialect.Postgres:
			// The planner may scan a table this small whatever its
			// indexes; with scans priced out, an index it can use shows.
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			plan = explainTx(t, tx, "EXPLAIN "+list)
		case sqldialect.MySQL:
			if _, err := db.ExecContext(ctx, "ANALYZE TABLE gdpr_erasure_restrictions"); err != nil {
				t.Fatal(err)
			}
			plan = explainMySQL(t, db, "EXPLAIN "+list)
		}
		if !strings.Contains(plan, "erasure_restr_in_force") {
			t.Errorf("the plan of the listing of restrictions not lifted does not use the index erasure_restr_in_force:\n%s", plan)
		}
	})
}

// explain returns column col of every row of query, one line each.
func explain(t *testing.T, db *sql.DB, query string, col int) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	return joinRows(t, rows, col)
}

func explainTx(t *testing.T, tx *sql.Tx, query string) string {
	t.Helper()
	rows, err := tx.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	return joinRows(t, rows, 0)
}

// explainMySQL returns every column of every row of EXPLAIN, as text.
func explainMySQL(t *testing.T, db *sql.DB, query string) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	return joinRows(t, rows, -1)
}

// joinRows returns column col of each row (every column for -1), as text.
func joinRows(t *testing.T, rows *sql.Rows, col int) string {
	t.Helper()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if col < 0 || i == col {
				b.WriteString(cols[i] + "=" + string(v) + " ")
			}
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
