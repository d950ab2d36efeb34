package memerasure_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
)

// request returns an open erasure request of subject ref, as the Engine
// stores it on receipt.
func request(id, ref string, received time.Time) erasure.Request {
	return erasure.Request{
		ID: id, Kind: gdpr.KindErasure, Subject: "user-1", SubjectRef: ref, Channel: "web",
		Received: received, Deadline: gdpr.NewDeadline(received, time.UTC, nil), State: erasure.StateVerified,
		NextAt:  received,
		History: []erasure.Transition{{To: erasure.StateVerified, At: received, Actor: gdpr.SubjectActor(), Event: "submitted"}},
	}
}

// The store as a fake: a repeated request returns the open one, a worker
// leases the subject, and a second worker finds nothing to take until the
// lease is released.
func Example() {
	ctx := context.Background()
	store := memerasure.New()
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	const ref = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

	r, created, _ := store.Create(ctx, request("0195a1b2-0000-7000-8000-000000000001", ref, t0))
	fmt.Println("created:", created, "version", r.Version, "due", r.Deadline.Due.Format(time.DateOnly))
	again, created, _ := store.Create(ctx, request("0195a1b2-0000-7000-8000-000000000002", ref, t0.Add(time.Hour)))
	fmt.Println("again:", created, "the open one:", again.ID == r.ID)

	leased, _ := store.Acquire(ctx, "worker-1", t0.Add(time.Minute), time.Minute, 10)
	fmt.Println("worker-1 leased:", len(leased))
	other, _ := store.Acquire(ctx, "worker-2", t0.Add(time.Minute), time.Minute, 10)
	fmt.Println("worker-2 leased:", len(other))

	l := leased[0]
	next := l.Request
	next.State = erasure.StateInProgress
	err := store.Update(ctx, next, &l.Lease, t0.Add(90*time.Second))
	fmt.Println("update with the lease:", err)
	err = store.Update(ctx, next, &l.Lease, t0.Add(90*time.Second))
	fmt.Println("update from a stale version, conflict:", errors.Is(err, erasure.ErrConflict))

	_ = store.Release(ctx, l.Lease)
	other, _ = store.Acquire(ctx, "worker-2", t0.Add(2*time.Minute), time.Minute, 10)
	fmt.Println("worker-2 after release:", len(other), other[0].Request.State, "version", other[0].Request.Version)
	// Output:
	// created: true version 1 due 2025-04-04
	// again: false the open one: true
	// worker-1 leased: 1
	// worker-2 leased: 0
	// update with the lease: <nil>
	// update from a stale version, conflict: true
	// worker-2 after release: 1 in_progress version 2
}

// A verification code: attempts are counted, reminders go out once.
func ExampleCodeStore() {
	ctx := context.Background()
	codes := memerasure.NewCodeStore()
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	const id = "0195a1b2-0000-7000-8000-000000000001"

	_ = codes.PutCode(ctx, erasure.Code{Request: id, Hash: make([]byte, 32), Created: t0, Expires: t0.Add(24 * time.Hour)})
	c, _ := codes.Attempt(ctx, id)
	c, _ = codes.Attempt(ctx, id)
	fmt.Println("attempts:", c.Attempts)

	due, _ := codes.DueReminders(ctx, t0.Add(time.Hour), 10)
	fmt.Println("reminders due:", len(due))
	_ = codes.MarkReminded(ctx, id, t0.Add(time.Hour))
	due, _ = codes.DueReminders(ctx, t0.Add(2*time.Hour), 10)
	fmt.Println("after the reminder:", len(due))

	_ = codes.DeleteCode(ctx, id)
	_, err := codes.Attempt(ctx, id)
	fmt.Println("after delete, not found:", errors.Is(err, erasure.ErrNotFound))
	// Output:
	// attempts: 2
	// reminders due: 1
	// after the reminder: 0
	// after delete, not found: true
}

// The journal: one entry per erasure, found again by the subject's keyed
// reference, for Engine.Replay after a backup restore.
func ExampleJournal() {
	ctx := context.Background()
	j := memerasure.NewJournal()
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	const ref = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

	e := erasure.JournalEntry{RequestID: "0195a1b2-0000-7000-8000-000000000001", SubjectRef: ref, Completed: t0, Targets: []string{"consent", "keys"}}
	_ = j.Append(ctx, e)
	_ = j.Append(ctx, e) // a retry after a crash changes nothing

	es, _ := j.Match(ctx, []string{ref, "unknown"})
	fmt.Println(len(es), es[0].Completed.Format(time.RFC3339), es[0].Targets)
	// Output:
	// 1 2025-03-03T09:00:00Z [consent keys]
}
