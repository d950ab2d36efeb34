package sqlaudit_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// afterHead is a Store that runs a hook once, right after a Head: the
// point where New and Checkpoint go on to read a consistency proof.
type afterHead struct {
	audit.Store
	mu   sync.Mutex
	hook func()
}

func (s *afterHead) Head(ctx context.Context) (audit.Head, error) {
	h, err := s.Store.Head(ctx)
	s.mu.Lock()
	f := s.hook
	s.hook = nil
	s.mu.Unlock()
	if f != nil {
		f()
	}
	return h, err
}

// TestStoreFailureDuringProofIsNotTampering fails the database in the
// middle of the consistency proofs of New and Checkpoint — a cancelled
// context, a connection pool closed under the Log — and checks that the
// error is the database's, never ErrTampered: a timeout is not evidence.
func TestStoreFailureDuringProofIsNotTampering(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		keys := newLogKeys(t)
		l := keys.open(t, newStore(t, d, db), audit.WithCheckpoints(0, 0))
		ev := gdpr.Event{Actor: gdpr.System("worker"), Action: "crypto.decrypt", Subject: "alice", Outcome: gdpr.Success}
		for range 5 {
			if err := l.Record(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := l.Record(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		// The checkpoint of 5 is stored and anchored; the head is 8.
		notTampered := func(what string, err error) {
			t.Helper()
			if err == nil {
				t.Fatalf("%s: nil error; want the database's", what)
			}
			if errors.Is(err, audit.ErrTampered) {
				t.Fatalf("%s = %v; it wraps ErrTampered, but the database failed, the log is intact", what, err)
			}
		}
		open := func(ctx context.Context, s audit.Store) error {
			signer, verifier, _ := audit.NewSigner(keys.skey)
			l2, err := audit.New(ctx, s, keys.key, signer, verifier, audit.WithAnchor(keys.anchor), audit.WithCheckpoints(0, 0))
			if err == nil {
				l2.Close(context.Background())
			}
			return err
		}

		cctx, cancel := context.WithCancel(ctx)
		notTampered("New with its context cancelled during the proof", open(cctx, &afterHead{Store: newStore(t, d, db), hook: cancel}))

		pool := testdb.Reopen(t, d, db)
		s, err := sqlaudit.New(pool, d)
		if err != nil {
			t.Fatal(err)
		}
		notTampered("New with its connection pool closed during the proof", open(ctx, &afterHead{Store: s, hook: func() { pool.Close() }}))

		cs := &afterHead{Store: newStore(t, d, db)}
		l3 := keys.open(t, cs, audit.WithCheckpoints(0, 0))
		cctx, cancel = context.WithCancel(ctx)
		cs.mu.Lock()
		cs.hook = cancel
		cs.mu.Unlock()
		_, err = l3.Checkpoint(cctx)
		notTampered("Checkpoint with its context cancelled during the proof", err)
		if _, err := l3.Checkpoint(ctx); err != nil {
			t.Fatalf("Checkpoint with a live context afterwards: %v", err)
		}
		if err := open(ctx, newStore(t, d, db)); err != nil {
			t.Fatalf("New with a live database afterwards: %v", err)
		}
	})
}
