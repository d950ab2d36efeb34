package sqlerasure_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/erasuretest"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

var t0 = time.Date(2025, time.March, 3, 9, 30, 0, 0, time.UTC)

func ref(subject gdpr.SubjectID) string {
	h := sha256.Sum256([]byte("sqlerasure-test/" + string(subject)))
	return hex.EncodeToString(h[:])
}

// request returns an open request of kind for subject, verified and due
// at next (in progress when next is zero: not due).
func request(kind gdpr.RequestKind, subject gdpr.SubjectID, next time.Time) erasure.Request {
	return erasure.Request{
		ID:         erasuretest.NewID(),
		Kind:       kind,
		Subject:    subject,
		SubjectRef: ref(subject),
		Channel:    "web",
		Received:   t0.Add(-time.Hour),
		Deadline:   gdpr.NewDeadline(t0.Add(-time.Hour), time.UTC, nil),
		State:      erasure.StateVerified,
		History: []erasure.Transition{
			{To: erasure.StateReceived, At: t0.Add(-time.Hour), Actor: gdpr.SubjectActor(), Event: "submitted"},
			{From: erasure.StateReceived, To: erasure.StateVerified, At: t0.Add(-time.Hour), Actor: gdpr.System("erasure"), Event: "verified"},
		},
		NextAt:  next,
		Version: 1,
	}
}

// pair returns two Stores on two pools of one fresh database.
func pair(t *testing.T, d sqldialect.Dialect) (*sqlerasure.Store, *sqlerasure.Store) {
	t.Helper()
	return testdb.Pair(t, d, sqlerasure.New)
}

// TestCreateRace: many Creates of one kind and subject at once, through
// two pools, create one request; every other returns it, created false.
func TestCreateRace(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		a, b := pair(t, d)
		const n = 16
		var mu sync.Mutex
		created, ids := 0, map[string]bool{}
		var wg sync.WaitGroup
		for g := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := a
				if g%2 == 1 {
					s = b
				}
				got, c, err := s.Create(t.Context(), request(gdpr.KindErasure, "subject-race", t0))
				if err != nil {
					t.Errorf("Create %d: %v", g, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if c {
					created++
				}
				ids[got.ID] = true
			}()
		}
		wg.Wait()
		if created != 1 || len(ids) != 1 {
			t.Errorf("%d racing Creates: %d created, %d distinct requests returned; want 1 and 1", n, created, len(ids))
		}
		// A closed request frees the slot.
		var id string
		for id = range ids {
		}
		r, err := a.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		r.State, r.Subject, r.NextAt, r.Closed = erasure.StateCancelled, "", time.Time{}, t0
		if err := a.Update(t.Context(), r, nil, t0); err != nil {
			t.Fatal(err)
		}
		if _, c, err := b.Create(t.Context(), request(gdpr.KindErasure, "subject-race", t0)); err != nil || !c {
			t.Errorf("Create after the open one closed: created %v, %v; want created", c, err)
		}
	})
}

