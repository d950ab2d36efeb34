package engine_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

// canaryForms returns the ways a subject ID could sit in a column: as
// itself, upper-cased (a case-folding index), as hex (how PostgreSQL casts
// bytea to text) and as base64 (how encoding/json writes []byte).
func canaryForms(s gdpr.SubjectID) []string {
	return []string{string(s), strings.ToUpper(string(s)), hex.EncodeToString([]byte(s)),
		base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))}
}

// hit is one column of one table that holds a canary.
type hit struct {
	table, column, form string
	rows                int
}

func (h hit) String() string {
	return fmt.Sprintf("%s.%s (%d rows, as %q)", h.table, h.column, h.rows, h.form)
}

// tableNames lists the tables of db's schema (PostgreSQL), database
// (MySQL) or file (SQLite).
func tableNames(t testing.TB, d sqldialect.Dialect, db *sql.DB) []string {
	t.Helper()
	q := map[sqldialect.Dialect]string{
		sqldialect.Postgres: "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
		sqldialect.MySQL:    "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1",
		sqldialect.SQLite:   "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
	}[d]
	return strings1(t, db, q)
}

func columnNames(t testing.TB, d sqldialect.Dialect, db *sql.DB, table string) []string {
	t.Helper()
	q := map[sqldialect.Dialect]string{
		sqldialect.Postgres: "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
		sqldialect.MySQL:    "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
		sqldialect.SQLite:   "SELECT name FROM pragma_table_info(?) ORDER BY cid",
	}[d]
	return strings1(t, db, q, table)
}

