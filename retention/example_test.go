package retention_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/memretention"
)

// A sweep deletes the login records older than their six months, except
// those of a subject under a legal hold.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 9, 1, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	// The host's table of login records; memretention.Table stands in
	// for it here (sqlretention.Deleter sweeps a SQL table).
	logins := memretention.NewTable(retention.FromCollection)
	logins.Put(
		memretention.Row{Key: "1", Subject: "user-1", Time: time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)},
		memretention.Row{Key: "2", Subject: "user-2", Time: time.Date(2026, 2, 28, 20, 0, 0, 0, time.UTC)},
		memretention.Row{Key: "3", Subject: "user-1", Time: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)},
		memretention.Row{Key: "4", Subject: "user-3", Time: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)},
	)
	store := memretention.New() // holds, the lease, checkpoints: sqlretention.Store in production
	holds, _ := retention.NewHolds(store, retention.WithClock(clock))
	holds.Place(ctx, retention.Hold{ID: "case-17", Subject: "user-3", Reason: "claim pending",
		PlacedBy: gdpr.Staff("legal-1")})

	sweeper, err := retention.NewSweeper(store,
		retention.WithPolicies(retention.Policy{Category: "logins", Period: gdpr.Period{Months: 6}}),
		retention.WithTargets(retention.Target{Name: "login_log", Category: "logins", Deleter: logins}),
		retention.WithClock(clock))
	if err != nil {
		panic(err)
	}
	report, err := sweeper.Sweep(ctx)
	if err != nil {
		panic(err)
	}
	for _, t := range report.Targets {
		fmt.Printf("%s: records before %s: %d deleted, %d held\n", t.Target, t.Cutoff.Format(time.DateOnly), t.Acted, t.HeldRecords)
	}
	for _, r := range logins.Rows() {
		fmt.Println("kept", r.Key, r.Time.Format(time.DateOnly))
	}
	// Output:
	// login_log: records before 2026-03-01: 2 deleted, 1 held
	// kept 3 2026-03-01
	// kept 4 2026-01-05
}

// Periods are counted as the GDPR's are (Regulation 1182/71): the day of
// collection does not count, and a month ends on the same date, or on
// the last day of a shorter month.
func ExamplePolicy_Expiry() {
	p := retention.Policy{Category: "logins", Period: gdpr.Period{Months: 1}}
	for _, collected := range []time.Time{
		time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC),
	} {
		fmt.Println(collected.Format("2 Jan"), "→ kept through", p.Expiry(collected).AddDate(0, 0, -1).Format("2 Jan"))
	}
	y := retention.Policy{Category: "orders", Period: gdpr.Period{Years: 1}}
	fmt.Println("29 Feb 2024 → expires", y.Expiry(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)).Format("2 Jan 2006"))
	// Output:
	// 15 Jan → kept through 15 Feb
	// 31 Jan → kept through 28 Feb
	// 29 Feb 2024 → expires 1 Mar 2025
}

// Policies come from the Register's retention periods; code gives the
// ones the Register only describes.
func ExamplePolicies() {
	reg := &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{
			ID: "shop", Name: "Orders", Purpose: "orders", Basis: gdpr.Contract, SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "orders"}, {ID: "accounts"}},
			Retention:      gdpr.RetentionRule{Description: "until the account is closed, invoices ten years"},
		}},
	}
	if _, err := retention.Policies(reg); err != nil {
		fmt.Println(err)
	}
	ps, _ := retention.Policies(reg,
		retention.Policy{Category: "orders", Period: gdpr.Period{Years: 10}, Reason: "§ 147 AO"},
		retention.Policy{Category: "accounts", Period: gdpr.Period{Days: 30}, From: retention.FromRelationshipEnd})
	for _, p := range ps {
		fmt.Println(p.Category, p.Period, "from", p.From, p.Action)
	}
	// Output:
	// retention: policies: no retention policy for the data category: the register gives category "accounts" no period in some activity; a policy must
	// accounts P30D from relationship_end delete
	// orders P10Y from collection delete
}

// Notices finds the subjects whose data expire soon, to warn them first.
func ExampleSweeper_Notices() {
	ctx := context.Background()
	now := time.Date(2026, 9, 1, 3, 0, 0, 0, time.UTC)
	accounts := memretention.NewTable(retention.FromLastActivity)
	accounts.Put(
		memretention.Row{Key: "a", Subject: "user-1", Time: time.Date(2025, 9, 5, 8, 0, 0, 0, time.UTC)},
		memretention.Row{Key: "b", Subject: "user-2", Time: time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)},
	)
	sweeper, _ := retention.NewSweeper(memretention.New(),
		retention.WithPolicies(retention.Policy{Category: "accounts", Period: gdpr.Period{Years: 1}, From: retention.FromLastActivity}),
		retention.WithTargets(retention.Target{Name: "accounts", Category: "accounts", Deleter: accounts}),
		retention.WithClock(func() time.Time { return now }))
	for n, err := range sweeper.Notices(ctx, 14*24*time.Hour) {
		if err != nil {
			panic(err)
		}
		fmt.Println(string(n.Subject), "deleted from", n.Expires.Format(time.DateOnly), "unless active")
	}
	// Output:
	// user-1 deleted from 2026-09-06 unless active
}
