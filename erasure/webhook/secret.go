package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every serialised secret, as the Standard Webhooks
// spec has it: "whsec_" and the key in standard base64.
const SecretPrefix = "whsec_"

// The sizes of a key the spec allows: 24 bytes (192 bits) at least, 64
// (512 bits) at most.
const (
	MinSecretSize = 24
	MaxSecretSize = 64
)

// Secret is the HMAC-SHA256 key one endpoint's deliveries are signed with:
// unique per endpoint, shared with the recipient. The zero Secret is no
// key; New and NewVerifier refuse it.
//
// A Secret never prints: under every fmt verb (%v, %+v, %#v, %s, %q, %x,
// …) it shows "[secret]" ("webhook.Secret([secret])" for %#v), and in a
// log/slog record too (LogValue). The key is held behind two pointers
// (see sealed), so that where fmt cannot call Format — a Secret in an
// unexported field of a host's struct — it prints an address, never the
// key's bytes. Expose
// returns the serialised form for the one place that needs it: handing
// the secret to the recipient, or storing it in the host's secret store.
type Secret struct {
	k sealed[[]byte] // never modified once made
}

// sealed holds a value where fmt does not print it. fmt calls no method
// of a value it reaches through an unexported field; it prints a pointer
// there as its address, but under a verb it has no pointer form for (%s,
// %q) it prints what the pointer points to, one level deep. Behind two
// pointers, that level is itself a pointer, printed as an address. The
// zero sealed holds nothing.
type sealed[T any] struct{ p **T }

func seal[T any](v *T) sealed[T] { return sealed[T]{p: &v} }

// get returns the value sealed, nil if none.
func (s sealed[T]) get() *T {
	if s.p == nil {
		return nil
	}
	return *s.p
}

// bytes returns the key, nil for the zero Secret.
func (s Secret) bytes() []byte {
	if b := s.k.get(); b != nil {
		return *b
	}
	return nil
}

// ParseSecret reads a secret in the spec's form, "whsec_" and the
// standard (padded) base64 of 24 to 64 bytes. The prefix is required, so
// a password or an API key is not taken for a key by mistake. The error
// wraps ErrInvalid and never quotes s.
func ParseSecret(s string) (Secret, error) {
	k, err := parseSecret(s)
	if err != nil {
		return Secret{}, fail("parse secret", "", err)
	}
	return Secret{k: seal(&k)}, nil
}

func parseSecret(s string) ([]byte, error) {
	enc, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, invalidf("a secret starts with %q", SecretPrefix)
	}
	// The decoder skips CR and LF; a secret holds neither.
	if strings.ContainsAny(enc, "\r\n") {
		return nil, invalidf("the secret is not standard base64")
	}
	if len(enc) > base64.StdEncoding.EncodedLen(MaxSecretSize) {
		return nil, invalidf("a secret holds at most %d bytes", MaxSecretSize)
	}
	k, err := base64.StdEncoding.Strict().DecodeString(enc)
	if err != nil {
		return nil, invalidf("the secret is not standard base64")
	}
	if len(k) < MinSecretSize || len(k) > MaxSecretSize {
		return nil, invalidf("a secret holds %d to %d bytes", MinSecretSize, MaxSecretSize)
	}
	return k, nil
}

// GenerateSecret returns a new secret of 32 bytes from crypto/rand.
func GenerateSecret() Secret {
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand: it crashes the program instead)
	return Secret{k: seal(&k)}
}

// IsZero reports whether s holds no key.
func (s Secret) IsZero() bool { return len(s.bytes()) == 0 }

// Expose returns s in the spec's serialised form, "whsec_" and the base64
// of the key, which ParseSecret reads back. It is the secret itself: keep
// it out of logs, errors and URLs.
func (s Secret) Expose() string {
	if s.IsZero() {
		return ""
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(s.bytes())
}

// String returns "[secret]".
func (s Secret) String() string { return "[secret]" }

// GoString returns "webhook.Secret([secret])".
func (s Secret) GoString() string { return "webhook.Secret([secret])" }

// Format prints the mask whatever the verb: GoString for %#v, String
// otherwise (quoted for %q).
func (s Secret) Format(f fmt.State, verb rune) { mask(f, verb, s.String(), s.GoString()) }

// LogValue returns "[secret]", for log/slog: a handler that encodes
// values itself (slog.JSONHandler, with encoding/json) never sees the key.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// mask writes out (or gostr for %#v, out quoted for %q) to f, whatever
// the verb and flags.
func mask(f fmt.State, verb rune, out, gostr string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		out = gostr
	case verb == 'q':
		out = strconv.Quote(out)
	}
	io.WriteString(f, out)
}

// mac returns a new HMAC-SHA256 keyed with s.
func (s Secret) mac() hash.Hash { return hmac.New(sha256.New, s.bytes()) }

// Sign returns the spec's signature of one delivery under s, as it goes
// into the webhook-signature header: "v1," and the base64 of
// HMAC-SHA256(key, id + "." + timestamp + "." + body), the timestamp in
// integer Unix seconds. A delivery signed with several secrets (during a
// rotation) carries their signatures joined by spaces. Sign of the zero
// Secret is "".
func Sign(s Secret, id string, timestamp time.Time, body []byte) string {
	if s.IsZero() {
		return ""
	}
	var buf [64]byte
	return string(appendSignature(buf[:0], s.mac(), id, strconv.AppendInt(nil, timestamp.Unix(), 10), body))
}

// appendSignature appends "v1,<base64 mac>" to dst.
func appendSignature(dst []byte, h hash.Hash, id string, ts, body []byte) []byte {
	var sum [sha256.Size]byte
	signed(h, id, ts, body, sum[:0])
	dst = append(dst, "v1,"...)
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// signed writes the signed content, id.ts.body, into h (reset first) and
// appends its MAC to dst.
func signed(h hash.Hash, id string, ts, body, dst []byte) []byte {
	h.Reset()
	io.WriteString(h, id)
	h.Write(dot)
	h.Write(ts)
	h.Write(dot)
	h.Write(body)
	return h.Sum(dst)
}

var dot = []byte{'.'}

// Reference is a recipient's own reference for a subject
// (gdpr.Disclosure.Reference: their customer number with the recipient),
// as a Notice carries it. It is personal data to the recipient, so it
// never prints: under every fmt verb, and in a log/slog record, it shows
// "[reference]". Use string(r) for the value; JSON carries it.
type Reference string

// String returns "[reference]".
func (r Reference) String() string { return "[reference]" }

// GoString returns "webhook.Reference([reference])".
func (r Reference) GoString() string { return "webhook.Reference([reference])" }

// LogValue returns "[reference]", for log/slog: slog.JSONHandler would
// otherwise write the value, as encoding/json does.
func (r Reference) LogValue() slog.Value { return slog.StringValue(r.String()) }

// Format prints the mask whatever the verb.
func (r Reference) Format(f fmt.State, verb rune) { mask(f, verb, r.String(), r.GoString()) }
