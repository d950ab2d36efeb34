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

import "strings"

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
// field. A cause whose text starts with "<pkg>: " or "<pkg> " (a sentinel
// or error of the same package, or of the root package "gdpr") loses that
// prefix, so no package is named twice.
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
		if strings.HasPrefix(msg, p) {
			msg = msg[len(p):]
		}
	}
	return msg
}
