package audit_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

func TestFileAnchor(t *testing.T) {
	ctx := t.Context()
	a := &audit.FileAnchor{Dir: t.TempDir(), Keep: 3}
	if _, err := a.Latest(ctx); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("Latest of an empty anchor = %v, want ErrNotFound", err)
	}
	if err := a.Publish(ctx, audit.Checkpoint{Size: 1}); !errors.Is(err, audit.ErrInvalid) {
		t.Fatalf("Publish(unsigned) = %v, want ErrInvalid", err)
	}
	// Many publishers at once, out of order: the latest is the largest,
	// a size published twice keeps its first note, and Keep prunes.
	var wg sync.WaitGroup
	for _, size := range []int64{5, 12, 3, 12, 9, 10, 1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			note := []byte("note " + string(rune('a'+size)))
			if err := a.Publish(ctx, audit.Checkpoint{Size: size, Note: note}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b, err := a.Latest(ctx)
	if err != nil || string(b) != "note "+string(rune('a'+12)) {
		t.Fatalf("Latest = %q, %v", b, err)
	}
	ents, _ := os.ReadDir(a.Dir)
	if len(ents) != 3 {
		t.Fatalf("%d files kept, want 3", len(ents))
	}
}

func TestVerifyReportsProgress(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	var evs []gdpr.Event
	for i := range 50 {
		evs = append(evs, event(i, "alice"))
	}
	f.log.Append(ctx, evs...)
	var calls [][2]int64
	rep, err := f.log.Verify(ctx, audit.VerifyOptions{PageSize: 16, Progress: func(done, total int64) {
		calls = append(calls, [2]int64{done, total})
	}})
	if err != nil || rep.Entries != 50 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	want := [][2]int64{{16, 50}, {32, 50}, {48, 50}, {50, 50}}
	if len(calls) != len(want) {
		t.Fatalf("progress calls %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Fatalf("progress calls %v, want %v", calls, want)
		}
	}
	// Cancelled: an error, no report.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.log.Verify(cctx, audit.VerifyOptions{}); err == nil {
		t.Fatal("Verify with a cancelled context succeeded")
	}
}
