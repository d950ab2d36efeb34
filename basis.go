package gdpr

import "fmt"

// LawfulBasis is a legal ground for processing: one of the six of
// Art. 6(1)(a)–(f), or explicit consent, the condition of Art. 9(2)(a) under
// which special categories of data may be processed (it implies Art. 6(1)(a)).
//
// The zero value is not a basis; Valid reports false for it. In JSON a basis
// is its short name ("consent", "legitimate_interests", …).
type LawfulBasis uint8

// The lawful bases.
const (
	// Consent: Art. 6(1)(a), the subject has given consent for one or more
	// specific purposes.
	Consent LawfulBasis = iota + 1
	// Contract: Art. 6(1)(b), necessary for a contract with the subject or
	// steps at their request before entering into one.
	Contract
	// LegalObligation: Art. 6(1)(c), necessary for compliance with a legal
	// obligation of the controller.
	LegalObligation
	// VitalInterests: Art. 6(1)(d), necessary to protect the vital interests
	// of the subject or of another natural person.
	VitalInterests
	// PublicTask: Art. 6(1)(e), necessary for a task in the public interest
	// or in the exercise of official authority.
	PublicTask
	// LegitimateInterests: Art. 6(1)(f), necessary for the legitimate
	// interests of the controller or a third party, balanced against the
	// subject's interests; a legitimate-interest assessment should be on file.
	LegitimateInterests
	// ExplicitConsent: Art. 9(2)(a), explicit consent to processing of special
	// categories of data for specified purposes (with Art. 6(1)(a)). The
	// GDPR asks for explicit consent elsewhere too, without special
	// categories: for automated decisions (Art. 22(2)(c)) and for transfers
	// by derogation (Art. 49(1)(a)). Article still returns "Art. 9(2)(a)".
	ExplicitConsent
)

var bases = [...]struct {
	name, article, dpv, gdpr string
}{
	Consent:             {"consent", "Art. 6(1)(a)", "dpv:Consent", "eu-gdpr:A6-1-a"},
	Contract:            {"contract", "Art. 6(1)(b)", "dpv:Contract", "eu-gdpr:A6-1-b"},
	LegalObligation:     {"legal_obligation", "Art. 6(1)(c)", "dpv:LegalObligation", "eu-gdpr:A6-1-c"},
	VitalInterests:      {"vital_interests", "Art. 6(1)(d)", "dpv:VitalInterest", "eu-gdpr:A6-1-d"},
	PublicTask:          {"public_task", "Art. 6(1)(e)", "dpv:PublicInterest", "eu-gdpr:A6-1-e"},
	LegitimateInterests: {"legitimate_interests", "Art. 6(1)(f)", "dpv:LegitimateInterest", "eu-gdpr:A6-1-f"},
	ExplicitConsent:     {"explicit_consent", "Art. 9(2)(a)", "dpv:ExplicitlyExpressedConsent", "eu-gdpr:A9-2-a"},
}

// Bases lists every lawful basis in article order.
func Bases() []LawfulBasis {
	return []LawfulBasis{Consent, Contract, LegalObligation, VitalInterests, PublicTask, LegitimateInterests, ExplicitConsent}
}

// Valid reports whether b is one of the defined bases.
func (b LawfulBasis) Valid() bool { return b >= Consent && b <= ExplicitConsent }

// String returns the short name, e.g. "legitimate_interests".
func (b LawfulBasis) String() string {
	if !b.Valid() {
		return fmt.Sprintf("LawfulBasis(%d)", uint8(b))
	}
	return bases[b].name
}

// Article returns the provision of the GDPR, e.g. "Art. 6(1)(f)".
func (b LawfulBasis) Article() string {
	if !b.Valid() {
		return ""
	}
	return bases[b].article
}

// DPV returns the term of the Data Privacy Vocabulary of the W3C Data
// Privacy Vocabularies and Controls Community Group for the basis, e.g.
// "dpv:LegitimateInterest"; empty for an undefined basis. The prefix "dpv:"
// is the namespace https://w3id.org/dpv# and the terms are those of DPV 2.0
// (https://w3id.org/dpv/2.0), its legal_basis module and, for explicit
// consent, its consent types: PublicTask is "dpv:PublicInterest" (DPV has
// "dpv:OfficialAuthority" too, for the second half of Art. 6(1)(e)).
//
// DPV names the kind of basis, not the article; EUGDPR names the provision.
func (b LawfulBasis) DPV() string {
	if !b.Valid() {
		return ""
	}
	return bases[b].dpv
}

// EUGDPR returns the term of the DPV extension for the GDPR that names the
// provision of the basis, "eu-gdpr:A6-1-a" to "eu-gdpr:A6-1-f" for the
// bases of Art. 6(1)(a)–(f) and "eu-gdpr:A9-2-a" for ExplicitConsent; empty
// for an undefined basis. The prefix "eu-gdpr:" is the namespace
// https://w3id.org/dpv/legal/eu/gdpr# (DPV 2.0 and later).
func (b LawfulBasis) EUGDPR() string {
	if !b.Valid() {
		return ""
	}
	return bases[b].gdpr
}

// IsConsent reports whether the basis rests on the subject's consent
// (Consent or ExplicitConsent), which the subject may withdraw at any time
// (Art. 7(3)).
func (b LawfulBasis) IsConsent() bool { return b == Consent || b == ExplicitConsent }

// AllowsObjection reports whether the subject has the right to object to
// processing on this basis under Art. 21(1): public task and legitimate
// interests. (Objection to direct marketing, Art. 21(2), holds whatever the basis.)
func (b LawfulBasis) AllowsObjection() bool { return b == PublicTask || b == LegitimateInterests }

// ParseLawfulBasis returns the basis with the given short name.
func ParseLawfulBasis(name string) (LawfulBasis, error) {
	for _, b := range Bases() {
		if bases[b].name == name {
			return b, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown lawful basis %s", ErrInvalid, showKey(name))
}

// MarshalText encodes the short name; the zero value is rejected.
func (b LawfulBasis) MarshalText() ([]byte, error) {
	if !b.Valid() {
		return nil, fmt.Errorf("%w: lawful basis %d", ErrInvalid, uint8(b))
	}
	return []byte(bases[b].name), nil
}

// UnmarshalText decodes a short name.
func (b *LawfulBasis) UnmarshalText(p []byte) error {
	v, err := ParseLawfulBasis(string(p))
	if err != nil {
		return err
	}
	*b = v
	return nil
}
