package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"time"
)

// The headers of a delivery, as the Standard Webhooks spec names them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// The headers' keys in an http.Header, canonical and as given.
var (
	keyID        = [2]string{textproto.CanonicalMIMEHeaderKey(HeaderID), HeaderID}
	keyTimestamp = [2]string{textproto.CanonicalMIMEHeaderKey(HeaderTimestamp), HeaderTimestamp}
	keySignature = [2]string{textproto.CanonicalMIMEHeaderKey(HeaderSignature), HeaderSignature}
)

// Limits on a webhook-signature header a Verifier reads.
const (
	maxSignatureHeader = 8 << 10
	maxSignatures      = 32
)

// Verifier checks deliveries on the recipient's side: their signature
// under one of the endpoint's secrets, their timestamp against the
// tolerance, their ID against replays, and, for Verify, their payload.
// It is safe for concurrent use.
//
// A Verifier prints as "webhook.Verifier(<n> secrets, tolerance <d>)"
// under every fmt verb, a Verifier value (*v) too; its state is held
// behind two pointers (see sealed), so that where fmt cannot call Format (a Verifier in an
// unexported field) it prints an address, never a key.
type Verifier struct {
	s sealed[verifierState] // see sealed: fmt prints no URL or key of it
}

// verifierState is a Verifier's configuration, set by NewVerifier and its
// options.
type verifierState struct {
	secrets   []Secret
	tolerance time.Duration
	now       func() time.Time
	seen      SeenStore
	maxBody   int
}

// NewVerifier returns a Verifier that accepts a delivery signed with any
// of secrets (at least one; several during a rotation: the new and the
// old one until the sender signs with the new one alone). Options:
// WithTolerance, WithClock, WithSeen, WithMaxBody. A bad argument is an
// *Error of Op "new verifier" whose Field names it, wrapping ErrInvalid.
func NewVerifier(secrets []Secret, opts ...Option) (*Verifier, error) {
	v := &verifierState{tolerance: DefaultTolerance, now: time.Now, maxBody: DefaultMaxBody}
	if len(secrets) == 0 {
		return nil, fail("new verifier", "secrets", invalidf("no secret"))
	}
	for i, s := range secrets {
		if s.IsZero() {
			return nil, fail("new verifier", fmt.Sprintf("secrets[%d]", i), invalidf("zero secret"))
		}
		v.secrets = append(v.secrets, s)
	}
	for _, o := range opts {
		if o == nil {
			return nil, fail("new verifier", "opts", invalidf("nil option"))
		}
		if err := o.verifier(v); err != nil {
			return nil, wrap("new verifier", err)
		}
	}
	if v.seen == nil {
		v.seen = NewMemSeen(DefaultSeenCapacity)
	}
	return &Verifier{s: seal(v)}, nil
}

// Verify checks one delivery, its headers h and its body exactly as it
// came (before any JSON parsing), and returns its decoded payload. The
// checks, in order: the three headers are there, once each, and well
// formed (else ErrInvalid, Field naming the header); the body is no
// larger than WithMaxBody allows; the timestamp lies within the tolerance
// of the clock (else ErrStale); a v1 signature matches one of the
// secrets, compared in constant time (else ErrSignature); the body is a
// payload of this package for this ID (else ErrInvalid, Field naming the
// payload's field); and the ID is new within the tolerance window (else
// ErrReplayed, or ErrDuplicate once it is Done; a SeenStore's failure is
// returned wrapped). Every error is an *Error of Op "verify". A delivery
// refused is not claimed, so the sender's retry is judged afresh.
//
// The clock is read once, and the tolerance and the claim judged at that
// time. An accepted ID is claimed, pending, until a tolerance (and a
// second) past the later of its timestamp and the clock, so that no
// replay within the window is taken, and a retry signed later is not
// taken while the first is processed. Once the host has processed the
// message it calls Done, so that a retry is refused with ErrDuplicate,
// which it acknowledges (the sender did not learn of the first); if it
// could not process it, Forget, so that the retry is taken. Handler does
// both.
func (vv *Verifier) Verify(ctx context.Context, h http.Header, body []byte) (Message, error) {
	v := vv.s.get()
	now := v.now() // once: the tolerance and the claim are judged at one time
	id, sent, err := v.check(ctx, h, body, now)
	if err != nil {
		return Message{}, err
	}
	m, err := decode(id, body)
	if err != nil {
		return Message{}, wrap("verify", err)
	}
	m.Sent = sent
	if err := v.claim(ctx, id, sent, now); err != nil {
		return Message{}, err
	}
	return m, nil
}

// Authenticate makes Verify's checks of headers, tolerance, signature and
// replay, and returns the delivery's webhook-id and webhook-timestamp,
// without reading the body: for deliveries of any payload under the same
// scheme. Its errors are Verify's, of Op "verify".
func (vv *Verifier) Authenticate(ctx context.Context, h http.Header, body []byte) (id string, sent time.Time, err error) {
	v := vv.s.get()
	now := v.now()
	id, sent, err = v.check(ctx, h, body, now)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := v.claim(ctx, id, sent, now); err != nil {
		return "", time.Time{}, err
	}
	return id, sent, nil
}

// Done marks id's claim as done (see SeenStore.Done): its message was
// processed, and a delivery of it again is refused with ErrDuplicate. If
// it fails, Forget, so that a retry is taken rather than refused with
// ErrReplayed until the window ends (Handler does so).
func (v *Verifier) Done(ctx context.Context, id string) error {
	if ctx == nil {
		return fail("done", "ctx", errNilContext)
	}
	return wrap("done", v.s.get().seen.Done(ctx, id))
}

