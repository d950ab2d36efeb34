package gdpr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// rawSubject is a subject ID that must never appear in formatted output.
const rawSubject = "user-4711-CANARY"

func TestSubjectIDMasked(t *testing.T) {
	id := SubjectID(rawSubject)
	if string(id) != rawSubject {
		t.Fatalf("string(id) = %q, want the raw value", string(id))
	}
	type holder struct {
		ID   SubjectID
		Name string
	}
	h := holder{ID: id, Name: "n"}
	tests := []struct {
		format string
		arg    any
		want   string // "" means: only check that the mask is there
	}{
		{"%v", id, "[subject]"},
		{"%s", id, "[subject]"},
		{"%+v", id, "[subject]"},
		{"%#v", id, "gdpr.SubjectID([subject])"},
		{"%q", id, `"[subject]"`},
		{"%x", id, "[subject]"},
		{"%X", id, "[subject]"},
		{"% x", id, "[subject]"},
		{"%d", id, "[subject]"},
		{"%.3s", id, "[subject]"},
		{"%12s|", id, "   [subject]|"},
		{"%-12v|", id, "[subject]   |"},
		{"%v", h, "{[subject] n}"},
		{"%+v", h, "{ID:[subject] Name:n}"},
		{"%#v", h, ""},
		{"%s", h, ""},
		{"%x", h, ""},
		{"%v", &h, "&{[subject] n}"},
		{"%v", []SubjectID{id, id}, "[[subject] [subject]]"},
		{"%v", map[SubjectID]int{id: 1}, "map[[subject]:1]"},
		{"%v", Event{Subject: id, Action: "x"}, ""},
		{"%+v", Event{Subject: id, Action: "x"}, ""},
		{"%v", any(id), "[subject]"},
	}
	for _, tt := range tests {
		got := fmt.Sprintf(tt.format, tt.arg)
		if strings.Contains(got, rawSubject) || strings.Contains(got, fmt.Sprintf("%x", rawSubject)) ||
			strings.Contains(got, fmt.Sprintf("%X", rawSubject)) {
			t.Errorf("Sprintf(%q) = %q: contains the subject ID", tt.format, got)
			continue
		}
		if !strings.Contains(got, "[subject]") {
			t.Errorf("Sprintf(%q) = %q: no mask", tt.format, got)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("Sprintf(%q) = %q, want %q", tt.format, got, tt.want)
		}
	}
	for _, got := range []string{fmt.Sprint(id), fmt.Sprintln(id), id.String(), fmt.Errorf("erase %v: %w", id, ErrInvalid).Error()} {
		if strings.Contains(got, rawSubject) || !strings.Contains(got, "[subject]") {
			t.Errorf("output %q is not masked", got)
		}
	}
}

func TestSubjectIDValidate(t *testing.T) {
	for _, ok := range []SubjectID{"u1", "0190a3c4-7b1e-7000-8000-000000000000", SubjectID(strings.Repeat("x", MaxIDLen)), "Jürgen"} {
		if err := ok.Validate(); err != nil {
			t.Errorf("Validate(%d bytes) = %v", len(ok), err)
		}
	}
	for _, bad := range []SubjectID{"", SubjectID(strings.Repeat("x", MaxIDLen+1)), "CANARY\xff", "CANARY\n", "CANARY\x7f"} {
		err := bad.Validate()
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) = %v, want ErrInvalid", string(bad), err)
			continue
		}
		if strings.Contains(err.Error(), "CANARY") {
			t.Errorf("error contains the subject ID: %v", err)
		}
	}
}

func TestActorValidate(t *testing.T) {
	tests := []struct {
		name  string
		actor Actor
		ok    bool
	}{
		{"subject without ID", SubjectActor(), true},
		{"subject with ID", Actor{Kind: ActorSubject, ID: "u1"}, true},
		{"subject with bad ID", Actor{Kind: ActorSubject, ID: "CANARY\x00"}, false},
		{"staff", Staff("alice"), true},
		{"staff without ID", Staff(""), false},
		{"staff with long ID", Staff("CANARY" + strings.Repeat("x", MaxIDLen)), false},
		{"staff with control character", Staff("CANARY\t"), false},
		{"system", System("retention-sweep"), true},
		{"system without name", System(""), false},
		{"zero actor", Actor{}, false},
		{"unknown kind", Actor{Kind: "robot", ID: "r2"}, false},
		{"kind in upper case", Actor{Kind: "STAFF", ID: "alice"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.actor.Validate()
			if tt.ok {
				if err != nil {
					t.Errorf("Validate = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid", err)
			}
			if strings.Contains(err.Error(), "CANARY") {
				t.Errorf("error contains the actor ID: %v", err)
			}
		})
	}
}

func TestActorString(t *testing.T) {
	tests := []struct {
		actor Actor
		want  string
	}{
		{Staff("alice.CANARY"), "staff:[id]"},
		{Actor{Kind: ActorSubject, ID: "u-CANARY"}, "subject:[id]"},
		{SubjectActor(), "subject:-"},
		{System("retention-sweep"), "system:retention-sweep"},
	}
	for _, tt := range tests {
		if got := tt.actor.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		// fmt uses String for %v and %s, also inside a struct.
		//lint:ignore S1025 the test is of fmt's use of String
		for _, got := range []string{fmt.Sprintf("%v", tt.actor), fmt.Sprintf("%s", tt.actor),
			fmt.Sprintf("%+v", struct{ A Actor }{tt.actor}), fmt.Sprintf("%v", Event{Actor: tt.actor})} {
			if strings.Contains(got, "CANARY") {
				t.Errorf("formatted actor %q contains the staff ID", got)
			}
		}
	}
	if !(Actor{}).IsZero() || SubjectActor().IsZero() || Staff("a").IsZero() {
		t.Errorf("IsZero: only the zero Actor is zero")
	}
}

func TestPurposeValidate(t *testing.T) {
	if err := Purpose("newsletter").Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
	for _, bad := range []Purpose{"", "a\x00", Purpose(strings.Repeat("p", MaxIDLen+1))} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) = %v, want ErrInvalid", string(bad), err)
		}
	}
}
