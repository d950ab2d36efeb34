package memaudit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

// A trail of three entries, queried by subject pseudonym, then one entry
// redacted: it keeps its place in the log, and the head does not change.
func Example() {
	ctx := context.Background()
	store := memaudit.New()
	alice, bob := []byte("pseudonym of alice"), []byte("pseudonym of bob")
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

	head, _ := audittest.Append(ctx, store,
		audit.StoredEntry{Time: t0, Subject: alice, Actor: []byte("system:signup"), Body: []byte(`{"action":"create"}`)},
		audit.StoredEntry{Time: t0.Add(time.Minute), Subject: bob, Actor: []byte("system:signup"), Body: []byte(`{"action":"create"}`)},
		audit.StoredEntry{Time: t0.Add(time.Hour), Subject: alice, Actor: []byte("system:mailer"), Body: []byte(`{"action":"read"}`)},
	)
	fmt.Println("size:", head.Size)

	es, _ := store.Query(ctx, audit.StoreFilter{Subject: alice, Limit: 10})
	for _, e := range es {
		fmt.Printf("alice: entry %d by %s\n", e.Index, e.Actor)
	}

	_ = store.Redact(ctx, 0)
	es, _ = store.Entries(ctx, 0, 10)
	fmt.Println("entry 0 redacted:", es[0].Redacted(), "entries:", len(es))
	after, _ := store.Head(ctx)
	fmt.Println("head unchanged:", after == head)
	// Output:
	// size: 3
	// alice: entry 0 by system:signup
	// alice: entry 2 by system:mailer
	// entry 0 redacted: true entries: 3
	// head unchanged: true
}
