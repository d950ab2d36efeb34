package engine_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestRectifiedValueLeavesNoRow rectifies a field and records a
// supplementary statement on each database, with a recipient whose own
// reference for the subject is a canary too. The corrected value never
// sits in any erasure table in clear, not even while the request is open
// (it is sealed at intake); once the request is closed neither the value
// nor the subject ID nor the recipient's reference is left in any column
// of any erasure table, while the statement stays, sealed, as the one
// row of the statements table.
func TestRectifiedValueLeavesNoRow(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := context.Background()
		db := open(t, d, 4)
		store := testdb.Migrated(t, d, db, sqlerasure.New)
		var nonce [6]byte
		rand.Read(nonce[:])
		canary := func(what string) gdpr.SubjectID {
			return gdpr.SubjectID(fmt.Sprintf("canary-%s-%x", what, nonce))
		}
		subject, value, statement, reference := canary("subject"), canary("new-address"), canary("statement"), canary("partner-ref")

		var mu sync.Mutex
		applied := map[string]string{}
		held := make(chan struct{})
		rc := erasure.Rectifier{Name: "crm", Fields: []string{"address", "note"},
			Rectify: func(_ context.Context, _ gdpr.SubjectID, c erasure.Correction) error {
				mu.Lock()
				defer mu.Unlock()
				applied[c.Field] = c.Value
				return nil
			}}
		notified := 0
		rn := erasure.RecipientNotifierFunc(func(_ context.Context, n erasure.RecipientNotice) error {
			<-held // the scan below runs while the request is open
			mu.Lock()
			defer mu.Unlock()
			if n.Recipient.Reference != string(reference) {
				return errors.New("wrong reference")
			}
			notified++
			return nil
		})
		disc := gdpr.DisclosuresFunc(func(context.Context, gdpr.SubjectID) ([]gdpr.Disclosure, error) {
			return []gdpr.Disclosure{{Recipient: "partner", Kind: gdpr.ThirdParty, Reference: string(reference)}}, nil
		})
		e := newEngine(t, store, erasure.WithRectifiers(rc), erasure.WithRecipients(rn, disc))
		r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindRectification, Subject: subject, Authenticated: true,
			Corrections: []erasure.Correction{
				{Target: "crm", Field: "address", Value: string(value)},
				{Target: "crm", Field: "note", Value: string(statement), Supplement: true},
			}})
		if err != nil {
			t.Fatal(err)
		}
		prefixes := []string{"gdpr_erasure", "gdpr_schema"}
		done := make(chan erasure.Request, 1)
		go func() {
			got, _ := e.Process(ctx, r.ID)
			done <- got
		}()
		// The rectifier has run and the recipient is being told: the
		// request is open, its subject and the recipient's reference are
		// in its row (the scan sees them), but the values are not.
		for {
			mu.Lock()
			n := len(applied)
			mu.Unlock()
			if n == 2 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		seen := map[string]bool{}
		for _, h := range scanCanaries(t, d, db, prefixes, []gdpr.SubjectID{subject, value, statement, reference}) {
			seen[h.form] = true
		}
		if !seen[string(subject)] || !seen[string(reference)] {
			t.Fatalf("the scan did not find the open request's subject and recipient reference: the scan is blind (%v)", seen)
		}
		if seen[string(value)] || seen[string(statement)] {
			t.Errorf("a corrected value is in clear while the request is open: %v", seen)
		}
		close(held)
		got := <-done
		if got.State != erasure.StateCompleted || notified != 1 {
			t.Fatalf("rectification %s, %d notified; steps %+v", got.State, notified, got.Steps)
		}
		if applied["address"] != string(value) {
			t.Errorf("applied %v", applied)
		}
		for _, h := range scanCanaries(t, d, db, prefixes, []gdpr.SubjectID{subject, value, statement, reference}) {
			t.Errorf("left after the rectification closed: %v", h)
		}
		if n := countRows(t, db, "gdpr_erasure_statements"); n != 1 {
			t.Errorf("%d statements stored, want 1", n)
		}
		sts, err := e.Statements(ctx, subject)
		if err != nil || len(sts) != 1 || sts[0].Text != string(statement) {
			t.Fatalf("statements: %v %d", err, len(sts))
		}
	})
}

// TestRestrictionAcrossInstances places, overrides and lifts
// restrictions through one Engine while another, on its own pool, checks
// from many goroutines: each change is seen by the other within twice the
// cache time (plus a margin for this shared machine), and the first Check
// after the bound never answers from before the change.
func TestRestrictionAcrossInstances(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := context.Background()
		db := open(t, d, 4)
		storeA := testdb.Migrated(t, d, db, sqlerasure.New)
		storeB := newStore(t, d, pool(testdb.Reopen(t, d, db), 4))
		const ttl = 100 * time.Millisecond
		notes := newNotices()
		a := newEngine(t, storeA, erasure.WithRestrictionCache(ttl), erasure.WithNotifier(notes))
		b := newEngine(t, storeB, erasure.WithRestrictionCache(ttl), erasure.WithNotifier(notes))
		const s = gdpr.SubjectID("cross-instance@example.org")

		// Checkers on B, from several goroutines, until stopped.
		var stop atomic.Bool
		var refusedAt atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					err := b.Check(ctx, s, "support", gdpr.AllowNone)
					if errors.Is(err, erasure.ErrRestricted) {
						refusedAt.CompareAndSwap(0, time.Now().UnixNano())
					} else if err != nil {
						t.Errorf("Check: %v", err)
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
		}
		r, _, err := a.Submit(ctx, erasure.Submission{Kind: gdpr.KindRestriction, Subject: s, Ground: erasure.GroundAccuracy, Authenticated: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Process(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		placed := time.Now()
		// The request waits the cache bound out before it completes.
		if got.State != erasure.StateInProgress || got.NextAt.IsZero() {
			t.Fatalf("restriction request after its step: %s, next %v", got.State, got.NextAt)
		}
		time.Sleep(time.Until(got.NextAt))
		if got, err = a.Process(ctx, r.ID); err != nil || got.State != erasure.StateCompleted {
			t.Fatalf("restriction request: %s %v", got.State, err)
		}
		// Once the subject has been told, B refuses.
		if err := b.Check(ctx, s, "support", gdpr.AllowNone); !errors.Is(err, erasure.ErrRestricted) {
			t.Errorf("B after the completion: %v", err)
		}
		stop.Store(true)
		wg.Wait()
		if at := refusedAt.Load(); at == 0 {
			t.Error("B's checkers never saw the restriction")
		} else if lag := time.Unix(0, at).Sub(placed); lag > 2*ttl+500*time.Millisecond {
			t.Errorf("B saw the restriction %v after it was placed, bound %v", lag, 2*ttl)
		}

		// The lift through B: A refuses until it is lifted, then allows
		// within the bound.
		lift, _, err := b.Submit(ctx, erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: s, Authenticated: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := b.Process(ctx, lift.ID); err != nil || got.State != erasure.StateCompleted {
			t.Fatalf("lift: %s %v", got.State, err)
		}
		deadline := time.Now().Add(2*ttl + 500*time.Millisecond)
		for a.Check(ctx, s, "support", gdpr.AllowNone) != nil {
			if time.Now().After(deadline) {
				t.Fatal("A still refuses past the bound after the lift")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
