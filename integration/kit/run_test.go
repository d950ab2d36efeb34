package kit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// prompt is how soon Run must return once its context is cancelled.
const prompt = 5 * time.Second

// stopWithin cancels r and returns what Run returned, failing t if it
// took longer than prompt.
func stopWithin(t testing.TB, r *running) error {
	t.Helper()
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		close(r.done)
		if d := time.Since(start); d > prompt {
			t.Errorf("Run returned %v after its context was cancelled, want within %v", d, prompt)
		}
		return err
	case <-time.After(maxWait):
		t.Fatalf("Run did not return within %v of its context's cancellation", maxWait)
		return nil
	}
}

// TestRunStops runs a kit, on every database, until it has completed an
// erasure, then cancels Run's context: Run returns nil (its doc) within a
// few seconds, Close then works, and a second Close neither panics nor
// fails. A kit opened again on the same database (a restart) finds the
// completed request.
func TestRunStops(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := context.Background()
		keys := testKeys(t)
		l := &logs{}
		k, err := kit.Open(ctx, db, d, register(), keys, fastOptions(t, l)...)
		if err != nil {
			t.Fatal(err)
		}
		r := startRun(t, k)
		s := subject("stop")
		encrypt(t, k, s)
		req := waitClosed(t, k, l, submit(t, k, erasure.Submission{Kind: gdpr.KindErasure, Subject: s}).ID)
		if req.State != erasure.StateCompleted {
			t.Fatalf("erasure %s", req.State)
		}
		if err := stopWithin(t, r); err != nil {
			t.Errorf("Run after its context was cancelled: %v, want nil", err)
		}
		cctx, cancel := context.WithTimeout(ctx, maxWait)
		defer cancel()
		if err := k.Close(cctx); err != nil {
			t.Errorf("Close after Run returned: %v", err)
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("a second Close panicked: %v", p)
				}
			}()
			if err := k.Close(cctx); err != nil {
				t.Errorf("a second Close: %v", err)
			}
		}()

		again, _ := openKit(t, db, d, keys)
		got, err := again.Engine().Get(ctx, req.ID)
		if err != nil || got.State != erasure.StateCompleted {
			t.Errorf("after a restart the request is %s, %v", got.State, err)
		}
		verifyTrail(t, again)
	})
}

// TestRunStopsMidRequest cancels Run while the host's target is in the
// middle of an erasure (it waits for its context): Run returns within a
// few seconds, the request is left open, and a kit opened again on the
// same database (a restart) completes it, calling the target again, which
// then succeeds once.
func TestRunStopsMidRequest(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := context.Background()
		keys := testKeys(t)
		// A short lease: a lease the stopped worker keeps to expire is
		// taken over soon.
		lease := kit.WithErasureOptions(erasure.WithLease(time.Second))
		var block atomic.Bool
		block.Store(true)
		entered := make(chan struct{}, 1)
		crm := newErased("crm")
		crm.during = func(ctx context.Context, _ gdpr.SubjectID) error {
			if !block.Load() {
				return nil
			}
			select {
			case entered <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return ctx.Err()
		}
		l := &logs{}
		k, err := kit.Open(ctx, db, d, register(), keys, append(fastOptions(t, l), lease, kit.WithTargets(crm.target()))...)
		if err != nil {
			t.Fatal(err)
		}
		r := startRun(t, k)
		s := subject("midway")
		id := submit(t, k, erasure.Submission{Kind: gdpr.KindErasure, Subject: s}).ID
		select {
		case <-entered:
		case <-time.After(maxWait):
			t.Fatalf("the host's target was not called within %v; logs:\n%s", maxWait, l)
		}
		if err := stopWithin(t, r); err != nil {
			t.Errorf("Run cancelled mid-request: %v, want nil", err)
		}
		got, err := k.Engine().Get(ctx, id)
		if err != nil || !got.State.Open() {
			t.Errorf("the interrupted request: %s, %v; want it open", got.State, err)
		}
		if err := k.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}

		block.Store(false)
		again, l2 := openKit(t, db, d, keys, lease, kit.WithTargets(crm.target()))
		startRun(t, again)
		done := waitClosed(t, again, l2, id)
		if done.State != erasure.StateCompleted {
			t.Fatalf("after the restart the request is %s; steps %+v", done.State, done.Steps)
		}
		if n := crm.count(s); n != 1 {
			t.Errorf("the host's target succeeded %d times, want 1", n)
		}
	})
}

// TestRunArguments: Run(nil) is an *Error with Field "ctx" wrapping
// kit.ErrInvalid and gdpr.ErrInvalid, and Run with a context already
// cancelled returns nil at once.
func TestRunArguments(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		k, _ := openKit(t, db, d, testKeys(t))
		var nilCtx context.Context
		err := k.Run(nilCtx)
		var ke *kit.Error
		if !errors.As(err, &ke) || ke.Field != "ctx" || !errors.Is(err, kit.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("Run(nil): %v (%s), want an *Error with Field ctx wrapping kit.ErrInvalid", err, describe(err))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() { done <- k.Run(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run with a cancelled context: %v, want nil", err)
			}
		case <-time.After(prompt):
			t.Fatalf("Run with a cancelled context did not return within %v", prompt)
		}
	})
}

func describe(err error) string {
	var ke *kit.Error
	if errors.As(err, &ke) {
		return fmt.Sprintf("Op %q Field %q", ke.Op, ke.Field)
	}
	return fmt.Sprintf("%T", err)
}