// Forget drops the claim of id (see SeenStore.Forget), so that a delivery
// the host accepted but could not process is taken when it comes again.
func (v *Verifier) Forget(ctx context.Context, id string) error {
	if ctx == nil {
		return fail("forget", "ctx", errNilContext)
	}
	return wrap("forget", v.s.get().seen.Forget(ctx, id))
}

// String returns "webhook.Verifier(<n> secrets, tolerance <d>)"; no secret
// is printed.
func (v Verifier) String() string {
	s := v.s.get()
	if s == nil {
		return "webhook.Verifier(0 secrets)"
	}
	return fmt.Sprintf("webhook.Verifier(%d secrets, tolerance %s)", len(s.secrets), s.tolerance)
}

// Format prints String whatever the verb, so that no secret reaches fmt.
func (v Verifier) Format(f fmt.State, verb rune) { mask(f, verb, v.String(), v.String()) }

// check makes every check but the payload's and the replay's.
func (v *verifierState) check(ctx context.Context, h http.Header, body []byte, now time.Time) (string, time.Time, error) {
	if ctx == nil {
		return "", time.Time{}, fail("verify", "ctx", errNilContext)
	}
	id, err := single(h, keyID)
	if err != nil {
		return "", time.Time{}, err
	}
	if !validID(id) {
		return "", time.Time{}, fail("verify", HeaderID, invalidf("not 1 to %d bytes of printable ASCII without spaces or dots", maxIDLen))
	}
	ts, err := single(h, keyTimestamp)
	if err != nil {
		return "", time.Time{}, err
	}
	secs, ok := parseUnix(ts)
	if !ok {
		return "", time.Time{}, fail("verify", HeaderTimestamp, invalidf("not integer Unix seconds"))
	}
	sig, err := single(h, keySignature)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(sig) > maxSignatureHeader {
		return "", time.Time{}, fail("verify", HeaderSignature, invalidf("longer than %d bytes", maxSignatureHeader))
	}
	if len(body) > v.maxBody {
		return "", time.Time{}, fail("verify", "body", invalidf("larger than %d bytes", v.maxBody))
	}
	sent := time.Unix(secs, 0)
	if now.Sub(sent) > v.tolerance || sent.Sub(now) > v.tolerance {
		return "", time.Time{}, fail("verify", "", ErrStale)
	}
	if !v.match(id, []byte(ts), body, sig) {
		return "", time.Time{}, fail("verify", "", ErrSignature)
	}
	return id, sent, nil
}

// claimMargin is how much longer than the tolerance window a claim
// lasts, so that a claim outlives every time at which its delivery is
// accepted, the last one included, whatever a SeenStore makes of a claim
// whose until equals now.
const claimMargin = time.Second

// claim claims id, as of now, until max(sent, now) + tolerance +
// claimMargin. A delivery signed at sent is accepted up to sent +
// tolerance, so the claim outlives every replay of it; and it lasts a
// full tolerance from now, so that a pending claim also outlives the
// message's processing when this clock is ahead of the sender's (a retry
// signed later is still within the window while the first is processed).
func (v *verifierState) claim(ctx context.Context, id string, sent, now time.Time) error {
	from := sent
	if now.After(from) {
		from = now
	}
	c, err := v.seen.Claim(ctx, id, now, from.Add(v.tolerance+claimMargin))
	switch {
	case err != nil:
		return wrap("verify", err)
	case c == ClaimDone:
		return fail("verify", "", ErrDuplicate)
	case c != ClaimNew:
		return fail("verify", "", ErrReplayed)
	}
	return nil
}

// match reports whether a v1 signature of sig matches the MAC of the
// signed content under one of the secrets. Entries of other versions and
// malformed ones match nothing; every comparison is in constant time.
func (v *verifierState) match(id string, ts, body []byte, sig string) bool {
	var sums [][sha256.Size]byte // computed at the first v1 entry
	n := 0
	for entry := range strings.SplitSeq(sig, " ") {
		if entry == "" {
			continue
		}
		if n++; n > maxSignatures {
			return false
		}
		b64, ok := strings.CutPrefix(entry, "v1,")
		if !ok || len(b64) != base64.StdEncoding.EncodedLen(sha256.Size) {
			continue
		}
		var got [sha256.Size + 2]byte // room for the decoder's last group
		if k, err := base64.StdEncoding.Strict().Decode(got[:], []byte(b64)); err != nil || k != sha256.Size {
			continue
		}
		if sums == nil {
			sums = make([][sha256.Size]byte, len(v.secrets))
			for i, s := range v.secrets {
				signed(s.mac(), id, ts, body, sums[i][:0])
			}
		}
		for i := range sums {
			if hmac.Equal(got[:sha256.Size], sums[i][:]) {
				return true
			}
		}
	}
	return false
}

// single returns the one value of header name in h, or an error if it is
// missing, empty or given more than once. It is looked up under its
// canonical key ("Webhook-Id"), as net/http stores it, and under the
// lower-case name, as a Header built by hand may hold it.
func single(h http.Header, key [2]string) (string, error) {
	vs, lower := h[key[0]], h[key[1]]
	switch {
	case len(vs)+len(lower) > 1:
		return "", fail("verify", key[1], invalidf("given more than once"))
	case len(lower) == 1:
		vs = lower
	}
	if len(vs) == 0 || vs[0] == "" {
		return "", fail("verify", key[1], invalidf("missing"))
	}
	return vs[0], nil
}

// parseUnix reads integer Unix seconds in canonical decimal: digits only,
// no sign, no leading zero, at most 12 of them (beyond the year 30000),
// so that the text signed is the text the sender formatted.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 12 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
