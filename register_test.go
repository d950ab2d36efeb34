package gdpr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// canary is planted in contact details, which are personal data; it must
// never appear in an error.
const canary = "CANARY-7f3a9c"

func validRegister() *Register {
	return &Register{
		Controller: Party{
			Name:    "Erika Mustermann " + canary,
			Address: "Heidestraße 17, 51147 Köln " + canary,
			Email:   "erika." + canary + "@example.com",
			Phone:   "+49 221 " + canary,
			URL:     "https://example.com/" + canary,
		},
		Representative: &Party{Name: "Rep " + canary, Email: "rep." + canary + "@example.com"},
		DPO:            &Party{Name: "Data Protection Officer", Email: "dpo." + canary + "@example.com"},
		Activities: []Activity{
			{
				ID:                "newsletter",
				Name:              "Newsletter",
				Purpose:           "newsletter",
				Description:       "Monthly product news by e-mail.",
				Basis:             Consent,
				DirectMarketing:   true,
				SubjectCategories: []string{"subscribers"},
				DataCategories:    []Category{{ID: "contact", Description: "E-mail address"}},
				Recipients:        []Recipient{{Name: "mailing service", Kind: Processor, Country: "IE"}},
				Retention:         RetentionRule{Description: "until consent is withdrawn"},
			},
			{
				ID:      "orders",
				Name:    "Order fulfilment",
				Purpose: "order_fulfilment",
				Basis:   Contract,
				JointControllers: []Party{{Name: "Marketplace GmbH " + canary, Email: "privacy." + canary + "@example.net"},
					{Name: "Partner " + canary, Address: "Street 1 " + canary}},
				SubjectCategories: []string{"customers"},
				DataCategories:    []Category{{ID: "contact"}, {ID: "order_history"}},
				Recipients: []Recipient{
					{Name: "carrier", Kind: ThirdParty},
					{Name: "tax authority", Kind: PublicAuthority, Country: "DE"},
				},
				Transfers: []Transfer{{Country: "US", Recipient: "hosting provider " + canary,
					Safeguard: StandardContractualClauses, Reference: "contract " + canary},
					{Organisation: "International Committee " + canary, Safeguard: Derogation, Derogation: "d"},
					{Country: "BR", Safeguard: Derogation, Derogation: DerogationLegitimateInterests, Reference: "TIA-7 " + canary}},
				Retention:        RetentionRule{Period: Period{Years: 10}, Description: "after the end of the year of the order"},
				SecurityMeasures: "Encryption at rest, access control.",
			},
			{
				ID:                           "fraud",
				Purpose:                      "fraud_prevention",
				Basis:                        LegitimateInterests,
				LegitimateInterestAssessment: "LIA-2025-04",
				SubjectCategories:            []string{"customers"},
				DataCategories:               []Category{{ID: "payment"}, {ID: "device"}},
				Source:                       "credit agency",
				AutomatedDecisions:           &AutomatedDecisions{Logic: "score of past chargebacks", Significance: "order may be refused"},
				Retention:                    RetentionRule{Period: Period{Months: 6}},
			},
			{
				ID:                "health",
				Purpose:           "health_survey",
				Basis:             ExplicitConsent,
				SubjectCategories: []string{"participants"},
				DataCategories:    []Category{{ID: "health", Special: HealthData}},
				Retention:         RetentionRule{Period: Period{Years: 1, Months: 6}},
			},
			{
				ID:                "staff_health",
				Purpose:           "sick_leave",
				Basis:             LegalObligation,
				SpecialCondition:  "b",
				SubjectCategories: []string{"employees"},
				DataCategories:    []Category{{ID: "sick_notes", Special: HealthData}},
				Retention:         RetentionRule{Period: Period{Years: 3}},
			},
			{
				ID:                    "vetting",
				Purpose:               "staff_vetting",
				Basis:                 LegalObligation,
				CriminalDataAuthority: "Kreditwesengesetz § 25c",
				SubjectCategories:     []string{"applicants"},
				DataCategories:        []Category{{ID: "certificate_of_conduct", Special: CriminalOffences}},
				Retention:             RetentionRule{Period: Period{Months: 6}},
			},
		},
	}
}

