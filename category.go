package gdpr

import "fmt"

// Category is a category of personal data ("contact details", "order
// history", "health records"), as the Register declares it (Art. 30(1)(c))
// and as the access right must name it (Art. 15(1)(b)).
type Category struct {
	// ID is the stable key, e.g. "contact".
	ID string `json:"id"`
	// Description says in plain words what the category holds.
	Description string `json:"description,omitempty"`
	// Special is the special category of Art. 9(1) (or criminal data of
	// Art. 10) the data belongs to; empty for ordinary personal data.
	Special SpecialCategory `json:"special,omitempty"`
}

// IsSpecial reports whether the category is one of the special categories of
// Art. 9(1) or criminal-offence data of Art. 10, which need a further
// ground to be processed: a condition of Art. 9(2) for the former
// (Activity.SpecialCondition), official authority or an authorising law
// for the latter (Activity.CriminalDataAuthority).
func (c Category) IsSpecial() bool { return c.Special != "" }

// SpecialCategory names a special category of personal data of Art. 9(1), or
// criminal-offence data of Art. 10.
type SpecialCategory string

// The special categories.
const (
	RacialOrEthnicOrigin    SpecialCategory = "racial_or_ethnic_origin"
	PoliticalOpinions       SpecialCategory = "political_opinions"
	ReligiousBeliefs        SpecialCategory = "religious_or_philosophical_beliefs"
	TradeUnionMembership    SpecialCategory = "trade_union_membership"
	GeneticData             SpecialCategory = "genetic"
	BiometricIdentification SpecialCategory = "biometric_for_identification"
	HealthData              SpecialCategory = "health"
	SexLifeOrOrientation    SpecialCategory = "sex_life_or_sexual_orientation"
	// CriminalOffences is data on criminal convictions and offences or
	// related security measures (Art. 10). It is not an Art. 9(1) category
	// and no condition of Art. 9(2) applies to it: it may be processed only
	// under the control of official authority or when authorised by Union
	// or Member State law providing appropriate safeguards, which
	// Activity.CriminalDataAuthority names.
	CriminalOffences SpecialCategory = "criminal_offences"
)

// SpecialCategories lists the special categories in the order of Art. 9(1),
// followed by Art. 10.
func SpecialCategories() []SpecialCategory {
	return []SpecialCategory{RacialOrEthnicOrigin, PoliticalOpinions, ReligiousBeliefs,
		TradeUnionMembership, GeneticData, BiometricIdentification, HealthData,
		SexLifeOrOrientation, CriminalOffences}
}

// Valid reports whether s is empty or one of the defined special categories.
func (s SpecialCategory) Valid() bool {
	if s == "" {
		return true
	}
	for _, v := range SpecialCategories() {
		if v == s {
			return true
		}
	}
	return false
}

// Validate checks the ID and the special category; the error wraps ErrInvalid.
func (c Category) Validate() error {
	if err := validateID("category", c.ID); err != nil {
		return err
	}
	if !c.Special.Valid() {
		return fmt.Errorf("%w: unknown special category %s", ErrInvalid, showKey(string(c.Special)))
	}
	return nil
}