func strings1(t testing.TB, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// scanCanaries looks for every form of every canary in every column of
// every table whose name starts with one of prefixes, twice: in SQL, with
// each column cast to text, and in Go, over each row's raw bytes. It
// returns every column that holds one.
func scanCanaries(t testing.TB, d sqldialect.Dialect, db *sql.DB, prefixes []string, canaries []gdpr.SubjectID) []hit {
	t.Helper()
	ctx := context.Background()
	dl := dialect.Of(d)
	var hits []hit
	scanned := 0
	for _, table := range tableNames(t, d, db) {
		if !hasPrefix(table, prefixes) {
			continue
		}
		scanned++
		cols := columnNames(t, d, db, table)
		if len(cols) == 0 {
			t.Fatalf("table %s has no columns listed", table)
		}
		for _, c := range cols {
			var cond string
			switch d {
			case sqldialect.Postgres:
				cond = "strpos(CAST(" + dl.Quote(c) + " AS TEXT), $1) > 0"
			case sqldialect.MySQL:
				cond = "LOCATE(?, CAST(" + dl.Quote(c) + " AS CHAR)) > 0"
			default:
				cond = "instr(CAST(" + dl.Quote(c) + " AS TEXT), ?) > 0"
			}
			q := "SELECT COUNT(*) FROM " + dl.Quote(table) + " WHERE " + cond
			for _, s := range canaries {
				for _, form := range canaryForms(s) {
					var n int
					if err := db.QueryRowContext(ctx, q, form).Scan(&n); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
					if n > 0 {
						hits = append(hits, hit{table, c, form, n})
					}
				}
			}
		}
		// The same in Go, over the bytes as the driver returns them.
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+dl.Quote(table))
		if err != nil {
			t.Fatal(err)
		}
		names, _ := rows.Columns()
		raw := make([]sql.RawBytes, len(names))
		ptrs := make([]any, len(names))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		found := map[hit]int{}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				t.Fatal(err)
			}
			for i, v := range raw {
				for _, s := range canaries {
					for _, form := range canaryForms(s) {
						if bytes.Contains(v, []byte(form)) {
							found[hit{table: table, column: names[i], form: form}]++
						}
					}
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		for h, n := range found {
			h.rows = n
			h.column += " (raw)"
			hits = append(hits, h)
		}
	}
	if scanned == 0 {
		t.Fatalf("no table with a prefix of %v to scan", prefixes)
	}
	return hits
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// codeMail is the CodeVerifier's channel: it keeps the last code sent per
// request.
type codeMail struct {
	mu    sync.Mutex
	codes map[string]string
}

func (m *codeMail) send(_ context.Context, r gdpr.Request, code string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes[r.ID] = code
	return nil
}

func (m *codeMail) code(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.codes[id]
}

// TestNoSubjectLeftInErasureTables drives requests to every way a request
// closes — an erasure completed after a target failed once with the
// subject ID in its error, an access request completed by its handler, a
// rejection by the controller, a rejection after too many wrong codes, a
// cancellation — with a CodeVerifier on the sqlerasure CodeStore and a
// sqlerasure Journal in the same database. While the requests are open
// the scan must find each subject ID (the scan works); once they are
// closed, no form of any of them may be left in any column of any erasure
// table: requests, leases, codes, journal, and the schema's version
// table.
func TestNoSubjectLeftInErasureTables(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := context.Background()
		db := open(t, d, 4)
		store := testdb.Migrated(t, d, db, sqlerasure.New)
		codes := testdb.Migrated(t, d, db, sqlerasure.NewCodeStore)
		journal := testdb.Migrated(t, d, db, sqlerasure.NewJournal)
		var nonce [6]byte
		rand.Read(nonce[:])
		canary := func(what string) gdpr.SubjectID {
			return gdpr.SubjectID(fmt.Sprintf("canary-%s-%x@example.org", what, nonce))
		}
		erased, accessed, rejected, guessed, cancelled := canary("erased"), canary("accessed"), canary("rejected"), canary("guessed"), canary("cancelled")
		all := []gdpr.SubjectID{erased, accessed, rejected, guessed, cancelled}

		mail := &codeMail{codes: map[string]string{}}
		verifier, err := erasure.NewCodeVerifier(codes, subjectKey, mail.send, erasure.CodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		profile := newCounter("profile", nil)
		failed := false
		profile.hook = func(_ context.Context, s gdpr.SubjectID) error {
			if !failed {
				failed = true
				return fmt.Errorf("profile service refused to delete %s: timeout", s)
			}
			return nil
		}
		access := newCounter("access", nil)
		e := newEngine(t, store, erasure.WithTargets(targetsOf(profile, newCounter("orders", nil))...),
			erasure.WithHandler(gdpr.KindAccess, access), erasure.WithVerifier(verifier), erasure.WithJournal(journal),
			erasure.WithRetry(3, 1, 1))

		ids := map[gdpr.SubjectID]string{}
		for _, s := range all {
			kind := gdpr.KindErasure
			if s == accessed {
				kind = gdpr.KindAccess
			}
			r, _, err := e.Submit(ctx, erasure.Submission{Kind: kind, Subject: s, Channel: "email"})
			if err != nil || r.State != erasure.StateAwaitingIdentity {
				t.Fatalf("Submit: %s, %v", r.State, err)
			}
			ids[s] = r.ID
		}
		// The erasure and the access request are confirmed; the erasure's
		// first attempt fails, with the subject ID in the error.
		for _, s := range []gdpr.SubjectID{erased, accessed} {
			if _, err := e.ConfirmIdentity(ctx, ids[s], mail.code(ids[s])); err != nil {
				t.Fatal(err)
			}
		}
		r, err := e.Process(ctx, ids[erased])
		if err != nil || r.State != erasure.StateInProgress || r.Steps[0].Outcome != erasure.OutcomeFailed {
			t.Fatalf("first attempt: %s, steps %+v, %v", r.State, r.Steps, err)
		}

		// Positive control: every subject is found while its request is open.
		prefixes := []string{"gdpr_erasure", "gdpr_schema"}
		open := map[gdpr.SubjectID]bool{}
		for _, h := range scanCanaries(t, d, db, prefixes, all) {
			for _, s := range all {
				if h.form == string(s) {
					open[s] = true
				}
			}
		}
		for _, s := range all {
			if !open[s] {
				t.Fatalf("the scan did not find %s while its request is open: the scan is blind", s)
			}
		}

		// Close each request.
		if r, err := e.Process(ctx, ids[erased]); err != nil || r.State != erasure.StateCompleted {
			t.Fatalf("erasure: %s, %v", r.State, err)
		}
		if r, err := e.Process(ctx, ids[accessed]); err != nil || r.State != erasure.StateCompleted {
			t.Fatalf("access: %s, %v", r.State, err)
		}
		if r, err := e.Reject(ctx, ids[rejected], erasure.RejectUnfounded, "the account was closed years ago"); err != nil || r.State != erasure.StateRejected {
			t.Fatalf("reject: %s, %v", r.State, err)
		}
		for range 10 {
			r, err = e.ConfirmIdentity(ctx, ids[guessed], "00000000")
			if errors.Is(err, erasure.ErrTooManyAttempts) || r.State == erasure.StateRejected {
				break
			}
		}
		if r.State != erasure.StateRejected || r.Rejection != erasure.RejectIdentity {
			t.Fatalf("guessing: %s (%s), %v", r.State, r.Rejection, err)
		}
		if r, err := e.Cancel(ctx, ids[cancelled]); err != nil || r.State != erasure.StateCancelled {
			t.Fatalf("cancel: %s, %v", r.State, err)
		}
		for _, s := range all {
			r, err := e.Get(ctx, ids[s])
			if err != nil || r.State.Open() || r.Subject != "" {
				t.Fatalf("%s: %s, subject %q, %v", ids[s], r.State, r.Subject, err)
			}
		}
		if n := countRows(t, db, "gdpr_erasure_journal"); n != 1 {
			t.Errorf("%d journal entries, want 1 (the completed erasure)", n)
		}
		if n := countRows(t, db, "gdpr_erasure_requests"); n != len(all) {
			t.Errorf("%d requests stored, want %d", n, len(all))
		}

		for _, h := range scanCanaries(t, d, db, prefixes, all) {
			t.Errorf("a closed request's subject ID is left in %v", h)
		}
	})
}