// TestAcquireRace: many workers on two pools acquire at once; no subject
// is leased twice, and every due subject is leased once.
func TestAcquireRace(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		a, b := pair(t, d)
		ctx := t.Context()
		const subjects, perSubject = 12, 3
		for i := range subjects {
			for j := range perSubject {
				r := request(gdpr.RequestKinds()[j], gdpr.SubjectID(fmt.Sprintf("subject-%02d", i)), t0.Add(-time.Duration(i*perSubject+j)*time.Second))
				if _, _, err := a.Create(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
		}
		const workers = 8
		var mu sync.Mutex
		leased := map[string]int{}
		var wg sync.WaitGroup
		for g := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := a
				if g%2 == 1 {
					s = b
				}
				got, err := s.Acquire(ctx, fmt.Sprintf("worker-%d", g), t0, time.Minute, 3)
				if err != nil {
					t.Errorf("Acquire %d: %v", g, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, l := range got {
					leased[l.Lease.Subject]++
					if l.Lease.Subject != l.Request.SubjectRef || l.Lease.Request != l.Request.ID {
						t.Errorf("lease %+v for request %s", l.Lease, l.Request.ID)
					}
				}
			}()
		}
		wg.Wait()
		for s, n := range leased {
			if n != 1 {
				t.Errorf("subject %s leased %d times; want once", s[:8], n)
			}
		}
		// Racing workers skip the rows the others hold locked, so they
		// may leave subjects for later: one more Acquire takes the rest.
		more, err := a.Acquire(ctx, "late", t0, time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range more {
			if leased[l.Lease.Subject] > 0 {
				t.Errorf("subject %s leased again while its lease is live", l.Lease.Subject[:8])
			}
			leased[l.Lease.Subject]++
		}
		if len(leased) != subjects {
			t.Errorf("%d subjects leased in all; want all %d", len(leased), subjects)
		}
		// Past the leases' expiry they are taken over.
		later, err := b.Acquire(ctx, "late", t0.Add(2*time.Minute), time.Minute, 100)
		if err != nil || len(later) != subjects {
			t.Errorf("Acquire after the leases expired: %d, %v; want %d", len(later), err, subjects)
		}
	})
}

// TestUpdateWithLease: the write requires the lease held; a lost lease
// writes nothing; the lease is extended in the same step.
func TestUpdateWithLease(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		a, b := pair(t, d)
		ctx := t.Context()
		r := request(gdpr.KindErasure, "subject-lease", t0)
		if _, _, err := a.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := a.Acquire(ctx, "w1", t0, time.Minute, 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("Acquire: %v, %v", got, err)
		}
		l := got[0].Lease
		next := got[0].Request
		next.State = erasure.StateInProgress
		l.Until = t0.Add(5 * time.Minute)
		if err := b.Update(ctx, next, &l, t0.Add(30*time.Second)); err != nil {
			t.Fatalf("Update with the held lease: %v", err)
		}
		// Same Until again (MySQL reports no changed row then).
		if err := b.Renew(ctx, l, t0.Add(40*time.Second), l.Until); err != nil {
			t.Errorf("Renew to the same Until: %v", err)
		}
		// Extended: not taken over at t0+2m.
		if other, err := b.Acquire(ctx, "w2", t0.Add(2*time.Minute), time.Minute, 1); err != nil || len(other) != 0 {
			t.Errorf("Acquire while the extended lease is live: %v, %v; want none", other, err)
		}
		if _, err := b.AcquireID(ctx, r.ID, "w2", t0.Add(2*time.Minute), time.Minute); !errors.Is(err, erasure.ErrLeased) {
			t.Errorf("AcquireID while leased: %v; want ErrLeased", err)
		}
		// Taken over after it expired: w1's lease is lost.
		took, err := b.AcquireID(ctx, r.ID, "w2", t0.Add(6*time.Minute), time.Minute)
		if err != nil {
			t.Fatalf("AcquireID after expiry: %v", err)
		}
		stale := took.Request
		stale.Steps = []erasure.Step{{Target: "x", Outcome: erasure.OutcomeErased}}
		if err := a.Update(ctx, stale, &l, t0.Add(6*time.Minute)); !errors.Is(err, erasure.ErrLeaseLost) {
			t.Errorf("Update with a lost lease: %v; want ErrLeaseLost", err)
		}
		if err := a.Renew(ctx, l, t0.Add(6*time.Minute), t0.Add(time.Hour)); !errors.Is(err, erasure.ErrLeaseLost) {
			t.Errorf("Renew of a lost lease: %v; want ErrLeaseLost", err)
		}
		if g, _ := a.Get(ctx, r.ID); g.Version != 2 || len(g.Steps) != 0 {
			t.Errorf("after a refused Update: version %d, %d steps; want 2, 0", g.Version, len(g.Steps))
		}
		// Release of the lost lease changes nothing; the new one holds.
		if err := a.Release(ctx, l); err != nil {
			t.Fatal(err)
		}
		if err := b.Update(ctx, stale, &took.Lease, t0.Add(6*time.Minute)); err != nil {
			t.Errorf("Update with the new lease after the old one's Release: %v", err)
		}
		if err := b.Release(ctx, took.Lease); err != nil {
			t.Fatal(err)
		}
		if _, err := a.AcquireID(ctx, r.ID, "w3", t0.Add(6*time.Minute), time.Minute); err != nil {
			t.Errorf("AcquireID after Release: %v", err)
		}
		// Version conflict with a held lease.
		stale.Version = 1
		if err := a.Update(ctx, stale, &took.Lease, t0.Add(6*time.Minute)); !errors.Is(err, erasure.ErrConflict) {
			t.Errorf("stale Update: %v; want ErrConflict", err)
		}
	})
}