func TestRegisterRoundTrip(t *testing.T) {
	reg := validRegister()
	if err := reg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	var buf bytes.Buffer
	if err := reg.WriteJSON(&buf); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	first := buf.String()
	got, err := ParseRegister(&buf)
	if err != nil {
		t.Fatalf("ParseRegister: %v\n%s", err, first)
	}
	if !reflect.DeepEqual(got, reg) {
		t.Errorf("round trip changed the register:\ngot  %+v\nwant %+v", got, reg)
	}
	buf.Reset()
	if err := got.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != first {
		t.Errorf("second WriteJSON differs:\n%s\nwant\n%s", buf.String(), first)
	}
	for _, want := range []string{`"lia_ref": "LIA-2025-04"`, `"basis": "legitimate_interests"`,
		`"period": "P1Y6M"`, `"safeguard": "standard_contractual_clauses"`, `"kind": "public_authority"`,
		`"special": "health"`, `"automated_decisions": {`, `"subject_categories": [`,
		`"art10_authority": "Kreditwesengesetz § 25c"`, `"special": "criminal_offences"`, `"direct_marketing": true`,
		`"joint_controllers": [`, `"organisation": "International Committee `, `"derogation": "second_subparagraph"`} {
		if !strings.Contains(first, want) {
			t.Errorf("WriteJSON output lacks %s", want)
		}
	}
	if strings.Contains(first, `"period": "P0D"`) {
		t.Errorf("zero period written:\n%s", first)
	}
}

func TestRegisterActivity(t *testing.T) {
	reg := validRegister()
	a, ok := reg.Activity("fraud_prevention")
	if !ok || a.ID != "fraud" {
		t.Errorf("Activity(fraud_prevention) = %q, %v", a.ID, ok)
	}
	if a, ok := reg.Activity("fraud"); ok {
		t.Errorf("Activity(fraud) found %q; lookup is by purpose, not ID", a.ID)
	}
}

func TestRegisterActivityNil(t *testing.T) {
	var r *Register
	if a, ok := r.Activity("newsletter"); ok || !reflect.DeepEqual(a, Activity{}) {
		t.Errorf("nil Register: Activity = %+v, %v; want zero, false", a, ok)
	}
	if a, ok := (&Register{}).Activity("newsletter"); ok || !reflect.DeepEqual(a, Activity{}) {
		t.Errorf("empty Register: Activity = %+v, %v; want zero, false", a, ok)
	}
}

func TestRegisterClone(t *testing.T) {
	if (*Register)(nil).Clone() != nil {
		t.Errorf("Clone of nil is not nil")
	}
	if c := (&Register{}).Clone(); c == nil || c.Activities != nil || c.DPO != nil {
		t.Errorf("Clone of an empty register = %+v", c)
	}

	orig := validRegister()
	want := validRegister()
	c := orig.Clone()
	if !reflect.DeepEqual(c, orig) {
		t.Fatalf("Clone differs:\n%+v\n%+v", c, orig)
	}
	assertNoSharedMemory(t, "Register", reflect.ValueOf(orig).Elem(), reflect.ValueOf(c).Elem())

	// Modifying every part of the clone leaves the original as it was.
	c.Controller.Name = "x"
	c.Representative.Name = "x"
	c.DPO.Email = "x"
	for i := range c.Activities {
		a := &c.Activities[i]
		a.Purpose = "changed"
		a.SubjectCategories[0] = "x"
		a.DataCategories[0].Special = GeneticData
		for j := range a.Recipients {
			a.Recipients[j].Kind = ThirdParty
		}
		for j := range a.Transfers {
			a.Transfers[j].Country = "XX"
		}
		for j := range a.JointControllers {
			a.JointControllers[j].Email = "x"
		}
		if a.AutomatedDecisions != nil {
			a.AutomatedDecisions.Logic = "x"
		}
	}
	c.Activities = append(c.Activities, Activity{ID: "extra"})
	if !reflect.DeepEqual(orig, want) {
		t.Errorf("modifying the clone changed the original:\n%+v", orig)
	}
}

