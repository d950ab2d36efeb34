package retention

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func period(t *testing.T, s string) gdpr.Period {
	t.Helper()
	p, err := gdpr.ParsePeriod(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExpiry pins the count of Regulation 1182/71 at month ends and leap
// years: the day of the event does not count, and a period of months
// ends on the last day of a month that lacks the date.
func TestExpiry(t *testing.T) {
	for _, c := range []struct {
		period string
		start  time.Time
		want   time.Time
	}{
		{"P1M", time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC), day(2025, 2, 16)},
		{"P1M", time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC), day(2025, 2, 16)},
		{"P1M", time.Date(2025, 1, 15, 23, 59, 59, 999999999, time.UTC), day(2025, 2, 16)},
		{"P1M", day(2025, 1, 31), day(2025, 3, 1)},  // 28 February is the last day
		{"P1M", day(2024, 1, 31), day(2024, 3, 1)},  // 29 February in a leap year
		{"P1M", day(2024, 1, 29), day(2024, 3, 1)},  // 29 February exists
		{"P1M", day(2025, 1, 28), day(2025, 3, 1)},  // 28 February, the same date
		{"P1M", day(2025, 1, 27), day(2025, 2, 28)}, // 27 February
		{"P1M", day(2025, 3, 31), day(2025, 5, 1)},  // 30 April
		{"P1Y", day(2024, 2, 29), day(2025, 3, 1)},  // 28 February 2025
		{"P4Y", day(2024, 2, 29), day(2028, 3, 1)},  // 29 February 2028
		{"P1Y", day(2023, 2, 28), day(2024, 2, 29)}, // 28 February 2024, a leap year
		{"P2M", day(2024, 12, 31), day(2025, 3, 1)},
		{"P1Y6M", day(2024, 8, 31), day(2026, 3, 1)},
		{"P1D", day(2025, 1, 15), day(2025, 1, 17)},
		{"P1D", day(2025, 12, 31), day(2026, 1, 2)},
		{"P1W", day(2025, 1, 15), day(2025, 1, 23)},
		{"P30D", day(2024, 2, 1), day(2024, 3, 3)},
		{"P10Y", day(2016, 12, 31), day(2027, 1, 1)},
	} {
		p := Policy{Category: "c", Period: period(t, c.period)}
		if got := p.Expiry(c.start); !got.Equal(c.want) {
			t.Errorf("%s from %s: expires %s, want %s", c.period, c.start.Format(time.RFC3339Nano), got.Format(time.RFC3339), c.want.Format(time.RFC3339))
		}
	}
}

// TestExpiryLocation counts days in the start's location, across a
// change to summer time.
func TestExpiryLocation(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal("no time zone database:", err)
	}
	p := Policy{Category: "c", Period: period(t, "P1D")}
	// 30 March 2025 is 23 hours long in Berlin.
	start := time.Date(2025, 3, 29, 23, 30, 0, 0, berlin) // 22:30 UTC
	want := time.Date(2025, 3, 31, 0, 0, 0, 0, berlin)
	if got := p.Expiry(start); !got.Equal(want) {
		t.Errorf("P1D from %s: %s, want %s", start, got, want)
	}
	// The same instant in UTC is still 29 March.
	if got := p.Expiry(start.UTC()); !got.Equal(day(2025, 3, 31)) {
		t.Errorf("P1D from %s: %s, want 2025-03-31T00:00Z", start.UTC(), got)
	}
}