// TestRaceUpdateWithLeaseAndAcquire: workers that renew and update under
// their leases while others acquire, on two pools, neither deadlock nor
// lose a write.
func TestRaceUpdateWithLeaseAndAcquire(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		a, b := pair(t, d)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		for i := range 10 {
			if _, _, err := a.Create(ctx, request(gdpr.KindErasure, gdpr.SubjectID(fmt.Sprintf("s%d", i)), t0)); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		writes := map[string]int{}
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := a
				if g%2 == 1 {
					s = b
				}
				for round := range 5 {
					now := t0.Add(time.Duration(round) * time.Second)
					got, err := s.Acquire(ctx, fmt.Sprint("w", g), now, time.Hour, 2)
					if err != nil {
						t.Errorf("Acquire: %v", err)
						return
					}
					for _, l := range got {
						r := l.Request
						r.State = erasure.StateInProgress
						r.NextAt = now.Add(time.Second)
						lease := l.Lease
						lease.Until = now.Add(2 * time.Hour)
						err := s.Update(ctx, r, &lease, now)
						if err != nil {
							t.Errorf("Update under a fresh lease: %v", err)
							continue
						}
						mu.Lock()
						writes[r.ID]++
						mu.Unlock()
						if err := s.Release(ctx, lease); err != nil {
							t.Errorf("Release: %v", err)
						}
					}
				}
			}()
		}
		wg.Wait()
		total := 0
		for id, n := range writes {
			r, err := a.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Version != int64(n)+1 {
				t.Errorf("request %s: version %d after %d writes", id, r.Version, n)
			}
			total += n
		}
		if total == 0 {
			t.Error("no write at all")
		}
	})
}

// TestNoSubjectAfterClose is the raw-row canary: a request created with a
// distinctive subject and closed by Update (Subject "") leaves that
// subject in no column of any erasure table.
func TestNoSubjectAfterClose(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		db := testdb.Open(t, d)
		s := testdb.Migrated(t, d, db, sqlerasure.New)
		codes := testdb.Migrated(t, d, db, sqlerasure.NewCodeStore)
		journal := testdb.Migrated(t, d, db, sqlerasure.NewJournal)
		const canary = "CANARY-subject-7f3a9c@example.org"
		r := request(gdpr.KindErasure, canary, t0)
		if _, _, err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.AcquireID(ctx, r.ID, "w", t0, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := codes.PutCode(ctx, erasure.Code{Request: r.ID, Hash: make([]byte, 32), Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if n := countCanary(t, d, db, canary); n == 0 {
			t.Fatal("the canary is not in the tables of an open request: the test does not see what it looks for")
		}
		done := got.Request
		done.State, done.Subject, done.NextAt, done.Closed = erasure.StateCompleted, "", time.Time{}, t0.Add(time.Minute)
		done.History = append(done.History, erasure.Transition{From: erasure.StateVerified, To: erasure.StateCompleted, At: done.Closed, Actor: gdpr.System("erasure"), Event: "completed"})
		if err := s.Update(ctx, done, &got.Lease, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, got.Lease); err != nil {
			t.Fatal(err)
		}
		if err := journal.Append(ctx, erasure.JournalEntry{RequestID: r.ID, SubjectRef: r.SubjectRef, Completed: done.Closed, Targets: []string{"consent", "crypto"}}); err != nil {
			t.Fatal(err)
		}
		if n := countCanary(t, d, db, canary); n != 0 {
			t.Errorf("the subject is still in %d column(s) of the erasure tables after the request closed", n)
		}
		back, err := s.Get(ctx, r.ID)
		if err != nil || back.Subject != "" {
			t.Errorf("Get of the closed request: subject set %v, %v", back.Subject != "", err)
		}
	})
}

// countCanary reads every column of every erasure table as text and
// counts the values that contain canary, as it is or in hex or base64 (a
// JSON body encodes bytes in base64).
func countCanary(t *testing.T, d sqldialect.Dialect, db *sql.DB, canary string) int {
	t.Helper()
	ctx := t.Context()
	found := 0
	for _, table := range []string{"gdpr_erasure_requests", "gdpr_erasure_leases", "gdpr_erasure_codes", "gdpr_erasure_journal",
		"gdpr_erasure_restrictions", "gdpr_erasure_statements"} {
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+table)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			for i, v := range vals {
				if strings.Contains(string(v), canary) || strings.Contains(strings.ToLower(string(v)), strings.ToLower(hex.EncodeToString([]byte(canary)))) ||
					strings.Contains(string(v), base64.StdEncoding.EncodeToString([]byte(canary))) {
					t.Logf("%s.%s holds the subject", table, cols[i])
					found++
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if n == 0 && (table == "gdpr_erasure_requests" || table == "gdpr_erasure_codes") {
			t.Errorf("%s is empty: the canary test writes a row there", table)
		}
	}
	return found
}

// TestErrorsWithoutDriverText: a duplicate ID is erasure.ErrConflict
// without the driver's text (MySQL's quotes the key); a database error
// keeps only its code; no error names the subject.
func TestErrorsWithoutDriverText(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		db := testdb.Open(t, d)
		const canary = "CANARY-ann.smith@example.org"
		unmigrated, err := sqlerasure.New(db, d)
		if err != nil {
			t.Fatal(err)
		}
		defer unmigrated.Close()
		_, _, err = unmigrated.Create(ctx, request(gdpr.KindErasure, canary, t0))
		var ee *erasure.Error
		if !errors.As(err, &ee) || ee.Op != "sqlerasure.Create" || !strings.Contains(err.Error(), "message withheld") {
			t.Errorf("Create before Migrate: %v; want an *erasure.Error with the server's message withheld", err)
		}
		s := testdb.Migrated(t, d, db, sqlerasure.New)
		r := request(gdpr.KindErasure, canary, t0)
		if _, _, err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		dup := request(gdpr.KindAccess, canary, t0)
		dup.ID = r.ID
		_, _, err = s.Create(ctx, dup)
		if !errors.Is(err, erasure.ErrConflict) || !errors.Is(err, gdpr.ErrConflict) {
			t.Errorf("Create of an existing ID: %v; want ErrConflict", err)
		}
		stale := r
		stale.Version = 7
		for what, err := range map[string]error{
			"duplicate ID": err,
			"stale Update": s.Update(ctx, stale, nil, t0),
			"lost lease":   s.Update(ctx, r, &erasure.Lease{Subject: r.SubjectRef, Request: r.ID, Token: "x", Until: t0.Add(time.Hour)}, t0),
		} {
			msg := strings.ToLower(err.Error())
			if strings.Contains(msg, strings.ToLower(canary)) || strings.Contains(msg, r.SubjectRef) ||
				strings.Contains(msg, "duplicate") || strings.Contains(msg, "unique") {
				t.Errorf("%s: %q quotes the subject, its reference or the driver's text", what, err)
			}
		}
		long := request(gdpr.KindErasure, gdpr.SubjectID(strings.Repeat("x", sqlerasure.MaxIDLen+1)), t0)
		if _, _, err := s.Create(ctx, long); !errors.Is(err, erasure.ErrInvalid) || strings.Contains(err.Error(), "xxx") {
			t.Errorf("Create with a subject longer than the column: %v; want ErrInvalid without the value", err)
		}
	})
}

