package gdpr

import (
	"errors"
	"strings"
	"testing"
)

func TestCategoryValidate(t *testing.T) {
	for _, c := range []Category{
		{ID: "contact"},
		{ID: "health", Description: "sick notes", Special: HealthData},
		{ID: "convictions", Special: CriminalOffences},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", c, err)
		}
	}
	for _, c := range []Category{
		{},
		{ID: "a\x00"},
		{ID: strings.Repeat("c", MaxIDLen+1)},
		{ID: "x", Special: "gossip"},
		{ID: "x", Special: "Health"},
	} {
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", c, err)
		}
	}
}

func TestSpecialCategory(t *testing.T) {
	all := SpecialCategories()
	if len(all) != 9 || all[len(all)-1] != CriminalOffences {
		t.Errorf("SpecialCategories() = %v: want the 8 of Art. 9(1), then Art. 10", all)
	}
	seen := map[SpecialCategory]bool{}
	for _, s := range all {
		if !s.Valid() || s == "" || seen[s] {
			t.Errorf("special category %q: Valid %v, duplicate %v", s, s.Valid(), seen[s])
		}
		seen[s] = true
		if !(Category{ID: "x", Special: s}).IsSpecial() {
			t.Errorf("Category with %q is not IsSpecial", s)
		}
	}
	if !SpecialCategory("").Valid() || (Category{ID: "x"}).IsSpecial() {
		t.Errorf("the empty special category is valid and not special")
	}
	for _, s := range []SpecialCategory{"gossip", "HEALTH", " health", "criminal"} {
		if s.Valid() {
			t.Errorf("%q is Valid", s)
		}
	}
}
