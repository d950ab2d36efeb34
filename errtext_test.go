package gdpr

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// personalCanaries are values a person might type into the wrong field of a
// register: an e-mail address, a telephone number, a name with spaces.
// None may come back in an error or a Problem.
var personalCanaries = []string{"ann.smith@example.org", "+49 30 1234567", "Ann Smith HIV+"}

// canaryDoc returns a valid register document as a generic JSON value, for
// tests to plant values in.
func canaryDoc() map[string]any {
	return map[string]any{
		"controller": map[string]any{"name": "C", "email": "c@example.com"},
		"activities": []any{map[string]any{
			"id": "a", "purpose": "p", "basis": "consent",
			"subject_categories": []any{"s"},
			"data_categories":    []any{map[string]any{"id": "d", "special": "health"}},
			"recipients":         []any{map[string]any{"name": "r", "kind": "processor", "country": "DE"}},
			"transfers":          []any{map[string]any{"country": "US", "safeguard": "derogation", "derogation": "a"}},
			"retention":          map[string]any{"period": "P1Y"},
		}},
	}
}

func TestErrorsDoNotEchoPersonalData(t *testing.T) {
	check := func(t *testing.T, where string, err error, canary string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: %q accepted", where, canary)
			return
		}
		t.Logf("%s: %v", where, err)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v does not wrap ErrInvalid", where, err)
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("%s: error echoes %q: %v", where, canary, err)
		}
		var ve *ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				if strings.Contains(p.Message, canary) || strings.Contains(p.Path, canary) {
					t.Errorf("%s: problem echoes %q: %v", where, canary, p)
				}
			}
		}
	}
	// Each plants the canary in one place of a document that is otherwise
	// valid (the special category rests on explicit consent).
	plant := map[string]func(doc map[string]any, a map[string]any, c string){
		"lawful basis": func(_, a map[string]any, c string) { a["basis"] = c },
		"special category": func(_, a map[string]any, c string) {
			a["data_categories"].([]any)[0].(map[string]any)["special"] = c
		},
		"recipient kind": func(_, a map[string]any, c string) {
			a["recipients"].([]any)[0].(map[string]any)["kind"] = c
		},
		"recipient country": func(_, a map[string]any, c string) {
			a["recipients"].([]any)[0].(map[string]any)["country"] = c
		},
		"safeguard": func(_, a map[string]any, c string) {
			a["transfers"].([]any)[0].(map[string]any)["safeguard"] = c
		},
		"transfer country": func(_, a map[string]any, c string) {
			a["transfers"].([]any)[0].(map[string]any)["country"] = c
		},
		"derogation": func(_, a map[string]any, c string) {
			a["transfers"].([]any)[0].(map[string]any)["derogation"] = c
		},
		"special condition":       func(_, a map[string]any, c string) { a["special_condition"] = c },
		"period":                  func(_, a map[string]any, c string) { a["retention"] = map[string]any{"period": c} },
		"unknown field":           func(_, a map[string]any, c string) { a[c] = "x" },
		"unknown top-level field": func(doc, _ map[string]any, c string) { doc[c] = 1 },
		"unknown nested field": func(_, a map[string]any, c string) {
			a["recipients"].([]any)[0].(map[string]any)[c] = true
		},
		"duplicate activity ID": func(doc, a map[string]any, c string) {
			a["id"] = c
			b := map[string]any{}
			for k, v := range a {
				b[k] = v
			}
			b["purpose"] = "q"
			doc["activities"] = append(doc["activities"].([]any), b)
		},
	}
	for what, set := range plant {
		for _, c := range personalCanaries {
			doc := canaryDoc()
			a := doc["activities"].([]any)[0].(map[string]any)
			a["basis"] = "explicit_consent"
			set(doc, a, c)
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseRegister(strings.NewReader(string(b)))
			check(t, "ParseRegister, "+what, err, c)
		}
	}

	// The same values set directly, as Validate sees them.
	for _, c := range personalCanaries {
		r := &Register{
			Controller: Party{Name: "C", Email: "c@example.com"},
			Activities: []Activity{{
				ID: "a", Purpose: "p", Basis: ExplicitConsent, SpecialCondition: c,
				SubjectCategories: []string{"s"},
				DataCategories:    []Category{{ID: "d", Special: SpecialCategory(c)}, {ID: "d"}},
				Recipients:        []Recipient{{Name: "r", Kind: RecipientKind(c), Country: c}},
				Transfers: []Transfer{{Country: c, Safeguard: Safeguard(c)},
					{Organisation: "O", Safeguard: Derogation, Derogation: c}},
				Retention: RetentionRule{Period: Period{Days: -1}},
			}, {ID: "a", Purpose: "p"}},
		}
		check(t, "Validate", r.Validate(), c)

		_, err := ParseLawfulBasis(c)
		check(t, "ParseLawfulBasis", err, c)
		var lb LawfulBasis
		check(t, "LawfulBasis.UnmarshalText", lb.UnmarshalText([]byte(c)), c)
		check(t, "Category.Validate", Category{ID: "x", Special: SpecialCategory(c)}.Validate(), c)
		var k RecipientKind
		check(t, "RecipientKind.UnmarshalText", k.UnmarshalText([]byte(c)), c)
		_, err = RecipientKind(c).MarshalText()
		check(t, "RecipientKind.MarshalText", err, c)
		var sg Safeguard
		check(t, "Safeguard.UnmarshalText", sg.UnmarshalText([]byte(c)), c)
		_, err = Safeguard(c).MarshalText()
		check(t, "Safeguard.MarshalText", err, c)
		_, err = ParsePeriod(c)
		check(t, "ParsePeriod", err, c)
		check(t, "Actor.Validate", Actor{Kind: ActorKind(c)}.Validate(), c)
		_, err = NewHolidays(c)
		check(t, "NewHolidays", err, c)
		var d Deadline
		loc, _ := json.Marshal(c)
		check(t, "Deadline.UnmarshalJSON", d.UnmarshalJSON([]byte(`{"location":`+string(loc)+`}`)), c)
	}
}

