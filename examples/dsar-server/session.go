package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"github.com/gdprkit/gdpr"
)

// Sessions are stateless: the cookie is the session, sealed with
// AES-256-GCM under a key derived from the app's session secret, so it is
// unforgeable and opaque (the subject ID is not readable in it). It holds
// the kind of session (a subject's or an operator's), its expiry and, for
// a subject, their ID. Every request also checks the account still
// exists, so an erased subject's cookie signs no one in.
//
// The cookies are __Host- cookies: Secure, Path=/, no Domain, HttpOnly,
// SameSite=Lax (a sign-in link opened from a mail client is a top-level
// navigation that must carry it). Browsers keep Secure cookies over plain
// HTTP only on localhost and 127.0.0.1; anywhere else the app is served
// over TLS.
const (
	subjectCookie  = "__Host-dsar"
	operatorCookie = "__Host-dsar-op"
	sessionTTL     = 12 * time.Hour
	operatorTTL    = 2 * time.Hour
)

type sealer struct{ aead cipher.AEAD }

// minSecret is the shortest session secret the app takes: every cookie,
// and the operator's, is only as strong as it.
const minSecret = 32

var errShortSecret = errors.New("the session secret must be at least 32 random bytes")

func newSealer(secret []byte) (*sealer, error) {
	return newSealerFor(secret, "dsar-server session cookies v1")
}

// newSealerFor makes a sealer under a key of its own, derived from secret
// under label.
func newSealerFor(secret []byte, label string) (*sealer, error) {
	if len(secret) < minSecret {
		return nil, errShortSecret
	}
	key, err := hkdf.Key(sha256.New, secret, nil, label, 32)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: a}, nil
}

// session is what a cookie says. Its expiry, to the microsecond, less
// its kind's lifetime is when it was issued, which a revocation compares.
type session struct {
	kind    string         // "subject" or "operator": the cookie's name is bound too
	subject gdpr.SubjectID // for an operator: the tag of the operator token it was made with
	expires time.Time
}

func (s *sealer) seal(name string, ss session) string {
	plain := binary.BigEndian.AppendUint64(nil, uint64(ss.expires.UnixMicro()))
	plain = append(plain, ss.subject...)
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, plain, []byte(name+"\x00"+ss.kind))
	return base64.RawURLEncoding.EncodeToString(out)
}

var errNoSession = errors.New("no valid session")

// sealBytes seals plain, bound to ad.
func (s *sealer) sealBytes(plain, ad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, ad)
}

// openBytes opens what sealBytes sealed with the same ad.
func (s *sealer) openBytes(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errNoSession
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], ad)
}

func (s *sealer) open(name, kind, value string, now time.Time) (session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead()+8 || len(raw) > 512 {
		return session{}, errNoSession
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(name+"\x00"+kind))
	if err != nil || len(plain) < 8 {
		return session{}, errNoSession
	}
	ss := session{kind: kind, expires: time.UnixMicro(int64(binary.BigEndian.Uint64(plain))), subject: gdpr.SubjectID(plain[8:])}
	if !now.Before(ss.expires) {
		return session{}, errNoSession
	}
	return ss, nil
}

// setCookie sets a session cookie, or clears it with a zero session.
func (s *sealer) setCookie(w http.ResponseWriter, name string, ss session) {
	c := &http.Cookie{Name: name, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if ss.kind == "" {
		c.MaxAge = -1
	} else {
		c.Value = s.seal(name, ss)
		c.Expires = ss.expires
	}
	http.SetCookie(w, c)
}

// read returns the session of the request's cookie.
func (s *sealer) read(r *http.Request, name, kind string, now time.Time) (session, error) {
	c, err := r.Cookie(name)
	if err != nil {
		return session{}, errNoSession
	}
	return s.open(name, kind, c.Value, now)
}