// assertNoSharedMemory fails if a and b, values of the same type, share the
// target of a pointer or the backing array of a slice or a map anywhere in
// their structure. It walks every field, so a field added to Register later
// and not copied by Clone is caught.
func assertNoSharedMemory(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: pointer shared", path)
			return
		}
		assertNoSharedMemory(t, path, a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() == 0 || b.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: slice backing array shared", path)
			return
		}
		for i := range min(a.Len(), b.Len()) {
			assertNoSharedMemory(t, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	case reflect.Map:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			t.Errorf("%s: map shared", path)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			assertNoSharedMemory(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	}
}

func TestActivityFromSubject(t *testing.T) {
	for src, want := range map[string]bool{"": true, "subject": true, " subject ": true, "credit agency": false} {
		if got := (Activity{Source: src}).FromSubject(); got != want {
			t.Errorf("FromSubject with Source %q = %v, want %v", src, got, want)
		}
	}
}

func TestRegisterValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *Register)
		paths  []string
	}{
		{"valid", func(r *Register) {}, nil},
		{"no representative or DPO", func(r *Register) { r.Representative, r.DPO = nil, nil }, nil},
		{"controller without name", func(r *Register) { r.Controller.Name = " " }, []string{"controller.name"}},
		{"controller without contact", func(r *Register) {
			r.Controller = Party{Name: r.Controller.Name}
		}, []string{"controller"}},
		{"empty controller", func(r *Register) { r.Controller = Party{} }, []string{"controller.name", "controller"}},
		{"representative without name or contact", func(r *Register) {
			r.Representative = &Party{}
		}, []string{"representative.name", "representative"}},
		{"DPO without contact", func(r *Register) { r.DPO = &Party{Name: "D. " + canary} }, []string{"dpo"}},
		// Art. 30(1)(a) asks for the DPO's name too; a role title will do.
		{"DPO without name", func(r *Register) { r.DPO.Name = " " }, []string{"dpo.name"}},
		{"empty DPO", func(r *Register) { r.DPO = &Party{} }, []string{"dpo.name", "dpo"}},
		{"joint controllers", func(r *Register) {
			r.Activities[0].JointControllers = []Party{
				{Name: "J " + canary, Phone: "+1 " + canary},
				{Email: "j." + canary + "@example.org"},
				{Name: "K " + canary},
				{},
			}
		}, []string{"activities[0].joint_controllers[1].name", "activities[0].joint_controllers[2]",
			"activities[0].joint_controllers[3].name", "activities[0].joint_controllers[3]"}},
		{"no activities", func(r *Register) { r.Activities = nil }, []string{"activities"}},
		{"empty activity", func(r *Register) { r.Activities = []Activity{{}} }, []string{
			"activities[0].id", "activities[0].basis",
			"activities[0].subject_categories", "activities[0].data_categories",
			"activities[0].retention"}},
		{"bad ID and purpose", func(r *Register) {
			r.Activities[1].ID = "orders\x00"
			r.Activities[1].Purpose = Purpose(strings.Repeat("p", MaxIDLen+1))
		}, []string{"activities[1].id", "activities[1].purpose"}},
		{"duplicate ID and purpose", func(r *Register) {
			r.Activities = append(r.Activities, r.Activities[0])
		}, []string{"activities[6].id", "activities[6].purpose"}},
		{"duplicate purpose", func(r *Register) { r.Activities[2].Purpose = "newsletter" }, []string{"activities[2].purpose"}},
		{"unknown basis", func(r *Register) { r.Activities[0].Basis = 42 }, []string{"activities[0].basis"}},
		{"legitimate interests without assessment", func(r *Register) {
			r.Activities[2].LegitimateInterestAssessment = ""
		}, []string{"activities[2].lia_ref"}},
		{"legitimate interests with blank assessment", func(r *Register) {
			r.Activities[0].Basis = LegitimateInterests
			r.Activities[0].LegitimateInterestAssessment = "\t"
		}, []string{"activities[0].lia_ref"}},
		{"special category without condition", func(r *Register) {
			r.Activities[4].SpecialCondition = ""
		}, []string{"activities[4].special_condition"}},
		// Art. 10: criminal-offence data need an official authority or an
		// authorising law, not a condition of Art. 9(2).
		{"criminal data without Art. 10 authority", func(r *Register) {
			r.Activities[1].DataCategories[1].Special = CriminalOffences
		}, []string{"activities[1].art10_authority"}},
		{"criminal data with blank Art. 10 authority", func(r *Register) {
			r.Activities[5].CriminalDataAuthority = " \t"
		}, []string{"activities[5].art10_authority"}},
		{"criminal data under explicit consent still need Art. 10 authority", func(r *Register) {
			r.Activities[5].Basis = ExplicitConsent
			r.Activities[5].CriminalDataAuthority = ""
		}, []string{"activities[5].art10_authority"}},
		{"criminal data with authority need no Art. 9(2) condition", func(r *Register) {
			r.Activities[1].DataCategories[1].Special = CriminalOffences
			r.Activities[1].CriminalDataAuthority = "§ 30 GewO"
		}, nil},
		{"criminal and health data: Art. 9(2) condition still required", func(r *Register) {
			r.Activities[5].DataCategories = append(r.Activities[5].DataCategories, Category{ID: "health", Special: HealthData})
		}, []string{"activities[5].special_condition"}},
		{"criminal and health data with condition and authority", func(r *Register) {
			r.Activities[5].DataCategories = append(r.Activities[5].DataCategories, Category{ID: "health", Special: HealthData})
			r.Activities[5].SpecialCondition = "b"
		}, nil},
		{"criminal and health data without either", func(r *Register) {
			r.Activities[5].DataCategories = append(r.Activities[5].DataCategories, Category{ID: "health", Special: HealthData})
			r.Activities[5].CriminalDataAuthority = ""
		}, []string{"activities[5].special_condition", "activities[5].art10_authority"}},
		{"Art. 10 authority without criminal data", func(r *Register) {
			r.Activities[0].CriminalDataAuthority = "§ 30 GewO"
		}, nil},
		{"special category under consent, not explicit consent", func(r *Register) {
			r.Activities[3].Basis = Consent
		}, []string{"activities[3].special_condition"}},
		{"special condition not a letter of Art. 9(2)", func(r *Register) {
			r.Activities[4].SpecialCondition = "k"
			r.Activities[3].SpecialCondition = "B"
			r.Activities[1].SpecialCondition = "ab"
		}, []string{"activities[1].special_condition", "activities[3].special_condition", "activities[4].special_condition"}},
		{"special condition without special data", func(r *Register) { r.Activities[1].SpecialCondition = "b" }, nil},
		// Condition (a) is explicit consent, which is a basis of its own.
		{"condition (a) under consent", func(r *Register) { r.Activities[0].SpecialCondition = "a" }, []string{"activities[0].special_condition"}},
		{"condition (a) with health data under a legal obligation", func(r *Register) {
			r.Activities[4].SpecialCondition = "a"
		}, []string{"activities[4].special_condition"}},
		{"condition (a) with explicit consent", func(r *Register) { r.Activities[3].SpecialCondition = "a" }, nil},
		// Explicit consent is also the ground of Art. 22(2)(c) and 49(1)(a).
		{"explicit consent without special categories", func(r *Register) {
			r.Activities[0].Basis = ExplicitConsent
			r.Activities[2].Basis = ExplicitConsent
			r.Activities[2].LegitimateInterestAssessment = ""
		}, nil},
		{"subject categories", func(r *Register) {
			r.Activities[0].SubjectCategories = nil
			r.Activities[1].SubjectCategories = []string{"customers", ""}
		}, []string{"activities[0].subject_categories", "activities[1].subject_categories[1]"}},
		{"data categories", func(r *Register) {
			r.Activities[0].DataCategories = nil
			r.Activities[1].DataCategories = []Category{{ID: ""}, {ID: "a", Special: "gossip"}, {ID: "a"}}
		}, []string{"activities[0].data_categories", "activities[1].data_categories[0].id",
			"activities[1].data_categories[1].special", "activities[1].data_categories[2].id"}},
		{"category IDs may repeat across activities", func(r *Register) {
			r.Activities[2].DataCategories = append(r.Activities[2].DataCategories, Category{ID: "contact"})
		}, nil},
		{"recipients", func(r *Register) {
			r.Activities[1].Recipients = []Recipient{
				{Kind: Processor},
				{Name: "x", Kind: "friend"},
				{Name: "y"},
				{Name: "z", Kind: JointController, Country: "de"},
				{Name: "w", Kind: JointController, Country: "DEU"},
			}
		}, []string{"activities[1].recipients[0].name", "activities[1].recipients[1].kind",
			"activities[1].recipients[2].kind", "activities[1].recipients[3].country",
			"activities[1].recipients[4].country"}},
		{"transfers", func(r *Register) {
			r.Activities[1].Transfers = []Transfer{
				{Safeguard: AdequacyDecision},
				{Country: "U5", Safeguard: Derogation, Derogation: "a"},
				{Country: "CH"},
				{Country: "IN", Safeguard: "trust_me"},
				{Country: "JP", Safeguard: AdequacyDecision},
			}
		}, []string{"activities[1].transfers[0].country", "activities[1].transfers[1].country",
			"activities[1].transfers[2].safeguard", "activities[1].transfers[3].safeguard"}},
		// Art. 30(1)(e): a third country or an international organisation.
		{"transfer to an international organisation", func(r *Register) {
			r.Activities[0].Transfers = []Transfer{{Organisation: "UNHCR " + canary, Safeguard: OtherAppropriateSafeguard}}
		}, nil},
		{"transfer destinations", func(r *Register) {
			r.Activities[0].Transfers = []Transfer{
				{Organisation: " ", Safeguard: AdequacyDecision},
				{Country: "CH", Organisation: "WHO " + canary, Safeguard: AdequacyDecision},
				{Country: "ch", Organisation: "", Safeguard: AdequacyDecision},
			}
		}, []string{"activities[0].transfers[0].country", "activities[0].transfers[1].organisation",
			"activities[0].transfers[2].country"}},
		// Art. 49(1): which derogation, and for the compelling legitimate
		// interests of the second subparagraph, the documentation.
		{"derogations", func(r *Register) {
			r.Activities[0].Transfers = []Transfer{
				{Country: "US", Safeguard: Derogation},
				{Country: "US", Safeguard: Derogation, Derogation: "h"},
				{Country: "US", Safeguard: Derogation, Derogation: "+49 30 " + canary},
				{Country: "US", Safeguard: Derogation, Derogation: DerogationLegitimateInterests, Reference: " "},
				{Country: "US", Safeguard: StandardContractualClauses, Derogation: "a"},
				{Country: "US", Safeguard: Derogation, Derogation: "g"},
				{Country: "US", Safeguard: Derogation, Derogation: DerogationLegitimateInterests, Reference: "TIA-1"},
			}
		}, []string{"activities[0].transfers[0].derogation", "activities[0].transfers[1].derogation",
			"activities[0].transfers[2].derogation", "activities[0].transfers[3].reference",
			"activities[0].transfers[4].derogation"}},
		{"no retention", func(r *Register) { r.Activities[3].Retention = RetentionRule{Description: "  "} }, []string{"activities[3].retention"}},
		{"negative retention", func(r *Register) {
			r.Activities[3].Retention = RetentionRule{Period: Period{Days: -1}, Description: "x"}
		}, []string{"activities[3].retention.period"}},
		{"automated decisions without logic", func(r *Register) {
			r.Activities[2].AutomatedDecisions.Logic = ""
		}, []string{"activities[2].automated_decisions.logic"}},
		{"automated decisions without significance", func(r *Register) {
			r.Activities[2].AutomatedDecisions.Significance = "\n"
		}, []string{"activities[2].automated_decisions.significance"}},
		{"empty automated decisions", func(r *Register) {
			r.Activities[2].AutomatedDecisions = &AutomatedDecisions{}
		}, []string{"activities[2].automated_decisions.logic", "activities[2].automated_decisions.significance"}},
		{"every problem is reported", func(r *Register) {
			r.Controller.Name = ""
			r.Activities[0].Basis = 0
			r.Activities[2].DataCategories[0].ID = ""
			r.Activities[2].Transfers = []Transfer{{Country: "XX"}}
		}, []string{"controller.name", "activities[0].basis", "activities[2].data_categories[0].id",
			"activities[2].transfers[0].safeguard"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := validRegister()
			tt.mutate(reg)
			err := reg.Validate()
			if tt.paths == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate error %v does not wrap ErrInvalid", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate error is %T, want *ValidationError", err)
			}
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
				if p.Message == "" {
					t.Errorf("problem at %s has no message", p.Path)
				}
				if !strings.Contains(err.Error(), p.String()) {
					t.Errorf("Error() lacks problem %q", p)
				}
			}
			if !slices.Equal(paths, tt.paths) {
				t.Errorf("problem paths = %q, want %q\n%v", paths, tt.paths, err)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error contains personal data: %v", err)
			}
			// WriteJSON refuses to write what ParseRegister would reject.
			var buf bytes.Buffer
			if err := reg.WriteJSON(&buf); !errors.Is(err, ErrInvalid) || buf.Len() > 0 {
				t.Errorf("WriteJSON of an invalid register: %v, %d bytes written", err, buf.Len())
			}
		})
	}
}