// Key-like values are still quoted, so that a typo in an enumeration value
// can be found.
func TestErrorsShowKeys(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{func() error { _, err := ParseLawfulBasis("contracts"); return err }(), `"contracts"`},
		{Category{ID: "x", Special: "gossip"}.Validate(), `"gossip"`},
		{func() error { var k RecipientKind; return k.UnmarshalText([]byte("friend")) }(), `"friend"`},
		{func() error { _, err := ParsePeriod("p1y"); return err }(), `"p1y"`},
		{func() error { _, err := ParseRegister(strings.NewReader(`{"controler":{}}`)); return err }(), `unknown field "controler"`},
		{func() error { var d Deadline; return d.UnmarshalJSON([]byte(`{"location":"Europe/Berlinn"}`)) }(), `"Europe/Berlinn"`},
	} {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("error %v does not contain %s", tt.err, tt.want)
		}
	}
}

func TestShowKey(t *testing.T) {
	for s, want := range map[string]string{
		"consent":               "\"consent\"",
		"a.b-c_9":               "\"a.b-c_9\"",
		strings.Repeat("x", 40): "\"" + strings.Repeat("x", 40) + "\"",
		strings.Repeat("x", 41): notShown,
		"":                      notShown,
		"Consent":               notShown,
		"ann.smith@example.org": notShown,
		"+49 30 1234567":        notShown,
		"Ann Smith HIV+":        notShown,
		"a\nb":                  notShown,
		"ünicode":               notShown,
	} {
		if got := showKey(s); got != want {
			t.Errorf("showKey(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestTruncateRuneBoundary(t *testing.T) {
	s := strings.Repeat("ä", 30) // 60 bytes
	for n := 0; n <= len(s)+1; n++ {
		got := truncate(s, n)
		if !utf8.ValidString(got) {
			t.Errorf("truncate(%d) = %q is not valid UTF-8", n, got)
		}
		if body := strings.TrimSuffix(got, "…"); len(body) > n || !strings.HasPrefix(s, body) {
			t.Errorf("truncate(%d) = %q", n, got)
		}
	}
	if got := truncate("abc", 3); got != "abc" {
		t.Errorf("truncate of a short string = %q", got)
	}
}
