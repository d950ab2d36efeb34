package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

// errStore is a Store whose ReadHashes fails with err once armed, and whose
// Head runs onHead, once armed, after reading the head: a database that times out, loses its
// connection, or sees its caller's context cancelled in the middle of a
// consistency proof.
type errStore struct {
	audit.Store
	mu     sync.Mutex
	err    error
	onHead func()
}

func (s *errStore) arm(err error, onHead func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err, s.onHead = err, onHead
}

func (s *errStore) Head(ctx context.Context) (audit.Head, error) {
	s.mu.Lock()
	h := s.onHead
	s.mu.Unlock()
	head, err := s.Store.Head(ctx)
	if h != nil {
		h()
	}
	return head, err
}

func (s *errStore) ReadHashes(ctx context.Context, idx []int64) ([]tlog.Hash, error) {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return nil, &audit.Error{Op: "read hashes", Err: err}
	}
	return s.Store.ReadHashes(ctx, idx)
}

// errConnection stands for a driver's error: a timeout, a killed
// connection.
var errConnection = errors.New("errstore: connection reset by peer")

// proofLog returns a Log over an errStore holding 8 entries and a stored
// and anchored checkpoint of 5, so that New, Checkpoint and Verify all
// need a consistency proof (from 5 to 8) read from the store.
func proofLog(t *testing.T) (*fixture, *errStore) {
	t.Helper()
	ctx := t.Context()
	s := &errStore{Store: memaudit.New()}
	f := open(t, s)
	for i := range 5 {
		if err := f.log.Record(ctx, event(i, "alice")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := f.log.Record(ctx, event(5+i, "bob")); err != nil {
			t.Fatal(err)
		}
	}
	return f, s
}

// mustBeStoreError fails t unless err is the store's error, wrapped, and
// not ErrTampered: a timeout is not evidence of tampering.
func mustBeStoreError(t *testing.T, what string, err, cause error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s with a failing store: nil error", what)
	}
	if errors.Is(err, audit.ErrTampered) {
		t.Fatalf("%s with a failing store = %v; it wraps ErrTampered, but the log was not tampered with: the store failed", what, err)
	}
	if !errors.Is(err, cause) {
		t.Fatalf("%s with a failing store = %v; want it to wrap the store's error (%v)", what, err, cause)
	}
	var ae *audit.Error
	if !errors.As(err, &ae) {
		t.Fatalf("%s = %v; want an *audit.Error", what, err)
	}
}

func TestStoreErrorInProofIsNotTampering(t *testing.T) {
	signerFor := func(t *testing.T) (func() (*audit.Log, error), *fixture, *errStore) {
		f, s := proofLog(t)
		return func() (*audit.Log, error) {
			sg, v, _ := audit.NewSigner(keys.skey)
			l, err := audit.New(t.Context(), s, f.key, sg, v, audit.WithAnchor(f.anchor), audit.WithCheckpoints(0, 0))
			if err == nil {
				t.Cleanup(func() { l.Close(context.Background()) })
			}
			return l, err
		}, f, s
	}
	t.Run("New", func(t *testing.T) {
		newLog, _, s := signerFor(t)
		s.arm(fmt.Errorf("query: %w", errConnection), nil)
		_, err := newLog()
		mustBeStoreError(t, "New", err, errConnection)
	})
	t.Run("Checkpoint", func(t *testing.T) {
		_, f, s := signerFor(t)
		s.arm(errConnection, nil)
		_, err := f.log.Checkpoint(t.Context())
		mustBeStoreError(t, "Checkpoint", err, errConnection)
		s.arm(nil, nil)
		if _, err := f.log.Checkpoint(t.Context()); err != nil {
			t.Fatalf("Checkpoint once the store is back: %v", err)
		}
	})
	t.Run("Verify", func(t *testing.T) {
		_, f, s := signerFor(t)
		s.arm(errConnection, nil)
		rep, err := f.log.Verify(t.Context(), audit.VerifyOptions{})
		mustBeStoreError(t, "Verify", err, errConnection)
		if rep != nil {
			t.Fatalf("Verify with a failing store returned a report (%d problems); want none", len(rep.Problems))
		}
	})
	t.Run("Close", func(t *testing.T) {
		_, f, s := signerFor(t)
		s.arm(errConnection, nil)
		mustBeStoreError(t, "Close", f.log.Close(t.Context()), errConnection)
	})
	// A context cancelled between the head and the proof.
	t.Run("NewCancelled", func(t *testing.T) {
		_, f, s := signerFor(t)
		ctx, cancel := context.WithCancel(t.Context())
		s.arm(nil, cancel)
		sg, v, _ := audit.NewSigner(keys.skey)
		_, err := audit.New(ctx, s, f.key, sg, v, audit.WithAnchor(f.anchor), audit.WithCheckpoints(0, 0))
		mustBeStoreError(t, "New with its context cancelled during the proof", err, context.Canceled)
	})
	t.Run("CheckpointCancelled", func(t *testing.T) {
		_, f, s := signerFor(t)
		ctx, cancel := context.WithCancel(t.Context())
		s.arm(nil, cancel)
		_, err := f.log.Checkpoint(ctx)
		mustBeStoreError(t, "Checkpoint with its context cancelled during the proof", err, context.Canceled)
	})
	t.Run("CloseCancelled", func(t *testing.T) {
		_, f, s := signerFor(t)
		ctx, cancel := context.WithCancel(t.Context())
		// The first Head is Close's own check that the log grew; the
		// proof comes after the second.
		n := 0
		s.arm(nil, func() {
			if n++; n == 2 {
				cancel()
			}
		})
		mustBeStoreError(t, "Close with its context cancelled during the proof", f.log.Close(ctx), context.Canceled)
	})
	// A hash the proof needs is not stored: that is tampering (the hashes
	// under a checkpoint were deleted), not a store failure.
	t.Run("MissingHashIsTampering", func(t *testing.T) {
		newLog, f, s := signerFor(t)
		s.arm(fmt.Errorf("memaudit: %w: no hash at storage index 3", audit.ErrNotFound), nil)
		if _, err := newLog(); !errors.Is(err, audit.ErrTampered) {
			t.Fatalf("New with a hash of the proof missing = %v; want ErrTampered", err)
		}
		if _, err := f.log.Checkpoint(t.Context()); !errors.Is(err, audit.ErrTampered) {
			t.Fatalf("Checkpoint with a hash of the proof missing = %v; want ErrTampered", err)
		}
	})
}