func TestRegisterValidateNil(t *testing.T) {
	var r *Register
	if err := r.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil Register: Validate = %v", err)
	}
}

func TestParseRegisterErrors(t *testing.T) {
	var valid bytes.Buffer
	if err := validRegister().WriteJSON(&valid); err != nil {
		t.Fatal(err)
	}
	doc := valid.String()
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"whitespace", " \n"},
		{"null", "null"},
		{"array", "[]"},
		{"malformed", `{"controller": {"name": "` + canary + `"`},
		{"syntax error after personal data", `{"controller": {"name": "` + canary + `" x}}`},
		{"trailing data", doc + "{}"},
		{"trailing garbage", doc + "x"},
		{"two documents", doc + doc},
		{"unknown field", strings.Replace(doc, `"controller": {`, `"controler_extra": 1, "controller": {`, 1)},
		{"unknown nested field", strings.Replace(doc, `"lia_ref"`, `"lia": "x", "lia_ref"`, 1)},
		{"number in a string field", strings.Replace(doc, `"phone": "+49 221 `+canary+`"`, `"phone": 4922155501234`, 1)},
		{"huge number", strings.Replace(doc, `"phone": "+49 221 `+canary+`"`, `"phone": 1e999`, 1)},
		{"unknown basis", strings.Replace(doc, `"basis": "contract"`, `"basis": "contracts"`, 1)},
		{"unknown recipient kind", strings.Replace(doc, `"kind": "processor"`, `"kind": "friend"`, 1)},
		{"empty recipient kind", strings.Replace(doc, `"kind": "processor"`, `"kind": ""`, 1)},
		{"unknown safeguard", strings.Replace(doc, `"safeguard": "standard_contractual_clauses"`, `"safeguard": "scc"`, 1)},
		{"bad period", strings.Replace(doc, `"period": "P6M"`, `"period": "6 months"`, 1)},
		{"basis as a number", strings.Replace(doc, `"basis": "contract"`, `"basis": 2`, 1)},
		{"invalid register", strings.Replace(doc, `"basis": "contract",`, ``, 1)},
		{"too large", doc[:len(doc)-2] + strings.Repeat(" ", MaxRegisterSize) + "}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in == doc {
				t.Fatal("replacement did not apply")
			}
			_, err := ParseRegister(strings.NewReader(tt.in))
			t.Log(err)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseRegister error = %v, want ErrInvalid", err)
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "4922155501234") {
				t.Errorf("error contains personal data: %v", err)
			}
		})
	}
}

