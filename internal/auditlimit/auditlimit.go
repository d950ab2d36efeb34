// Package auditlimit holds, once, what an audit entry may hold: the limits
// package audit enforces on every event, and that the packages recording
// into it (consent, crypto) check before they write anything, so that
// every value they accept is one the audit trail accepts. Package audit
// exports the same constants under its own names.
package auditlimit

import "unicode/utf8"

// The limits, in bytes unless said otherwise.
const (
	MaxKeyLen        = 64  // an action, purpose, category or attribute key
	MaxResourceLen   = 256 // the resource name
	MaxAttrValueLen  = 256 // an attribute value
	MaxAttrs         = 16  // attributes per entry
	MaxCategories    = 16  // categories per entry
	MaxSystemNameLen = 128 // the name of an ActorSystem
)

// IsKey reports whether s matches ^[a-z0-9_.-]{1,64}$ (MaxKeyLen).
func IsKey(s string) bool { return IsKeyN(s, MaxKeyLen) }

// IsKeyN reports whether s matches ^[a-z0-9_.-]{1,n}$.
func IsKeyN(s string, n int) bool {
	if s == "" || len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// Printable reports whether s is valid UTF-8 without control characters:
// C0, DEL, or C1 (U+0080–U+009F). ASCII is checked without decoding.
func Printable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return printableUTF8(s[i:])
		}
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

func printableUTF8(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
