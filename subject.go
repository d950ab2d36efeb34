package gdpr

import (
	"errors"
	"fmt"
	"github.com/gdprkit/gdpr/internal/errs"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxIDLen is the longest SubjectID, Purpose or actor ID this module accepts,
// in bytes. Identifiers are keys, not documents.
const MaxIDLen = 255

// SubjectID identifies a data subject (Art. 4(1)) inside the host
// application: a user ID, a customer number, a UUID. It is personal data in
// itself, so this module never writes it into an error, a log line or the
// audit trail in clear. Printed with fmt, whatever the verb (%v, %s, %q, %x,
// %d, %#v, …), it shows a fixed mask; use string(id) where the value itself
// is wanted. The mask reaches only what fmt can call methods on: a SubjectID
// in an unexported struct field is printed in clear when the struct is, as
// fmt cannot call methods of unexported fields. JSON and other encodings
// carry the value, since stores need it.
//
// Prefer an internal, opaque identifier over a natural one (an e-mail address
// or a national ID number): everything keyed by the SubjectID must be found
// again when the subject asks for access or erasure.
type SubjectID string

// String returns "[subject]" so that a SubjectID that reaches fmt, a logger
// or an error by mistake does not print the identifier. Use string(id) where
// the value itself is wanted.
func (s SubjectID) String() string { return "[subject]" }

// GoString masks the value for %#v as String does for %v.
func (s SubjectID) GoString() string { return "gdpr.SubjectID([subject])" }

// Format implements fmt.Formatter so that every verb prints the mask: %#v
// prints GoString, %q the quoted mask, every other verb (%v, %s, %x, %d, …)
// the mask as String returns it. Width and the '-' flag pad the mask; other
// flags and the precision are ignored.
func (s SubjectID) Format(f fmt.State, verb rune) {
	var out string
	switch {
	case verb == 'v' && f.Flag('#'):
		out = s.GoString()
	case verb == 'q':
		out = `"` + s.String() + `"`
	default:
		out = s.String()
	}
	if w, ok := f.Width(); ok && w > len(out) {
		pad := strings.Repeat(" ", min(w, 4096)-len(out))
		if f.Flag('-') {
			out += pad
		} else {
			out = pad + out
		}
	}
	io.WriteString(f, out)
}

// Validate reports whether s is usable as a key: non-empty, valid UTF-8, at
// most MaxIDLen bytes, without control characters. The error wraps ErrInvalid
// and does not contain the value.
func (s SubjectID) Validate() error {
	return validateID("subject", string(s))
}

// Purpose identifies a purpose of processing (Art. 5(1)(b)), such as
// "newsletter" or "order_fulfilment". It is a stable key chosen by the
// controller, declared in the Register, and is not personal data.
type Purpose string

// Validate reports whether p is a usable purpose key; the error wraps ErrInvalid.
func (p Purpose) Validate() error { return validateID("purpose", string(p)) }

// ActorKind says who performed an action.
type ActorKind string

// The kinds of actor.
const (
	// ActorSubject is the data subject acting for themselves.
	ActorSubject ActorKind = "subject"
	// ActorStaff is a member of the controller's (or a processor's) staff.
	ActorStaff ActorKind = "staff"
	// ActorSystem is an automated process: a worker, a scheduled sweep, an import.
	ActorSystem ActorKind = "system"
)

// Actor is who performed an action: the subject themselves, a staff member or
// a system. ID names the staff account or the system; for ActorSubject it may
// be empty, since the subject is already known from the record it acts on.
//
// The ID of a staff member is personal data of that staff member; audit
// recorders treat it as such.
type Actor struct {
	Kind ActorKind `json:"kind"`
	ID   string    `json:"id,omitempty"`
}

// SubjectActor is the data subject acting for themselves.
func SubjectActor() Actor { return Actor{Kind: ActorSubject} }

// Staff is the staff member with the given account ID.
func Staff(id string) Actor { return Actor{Kind: ActorStaff, ID: id} }

// System is the automated process with the given name.
func System(name string) Actor { return Actor{Kind: ActorSystem, ID: name} }

// IsZero reports whether a is the zero Actor.
func (a Actor) IsZero() bool { return a == Actor{} }

// String returns the kind and, for systems, the name; a staff ID is masked.
func (a Actor) String() string { return string(a.Kind) + ":" + maskIf(a) }

func maskIf(a Actor) string {
	if a.Kind == ActorSystem {
		return a.ID
	}
	if a.ID == "" {
		return "-"
	}
	return "[id]"
}

// GoString masks a staff ID for %#v as String does for %v.
func (a Actor) GoString() string {
	return "gdpr.Actor{Kind:" + strconv.Quote(string(a.Kind)) + ", ID:" + maskIf(a) + "}"
}

// Validate checks that the kind is known and that staff and system actors
// carry an ID. The error wraps ErrInvalid.
func (a Actor) Validate() error {
	switch a.Kind {
	case ActorSubject:
		if a.ID == "" {
			return nil
		}
	case ActorStaff, ActorSystem:
		if a.ID == "" {
			return fmt.Errorf("%w: actor of kind %q needs an ID", ErrInvalid, a.Kind)
		}
	default:
		return fmt.Errorf("%w: unknown actor kind %s", ErrInvalid, showKey(string(a.Kind)))
	}
	return validateID("actor", a.ID)
}

// ErrInvalid is wrapped by every validation error in this module: bad input
// that was rejected before anything was written.
var ErrInvalid = errors.New("gdpr: invalid input")

func validateID(what, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: empty %s ID", ErrInvalid, what)
	case len(v) > MaxIDLen:
		return fmt.Errorf("%w: %s ID longer than %d bytes", ErrInvalid, what, MaxIDLen)
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s ID is not valid UTF-8", ErrInvalid, what)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s ID contains a control character", ErrInvalid, what)
		}
	}
	return nil
}

// truncate shortens a non-personal value (an enum, a key) for an error
// message to at most n bytes plus an ellipsis, cutting at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// showKey is errs.Show: it quotes a rejected value only when it looks like
// a key (^[a-z0-9_.-]{1,40}$), so no personal data reaches an error.
func showKey(s string) string { return errs.Show(s) }

const notShown = errs.NotShown