func TestParseRegisterLimit(t *testing.T) {
	var valid bytes.Buffer
	if err := validRegister().WriteJSON(&valid); err != nil {
		t.Fatal(err)
	}
	// Padded to exactly MaxRegisterSize bytes: accepted.
	doc := valid.String()
	doc += strings.Repeat(" ", MaxRegisterSize-len(doc))
	if _, err := ParseRegister(strings.NewReader(doc)); err != nil {
		t.Errorf("register of exactly MaxRegisterSize bytes: %v", err)
	}
	// An endless reader is cut off.
	endless := io.MultiReader(strings.NewReader(`{"activities": [`), iotest.ErrReader(io.ErrNoProgress))
	if _, err := ParseRegister(endless); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("read error = %v, want it returned", err)
	}
	if _, err := ParseRegister(io.MultiReader(strings.NewReader(" "), zeros{})); !errors.Is(err, ErrInvalid) {
		t.Errorf("endless input: %v, want ErrInvalid", err)
	}
}

// zeros is an endless reader of spaces.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestParseRegisterInvalidReturnsProblems(t *testing.T) {
	reg, err := ParseRegister(strings.NewReader(`{"controller": {"name": "` + canary + `"}, "activities": []}`))
	var ve *ValidationError
	if !errors.As(err, &ve) || reg == nil {
		t.Fatalf("ParseRegister = %v, %v; want the register and a *ValidationError", reg, err)
	}
	if reg.Controller.Name != canary {
		t.Errorf("register not returned as decoded")
	}
}

