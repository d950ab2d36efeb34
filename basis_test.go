package gdpr

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLawfulBasisTable(t *testing.T) {
	tests := []struct {
		b                      LawfulBasis
		name, article, dpv     string
		euGDPR                 string
		consent, allowsObjects bool
	}{
		{Consent, "consent", "Art. 6(1)(a)", "dpv:Consent", "eu-gdpr:A6-1-a", true, false},
		{Contract, "contract", "Art. 6(1)(b)", "dpv:Contract", "eu-gdpr:A6-1-b", false, false},
		{LegalObligation, "legal_obligation", "Art. 6(1)(c)", "dpv:LegalObligation", "eu-gdpr:A6-1-c", false, false},
		{VitalInterests, "vital_interests", "Art. 6(1)(d)", "dpv:VitalInterest", "eu-gdpr:A6-1-d", false, false},
		{PublicTask, "public_task", "Art. 6(1)(e)", "dpv:PublicInterest", "eu-gdpr:A6-1-e", false, true},
		{LegitimateInterests, "legitimate_interests", "Art. 6(1)(f)", "dpv:LegitimateInterest", "eu-gdpr:A6-1-f", false, true},
		{ExplicitConsent, "explicit_consent", "Art. 9(2)(a)", "dpv:ExplicitlyExpressedConsent", "eu-gdpr:A9-2-a", true, false},
	}
	var listed []LawfulBasis
	for _, tt := range tests {
		listed = append(listed, tt.b)
		if !tt.b.Valid() {
			t.Errorf("%v not Valid", tt.b)
		}
		if got := tt.b.String(); got != tt.name {
			t.Errorf("String() = %q, want %q", got, tt.name)
		}
		if got := tt.b.Article(); got != tt.article {
			t.Errorf("%v.Article() = %q, want %q", tt.b, got, tt.article)
		}
		if got := tt.b.DPV(); got != tt.dpv {
			t.Errorf("%v.DPV() = %q, want %q", tt.b, got, tt.dpv)
		}
		if got := tt.b.EUGDPR(); got != tt.euGDPR {
			t.Errorf("%v.EUGDPR() = %q, want %q", tt.b, got, tt.euGDPR)
		}
		if got := tt.b.IsConsent(); got != tt.consent {
			t.Errorf("%v.IsConsent() = %v", tt.b, got)
		}
		if got := tt.b.AllowsObjection(); got != tt.allowsObjects {
			t.Errorf("%v.AllowsObjection() = %v", tt.b, got)
		}
	}
	if !slices.Equal(Bases(), listed) {
		t.Errorf("Bases() = %v, want %v", Bases(), listed)
	}
	for _, b := range []LawfulBasis{0, ExplicitConsent + 1, 255} {
		if b.Valid() || b.Article() != "" || b.DPV() != "" || b.EUGDPR() != "" || b.IsConsent() || b.AllowsObjection() {
			t.Errorf("undefined basis %d: Valid %v, Article %q, DPV %q", uint8(b), b.Valid(), b.Article(), b.DPV())
		}
		if !strings.HasPrefix(b.String(), "LawfulBasis(") {
			t.Errorf("String() of undefined basis = %q", b.String())
		}
	}
}

func TestLawfulBasisText(t *testing.T) {
	for _, b := range Bases() {
		p, err := ParseLawfulBasis(b.String())
		if err != nil || p != b {
			t.Errorf("ParseLawfulBasis(%q) = %v, %v", b.String(), p, err)
		}
		text, err := b.MarshalText()
		if err != nil || string(text) != b.String() {
			t.Errorf("MarshalText(%v) = %q, %v", b, text, err)
		}
		var got LawfulBasis
		if err := got.UnmarshalText(text); err != nil || got != b {
			t.Errorf("UnmarshalText(%q) = %v, %v", text, got, err)
		}
	}
	for _, b := range []LawfulBasis{0, 42} {
		if text, err := b.MarshalText(); !errors.Is(err, ErrInvalid) || text != nil {
			t.Errorf("MarshalText(%d) = %q, %v; want ErrInvalid", uint8(b), text, err)
		}
	}
	for _, name := range []string{"", "Consent", "consent ", "contracts", "6(1)(a)", "dpv:Consent", strings.Repeat("x", 100)} {
		if _, err := ParseLawfulBasis(name); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseLawfulBasis(%q) error = %v, want ErrInvalid", name, err)
		}
		got := Contract
		if err := got.UnmarshalText([]byte(name)); !errors.Is(err, ErrInvalid) || got != Contract {
			t.Errorf("UnmarshalText(%q) = %v, %v; want ErrInvalid and no change", name, got, err)
		}
	}
	if _, err := ParseLawfulBasis(strings.Repeat("x", 100)); len(err.Error()) > 100 {
		t.Errorf("long name not truncated in %q", err)
	}
}

func TestLawfulBasisJSON(t *testing.T) {
	type activity struct {
		Purpose Purpose       `json:"purpose"`
		Basis   LawfulBasis   `json:"basis"`
		Others  []LawfulBasis `json:"others,omitempty"`
	}
	in := activity{Purpose: "fraud", Basis: LegitimateInterests, Others: []LawfulBasis{Consent, ExplicitConsent}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"purpose":"fraud","basis":"legitimate_interests","others":["consent","explicit_consent"]}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var out activity
	if err := json.Unmarshal(b, &out); err != nil || !slices.Equal(out.Others, in.Others) || out.Basis != in.Basis {
		t.Errorf("Unmarshal = %+v, %v", out, err)
	}
	if _, err := json.Marshal(activity{Purpose: "p"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Marshal of a zero basis: %v, want ErrInvalid", err)
	}
	for _, doc := range []string{`{"basis":"legit"}`, `{"basis":""}`, `{"basis":6}`} {
		if err := json.Unmarshal([]byte(doc), &out); err == nil {
			t.Errorf("Unmarshal(%s) accepted", doc)
		}
	}
}
