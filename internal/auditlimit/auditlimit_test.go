package auditlimit

import (
	"strings"
	"testing"
)

func TestIsKey(t *testing.T) {
	for s, want := range map[string]bool{
		"consent.given": true, "a_b-c.0": true, strings.Repeat("a", 64): true,
		"": false, strings.Repeat("a", 65): false, "A": false, "a b": false, "é": false,
	} {
		if got := IsKey(s); got != want {
			t.Errorf("IsKey(%q) = %v; want %v", s, got, want)
		}
	}
}

func TestPrintable(t *testing.T) {
	for s, want := range map[string]bool{
		"users.email": true, "Zürich": true, "": true, "日本": true,
		"a\nb": false, "a\x7fb": false, "a\u0085b": false, "a\u009fb": false, "\xff": false, "ok\xc3": false,
	} {
		if got := Printable(s); got != want {
			t.Errorf("Printable(%q) = %v; want %v", s, got, want)
		}
	}
}
