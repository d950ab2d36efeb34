package webhook

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/errs"
)

// The event types of the payloads, one per kind of request a recipient is
// told of (Art. 19): "gdpr." and the gdpr.RequestKind.
const (
	TypeRectification = "gdpr.rectification" // Art. 16
	TypeErasure       = "gdpr.erasure"       // Art. 17(1)
	TypeRestriction   = "gdpr.restriction"   // Art. 18(1)
)

// Notice is what a recipient is told, the data of a payload: the
// non-personal facts of the request, and the recipient's own reference
// for the subject. It names no subject, holds no value of any field, and
// no other recipient's reference.
type Notice struct {
	// ID is the notice's idempotence key, the same as the delivery's
	// webhook-id (erasure.RecipientNotice.ID): stable across retries.
	ID string `json:"id"`
	// Request is the ID of the controller's request.
	Request string `json:"request"`
	// Kind is what happened: gdpr.KindRectification, gdpr.KindErasure or
	// gdpr.KindRestriction.
	Kind gdpr.RequestKind `json:"kind"`
	// Article is the provision the controller acted under: "Art. 16",
	// "Art. 17(1)", or for a restriction its ground's, e.g.
	// "Art. 18(1)(a)" ("Art. 18(1)" if none was given).
	Article string `json:"article"`
	// Reference is the recipient's own reference for the subject, by
	// which it finds its record.
	Reference Reference `json:"reference"`
	// Fields are the fields a rectification corrected, by name
	// ("<target>.<field>"), without their values: the recipient asks the
	// controller for the corrected data, or corrects its own copy.
	Fields []string `json:"fields,omitempty"`
	// Categories are the data categories an erasure erased, as the
	// controller's targets name them; none if they name none.
	Categories []string `json:"categories,omitempty"`
	// Ground is a restriction's ground of Art. 18(1).
	Ground erasure.Ground `json:"ground,omitempty"`
	// Purposes are the purposes a restriction covers; none: every
	// processing but storage.
	Purposes []gdpr.Purpose `json:"purposes,omitempty"`
	// At is when the controller took the action.
	At time.Time `json:"at"`
}

// envelope is the payload in the shape the Standard Webhooks spec
// recommends, as the Notifier writes it.
type envelope struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Message is a delivery a Verifier accepted.
type Message struct {
	// ID is the delivery's webhook-id, the idempotence key: the same on
	// every retry of one notice. Process each ID once.
	ID string
	// Sent is the delivery's webhook-timestamp: when this attempt was
	// signed (a retry is signed anew).
	Sent time.Time
	// Type is the payload's event type, one of TypeRectification,
	// TypeErasure, TypeRestriction.
	Type string
	// Timestamp is the payload's timestamp: when the action was taken.
	Timestamp time.Time
	// Notice is the payload's data.
	Notice Notice
}

// article returns the provision of a notice's kind and ground.
func article(k gdpr.RequestKind, g erasure.Ground) string {
	switch k {
	case gdpr.KindRectification:
		return "Art. 16"
	case gdpr.KindErasure:
		return "Art. 17(1)"
	case gdpr.KindRestriction:
		if a := g.Article(); a != "" {
			return a
		}
		return "Art. 18(1)"
	}
	return ""
}

// encode returns the payload of n, or an error (marked with the notice's
// field at fault) wrapping ErrInvalid. The recipient's reference is not
// checked here.
func encode(n erasure.RecipientNotice) ([]byte, error) {
	if !validID(n.ID) {
		return nil, errs.At("ID", invalidf("a notice ID is 1 to %d bytes of printable ASCII without spaces or dots", maxIDLen))
	}
	if n.Request == "" {
		return nil, errs.At("Request", invalidf("no request ID"))
	}
	// encoding/json would write U+FFFD for each invalid byte, silently:
	// two values would reach the recipient as one.
	if !utf8.ValidString(n.Request) {
		return nil, errs.At("Request", invalidf("not valid UTF-8"))
	}

	if n.At.IsZero() {
		return nil, errs.At("At", invalidf("no time of the action"))
	}
	if article(n.Kind, "") == "" {
		return nil, errs.At("Kind", invalidf("a recipient is told of a rectification, an erasure or a restriction, not of %s", errs.Show(string(n.Kind))))
	}
	d := Notice{
		ID: n.ID, Request: n.Request, Kind: n.Kind, Article: article(n.Kind, n.Ground),
		Reference: Reference(n.Recipient.Reference), At: n.At.UTC(),
	}
	switch n.Kind {
	case gdpr.KindRectification:
		d.Fields = n.Fields
	case gdpr.KindErasure:
		d.Categories = n.Categories
	case gdpr.KindRestriction:
		if n.Ground != "" && !n.Ground.Valid() {
			return nil, errs.At("Ground", invalidf("unknown ground %s", errs.Show(string(n.Ground))))
		}
		d.Ground, d.Purposes = n.Ground, n.Purposes
	}
	// Of what is sent, as for the request ID.
	for _, l := range []struct {
		name string
		vs   []string
	}{{"Fields", d.Fields}, {"Categories", d.Categories}} {
		for i, v := range l.vs {
			if !utf8.ValidString(v) {
				return nil, errs.At(fmt.Sprintf("%s[%d]", l.name, i), invalidf("not valid UTF-8"))
			}
		}
	}
	for i, p := range d.Purposes {
		if !utf8.ValidString(string(p)) {
			return nil, errs.At(fmt.Sprintf("Purposes[%d]", i), invalidf("not valid UTF-8"))
		}
	}
	data, err := json.Marshal(d)
	if err != nil { // a time beyond the year 9999
		return nil, errs.At("At", invalidf("a time JSON cannot hold"))
	}
	body, err := json.Marshal(envelope{Type: "gdpr." + string(n.Kind), Timestamp: d.At.Format(time.RFC3339Nano), Data: data})
	if err != nil { // not reached: data is valid JSON
		return nil, invalidf("the notice does not encode")
	}
	return body, nil
}

