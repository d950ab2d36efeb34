package memretention_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/memretention"
)

// The store as the erasure engine's legal holds: a hold on one subject's
// invoices is in force from its placing until it is released, and the
// holds on whole categories cover every subject.
func Example() {
	ctx := context.Background()
	store := memretention.New()
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

	err := store.PlaceHold(ctx, retention.Hold{
		ID: "case-2025-017", Subject: "user-1", Categories: []string{"invoices"},
		Reason: "pending claim, Regional Court case 2 O 17/25", PlacedBy: gdpr.Staff("legal-4"), Placed: t0,
	})
	fmt.Println("placed:", err)
	err = store.PlaceHold(ctx, retention.Hold{
		ID: "audit-2025", Categories: []string{"payments"},
		Reason: "tax audit of 2024", PlacedBy: gdpr.Staff("legal-4"), Placed: t0,
		Until: t0.AddDate(0, 6, 0),
	})
	fmt.Println("placed:", err)

	holds, _ := store.Holds(ctx, "user-1", t0.Add(time.Hour))
	for _, h := range holds {
		fmt.Println("held:", h.ID, h.Categories, h.Until.Format(time.DateOnly))
	}
	holds, _ = store.Holds(ctx, "user-2", t0.Add(time.Hour))
	fmt.Println("user-2 holds:", len(holds))

	h, _ := store.ReleaseHold(ctx, "case-2025-017", t0.Add(48*time.Hour), gdpr.Staff("legal-4"))
	fmt.Println("released:", h.Released.Format(time.DateTime))
	holds, _ = store.Holds(ctx, "user-1", t0.Add(72*time.Hour))
	fmt.Println("user-1 holds after the release:", len(holds))
	// Output:
	// placed: <nil>
	// placed: <nil>
	// held: audit-2025 [payments] 2025-09-03
	// held: case-2025-017 [invoices] 0001-01-01
	// user-2 holds: 1
	// released: 2025-03-05 09:00:00
	// user-1 holds after the release: 1
}
