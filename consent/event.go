package consent

import (
	"fmt"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
)

// Kind is what an Event records.
type Kind string

// The kinds of event.
const (
	// Given: the subject gave consent (Art. 4(11), Art. 7).
	Given Kind = "given"
	// Refused: the subject was asked and said no. Refusal denies exactly as
	// no answer does, but it is on record: the controller can show it asked,
	// and should not nag.
	Refused Kind = "refused"
	// Withdrawn: the subject withdrew consent (Art. 7(3)).
	Withdrawn Kind = "withdrawn"
	// Expired: a consent lapsed, recorded by the controller (a consent whose
	// ExpiresAt has passed is treated as expired whether or not this event
	// was recorded).
	Expired Kind = "expired"
	// Pending: double opt-in was started; the consent is not valid until a
	// Given event confirms this one with its token before ExpiresAt.
	Pending Kind = "pending"
	// Objected: the subject objected to the processing (Art. 21), in
	// particular to direct marketing (Art. 21(2)–(3)), which must then stop.
	Objected Kind = "objected"
	// Overridden: the controller demonstrated compelling legitimate grounds
	// that override an objection under Art. 21(1) (Ledger.OverrideObjection).
	Overridden Kind = "overridden"
	// SoftOptIn: a customer's e-mail address or mobile number was obtained
	// in the context of a sale, with a clear and distinct opportunity to
	// object that they did not take, so that the controller may use it for
	// direct marketing of its own similar products or services without
	// consent (ePrivacy Directive 2002/58/EC Art. 13(2);
	// Ledger.RecordSoftOptIn). It is not consent, and it is always for one
	// channel, Email or SMS: like a Given event, it allows that channel only.
	SoftOptIn Kind = "soft_opt_in"
)

func (k Kind) valid() bool {
	switch k {
	case Given, Refused, Withdrawn, Expired, Pending, Objected, Overridden, SoftOptIn:
		return true
	}
	return false
}

// grants reports whether k allows processing on the channel of its event
// alone (Given, SoftOptIn) or is on the way to it (Pending), as opposed to
// the kinds that deny or stop processing.
func (k Kind) grants() bool { return k == Given || k == Pending || k == SoftOptIn }

// Contact is a channel of communication for direct marketing. Consent,
// withdrawal and objection can be scoped to one channel ("no more SMS, e-mail
// is fine"); the empty Contact means every channel.
//
// Which law governs direct marketing on a channel (see Ledger.Decide):
//
//   - Email, SMS, Push, WebPush and InApp are electronic communications
//     (Contact.Electronic). Direct marketing by electronic mail — "any text,
//     voice, sound or image message sent over a public communications
//     network which can be stored in the network or in the recipient's
//     terminal equipment until it is collected", ePrivacy Directive
//     2002/58/EC Art. 2(h), which covers SMS and MMS (Recital 40) — needs the
//     subscriber's prior consent (Art. 13(1)), except under the soft opt-in
//     of Art. 13(2) for e-mail and SMS to existing customers. This package
//     treats push, web push and in-app messages the same way as e-mail,
//     without the soft opt-in: whether each is "electronic mail" is argued,
//     and consent is the side on which no supervisory authority differs.
//   - Phone is a call made by a person. Art. 13(3) leaves such calls to
//     national law, which chooses either consent or a right to object (a
//     national do-not-call register, say); the ledger applies the GDPR rule
//     for it, as for Post: the lawful basis, and an objection always wins
//     (Art. 21(2)–(3)). Automated calling machines and fax need consent under
//     Art. 13(1): rest a purpose that uses them on consent in the Register.
//   - Post is outside the ePrivacy Directive: the GDPR alone applies.
type Contact string

// The contact channels.
const (
	AllContacts Contact = ""
	Email       Contact = "email"
	SMS         Contact = "sms"
	Push        Contact = "push"
	InApp       Contact = "in_app"
	WebPush     Contact = "web_push"
	Phone       Contact = "phone"
	Post        Contact = "post"
)

// Electronic reports whether c is a channel of electronic communications
// on which direct marketing needs consent or, for Email and SMS, a soft
// opt-in (ePrivacy Directive 2002/58/EC Art. 13(1)–(2)): Email, SMS, Push,
// WebPush and InApp. Phone (a call by a person), Post and AllContacts are
// not.
func (c Contact) Electronic() bool {
	switch c {
	case Email, SMS, Push, WebPush, InApp:
		return true
	}
	return false
}

// softOptInable reports whether a soft opt-in may be recorded for c: the
// "electronic contact details for electronic mail" of Art. 13(2), an e-mail
// address or a mobile number for SMS.
func (c Contact) softOptInable() bool { return c == Email || c == SMS }

