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
// echoed back.
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
	return strconv.Quote(s)
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
