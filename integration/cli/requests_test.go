package cli_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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

// TestRequestsReplay: after a restore, the operator replays the erasures
// from the shell; the command only submits, the application's workers
// erase.
func TestRequestsReplay(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d)
		store := testdb.Migrated(t, d, f.db, sqlerasure.New)
		dir := t.TempDir()
		// A raw key (not hex) that starts with a byte that reads as white
		// space: used exactly as it is, not trimmed into another key.
		key := make([]byte, erasure.MinSubjectKeyLen+16)
		rand.Read(key)
		key[0] = '\n'
		keyFile := filepath.Join(dir, "subject.key")
		os.WriteFile(keyFile, key, 0o600)
		journalFile := filepath.Join(dir, "journal.jsonl")
		erased := map[gdpr.SubjectID]int{}
		crm := erasure.Target{Name: "crm", Eraser: gdpr.EraserFunc(func(_ context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
			erased[s]++
			return gdpr.ErasureReport{Erased: 1}, nil
		})}
		app := func() (*erasure.Engine, *erasure.FileJournal) {
			j, err := erasure.OpenFileJournal(journalFile)
			if err != nil {
				t.Fatal(err)
			}
			eng, err := erasure.New(store, key, erasure.WithTargets(crm), erasure.WithJournal(j))
			if err != nil {
				t.Fatal(err)
			}
			return eng, j
		}
		eng, j := app()
		r, _, err := eng.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "customer-7", Channel: "web", Authenticated: true})
		if err != nil {
			t.Fatal(err)
		}
		if r, err = eng.Process(ctx, r.ID); err != nil || r.State != erasure.StateCompleted {
			t.Fatalf("erasure: %v %v", r.State, err)
		}
		j.Close() // the application stops; the backup is restored
		subjects := filepath.Join(dir, "subjects.txt")
		// A byte-order mark and CRLF line ends, as a spreadsheet writes.
		os.WriteFile(subjects, []byte("\ufeffcustomer-7\r\ncustomer-8\r\n\r\n"), 0o600)
		res := gdprCmd(t, append(f.env, "GDPR_SUBJECT_KEY_FILE="+keyFile), "requests", "replay", "--journal", journalFile, "--subjects", subjects, "--json")
		var rep erasure.ReplayReport
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || res.code != 0 || rep.Checked != 2 || rep.Matched != 1 ||
			len(rep.Requests) != 1 || rep.Requests[0].State != erasure.StateVerified || rep.Requests[0].Of != r.ID {
			t.Fatalf("replay: exit %d, %+v, %v\n%s%s", res.code, rep, err, res.stdout, res.stderr)
		}
		if erased["customer-7"] != 1 || strings.Contains(res.stdout+res.stderr, "customer-") {
			t.Fatalf("the command erased something itself, or printed an ID: %v", erased)
		}
		eng, j = app() // the application's workers, back up
		defer j.Close()
		if done, err := eng.Process(ctx, rep.Requests[0].ID); err != nil || done.State != erasure.StateCompleted || erased["customer-7"] != 2 {
			t.Errorf("the workers' run of the replay: %v %v, erased %v", done.State, err, erased)
		}
		os.WriteFile(subjects, []byte("ok\nbad\x00id\n"), 0o600)
		if res := gdprCmd(t, append(f.env, "GDPR_SUBJECT_KEY_FILE="+keyFile), "requests", "replay", "--journal", journalFile, "--subjects", subjects); res.code != 2 || !strings.Contains(res.stderr, "line 2") {
			t.Errorf("a bad subject line: exit %d %q", res.code, res.stderr)
		}
	})
}

