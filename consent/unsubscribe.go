package consent

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
)

// Unsubscribe tokens go into the links of bulk messages ("unsubscribe",
// RFC 8058 List-Unsubscribe-Post). They are validated without a database
// lookup, and they carry no subject ID in clear: a token is the subject,
// purpose and channel sealed with AES-256-GCM, so it is both unforgeable and
// opaque.
//
// Format: "u1." then unpadded base64url of key ID (4 bytes) || salt (16
// random bytes) || AES-256-GCM(claims) with an all-zero nonce, under a key
// derived for this token alone by HKDF-SHA256 from the host's secret and the
// salt, with "u1" and the key ID as associated data. A fresh key per token
// lifts the 2^32-message limit of random GCM nonces under one key, which a
// bulk sender could reach. The claims are: issued and expiry times (Unix
// seconds, big-endian uint64; expiry 0 = none), then contact, purpose and
// subject, each a uvarint length and bytes, then zero bytes up to a multiple
// of 32, so a token's length tells a subject ID's length only to within 32
// bytes.

// Claims are what an unsubscribe token says.
type Claims struct {
	Subject gdpr.SubjectID
	Purpose gdpr.Purpose
	// Contact is the channel to stop; empty for all channels.
	Contact Contact
	// Issued is when the token was made (to the second); Sign sets it to
	// now when it is zero.
	Issued time.Time
	// Expires is when the token stops working; zero for never. Links in
	// messages should work for a long time: mailbox providers and the law
	// expect an unsubscribe link to keep working after the message is sent.
	Expires time.Time
}

// Unsubscriber signs and verifies unsubscribe tokens. It is safe for
// concurrent use.
//
// The zero Unsubscriber holds no key: Sign and Verify fail with ErrInvalid.
// An Unsubscriber prints under every fmt verb as the number of its keys,
// never their secrets.
type Unsubscriber struct {
	keys []unsubKey // keys[0] is the primary, used to sign
	now  func() time.Time
}

// Format prints the number of keys under every verb: no secret.
func (u Unsubscriber) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, u.GoString()) }

// GoString describes u for %#v: the number of keys, no secret.
func (u Unsubscriber) GoString() string {
	return "consent.Unsubscriber{keys: " + strconv.Itoa(len(u.keys)) + ", secrets not shown}"
}

type unsubKey struct {
	id     [4]byte
	secret []byte
}

const (
	unsubSaltLen = 16
	unsubPad     = 32
	unsubInfo    = "gdpr consent unsubscribe token v1 aes-256-gcm"
)

