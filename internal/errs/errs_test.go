package errs

import (
	"errors"
	"testing"
)

var root = errors.New("gdpr: invalid input")

func TestSentinelWrapsParent(t *testing.T) {
	s := Sentinel("invalid input", root)
	if s.Error() != "invalid input" {
		t.Fatalf("text %q", s.Error())
	}
	if !errors.Is(s, root) {
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
		{"new", "", root, "consent new: invalid input"},
		{"", "", errors.New("consent: gdpr: conflict"), "consent: conflict"},
		{"decide", "", nil, "consent decide"},
	} {
		if got := Text("consent", c.op, c.field, c.cause); got != c.want {
			t.Errorf("Text(%q, %q, %v) = %q, want %q", c.op, c.field, c.cause, got, c.want)
		}
	}
}
