// Package errs holds the one error shape every package of the module
// repeats: sentinels whose text names the condition once and that wrap the
// root package's sentinel of the same meaning, and the text of a package's
// typed error, "<package> <op>: <field>: <cause>", as io/fs's PathError
// reads "open /x: file does not exist".
//
// A package declares, for example:
//
//	var ErrInvalid = errs.Sentinel("invalid input", gdpr.ErrInvalid)
//
//	type Error struct{ Op, Field string; Err error }
//
//	func (e *Error) Error() string { return errs.Text("consent", e.Op, e.Field, e.Err) }
//
// so that errors.Is(err, consent.ErrInvalid) and errors.Is(err,
// gdpr.ErrInvalid) both hold and the text reads
// "consent give: purpose: invalid input: unknown purpose" with no package
// named twice.
package errs

import (
	"strconv"
	"strings"
)

type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }

// Sentinel returns a new error whose text is msg and which wraps parent
// (nil for none), so errors.Is matches it and parent.
func Sentinel(msg string, parent error) error { return &sentinel{msg: msg, parent: parent} }

// Text returns "<pkg> <op>: <field>: <cause>", leaving out an empty op or
// field. A cause whose text starts with "<pkg>: " or "gdpr: " (a sentinel
// of the same package, or of the root package) loses that prefix, so no
// package is named twice.
func Text(pkg, op, field string, cause error) string {
	var b strings.Builder
	b.WriteString(pkg)
	if op != "" {
		b.WriteByte(' ')
		b.WriteString(op)
	}
	if field != "" {
		b.WriteString(": ")
		b.WriteString(field)
	}
	if cause != nil {
		b.WriteString(": ")
		b.WriteString(Trim(cause.Error(), pkg))
	}
	return b.String()
}

// Trim removes a leading "<pkg>: " or "gdpr: " from msg.
func Trim(msg, pkg string) string {
	for _, p := range [...]string{pkg + ": ", "gdpr: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// NotShown stands in an error for a rejected value that Show will not
// quote.
const NotShown = "(value not shown)"

// MaxShown is the longest value Show quotes.
const MaxShown = 40

// Show returns s quoted if it looks like a key or an enumeration value,
// matching ^[a-z0-9_.-]{1,40}$ (a purpose, a notice ID, a UUID), and
// NotShown otherwise. Every rejected input value and unknown field name
// passes through it on its way into an error, so that what was typed in
// the wrong field (an e-mail address, a telephone number, a name) is never
// echoed back. A value of that alphabet that still reads as personal data
// is not shown either: one holding a dotted quad (an IPv4 address, as in
// "192.0.2.17") or a run of 9 or more digits, counted across '-' and '.'
// (a telephone or account number, "030-1234-5678"), unless it is a UUID
// as a whole.
func Show(s string) string {
	if s == "" || len(s) > MaxShown {
		return NotShown
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return NotShown
		}
	}
	if !isUUID(s) && (hasDottedQuad(s) || longDigitRun(s, 9)) {
		return NotShown
	}
	return strconv.Quote(s)
}

// isUUID reports whether s has the shape of a UUID in lower-case hex,
// 8-4-4-4-12.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// hasDottedQuad reports whether s holds four runs of 1 to 3 digits joined
// by dots.
func hasDottedQuad(s string) bool {
	for i := 0; i < len(s); i++ {
		j, groups := i, 0
		for groups < 4 {
			n := 0
			for j < len(s) && n < 4 && '0' <= s[j] && s[j] <= '9' {
				j, n = j+1, n+1
			}
			if n == 0 || n > 3 {
				break
			}
			groups++
			if groups < 4 {
				if j >= len(s) || s[j] != '.' {
					break
				}
				j++
			}
		}
		if groups == 4 {
			return true
		}
	}
	return false
}

// longDigitRun reports whether s holds n or more digits in a run that
// '-' and '.' do not break.
func longDigitRun(s string, n int) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits++
			if digits >= n {
				return true
			}
		case c == '-' || c == '.':
		default:
			digits = 0
		}
	}
	return false
}

type causeError struct {
	msg  string
	errs []error
}

func (e *causeError) Error() string   { return e.msg }
func (e *causeError) Unwrap() []error { return e.errs }

// Because returns an error reading "<sentinel>: <detail>" that wraps
// sentinel and, when it is not nil, cause (whose own text is not
// repeated: detail says what the caller may know of it).
func Because(sentinel error, detail string, cause error) error {
	e := &causeError{msg: sentinel.Error() + ": " + detail, errs: []error{sentinel}}
	if cause != nil {
		e.errs = append(e.errs, cause)
	}
	return e
}

// FieldError marks an error as being about one input field or option, so
// the package's wrap can lift the field into its typed error.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// At returns err marked as about field.
func At(field string, err error) error { return &FieldError{Field: field, Err: err} }

// StripInvalid returns the text of err without a leading "<pkg>: ",
// "gdpr: " and "invalid input: ", for a detail that follows the package's
// own ErrInvalid.
func StripInvalid(err error, pkg string) string {
	return strings.TrimPrefix(Trim(err.Error(), pkg), "invalid input: ")
}