func TestRecipientKindAndSafeguardText(t *testing.T) {
	for _, k := range RecipientKinds() {
		var got RecipientKind
		b, err := k.MarshalText()
		if err != nil || got.UnmarshalText(b) != nil || got != k {
			t.Errorf("RecipientKind %q does not round-trip", k)
		}
	}
	for _, s := range Safeguards() {
		var got Safeguard
		b, err := s.MarshalText()
		if err != nil || got.UnmarshalText(b) != nil || got != s || s.Article() == "" {
			t.Errorf("Safeguard %q does not round-trip", s)
		}
	}
	if _, err := RecipientKind("x").MarshalText(); !errors.Is(err, ErrInvalid) {
		t.Errorf("MarshalText of an unknown kind: %v", err)
	}
	if _, err := Safeguard("").MarshalText(); !errors.Is(err, ErrInvalid) {
		t.Errorf("MarshalText of the empty safeguard: %v", err)
	}
}

func FuzzParseRegister(f *testing.F) {
	var valid bytes.Buffer
	if err := validRegister().WriteJSON(&valid); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		valid.String(),
		`{"controller":{"name":"C","email":"c@example.com"},"activities":[{"id":"a","purpose":"p","basis":"consent",` +
			`"subject_categories":["s"],"data_categories":[{"id":"d"}],"retention":{"period":"P1Y"}}]}`,
		`{"controller":{"name":"C"},"activities":[{"basis":"legitimate_interests","special_condition":"z",` +
			`"data_categories":[{"id":"h","special":"health"}],"recipients":[{"kind":"processor"}],` +
			`"transfers":[{"country":"us","safeguard":"derogation"}],"retention":{}}]}`,
		`{}`, `null`, `[]`, `{"activities":null}`, `{"x":1}`, `{} {}`, `{"controller":{"name":1}}`,
		`{"activities":[{"retention":{"period":"P-1D"}}]}`, `{"activities":[{"basis":"x"}]}`,
		``, `"`, `{"controller":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := ParseRegister(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// A register that parsed is written and read back unchanged.
		var a, b bytes.Buffer
		if err := reg.WriteJSON(&a); err != nil {
			t.Fatalf("WriteJSON of a parsed register: %v", err)
		}
		again, err := ParseRegister(bytes.NewReader(a.Bytes()))
		if err != nil {
			t.Fatalf("ParseRegister of WriteJSON output: %v\n%s", err, a.Bytes())
		}
		if err := again.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("WriteJSON not stable:\n%s\n%s", a.Bytes(), b.Bytes())
		}
	})
}

func TestActivityPurposeDefaultsToID(t *testing.T) {
	r := validRegister()
	a := r.Activities[0]
	a.Purpose = ""
	r.Activities = append(r.Activities[:0:0], a)
	if err := r.Validate(); err != nil {
		t.Fatalf("an activity without a purpose of its own: %v", err)
	}
	got, ok := r.Activity(Purpose(a.ID))
	if !ok || got.ID != a.ID || got.PurposeKey() != Purpose(a.ID) {
		t.Fatalf("Activity(%q) = %+v, %v; want the activity by its ID", a.ID, got, ok)
	}
	// A purpose taken from an ID collides with another's explicit one.
	b := validRegister().Activities[0]
	b.ID, b.Purpose = "other", Purpose(a.ID)
	r.Activities = append(r.Activities, b)
	err := r.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != "activities[1].purpose" {
		t.Fatalf("Validate = %v; want one duplicate purpose at activities[1].purpose", err)
	}
}
