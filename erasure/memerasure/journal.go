package memerasure

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/gdprkit/gdpr/erasure"
)

// Journal is an in-memory erasure.Journal. The zero value is not usable;
// call NewJournal. It is safe for concurrent use by many goroutines.
//
// Being in memory, it is lost with the process, and so with the main data
// it is meant to outlive: it is for tests. A host keeps its journal apart
// from the main data (erasure.FileJournal, sqlerasure.Journal on another
// database).
type Journal struct {
	mu      sync.Mutex
	entries map[string]erasure.JournalEntry // by RequestID
	byRef   map[string][]string             // RequestIDs by SubjectRef
}

var _ erasure.Journal = (*Journal)(nil)

// NewJournal returns an empty Journal.
func NewJournal() *Journal {
	return &Journal{entries: make(map[string]erasure.JournalEntry), byRef: make(map[string][]string)}
}

// Format implements fmt.Formatter: every verb prints "memerasure.Journal"
// (%#v "&memerasure.Journal{…}").
func (j *Journal) Format(f fmt.State, verb rune) { format(f, verb, "Journal") }

// GoString returns "&memerasure.Journal{…}", for %#v.
func (j *Journal) GoString() string { return "&memerasure.Journal{…}" }

// Append implements erasure.Journal: the first entry appended for a
// RequestID is kept, whatever a later one holds. An empty RequestID is an
// error wrapping erasure.ErrInvalid.
func (j *Journal) Append(ctx context.Context, e erasure.JournalEntry) error {
	const op = "append"
	if err := check(op, ctx); err != nil {
		return err
	}
	if e.RequestID == "" {
		return fieldErr(op, "request", erasure.ErrInvalid, "empty request ID")
	}
	e.Completed = norm(e.Completed)
	e.Targets = slices.Clone(e.Targets)
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.entries[e.RequestID]; ok {
		return nil
	}
	j.entries[e.RequestID] = e
	j.byRef[e.SubjectRef] = append(j.byRef[e.SubjectRef], e.RequestID)
	return nil
}

// Match implements erasure.Journal. A ref given twice matches once.
func (j *Journal) Match(ctx context.Context, refs []string) ([]erasure.JournalEntry, error) {
	const op = "match"
	if err := check(op, ctx); err != nil {
		return nil, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []erasure.JournalEntry
	seen := make(map[string]bool, len(refs))
	for _, ref := range refs {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		for _, id := range j.byRef[ref] {
			e := j.entries[id]
			e.Targets = slices.Clone(e.Targets)
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b erasure.JournalEntry) int {
		return cmp.Or(a.Completed.Compare(b.Completed), cmp.Compare(a.RequestID, b.RequestID))
	})
	return out, nil
}