// TestReplayAfterARestoredCopy: the database is copied (the backup), a
// subject erased, the copy restored over it; the replay from the shell,
// against the restored database, submits the erasure the restore undid,
// and the workers erase the subject again.
func TestReplayAfterARestoredCopy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sqldialect.SQLite)
	dir := t.TempDir()
	key := make([]byte, erasure.MinSubjectKeyLen)
	rand.Read(key)
	keyFile := filepath.Join(dir, "subject.key")
	os.WriteFile(keyFile, []byte(hex.EncodeToString(key)), 0o600)
	journalFile := filepath.Join(dir, "journal.jsonl")
	store := testdb.Migrated(t, sqldialect.SQLite, f.db, sqlerasure.New)
	// The host's table of accounts, in the same database.
	if _, err := f.db.ExecContext(ctx, "CREATE TABLE accounts (id TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	f.db.ExecContext(ctx, "INSERT INTO accounts VALUES ('customer-7'), ('customer-8')")
	accounts := erasure.Target{Name: "accounts", Eraser: gdpr.EraserFunc(func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
		res, err := f.db.ExecContext(ctx, "DELETE FROM accounts WHERE id = ?", string(s))
		if err != nil {
			return gdpr.ErasureReport{}, err
		}
		n, _ := res.RowsAffected()
		return gdpr.ErasureReport{Erased: n}, nil
	})}
	backup := filepath.Join(dir, "backup.db")
	if _, err := f.db.ExecContext(ctx, "VACUUM INTO ?", backup); err != nil {
		t.Fatal(err)
	}
	j, err := erasure.OpenFileJournal(journalFile)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := erasure.New(store, key, erasure.WithTargets(accounts), erasure.WithJournal(j))
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := eng.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "customer-7", Channel: "web", Authenticated: true})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = eng.Process(ctx, r.ID); err != nil || r.State != erasure.StateCompleted {
		t.Fatalf("erasure: %v %v", r.State, err)
	}
	j.Close()
	// The restore: the backup copied over the database, the journal kept.
	restored := filepath.Join(dir, "restored.db")
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(restored, b, 0o600)
	rdb, err := sql.Open("sqlite", "file:"+restored+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	var back int
	rdb.QueryRow("SELECT COUNT(*) FROM accounts WHERE id = 'customer-7'").Scan(&back)
	if back != 1 {
		t.Fatal("the restored copy does not hold the erased account")
	}
	env := append([]string{}, f.env...)
	env[0] = "GDPR_DSN=" + restored
	env = append(env, "GDPR_SUBJECT_KEY_FILE="+keyFile)
	subjects := filepath.Join(dir, "subjects.txt")
	os.WriteFile(subjects, []byte("customer-7\ncustomer-8\n"), 0o600)
	res := gdprCmd(t, env, "requests", "replay", "--journal", journalFile, "--subjects", subjects, "--json")
	var rep erasure.ReplayReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || res.code != 0 || rep.Matched != 1 || len(rep.Requests) != 1 {
		t.Fatalf("replay against the restored copy: exit %d, %+v, %v\n%s", res.code, rep, err, res.stderr)
	}
	// The application's workers, on the restored database.
	rstore, err := sqlerasure.New(rdb, sqldialect.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	raccounts := erasure.Target{Name: "accounts", Eraser: gdpr.EraserFunc(func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
		res, err := rdb.ExecContext(ctx, "DELETE FROM accounts WHERE id = ?", string(s))
		if err != nil {
			return gdpr.ErasureReport{}, err
		}
		n, _ := res.RowsAffected()
		return gdpr.ErasureReport{Erased: n}, nil
	})}
	j, err = erasure.OpenFileJournal(journalFile)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	reng, err := erasure.New(rstore, key, erasure.WithTargets(raccounts), erasure.WithJournal(j))
	if err != nil {
		t.Fatal(err)
	}
	if done, err := reng.Process(ctx, rep.Requests[0].ID); err != nil || done.State != erasure.StateCompleted {
		t.Fatalf("the workers on the restored database: %v %v", done.State, err)
	}
	var left, kept int
	rdb.QueryRow("SELECT COUNT(*) FROM accounts WHERE id = 'customer-7'").Scan(&left)
	rdb.QueryRow("SELECT COUNT(*) FROM accounts WHERE id = 'customer-8'").Scan(&kept)
	if left != 0 || kept != 1 {
		t.Errorf("after the replay: customer-7 %d rows (want 0), customer-8 %d (want 1)", left, kept)
	}
}