// TestJournalInAnotherDatabase: the Journal migrates and works on a
// database of its own, with its own version record, and the Store's
// migrations do not create it.
func TestJournalInAnotherDatabase(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		main, other := testdb.Open(t, d), testdb.Open(t, d)
		s := testdb.Migrated(t, d, main, sqlerasure.New)
		j := testdb.Migrated(t, d, other, sqlerasure.NewJournal)
		if _, err := main.ExecContext(ctx, "SELECT 1 FROM gdpr_erasure_journal WHERE 1 = 0"); err == nil {
			t.Error("the Store's Migrate created the journal's table")
		}
		if _, err := other.ExecContext(ctx, "SELECT 1 FROM gdpr_erasure_requests WHERE 1 = 0"); err == nil {
			t.Error("the Journal's Migrate created the requests' table")
		}
		var comp string
		if err := other.QueryRowContext(ctx, "SELECT DISTINCT component FROM gdpr_schema_version").Scan(&comp); err != nil || comp != "erasure_journal:gdpr_" {
			t.Errorf("the journal's database records %q, %v; want erasure_journal:gdpr_", comp, err)
		}
		r := request(gdpr.KindErasure, "subject-j", t0)
		if _, _, err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		e := erasure.JournalEntry{RequestID: r.ID, SubjectRef: r.SubjectRef, Completed: t0, Targets: []string{"consent"}}
		if err := j.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		// Match with more refs than one IN list holds.
		refs := make([]string, 1200)
		for i := range refs {
			refs[i] = fmt.Sprintf("%064d", i)
		}
		refs[1100] = r.SubjectRef
		got, err := j.Match(ctx, refs)
		if err != nil || len(got) != 1 || got[0].RequestID != r.ID {
			t.Errorf("Match over 1200 refs: %v, %v; want the one entry", got, err)
		}
	})
}
