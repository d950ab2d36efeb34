package audit

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"github.com/gdprkit/gdpr/internal/auditlimit"
	"slices"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
)

// Entry is one audit record as the log keeps it: an event with its subject
// and its staff or subject actor replaced by pseudonyms.
type Entry struct {
	// Index is the entry's position in the log, from 0.
	Index int64 `json:"index"`
	// Time is when the event happened, to the microsecond, in UTC.
	Time time.Time `json:"time"`
	// Actor is who acted. For an ActorStaff or an ActorSubject with an ID,
	// Actor.ID is the actor's pseudonym in hex (see Pseudonym), never the
	// ID; for an ActorSystem it is the system's name.
	Actor gdpr.Actor `json:"actor"`
	// Action is a dotted verb, e.g. "consent.given", "crypto.decrypt".
	Action string `json:"action"`
	// Subject is the pseudonym of the data subject; zero for events about
	// no subject.
	Subject Pseudonym    `json:"subject,omitzero"`
	Purpose gdpr.Purpose `json:"purpose,omitempty"`
	// Categories are the data categories concerned, as in the Register.
	Categories []string `json:"categories,omitempty"`
	// Resource names what was touched, e.g. "consent_event/0190…".
	Resource string       `json:"resource,omitempty"`
	Outcome  gdpr.Outcome `json:"outcome"`
	// Nonce is random. It makes the leaf hash of every entry unguessable,
	// so that once an entry is redacted its hash confirms no guess of what
	// it said.
	Nonce [NonceSize]byte `json:"-"`
	// Attrs are a few non-personal attributes.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// NonceSize is the size of an entry's nonce in bytes.
const NonceSize = 16

// Pseudonym stands for a data subject or a staff member in the log: an
// HMAC-SHA-256, under the Log's pseudonym key, of the ID and a random salt
// kept per ID. Deleting the salt (Log.EraseSubject, Log.ForgetActor)
// leaves every pseudonym of that ID in the log without a key to link it
// back, while the log still verifies.
type Pseudonym [32]byte

// IsZero reports whether p is the zero Pseudonym (no subject).
func (p Pseudonym) IsZero() bool { return p == Pseudonym{} }

// String returns p in lower-case hex.
func (p Pseudonym) String() string { return hex.EncodeToString(p[:]) }

// MarshalText returns p in lower-case hex.
func (p Pseudonym) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses p from hex. The error is an *Error (Op "unmarshal
// pseudonym") wrapping ErrInvalid.
func (p *Pseudonym) UnmarshalText(b []byte) error {
	if len(b) != 2*len(p) {
		return wrap("unmarshal pseudonym", invalid("", fmt.Sprintf("a pseudonym is %d hex digits", 2*len(p))))
	}
	if _, err := hex.Decode(p[:], b); err != nil {
		return wrap("unmarshal pseudonym", invalid("", "a pseudonym is hex"))
	}
	return nil
}

// Limits on what an entry holds. An event over them is refused with
// ErrInvalid; they keep every entry well under MaxEntrySize.
const (
	MaxKeyLen        = auditlimit.MaxKeyLen        // an action, purpose, category or attribute key
	MaxResourceLen   = auditlimit.MaxResourceLen   // the resource name
	MaxAttrValueLen  = auditlimit.MaxAttrValueLen  // an attribute value
	MaxAttrs         = auditlimit.MaxAttrs         // attributes per entry
	MaxCategories    = auditlimit.MaxCategories    // categories per entry
	MaxSystemNameLen = auditlimit.MaxSystemNameLen // the name of an ActorSystem
	// MaxEntrySize bounds an encoded entry; the decoder refuses more.
	MaxEntrySize = 16 << 10
)

// encodingV1 is the first byte of a version-1 entry encoding.
const encodingV1 = 1

// Actor kinds and outcomes, as encoded.
const (
	kindSubject = 1
	kindStaff   = 2
	kindSystem  = 3

	outSuccess = 1
	outFailure = 2
	outDenied  = 3
)

// MarshalBinary returns the entry's canonical encoding, version 1, whose
// RFC 6962 record hash (tlog.RecordHash) is the entry's leaf in the tree.
// Index is not part of it: the tree gives the position. The encoding is:
//
//	byte     version (1)
//	8 bytes  time, microseconds since 1970 UTC, big-endian, signed
//	byte     actor kind: 1 subject, 2 staff, 3 system
//	string   actor: a 32-byte pseudonym, empty (a subject actor with no
//	         ID) or a system name
//	string   action
//	string   subject pseudonym: 32 bytes, or empty
//	string   purpose
//	uvarint  number of categories, then each as a string
//	string   resource
//	byte     outcome: 1 success, 2 failure, 3 denied
//	16 bytes nonce
//	uvarint  number of attributes, then key and value strings, keys in
//	         strictly increasing byte order
//
// where a string is a uvarint length and that many bytes of UTF-8. Every
// entry has exactly one encoding: a decoder refuses anything else.
//
// An entry over the limits is refused with an *Error (Op "marshal entry")
// wrapping ErrInvalid and naming the field at fault, never its value.
func (e *Entry) MarshalBinary() ([]byte, error) {
	if err := e.validate(); err != nil {
		return nil, wrap("marshal entry", err)
	}
	var actor []byte
	if e.Actor.Kind != gdpr.ActorSystem && e.Actor.ID != "" {
		var p Pseudonym
		hex.Decode(p[:], []byte(e.Actor.ID)) // validated
		actor = p[:]
	}
	return e.appendBinary(make([]byte, 0, e.size()), actor), nil
}

func (e *Entry) size() int {
	n := 1 + 8 + 1 + 10 + len(e.Actor.ID) + 10 + len(e.Action) + 11 + 32 + 10 + len(e.Purpose) + 10 + 10 + len(e.Resource) + 1 + NonceSize + 10
	if e.Actor.Kind != gdpr.ActorSystem && e.Actor.ID != "" {
		n += 32
	}
	for _, c := range e.Categories {
		n += 10 + len(c)
	}
	// Attributes are estimated, not measured, to spare a walk of the
	// map: append grows the buffer if they are longer.
	return n + len(e.Attrs)*64
}

// appendBinary appends the encoding of a valid entry to b; actor is the
// raw pseudonym of a staff or subject actor (e.Actor.ID decoded).
func (e *Entry) appendBinary(b, actor []byte) []byte {
	b = append(b, encodingV1)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixMicro()))
	switch e.Actor.Kind {
	case gdpr.ActorSubject:
		b = append(b, kindSubject)
	case gdpr.ActorStaff:
		b = append(b, kindStaff)
	default:
		b = append(b, kindSystem)
	}
	if e.Actor.Kind == gdpr.ActorSystem || e.Actor.ID == "" {
		b = appendString(b, e.Actor.ID)
	} else {
		b = appendBytes(b, actor)
	}
	b = appendString(b, e.Action)
	if e.Subject.IsZero() {
		b = append(b, 0)
	} else {
		b = appendBytes(b, e.Subject[:])
	}
	b = appendString(b, string(e.Purpose))
	b = binary.AppendUvarint(b, uint64(len(e.Categories)))
	for _, c := range e.Categories {
		b = appendString(b, c)
	}
	b = appendString(b, e.Resource)
	switch e.Outcome {
	case gdpr.Success:
		b = append(b, outSuccess)
	case gdpr.Failure:
		b = append(b, outFailure)
	default:
		b = append(b, outDenied)
	}
	b = append(b, e.Nonce[:]...)
	b = binary.AppendUvarint(b, uint64(len(e.Attrs)))
	if len(e.Attrs) == 1 {
		for k, v := range e.Attrs {
			b = appendString(b, k)
			b = appendString(b, v)
		}
	} else if len(e.Attrs) > 1 {
		keys := make([]string, 0, len(e.Attrs))
		for k := range e.Attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendString(b, k)
			b = appendString(b, e.Attrs[k])
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// UnmarshalBinary decodes a canonical version-1 encoding into e (whose
// Index it leaves alone). It refuses, with an error wrapping ErrInvalid,
// every input that MarshalBinary would not have produced: an unknown
// version, a truncated or over-long field, attributes out of order,
// trailing bytes. Its errors are *Error with Op "unmarshal entry", and
// never quote the input.
func (e *Entry) UnmarshalBinary(data []byte) error {
	return wrap("unmarshal entry", e.unmarshalBinary(data))
}

func (e *Entry) unmarshalBinary(data []byte) error {
	var d decoder
	d.b = data
	if len(data) > MaxEntrySize {
		return fmt.Errorf("%w: entry of %d bytes, more than %d", ErrInvalid, len(data), MaxEntrySize)
	}
	var out Entry
	out.Index = e.Index
	if v := d.byte(); v != encodingV1 {
		if d.err != nil {
			return d.err
		}
		return fmt.Errorf("%w: unknown entry encoding version %d", ErrInvalid, v)
	}
	out.Time = time.UnixMicro(int64(d.uint64())).UTC()
	kind := d.byte()
	actor := d.bytes(MaxSystemNameLen)
	switch kind {
	case kindSubject, kindStaff:
		out.Actor.Kind = gdpr.ActorStaff
		if kind == kindSubject {
			out.Actor.Kind = gdpr.ActorSubject
		}
		switch {
		case len(actor) == 32:
			out.Actor.ID = hex.EncodeToString(actor)
		case len(actor) == 0 && kind == kindSubject:
		default:
			d.fail("actor pseudonym")
		}
	case kindSystem:
		out.Actor = gdpr.System(string(actor))
	default:
		d.fail("actor kind")
	}
	out.Action = string(d.bytes(MaxKeyLen))
	if s := d.bytes(32); len(s) == 32 {
		copy(out.Subject[:], s)
	} else if len(s) != 0 {
		d.fail("subject pseudonym")
	}
	out.Purpose = gdpr.Purpose(d.bytes(gdpr.MaxIDLen))
	if n := d.count(MaxCategories); n > 0 {
		out.Categories = make([]string, n)
		for i := range out.Categories {
			out.Categories[i] = string(d.bytes(MaxKeyLen))
		}
	}
	out.Resource = string(d.bytes(MaxResourceLen))
	switch d.byte() {
	case outSuccess:
		out.Outcome = gdpr.Success
	case outFailure:
		out.Outcome = gdpr.Failure
	case outDenied:
		out.Outcome = gdpr.Denied
	default:
		d.fail("outcome")
	}
	copy(out.Nonce[:], d.next(NonceSize))
	if n := d.count(MaxAttrs); n > 0 {
		out.Attrs = make(map[string]string, n)
		prev := ""
		for i := range n {
			k := string(d.bytes(MaxKeyLen))
			v := string(d.bytes(MaxAttrValueLen))
			if i > 0 && k <= prev {
				d.fail("attribute order")
			}
			prev = k
			out.Attrs[k] = v
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return d.err
	}
	if err := out.validate(); err != nil {
		return err
	}
	*e = out
	return nil
}

// peekAction returns the action of an encoded entry without decoding the
// rest, or "" if the encoding is malformed.
func peekAction(data []byte) string {
	c, ok := peekColumns(data)
	if !ok {
		return ""
	}
	return string(c.action)
}

// columns are what the head of an encoded entry says about the query
// columns a Store keeps beside it (StoredEntry's Time, Subject and Actor),
// and its action; the byte slices alias the encoding.
type columns struct {
	us      int64  // the time, in microseconds since 1970 UTC
	kind    byte   // kindSubject, kindStaff or kindSystem
	actor   []byte // a raw pseudonym, a system name, or empty
	action  []byte
	subject []byte // a raw pseudonym, or empty
}

// peekColumns reads the columns of an encoded entry without decoding the
// rest (nor allocating), and reports whether its head is well formed.
func peekColumns(data []byte) (columns, bool) {
	d := decoder{b: data}
	var c columns
	if d.byte() != encodingV1 {
		return c, false
	}
	c.us = int64(d.uint64())
	c.kind = d.byte()
	c.actor = d.bytes(MaxSystemNameLen)
	c.action = d.bytes(MaxKeyLen)
	c.subject = d.bytes(32)
	return c, d.err == nil
}

// kindName returns the name of an encoded actor kind, as the Actor column
// spells it ("" for an unknown kind).
func kindName(k byte) string {
	switch k {
	case kindSubject:
		return string(gdpr.ActorSubject)
	case kindStaff:
		return string(gdpr.ActorStaff)
	case kindSystem:
		return string(gdpr.ActorSystem)
	}
	return ""
}

// actorIs reports whether col is the Actor column of the entry: its kind's
// name, ':', and the raw pseudonym, the system name or nothing.
func (c *columns) actorIs(col []byte) bool {
	k := kindName(c.kind)
	return k != "" && len(col) == len(k)+1+len(c.actor) && string(col[:len(k)]) == k &&
		col[len(k)] == ':' && bytes.Equal(col[len(k)+1:], c.actor)
}

// mismatch names the query columns of se that disagree with c, its body's:
// "" if none does, else "time", "subject", "actor" or several of them,
// comma-separated. It names columns only, never their values.
func (c *columns) mismatch(se *StoredEntry) string {
	t := se.Time.IsZero() || se.Time.UnixMicro() != c.us
	s := !bytes.Equal(se.Subject, c.subject)
	a := !c.actorIs(se.Actor)
	if !t && !s && !a {
		return ""
	}
	var names []string
	for _, x := range []struct {
		bad  bool
		name string
	}{{t, "time"}, {s, "subject"}, {a, "actor"}} {
		if x.bad {
			names = append(names, x.name)
		}
	}
	return strings.Join(names, ", ")
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: malformed entry (%s)", ErrInvalid, what)
	}
}

func (d *decoder) next(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail("truncated")
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) byte() byte {
	if s := d.next(1); s != nil {
		return s[0]
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if s := d.next(8); s != nil {
		return binary.BigEndian.Uint64(s)
	}
	return 0
}

// count reads a uvarint of at most max.
func (d *decoder) count(max int) int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > uint64(max) {
		d.fail("length")
		return 0
	}
	if n != uvarintLen(v) {
		d.fail("non-minimal length")
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// bytes reads a string of at most max bytes.
func (d *decoder) bytes(max int) []byte {
	return d.next(d.count(max))
}

// validate checks an entry before it is encoded; its errors name fields,
// never values (except key-like ones).
func (e *Entry) validate() error {
	if e.Time.IsZero() {
		return invalid("Time", "entry without a time")
	}
	switch e.Actor.Kind {
	case gdpr.ActorSubject, gdpr.ActorStaff:
		if e.Actor.ID == "" && e.Actor.Kind == gdpr.ActorSubject {
			break
		}
		if len(e.Actor.ID) != 64 || (e.Actor.ID != placeholder && !isLowerHex(e.Actor.ID)) {
			return invalid("Actor", fmt.Sprintf("the %s actor of an entry is a pseudonym in hex", e.Actor.Kind))
		}
	case gdpr.ActorSystem:
		if e.Actor.ID == "" || len(e.Actor.ID) > MaxSystemNameLen || !printable(e.Actor.ID) {
			return invalid("Actor", fmt.Sprintf("a system actor needs a printable name of at most %d bytes", MaxSystemNameLen))
		}
	default:
		return invalid("Actor", "unknown actor kind")
	}
	if !isKey(e.Action) {
		return invalid("Action", fmt.Sprintf("the action must match ^[a-z0-9_.-]{1,%d}$", MaxKeyLen))
	}
	if e.Purpose != "" {
		if err := e.Purpose.Validate(); err != nil {
			return invalid("Purpose", "bad purpose")
		}
	}
	if len(e.Categories) > MaxCategories {
		return invalid("Categories", fmt.Sprintf("more than %d categories", MaxCategories))
	}
	for _, c := range e.Categories {
		if !isKey(c) {
			return invalid("Categories", fmt.Sprintf("a category must match ^[a-z0-9_.-]{1,%d}$", MaxKeyLen))
		}
	}
	if len(e.Resource) > MaxResourceLen || !printable(e.Resource) {
		return invalid("Resource", fmt.Sprintf("the resource must be printable UTF-8 of at most %d bytes", MaxResourceLen))
	}
	switch e.Outcome {
	case gdpr.Success, gdpr.Failure, gdpr.Denied:
	default:
		return invalid("Outcome", "unknown outcome")
	}
	if len(e.Attrs) > MaxAttrs {
		return invalid("Attrs", fmt.Sprintf("more than %d attributes", MaxAttrs))
	}
	for k, v := range e.Attrs {
		if !isKey(k) {
			return invalid("Attrs", fmt.Sprintf("an attribute key must match ^[a-z0-9_.-]{1,%d}$", MaxKeyLen))
		}
		if len(v) > MaxAttrValueLen || !printable(v) {
			return invalid("Attrs", fmt.Sprintf("attribute %q: the value must be printable UTF-8 of at most %d bytes", k, MaxAttrValueLen))
		}
	}
	return nil
}

// isKey reports whether s matches ^[a-z0-9_.-]{1,MaxKeyLen}$.
func isKey(s string) bool { return auditlimit.IsKey(s) }

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// printable reports whether s is valid UTF-8 without control characters
// (C0, DEL, C1).
func printable(s string) bool { return auditlimit.Printable(s) }