// TestCutoffMatchesExpiry checks the promise of Cutoff against Expiry at
// random instants across month ends and leap years: a record has
// expired at now exactly when its start is before Cutoff(now).
func TestCutoffMatchesExpiry(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	periods := []string{"P1D", "P7D", "P1W", "P30D", "P1M", "P2M", "P3M", "P6M", "P1Y", "P1Y1M1D", "P2Y", "P4Y", "P10Y", "P1M1W", "P11M30D"}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	base := day(2023, 1, 1).Unix()
	span := day(2035, 1, 1).Unix() - base
	for _, s := range periods {
		p := Policy{Category: "c", Period: period(t, s)}
		for i := 0; i < 3000; i++ {
			loc := time.UTC
			if i%2 == 1 {
				loc = berlin
			}
			now := time.Unix(base+r.Int64N(span), r.Int64N(1e9)).In(loc)
			c := p.Cutoff(now)
			if h, m, sec := c.Clock(); h != 0 || m != 0 || sec != 0 || c.Nanosecond() != 0 || c.Location() != loc {
				t.Fatalf("%s: Cutoff(%s) = %s, not midnight in %s", s, now, c, loc)
			}
			if c.After(now) {
				t.Fatalf("%s: Cutoff(%s) = %s is after now", s, now, c)
			}
			// Around the cut-off, and at random earlier starts.
			starts := []time.Time{c, c.Add(-time.Nanosecond), c.Add(time.Hour), c.Add(-time.Hour), c.AddDate(0, 0, 1), c.AddDate(0, 0, -1), c.AddDate(0, 0, -3), c.AddDate(0, 0, 3),
				time.Unix(base+r.Int64N(span), 0).In(loc)}
			for _, st := range starts {
				expired := !p.Expiry(st).After(now)
				if expired != st.Before(c) {
					t.Fatalf("%s at %s: start %s expires %s (expired %v), cut-off %s", s, now, st, p.Expiry(st), expired, c)
				}
			}
		}
	}
}

// TestCutoffMonthEnds pins cut-offs on the days where months clamp.
func TestCutoffMonthEnds(t *testing.T) {
	for _, c := range []struct {
		period string
		now    time.Time
		want   time.Time
	}{
		// On 1 March 2025 the records of 31 January (and of 28, 29, 30
		// January) with P1M have expired: their period ended on 28 February.
		{"P1M", day(2025, 3, 1), day(2025, 2, 1)},
		{"P1M", time.Date(2025, 2, 28, 23, 59, 59, 0, time.UTC), day(2025, 1, 28)},
		{"P1M", day(2024, 3, 1), day(2024, 2, 1)},
		{"P1M", day(2024, 2, 29), day(2024, 1, 29)},
		{"P1Y", day(2025, 3, 1), day(2024, 3, 1)}, // 29 February 2024 expired on 1 March 2025
		{"P1Y", day(2025, 2, 28), day(2024, 2, 28)},
		{"P1Y", day(2028, 3, 1), day(2027, 3, 1)},
		{"P1D", day(2025, 1, 17), day(2025, 1, 16)},
		{"P1M", day(2025, 5, 1), day(2025, 4, 1)}, // 31 March expired at the end of 30 April
	} {
		p := Policy{Category: "c", Period: period(t, c.period)}
		if got := p.Cutoff(c.now); !got.Equal(c.want) {
			t.Errorf("%s at %s: cut-off %s, want %s", c.period, c.now, got.Format(time.DateOnly), c.want.Format(time.DateOnly))
		}
	}
}

// TestCutoffLongest runs Cutoff on the longest period allowed.
func TestCutoffLongest(t *testing.T) {
	p := Policy{Category: "c", Period: gdpr.Period{Years: gdpr.MaxPeriodYears}}
	now := day(2026, 12, 2)
	c := p.Cutoff(now)
	if y := c.Year(); y != 2026-gdpr.MaxPeriodYears {
		t.Errorf("cut-off year %d, want %d", y, 2026-gdpr.MaxPeriodYears)
	}
}

func TestPolicyValidate(t *testing.T) {
	ok := Policy{Category: "orders", Period: gdpr.Period{Years: 10}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		p     Policy
		field string
	}{
		{"no category", Policy{Period: gdpr.Period{Years: 1}}, "category"},
		{"control character", Policy{Category: "a\nb", Period: gdpr.Period{Years: 1}}, "category"},
		{"zero period", Policy{Category: "c"}, "period"},
		{"negative period", Policy{Category: "c", Period: gdpr.Period{Months: -1}}, "period"},
		{"negative days", Policy{Category: "c", Period: gdpr.Period{Years: 1, Days: -400}}, "period"},
		{"too long", Policy{Category: "c", Period: gdpr.Period{Years: gdpr.MaxPeriodYears + 1}}, "period"},
		{"unknown start", Policy{Category: "c", Period: gdpr.Period{Days: 1}, From: "birth"}, "from"},
		{"unknown action", Policy{Category: "c", Period: gdpr.Period{Days: 1}, Action: "archive"}, "action"},
		{"anonymise without strategy", Policy{Category: "c", Period: gdpr.Period{Days: 1}, Action: Anonymise}, "strategy"},
		{"strategy for delete", Policy{Category: "c", Period: gdpr.Period{Days: 1}, Strategy: "mask"}, "strategy"},
		{"long reason", Policy{Category: "c", Period: gdpr.Period{Days: 1}, Reason: string(make([]byte, MaxTextLen+1))}, "reason"},
	} {
		err := c.p.Validate()
		var re *Error
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) || !errors.As(err, &re) || re.Field != c.field {
			t.Errorf("%s: %v, want ErrInvalid at %q", c.name, err, c.field)
		}
	}
}

