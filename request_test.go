package gdpr_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
)

func TestRequestKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range gdpr.RequestKinds() {
		if err := k.Validate(); err != nil || k.Article() == "" || seen[k.Article()] {
			t.Errorf("%s: %v, article %q", k, err, k.Article())
		}
		seen[k.Article()] = true
	}
	if len(seen) != 7 {
		t.Errorf("%d kinds, want 7", len(seen))
	}
	if err := gdpr.RequestKind("forget").Validate(); !errors.Is(err, gdpr.ErrInvalid) {
		t.Errorf("unknown kind: %v", err)
	}
	if gdpr.KindErasure.Article() != "Art. 17" || gdpr.KindLiftRestriction.Article() != "Art. 18(3)" {
		t.Error("articles")
	}
}

func TestHoldCovers(t *testing.T) {
	all := gdpr.Hold{ID: "h"}
	inv := gdpr.Hold{ID: "h", Categories: []string{"invoices"}}
	for _, c := range []struct {
		h    gdpr.Hold
		cats []string
		want bool
	}{
		{all, []string{"profile"}, true},
		{all, nil, true},
		{inv, nil, true}, // a component that does not say what it holds is covered
		{inv, []string{"profile"}, false},
		{inv, []string{"profile", "invoices"}, true},
	} {
		if got := c.h.Covers(c.cats); got != c.want {
			t.Errorf("%v covers %v = %v, want %v", c.h.Categories, c.cats, got, c.want)
		}
	}
}

func TestDeadlineExtendBy(t *testing.T) {
	d := gdpr.NewDeadline(time.Date(2025, 1, 31, 10, 0, 0, 0, time.UTC), time.UTC, nil)
	one, err := d.ExtendBy(1, "complex")
	if err != nil || one.LastDay.Format("2006-01-02") != "2025-03-28" {
		t.Errorf("ExtendBy(1): %v %v", one.LastDay, err)
	}
	two, err := d.ExtendBy(2, "complex")
	if err != nil || two.LastDay.Format("2006-01-02") != "2025-04-28" {
		t.Errorf("ExtendBy(2): %v %v", two.LastDay, err)
	}
	for _, m := range []int{0, 3, -1} {
		if got, err := d.ExtendBy(m, "complex"); !errors.Is(err, gdpr.ErrInvalid) || got != d {
			t.Errorf("ExtendBy(%d): %v", m, err)
		}
	}
	if _, err := one.ExtendBy(1, "again"); !errors.Is(err, gdpr.ErrInvalid) {
		t.Errorf("a second extension: %v", err)
	}
}
