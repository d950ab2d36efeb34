package engine_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// hostTables are the host's own tables of personal data, in the main
// database beside the erasure tables.
var hostTables = []string{"host_accounts", "host_orders"}

// mainTables are what a backup of the main database holds and a restore
// puts back: the host's tables and the Store's.
var mainTables = append(slices.Clone(hostTables), "gdpr_erasure_requests", "gdpr_erasure_leases", "gdpr_erasure_codes")

func createHostTables(t testing.TB, db *sql.DB) {
	t.Helper()
	for _, q := range []string{
		"CREATE TABLE host_accounts (id VARCHAR(100) NOT NULL PRIMARY KEY, email VARCHAR(200) NOT NULL)",
		"CREATE TABLE host_orders (id INTEGER NOT NULL PRIMARY KEY, account VARCHAR(100) NOT NULL, total INTEGER NOT NULL)",
	} {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// seedHost gives each subject an account and k+1 orders.
func seedHost(t testing.TB, d sqldialect.Dialect, db *sql.DB, subjects []gdpr.SubjectID) {
	t.Helper()
	ctx := context.Background()
	order := 0
	for k, s := range subjects {
		if _, err := db.ExecContext(ctx, rebind(d, "INSERT INTO host_accounts (id, email) VALUES (?, ?)"), string(s), string(s)+"@example.org"); err != nil {
			t.Fatal(err)
		}
		for range k + 1 {
			order++
			if _, err := db.ExecContext(ctx, rebind(d, "INSERT INTO host_orders (id, account, total) VALUES (?, ?, ?)"), order, string(s), 100*order); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// hostEraser is a target that deletes a subject's rows from one host
// table.
type hostEraser struct {
	db    *sql.DB
	query string
}

func (h hostEraser) EraseSubject(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	res, err := h.db.ExecContext(ctx, h.query, string(s))
	if err != nil {
		return gdpr.ErasureReport{}, err
	}
	n, err := res.RowsAffected()
	return gdpr.ErasureReport{Erased: n}, err
}

func hostTargets(d sqldialect.Dialect, db *sql.DB) []erasure.Target {
	return []erasure.Target{
		{Name: "accounts", Eraser: hostEraser{db, rebind(d, "DELETE FROM host_accounts WHERE id = ?")}},
		{Name: "orders", Eraser: hostEraser{db, rebind(d, "DELETE FROM host_orders WHERE account = ?")}},
	}
}

// hostRows returns how many accounts and orders subject s has.
func hostRows(t testing.TB, d sqldialect.Dialect, db *sql.DB, s gdpr.SubjectID) (accounts, orders int) {
	t.Helper()
	ctx := context.Background()
	if err := db.QueryRowContext(ctx, rebind(d, "SELECT COUNT(*) FROM host_accounts WHERE id = ?"), string(s)).Scan(&accounts); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, rebind(d, "SELECT COUNT(*) FROM host_orders WHERE account = ?"), string(s)).Scan(&orders); err != nil {
		t.Fatal(err)
	}
	return accounts, orders
}

// snapshot copies each table to snap_<table>: the backup.
func snapshot(t testing.TB, db *sql.DB, tables []string) {
	t.Helper()
	for _, tb := range tables {
		if _, err := db.ExecContext(context.Background(), "CREATE TABLE snap_"+tb+" AS SELECT * FROM "+tb); err != nil {
			t.Fatalf("snapshot %s: %v", tb, err)
		}
	}
}

// restore puts each table back as its snapshot holds it, in one
// transaction.
func restore(t testing.TB, db *sql.DB, tables []string) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, tb := range tables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+tb); err != nil {
			t.Fatalf("restore %s: %v", tb, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+tb+" SELECT * FROM snap_"+tb); err != nil {
			t.Fatalf("restore %s: %v", tb, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// journalKind opens the journal of a restore test: a sqlerasure.Journal
// in a database of its own, or a FileJournal in t.TempDir(). reopen opens
// it again, as a restarted process would.
type journalKind struct {
	name string
	open func(t *testing.T, d sqldialect.Dialect) (j erasure.Journal, reopen func() erasure.Journal)
}

var journalKinds = []journalKind{
	{"sql-journal", func(t *testing.T, d sqldialect.Dialect) (erasure.Journal, func() erasure.Journal) {
		jdb := testdb.Open(t, d) // another schema (PostgreSQL), database (MySQL) or file (SQLite)
		j := testdb.Migrated(t, d, jdb, sqlerasure.NewJournal)
		return j, func() erasure.Journal {
			j, err := sqlerasure.NewJournal(testdb.Reopen(t, d, jdb), d)
			if err != nil {
				t.Fatal(err)
			}
			return j
		}
	}},
	{"file-journal", func(t *testing.T, _ sqldialect.Dialect) (erasure.Journal, func() erasure.Journal) {
		path := filepath.Join(t.TempDir(), "erasure-journal.jsonl")
		j, err := erasure.OpenFileJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
		return j, func() erasure.Journal {
			if err := j.Close(); err != nil { // the old process is gone
				t.Fatal(err)
			}
			j, err := erasure.OpenFileJournal(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { j.Close() })
			return j
		}
	}},
}

// TestRestoreAndReplay erases subjects through the Engine, restores the
// main database (host tables and erasure tables) from a backup taken
// before, and replays the journal, kept apart (another database, or a
// file), with the subject IDs found in the restored host table. One
// subject (bob) was erased after the backup: the restore brings back his
// rows and forgets his request. Another (dee) had asked before the
// backup, and was erased after it: the restore brings back her rows and
// her request, still open. Replay erases both again (a new request for
// bob, dee's restored request processed), names the journalled requests
// it replays, and leaves the other subjects untouched. A second Replay
// of the same list matches the same subjects and finds nothing left to
// erase; the journal keeps the first erasure and the replays.
func TestRestoreAndReplay(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		for _, jk := range journalKinds {
			t.Run(jk.name, func(t *testing.T) { restoreAndReplay(t, d, jk) })
		}
	})
}

func restoreAndReplay(t *testing.T, d sqldialect.Dialect, jk journalKind) {
	ctx := context.Background()
	db := open(t, d, 4)
	if err := newStore(t, d, db).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	createHostTables(t, db)
	const ann, bob, cyd, dee = gdpr.SubjectID("ann"), gdpr.SubjectID("bob"), gdpr.SubjectID("cyd"), gdpr.SubjectID("dee")
	subjects := []gdpr.SubjectID{ann, bob, cyd, dee}
	seedHost(t, d, db, subjects)
	journal, reopenJournal := jk.open(t, d)
	e := newEngine(t, newStore(t, d, db), erasure.WithTargets(hostTargets(d, db)...), erasure.WithJournal(journal))

	deeReq, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: dee})
	if err != nil {
		t.Fatal(err)
	}
	snapshot(t, db, mainTables) // the nightly backup

	bobReq, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: bob})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{bobReq.ID, deeReq.ID} {
		r, err := e.Process(ctx, id)
		if err != nil || r.State != erasure.StateCompleted {
			t.Fatalf("Process %s: %s, %v", id, r.State, err)
		}
	}
	for _, s := range []gdpr.SubjectID{bob, dee} {
		if a, o := hostRows(t, d, db, s); a+o != 0 {
			t.Fatalf("%s has %d accounts and %d orders after the erasure", s, a, o)
		}
	}

	restore(t, db, mainTables) // the database is lost and restored from the backup
	for _, s := range []gdpr.SubjectID{bob, dee} {
		if a, _ := hostRows(t, d, db, s); a != 1 {
			t.Fatalf("the restore did not bring %s back (%d accounts): the test restores nothing", s, a)
		}
	}
	if _, err := e.Get(ctx, bobReq.ID); err == nil {
		t.Fatal("bob's request, made after the backup, is still there after the restore")
	}
	if r, err := e.Get(ctx, deeReq.ID); err != nil || r.State != erasure.StateVerified {
		t.Fatalf("dee's request after the restore: %s, %v; want it open (verified) as backed up", r.State, err)
	}

	// The host restarts: a new Engine on a new pool, the journal opened
	// again; Replay is given every subject of the restored host table.
	before := map[gdpr.SubjectID][2]int{}
	for _, s := range []gdpr.SubjectID{ann, cyd} {
		a, o := hostRows(t, d, db, s)
		before[s] = [2]int{a, o}
	}
	p := pool(testdb.Reopen(t, d, db), 4)
	journal = reopenJournal()
	e2 := newEngine(t, newStore(t, d, p), erasure.WithTargets(hostTargets(d, p)...), erasure.WithJournal(journal))
	restored := restoredSubjects(t, db)
	if len(restored) != len(subjects) {
		t.Fatalf("restored host table has %d subjects, want %d", len(restored), len(subjects))
	}
	rep, err := e2.Replay(ctx, restored)
	if err != nil {
		t.Fatalf("Replay: %v (report %+v)", err, rep)
	}
	if rep.Checked != 4 || rep.Matched != 2 || len(rep.Requests) != 2 {
		t.Fatalf("Replay report %+v; want 4 checked, 2 matched, 2 requests", rep)
	}
	of := map[string]string{}
	for _, rr := range rep.Requests {
		if rr.State != erasure.StateCompleted {
			t.Errorf("replayed request %s (of %s): %s", rr.ID, rr.Of, rr.State)
		}
		of[rr.Of] = rr.ID
	}
	if id, ok := of[bobReq.ID]; !ok || id == bobReq.ID {
		t.Errorf("report %+v: want a new request replaying bob's %s", rep.Requests, bobReq.ID)
	} else if r, err := e2.Get(ctx, id); err != nil || r.Channel != "replay" || r.Params["replay_of"] != bobReq.ID || r.Subject != "" {
		t.Errorf("bob's replay request: %v, channel %s, params %v", err, r.Channel, r.Params)
	}
	if id, ok := of[deeReq.ID]; !ok || id != deeReq.ID {
		t.Errorf("report %+v: want dee's restored request %s processed", rep.Requests, deeReq.ID)
	}
	for _, s := range []gdpr.SubjectID{bob, dee} {
		if a, o := hostRows(t, d, db, s); a+o != 0 {
			t.Errorf("after Replay %s has %d accounts and %d orders", s, a, o)
		}
	}
	for s, was := range before {
		if a, o := hostRows(t, d, db, s); [2]int{a, o} != was {
			t.Errorf("Replay touched %s: %d accounts, %d orders; was %v", s, a, o, was)
		}
	}
	if rs, _ := e2.ForSubject(ctx, ann, erasure.Filter{}); len(rs) != 0 {
		t.Errorf("Replay made %d requests for ann, who was never erased", len(rs))
	}

	// Replay is idempotent: run again on the same list (as after an
	// interrupted replay), the same subjects match, and nothing is left.
	again, err := e2.Replay(ctx, restored)
	if err != nil {
		t.Fatal(err)
	}
	if again.Checked != 4 || again.Matched != 2 || len(again.Requests) != 2 {
		t.Fatalf("second Replay report %+v; want 4 checked, 2 matched, 2 requests", again)
	}
	for _, rr := range again.Requests {
		r, err := e2.Get(ctx, rr.ID)
		if err != nil || r.State != erasure.StateCompleted {
			t.Fatalf("second replay %s: %s, %v", rr.ID, r.State, err)
		}
		for _, st := range r.Steps {
			if st.Outcome != erasure.OutcomeNothingFound {
				t.Errorf("second replay of %s: step %s %s (%d records)", rr.Of, st.Target, st.Outcome, st.Count)
			}
		}
	}
	es, err := journal.Match(ctx, []string{e2.SubjectRef(bob)})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) < 2 || es[0].RequestID != bobReq.ID {
		t.Errorf("journal of bob: %+v; want the first erasure first, then the replays", es)
	}
}

// restoredSubjects returns the subject IDs of the restored host table, as
// a host would give them to Replay.
func restoredSubjects(t testing.TB, db *sql.DB) []gdpr.SubjectID {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT id FROM host_accounts ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []gdpr.SubjectID
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, gdpr.SubjectID(s))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
