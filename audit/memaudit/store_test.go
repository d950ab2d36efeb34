package memaudit_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

// TestStore runs the conformance suite. A memaudit.Store is reached by its
// own process alone, so its two handles are the same Store.
func TestStore(t *testing.T) {
	audittest.RunStoreTests(t, func(*testing.T) (s, other audit.Store) {
		s = memaudit.New()
		return s, s
	})
}

// TestAppendEdges checks what the Store contract leaves to the
// implementation, as sqlaudit does it: a nil Batch, or one without entries
// that leaves the head as it is, writes nothing and succeeds; an entry with
// a nil Body is refused with ErrInvalid; an empty non-nil Body is stored.
func TestAppendEdges(t *testing.T) {
	ctx := t.Context()
	s := memaudit.New()
	head, err := audittest.Append(ctx, s, audit.StoredEntry{Body: []byte("first")})
	if err != nil {
		t.Fatal(err)
	}
	for name, fn := range map[string]audit.AppendFunc{
		"nil batch": func(audit.Head, tlog.HashReader) (*audit.Batch, error) { return nil, nil },
		"batch without entries": func(h audit.Head, _ tlog.HashReader) (*audit.Batch, error) {
			return &audit.Batch{Size: h.Size, Root: h.Root}, nil
		},
	} {
		if err := s.Append(ctx, fn); err != nil {
			t.Errorf("Append of a %s: %v; want nil", name, err)
		}
		if h, _ := s.Head(ctx); h != head {
			t.Errorf("Append of a %s moved the head to size %d", name, h.Size)
		}
	}
	err = s.Append(ctx, func(h audit.Head, _ tlog.HashReader) (*audit.Batch, error) {
		return &audit.Batch{Size: h.Size, Root: tlog.Hash{1}}, nil
	})
	if !errors.Is(err, audit.ErrConflict) {
		t.Errorf("Append of a batch without entries that changes the root: %v; want audit.ErrConflict", err)
	}
	err = s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		return audittest.NextBatch(h, r, []audit.StoredEntry{{}})
	})
	if !errors.Is(err, audit.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
		t.Errorf("Append of an entry with a nil Body: %v; want audit.ErrInvalid and gdpr.ErrInvalid", err)
	}
	if h, _ := s.Head(ctx); h != head {
		t.Errorf("refused Appends moved the head to size %d", h.Size)
	}
	if _, err := audittest.Append(ctx, s, audit.StoredEntry{Body: []byte{}}); err != nil {
		t.Fatalf("Append of an entry with an empty Body: %v", err)
	}
	es, err := s.Entries(ctx, 1, 1)
	if err != nil || len(es) != 1 || es[0].Body == nil || len(es[0].Body) != 0 {
		t.Errorf("Entries(1, 1) = %v, %v; want the entry with an empty, non-nil Body", es, err)
	}
}

// TestAppendRefusesGaps checks a rule of audit.Batch that the Append
// contract does not list: indexes within the batch are consecutive.
func TestAppendRefusesGaps(t *testing.T) {
	ctx := t.Context()
	s := memaudit.New()
	err := s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		b, err := audittest.NextBatch(h, r, []audit.StoredEntry{{Body: []byte("a")}, {Body: []byte("b")}})
		if err == nil {
			b.Entries[1].Index = 2
		}
		return b, err
	})
	if !errors.Is(err, audit.ErrConflict) {
		t.Errorf("Append of a batch with indexes 0 and 2: %v; want audit.ErrConflict", err)
	}
	err = s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		b, err := audittest.NextBatch(h, r, []audit.StoredEntry{{Body: []byte("a")}})
		if err == nil {
			b.Size++
		}
		return b, err
	})
	if !errors.Is(err, audit.ErrConflict) {
		t.Errorf("Append of a batch of 1 entry to size 2: %v; want audit.ErrConflict", err)
	}
	if h, _ := s.Head(ctx); h.Size != 0 {
		t.Errorf("refused Appends moved the head to size %d", h.Size)
	}
}

func TestEntriesLimits(t *testing.T) {
	s := memaudit.New()
	if _, err := audittest.Append(t.Context(), s, audit.StoredEntry{Body: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Entries(t.Context(), 0, -1); !errors.Is(err, audit.ErrInvalid) {
		t.Errorf("Entries(0, -1): %v; want audit.ErrInvalid", err)
	}
	if es, err := s.Entries(t.Context(), 0, 0); err != nil || len(es) != 0 {
		t.Errorf("Entries(0, 0) = %d entries, %v; want none and nil", len(es), err)
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s := memaudit.New()
	called := false
	err := s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
		called = true
		return audittest.NextBatch(h, r, []audit.StoredEntry{{Body: []byte("a")}})
	})
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("Append with a canceled context: %v (fn called: %v); want context.Canceled, fn not called", err, called)
	}
	if _, err := s.Query(ctx, audit.StoreFilter{Limit: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Query with a canceled context: %v; want context.Canceled", err)
	}
}