func (c Contact) valid() bool {
	switch c {
	case AllContacts, Email, SMS, Push, InApp, WebPush, Phone, Post:
		return true
	}
	return false
}

// Method is how the subject expressed their choice. Any short lower-case key
// is accepted; these are the usual ones.
type Method string

// Common methods.
const (
	MethodForm        Method = "form"             // a web or app form, submitted
	MethodCheckbox    Method = "checkbox"         // an unticked box the subject ticked
	MethodBanner      Method = "banner"           // a consent banner
	MethodAPI         Method = "api"              // a call from another system on the subject's behalf
	MethodEmailLink   Method = "email_link"       // a confirmation link (double opt-in)
	MethodUnsubscribe Method = "unsubscribe_link" // a signed unsubscribe link (RFC 8058 one-click included)
	MethodPaper       Method = "paper"            // a signed paper form, recorded by staff
	MethodVerbal      Method = "verbal"           // by telephone or in person, recorded by staff
	MethodGPC         Method = "gpc"              // a Global Privacy Control signal (Sec-GPC: 1)
	MethodPreferences Method = "preference_centre"
	MethodSystem      Method = "system" // recorded by the controller, e.g. an expiry sweep
)

// NoticeRef identifies the notice a subject was shown when they chose: its
// ID, its version and the SHA-256 of its text, so the controller can later
// show exactly what the subject agreed to (Art. 7(1)).
type NoticeRef struct {
	ID       string `json:"id"`
	Version  int    `json:"version"`
	TextHash string `json:"text_hash,omitempty"` // hex SHA-256 of the text; filled in by the Ledger
}

// IsZero reports whether no notice is referenced.
func (n NoticeRef) IsZero() bool { return n.ID == "" && n.Version == 0 }