func testRegister() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{
			ID: "orders", Name: "Orders", Purpose: "orders", Basis: gdpr.Contract, SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "contact"}, {ID: "orders"}},
			Retention:      gdpr.RetentionRule{Period: gdpr.Period{Years: 3}},
		}, {
			ID: "invoices", Name: "Invoices", Purpose: "invoices", Basis: gdpr.LegalObligation, SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "orders"}, {ID: "invoices"}},
			Retention:      gdpr.RetentionRule{Period: gdpr.Period{Years: 10}, Description: "§ 147 AO"},
		}, {
			ID: "account", Name: "Account", Purpose: "account", Basis: gdpr.Contract, SubjectCategories: []string{"users"},
			DataCategories: []gdpr.Category{{ID: "contact"}, {ID: "logins"}},
			Retention:      gdpr.RetentionRule{Period: gdpr.Period{Months: 6}},
		}},
	}
}

func TestPolicies(t *testing.T) {
	reg := testRegister()
	got, err := Policies(reg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]gdpr.Period{"contact": {Years: 3}, "invoices": {Years: 10}, "logins": {Months: 6}, "orders": {Years: 10}}
	if len(got) != len(want) {
		t.Fatalf("%d policies, want %d: %+v", len(got), len(want), got)
	}
	for i, p := range got {
		if i > 0 && got[i-1].Category >= p.Category {
			t.Errorf("not sorted by category: %+v", got)
		}
		if p.Period != want[p.Category] || p.From != FromCollection || p.Action != Delete {
			t.Errorf("%s: %+v, want %v from collection, deleted (the longest of its activities)", p.Category, p, want[p.Category])
		}
	}
	// Code replaces the register.
	got, err = Policies(reg, Policy{Category: "logins", Period: gdpr.Period{Days: 90}, From: FromLastActivity})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if p.Category == "logins" && (p.Period != gdpr.Period{Days: 90} || p.From != FromLastActivity) {
			t.Errorf("the policy of code did not replace the register's: %+v", p)
		}
	}
}

func TestPoliciesErrors(t *testing.T) {
	reg := testRegister()
	described := testRegister()
	described.Activities[2].Retention = gdpr.RetentionRule{Description: "until the account is closed"}
	for _, c := range []struct {
		name string
		reg  *gdpr.Register
		code []Policy
		want error
	}{
		{"unknown category", reg, []Policy{{Category: "health", Period: gdpr.Period{Years: 1}}}, ErrUnknownCategory},
		{"twice", nil, []Policy{{Category: "a", Period: gdpr.Period{Years: 1}}, {Category: "a", Period: gdpr.Period{Years: 2}}}, ErrInvalid},
		{"zero period", nil, []Policy{{Category: "a"}}, ErrInvalid},
		// logins is kept only by the account activity, whose rule has
		// no period: code must give one. contact has one from orders.
		{"register without a period", described, nil, ErrNoPolicy},
	} {
		got, err := Policies(c.reg, c.code...)
		if !errors.Is(err, c.want) || !errors.Is(err, gdpr.ErrInvalid) || got != nil {
			t.Errorf("%s: %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	// contact has P3Y from orders too, but the account activity keeps
	// it "until the account is closed": code must say when.
	if _, err := Policies(described, Policy{Category: "logins", Period: gdpr.Period{Months: 6}, From: FromRelationshipEnd}); !errors.Is(err, ErrNoPolicy) {
		t.Errorf("a category one activity keeps by a Description alone, though another gives a period: %v, want ErrNoPolicy", err)
	}
	if _, err := Policies(described, Policy{Category: "logins", Period: gdpr.Period{Months: 6}, From: FromRelationshipEnd},
		Policy{Category: "contact", Period: gdpr.Period{Days: 30}, From: FromRelationshipEnd}); err != nil {
		t.Errorf("policies of code for the categories the register gives no period: %v", err)
	}
}