// decode reads a payload this package's Notifier sent, checking that it
// belongs to the delivery id. The error is marked with the payload's
// field at fault and never quotes a value.
func decode(id string, body []byte) (Message, error) {
	// encoding/json reads each invalid byte as U+FFFD: two references
	// would be read as one.
	if !utf8.Valid(body) {
		return Message{}, errs.At("body", invalidf("not valid UTF-8"))
	}
	var env struct {
		Type      string  `json:"type"`
		Timestamp string  `json:"timestamp"`
		Data      *Notice `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		field := "body"
		if te, ok := err.(*json.UnmarshalTypeError); ok && strings.HasPrefix(te.Field, "data") {
			field = "data"
		}
		// Its text may quote the input: say only where.
		return Message{}, errs.At(field, invalidf("malformed JSON (%s)", jsonWhere(err)))
	}
	m := Message{ID: id, Type: env.Type}
	kind, ok := strings.CutPrefix(env.Type, "gdpr.")
	if !ok || article(gdpr.RequestKind(kind), "") == "" {
		return Message{}, errs.At("type", invalidf("not a type of this package"))
	}
	ts, err := time.Parse(time.RFC3339Nano, env.Timestamp)
	if err != nil {
		return Message{}, errs.At("timestamp", invalidf("not an RFC 3339 time"))
	}
	m.Timestamp = ts
	if env.Data == nil {
		return Message{}, errs.At("data", invalidf("not a JSON object"))
	}
	m.Notice = *env.Data
	n := &m.Notice
	switch {
	case n.ID != id:
		return Message{}, errs.At("data.id", invalidf("not the webhook-id"))
	case n.Kind != gdpr.RequestKind(kind):
		return Message{}, errs.At("data.kind", invalidf("not the kind of the type"))
	case n.Request == "":
		return Message{}, errs.At("data.request", invalidf("no request ID"))
	case n.Reference == "":
		return Message{}, errs.At("data.reference", invalidf("no reference"))
	case n.At.IsZero():
		return Message{}, errs.At("data.at", invalidf("no time"))
	case n.Ground != "" && !n.Ground.Valid():
		return Message{}, errs.At("data.ground", invalidf("unknown ground"))
	}
	return m, nil
}

// jsonWhere describes a JSON decoding error without quoting the input.
func jsonWhere(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return "wrong type of " + errs.Show(strings.ToLower(e.Field))
	}
	return "a malformed value"
}

// maxIDLen is the longest webhook-id accepted or sent.
const maxIDLen = 255

// validID reports whether id can be a webhook-id: 1 to maxIDLen bytes of
// printable ASCII, no space (a header value, signed as it is), and no
// '.', which the spec forbids: the signed content is id.timestamp.body,
// and an ID with a dot could be split otherwise, as another ID with
// another body under the same signature.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e || id[i] == '.' {
			return false
		}
	}
	return true
}

// LogValue returns the Notice for log/slog with its Reference masked
// ("[reference]"), so that slog.JSONHandler, which would encode it with
// encoding/json, writes no reference. (Its JSON, the payload, carries the
// reference: it is what the recipient is sent.)
func (n Notice) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("id", n.ID), slog.String("request", n.Request), slog.String("kind", string(n.Kind)),
		slog.String("article", n.Article), slog.Any("reference", n.Reference),
	}
	if len(n.Fields) > 0 {
		attrs = append(attrs, slog.Any("fields", n.Fields))
	}
	if len(n.Categories) > 0 {
		attrs = append(attrs, slog.Any("categories", n.Categories))
	}
	if n.Ground != "" {
		attrs = append(attrs, slog.String("ground", string(n.Ground)))
	}
	if len(n.Purposes) > 0 {
		attrs = append(attrs, slog.Any("purposes", n.Purposes))
	}
	return slog.GroupValue(append(attrs, slog.Time("at", n.At))...)
}

// LogValue returns the Message for log/slog, its Notice's reference
// masked (see Notice.LogValue).
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", m.ID), slog.Time("sent", m.Sent), slog.String("type", m.Type),
		slog.Time("timestamp", m.Timestamp), slog.Any("notice", m.Notice))
}