// Evidence is how the controller can show that a choice was made, without
// raw personal data: a truncated network prefix rather than an IP address, a
// browser family rather than a full user-agent string, a path rather than a
// URL with its query string. The Ledger refuses, with ErrInvalid and the
// field's name (never its value), evidence that breaks these rules; it never
// rewrites it, so what a host meant to keep is never silently changed.
// EvidenceFromRequest builds valid evidence from an HTTP request.
type Evidence struct {
	// IPPrefix is the network the request came from, truncated to at most
	// /24 for IPv4 and /48 for IPv6 (see TruncateIP). Longer prefixes are rejected.
	IPPrefix string `json:"ip_prefix,omitempty"`
	// UserAgent is a client family and an OS family joined by "/", as
	// UserAgentFamily returns them ("Firefox/Linux", "Safari/iOS"), or
	// "app/<OS family>" for the controller's own native app. Anything else
	// (a full User-Agent string, a version) is rejected: reduce it with
	// UserAgentFamily.
	UserAgent string `json:"user_agent,omitempty"`
	// Locator names where the choice was made: a form ID, a page path or
	// route pattern ("POST /signup"), a paper form's reference. At most 256
	// bytes and three words; no query string or fragment ('?' and '#' are
	// rejected: pass the path alone), no '@', and nothing that looks like
	// personal data (see Attrs), in clear or percent-encoded.
	Locator string `json:"locator,omitempty"`
	// Attrs holds a few more non-personal facts (at most 16), e.g.
	// {"gpc": "1", "ab_variant": "b"}. A name is a lower-case key
	// (^[a-z0-9_.-]{1,64}$) and a value a short token of at most 64 bytes
	// of ASCII letters, digits and "_.:/+=-" (no spaces, so no free text);
	// either is rejected when it looks like personal data: an e-mail
	// address, an IPv4 or IPv6 address (dotted quads anywhere in it count),
	// or a telephone number (a run of 9 or more digits, or of 7 or more
	// after a '+', counted across the separators " -./()"). A UUID is
	// accepted.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// TruncateIP returns the network of addr that Evidence may hold: /24 for
// IPv4 (and IPv4-mapped IPv6), /48 for IPv6. An invalid addr gives "".
func TruncateIP(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	addr = addr.Unmap()
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	p, err := addr.WithZone("").Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// Event is one immutable entry of the ledger. Nothing in the ledger is
// updated in place: the state of a subject's consent is derived from the
// sequence of their events.
type Event struct {
	// ID is a UUIDv7, unique in the ledger, assigned by the Ledger.
	ID string `json:"id"`
	// Subject is whose choice this is.
	Subject gdpr.SubjectID `json:"subject"`
	// Purpose is what processing the choice is about.
	Purpose gdpr.Purpose `json:"purpose"`
	// Contact scopes the choice to one channel of communication; empty for all.
	Contact Contact `json:"contact,omitempty"`
	// Kind is what happened.
	Kind Kind `json:"kind"`
	// Time is when it was recorded, in UTC, to the microsecond.
	Time time.Time `json:"time"`
	// Actor is who recorded it: the subject, or staff recording a paper form.
	Actor gdpr.Actor `json:"actor"`
	// Notice is the notice shown; required for Given, Refused and Pending.
	Notice NoticeRef `json:"notice,omitzero"`
	// Method is how the choice was expressed.
	Method Method `json:"method"`
	// Channel is where it was collected: "web", "ios", "call_centre"…
	Channel string `json:"channel,omitempty"`
	// Evidence shows how, without raw personal data.
	Evidence Evidence `json:"evidence,omitzero"`
	// ExpiresAt, on a Given event, is when the consent lapses; on a Pending
	// event, the deadline for its confirmation. Zero means no expiry.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Basis is the lawful basis the choice is about: Consent or ExplicitConsent
	// for consent events; for an objection, the basis objected to.
	Basis gdpr.LawfulBasis `json:"basis"`
	// Confirms, on a Given event made by double opt-in, is the ID of the
	// Pending event it confirms. A Pending event is confirmed at most once.
	Confirms string `json:"confirms,omitempty"`
	// TokenHash, on a Pending event, is the SHA-256 of the confirmation
	// token's secret part. The token itself is never stored.
	TokenHash []byte `json:"-"`
	// Seq is the event's position in the ledger, assigned by the Store on
	// Append (any value given is ignored); later appends have higher Seq.
	// Decisions follow Seq, not Time: see Store.
	Seq int64 `json:"-"`
}

// Applies reports whether e bears on a decision about contact. An event for
// all channels applies to every question. An event for one channel applies
// to questions about that channel; and, since a question without a channel
// is about the purpose as a whole, a withdrawal, refusal, expiry or objection
// for any one channel applies to it too, while a consent, a pending consent
// or a soft opt-in for one channel does not (it allows that channel only).
func (e Event) Applies(contact Contact) bool {
	switch {
	case e.Contact == AllContacts, e.Contact == contact:
		return true
	case contact == AllContacts:
		return !e.Kind.grants()
	}
	return false
}

const (
	maxShort   = 64
	maxLocator = 256
	maxAttrs   = 16
)

// validate checks an event before it is stored. It never echoes a value that
// could be personal data.
func (e *Event) validate() error {
	if err := e.Subject.Validate(); err != nil {
		return invalid("subject", err)
	}
	if err := e.Purpose.Validate(); err != nil {
		return invalid("purpose", err)
	}
	if !e.Kind.valid() {
		return invalidf("kind", "unknown kind %s", show(string(e.Kind)))
	}
	if !e.Contact.valid() {
		return invalidf("contact", "unknown contact channel %s", show(string(e.Contact)))
	}
	if err := e.Actor.Validate(); err != nil {
		return invalid("actor", err)
	}
	if !e.Basis.Valid() {
		return invalidf("basis", "missing or unknown lawful basis")
	}
	if e.Time.IsZero() {
		return invalidf("time", "missing time")
	}
	switch e.Kind {
	case Given, Refused, Pending, SoftOptIn:
		if e.Notice.ID == "" {
			return invalidf("notice", "a %s event needs the notice shown", e.Kind)
		}
	}
	if e.Kind == SoftOptIn && !e.Contact.softOptInable() {
		return invalidf("contact", "a soft opt-in is for one channel, email or sms (ePrivacy Art. 13(2))")
	}
	if e.Notice.ID != "" || e.Notice.Version != 0 {
		if err := validKey(e.Notice.ID, maxLocator); err != nil {
			return invalidf("notice.id", "%v", err)
		}
		if e.Notice.Version < 1 {
			return invalidf("notice.version", "notice version must be 1 or more")
		}
	}
	if err := validKey(string(e.Method), maxShort); err != nil {
		return invalidf("method", "%v", err)
	}
	if e.Channel != "" {
		if err := validKey(e.Channel, maxShort); err != nil {
			return invalidf("channel", "%v", err)
		}
	}
	if err := e.Evidence.validate(); err != nil {
		return err
	}
	if !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(e.Time) {
		return invalidf("expires_at", "expiry not after the event time")
	}
	if e.Kind == Pending && (len(e.TokenHash) == 0 || e.ExpiresAt.IsZero()) {
		return invalidf("token", "a pending event needs a token hash and a deadline")
	}
	if e.Kind != Pending && len(e.TokenHash) != 0 {
		return invalidf("token", "only a pending event carries a token hash")
	}
	if e.Confirms != "" && e.Kind != Given {
		return invalidf("confirms", "only a given event confirms a pending one")
	}
	return nil
}

// validKey accepts non-empty printable UTF-8 of at most n bytes.
func validKey(s string, n int) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if len(s) > n {
		return fmt.Errorf("longer than %d bytes", n)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("not UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("contains a control character")
		}
	}
	return nil
}
