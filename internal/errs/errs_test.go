package errs

import (
	"errors"
	"testing"
)

var errRoot = errors.New("gdpr: invalid input")

func TestSentinelWrapsParent(t *testing.T) {
	s := Sentinel("invalid input", errRoot)
	if s.Error() != "invalid input" {
		t.Fatalf("text %q", s.Error())
	}
	if !errors.Is(s, errRoot) {
		t.Fatal("errors.Is(sentinel, parent) = false")
	}
	if Sentinel("x", nil).(interface{ Unwrap() error }).Unwrap() != nil {
		t.Fatal("nil parent unwraps to non-nil")
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		op, field string
		cause     error
		want      string
	}{
		{"give", "purpose", errors.New("invalid input: unknown purpose"), "consent give: purpose: invalid input: unknown purpose"},
		{"new", "", errRoot, "consent new: invalid input"},
		{"", "", errors.New("consent: gdpr: conflict"), "consent: conflict"},
		{"decide", "", nil, "consent decide"},
	} {
		if got := Text("consent", c.op, c.field, c.cause); got != c.want {
			t.Errorf("Text(%q, %q, %v) = %q, want %q", c.op, c.field, c.cause, got, c.want)
		}
	}
}

func TestBecauseAndAt(t *testing.T) {
	cause := errors.New("gdpr: invalid input: empty subject ID")
	e := Because(errRoot, StripInvalid(cause, "consent"), cause)
	if e.Error() != "gdpr: invalid input: empty subject ID" {
		t.Fatalf("text %q", e.Error())
	}
	if !errors.Is(e, errRoot) || !errors.Is(e, cause) {
		t.Fatal("Because does not wrap both")
	}
	var fe *FieldError
	if err := At("subject", e); !errors.As(err, &fe) || fe.Field != "subject" || err.Error() != e.Error() || !errors.Is(err, errRoot) {
		t.Fatalf("At = %v", err)
	}
	if got := Because(errRoot, "x", nil).(interface{ Unwrap() []error }).Unwrap(); len(got) != 1 {
		t.Fatalf("a nil cause is wrapped: %v", got)
	}
}

func TestShow(t *testing.T) {
	for in, want := range map[string]string{
		"newsletter": `"newsletter"`, "0190-ab.c_d": `"0190-ab.c_d"`,
		"": NotShown, "ann@example.org": NotShown, "Ann": NotShown, "a b": NotShown,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": NotShown,
		// Key-like, and personal data all the same.
		"192.0.2.17": NotShown, "from-10.0.0.1": NotShown, "4930123456789": NotShown, "030-1234-5678": NotShown,
		// Not personal data.
		"0190a3b2-7d1e-7f00-8a2b-123456789012": `"0190a3b2-7d1e-7f00-8a2b-123456789012"`,
		"notice-2026-03-02":                    `"notice-2026-03-02"`, "v1.2.3": `"v1.2.3"`,
	} {
		if got := Show(in); got != want {
			t.Errorf("Show(%q) = %s; want %s", in, got, want)
		}
	}
}