// aead returns the AES-256-GCM of one token.
func (k unsubKey) aead(salt []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, k.secret, salt, unsubInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

const (
	unsubPrefix  = "u1."
	maxTokenLen  = 2048
	minSecretLen = 32
)

// NewUnsubscriber returns an Unsubscriber that signs with the first secret
// and verifies with any of them, so a secret can be rotated without breaking
// links already sent: put the new one first and keep the old ones until
// their messages are old enough. Each secret must be at least 32 random
// bytes; keep them out of source code and logs.
func NewUnsubscriber(secrets ...[]byte) (*Unsubscriber, error) {
	const op = "new_unsubscriber"
	if len(secrets) == 0 {
		return nil, &Error{Op: op, Field: "secrets", Err: because(ErrInvalid, "no secret", nil)}
	}
	u := &Unsubscriber{now: time.Now}
	for i, s := range secrets {
		if len(s) < minSecretLen {
			return nil, &Error{Op: op, Field: "secrets", Err: because(ErrInvalid, fmt.Sprintf("secret %d shorter than %d bytes", i, minSecretLen), nil)}
		}
		kid, err := hkdf.Key(sha256.New, s, nil, "gdpr consent unsubscribe token v1 key id", 4)
		if err != nil {
			return nil, wrap(op, err)
		}
		key := unsubKey{secret: append([]byte(nil), s...)}
		copy(key.id[:], kid)
		u.keys = append(u.keys, key)
	}
	return u, nil
}

// Sign returns a token for c. Issued defaults to now.
func (u *Unsubscriber) Sign(c Claims) (string, error) {
	t, err := u.sign(c)
	return t, wrap("unsubscribe_sign", err)
}

func (u *Unsubscriber) sign(c Claims) (string, error) {
	if u == nil || len(u.keys) == 0 {
		return "", errNoKeys
	}
	if err := c.Subject.Validate(); err != nil {
		return "", invalid("subject", err)
	}
	if err := c.Purpose.Validate(); err != nil {
		return "", invalid("purpose", err)
	}
	if !c.Contact.valid() {
		return "", invalidf("contact", "unknown contact channel %s", show(string(c.Contact)))
	}
	if c.Issued.IsZero() {
		c.Issued = u.clock()
	}
	var plain []byte
	plain = binary.BigEndian.AppendUint64(plain, uint64(c.Issued.Unix()))
	var exp uint64
	if !c.Expires.IsZero() {
		if !c.Expires.After(c.Issued) {
			return "", invalidf("expires", "expiry not after issue time")
		}
		exp = uint64(c.Expires.Unix())
	}
	plain = binary.BigEndian.AppendUint64(plain, exp)
	for _, s := range []string{string(c.Contact), string(c.Purpose), string(c.Subject)} {
		plain = binary.AppendUvarint(plain, uint64(len(s)))
		plain = append(plain, s...)
	}
	if r := len(plain) % unsubPad; r != 0 {
		plain = append(plain, make([]byte, unsubPad-r)...)
	}
	k := u.keys[0]
	out := make([]byte, 0, 4+unsubSaltLen+len(plain)+16)
	out = append(out, k.id[:]...)
	salt := make([]byte, unsubSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	out = append(out, salt...)
	aead, err := k.aead(salt)
	if err != nil {
		return "", err
	}
	out = aead.Seal(out, make([]byte, aead.NonceSize()), plain, unsubAD(k.id))
	return unsubPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

func (u *Unsubscriber) clock() time.Time {
	if u.now == nil {
		return time.Now()
	}
	return u.now()
}

var errNoKeys = because(ErrInvalid, "Unsubscriber without keys (use NewUnsubscriber)", nil)

func unsubAD(id [4]byte) []byte { return append([]byte("u1"), id[:]...) }

// Verify opens a token and returns its claims. It needs no database. Any
// malformed, forged or foreign token gives ErrInvalidToken, an expired one
// ErrTokenExpired.
func (u *Unsubscriber) Verify(token string) (Claims, error) {
	c, err := u.verify(token)
	return c, wrap("unsubscribe_verify", err)
}

func (u *Unsubscriber) verify(token string) (Claims, error) {
	if u == nil || len(u.keys) == 0 {
		return Claims{}, errNoKeys
	}
	if len(token) > maxTokenLen || !strings.HasPrefix(token, unsubPrefix) {
		return Claims{}, ErrInvalidToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token[len(unsubPrefix):])
	if err != nil || len(raw) < 4+unsubSaltLen+unsubPad+16 {
		return Claims{}, ErrInvalidToken
	}
	salt, sealed := raw[4:4+unsubSaltLen], raw[4+unsubSaltLen:]
	var plain []byte
	opened := false
	for _, k := range u.keys {
		if subtle.ConstantTimeCompare(raw[:4], k.id[:]) != 1 {
			continue
		}
		aead, err := k.aead(salt)
		if err != nil {
			return Claims{}, err
		}
		plain, err = aead.Open(nil, make([]byte, aead.NonceSize()), sealed, unsubAD(k.id))
		if err == nil {
			opened = true
			break
		}
	}
	if !opened {
		return Claims{}, ErrInvalidToken
	}
	c, ok := decodeClaims(plain)
	if !ok {
		return Claims{}, ErrInvalidToken
	}
	if !c.Expires.IsZero() && !u.clock().Before(c.Expires) {
		return Claims{}, ErrTokenExpired
	}
	return c, nil
}

func decodeClaims(p []byte) (Claims, bool) {
	if len(p) < 16 {
		return Claims{}, false
	}
	var c Claims
	c.Issued = time.Unix(int64(binary.BigEndian.Uint64(p)), 0).UTC()
	if exp := binary.BigEndian.Uint64(p[8:]); exp != 0 {
		c.Expires = time.Unix(int64(exp), 0).UTC()
	}
	p = p[16:]
	var fields [3]string
	for i := range fields {
		n, w := binary.Uvarint(p)
		if w <= 0 || n > uint64(len(p)-w) {
			return Claims{}, false
		}
		fields[i] = string(p[w : w+int(n)])
		p = p[w+int(n):]
	}
	if len(p) >= unsubPad {
		return Claims{}, false
	}
	for _, b := range p {
		if b != 0 {
			return Claims{}, false
		}
	}
	c.Contact, c.Purpose, c.Subject = Contact(fields[0]), gdpr.Purpose(fields[1]), gdpr.SubjectID(fields[2])
	if c.Subject.Validate() != nil || c.Purpose.Validate() != nil || !c.Contact.valid() {
		return Claims{}, false
	}
	return c, true
}

// UnsubscribeToken returns a token for the subject, purpose and contact
// channel (AllContacts for every channel), signed with the Ledger's
// Unsubscriber (WithUnsubscriber), valid for ttl; a ttl of 0 means no
// expiry, and a negative ttl is an error (ErrInvalid for field "ttl"), not
// a token that never expires. Without an Unsubscriber it fails with
// ErrInvalid.
func (l *Ledger) UnsubscribeToken(subject gdpr.SubjectID, purpose gdpr.Purpose, contact Contact, ttl time.Duration) (string, error) {
	if l.unsub == nil {
		return "", wrap("unsubscribe_token", errNoUnsubscriber)
	}
	if ttl < 0 {
		return "", wrap("unsubscribe_token", invalidf("ttl", "negative time to live (0 for a token that does not expire)"))
	}
	c := Claims{Subject: subject, Purpose: purpose, Contact: contact, Issued: l.now()}
	if ttl > 0 {
		c.Expires = c.Issued.Add(ttl)
	}
	t, err := l.unsub.Sign(c)
	return t, wrap("unsubscribe_token", err)
}

// Unsubscribe honours an unsubscribe token: it verifies it without a
// lookup, then records a withdrawal for the token's purpose and channel
// (an objection, Art. 21(2), when the Register rests the purpose on another
// basis, as direct marketing to customers on legitimate interests does). The
// same token may be used again; each use records the choice again, which is
// harmless. The withdrawal's actor is the subject, whatever actor the
// context carries: the token proves whose choice it is. Errors:
// ErrInvalidToken, ErrTokenExpired; ErrInvalid without an Unsubscriber
// (WithUnsubscriber).
//
// With a suppression key (WithSuppressionKey), an unsubscribe from direct
// marketing also writes a suppression entry, first, so that the stop
// outlives an erasure that races it. A token of a subject the ledger holds
// no events of (erased, or never recorded) writes nothing that names them:
// no event and no audit record with a subject, only the suppression entry
// (and an audit event "consent.suppressed" naming the purpose), and
// Unsubscribe returns the zero Event. Without a suppression key it writes
// nothing at all for such a subject: with no events, a purpose resting on
// consent has none to withdraw, and New requires the key for direct
// marketing on other bases.
func (l *Ledger) Unsubscribe(ctx context.Context, token string, ev Evidence) (Event, error) {
	const op = "unsubscribe"
	if err := checkCtx(op, ctx); err != nil {
		return Event{}, err
	}
	if l.unsub == nil {
		return Event{}, wrap(op, errNoUnsubscriber)
	}
	now := l.now()
	c, err := l.unsub.verifyAt(token, now)
	if err != nil {
		return Event{}, wrap(op, err)
	}
	if err := ev.validate(); err != nil {
		return Event{}, wrap(op, err)
	}
	if l.suppressible(c.Purpose) {
		if err := l.store.Suppress(ctx, l.entry(c.Subject, c.Purpose, c.Contact, now)); err != nil {
			return Event{}, wrap(op, err)
		}
	}
	evs, err := l.store.Events(ctx, c.Subject, "")
	if err != nil {
		return Event{}, wrap(op, err)
	}
	if len(evs) == 0 {
		// Erased, or never recorded: write nothing that names them.
		if !l.suppressible(c.Purpose) {
			return Event{}, nil
		}
		attrs := map[string]string{"method": string(MethodUnsubscribe)}
		if c.Contact != AllContacts {
			attrs["contact"] = string(c.Contact)
		}
		return Event{}, wrap(op, l.record(ctx, gdpr.Event{Time: now, Actor: gdpr.SubjectActor(),
			Action: "consent.suppressed", Purpose: c.Purpose, Resource: "consent_suppression", Outcome: gdpr.Success, Attrs: attrs}))
	}
	ch := Choice{Subject: c.Subject, Purpose: c.Purpose, Contact: c.Contact,
		Actor: gdpr.SubjectActor(), Method: MethodUnsubscribe, Evidence: ev}
	return l.append(ctx, op, Withdrawn, ch, nil)
}

var errNoUnsubscriber = because(ErrInvalid, "no Unsubscriber configured (WithUnsubscriber)", nil)

func (u *Unsubscriber) verifyAt(token string, now time.Time) (Claims, error) {
	v := *u
	v.now = func() time.Time { return now }
	return v.verify(token)
}
