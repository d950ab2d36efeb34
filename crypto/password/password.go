package password

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// MaxLength is the longest password, in bytes, that Hash and Verify accept.
//
// Argon2id would hash any length at the same cost (it pre-hashes the input
// with BLAKE2b), but an unbounded password lets a client make the server
// read, copy and hash megabytes per request; 1024 bytes is far beyond any
// passphrase. bcrypt, by contrast, only ever uses the first 72 bytes; see
// Verify.
const MaxLength = 1024

// A Hasher hashes passwords with argon2id under fixed Params, and verifies
// argon2id and bcrypt hashes. It holds no state beyond its parameters and is
// safe for concurrent use.
//
// Every Hash and every argon2id Verify allocates the hash's memory
// parameter (64 MiB by default) for its duration; a host that may verify
// many passwords at once should bound how many run concurrently.
type Hasher struct {
	p Params
}

// NewHasher returns a Hasher for p, or an error wrapping ErrParams when p
// is outside the bounds that Params.Validate documents.
func NewHasher(p Params) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, fail("new hasher", err)
	}
	return &Hasher{p: p}, nil
}

// Params returns the Hasher's parameters.
func (h *Hasher) Params() Params { return h.p }

var defaultHasher = &Hasher{p: DefaultParams()}

// Hash hashes password with the default parameters (DefaultParams). See
// Hasher.Hash.
func Hash(password string) (string, error) { return defaultHasher.Hash(password) }

// Verify reports whether password matches encoded. See Hasher.Verify.
func Verify(password, encoded string) (bool, error) { return defaultHasher.Verify(password, encoded) }

// NeedsRehash reports whether encoded should be replaced by a new hash under
// the default parameters. See Hasher.NeedsRehash.
func NeedsRehash(encoded string) bool { return defaultHasher.NeedsRehash(encoded) }

// Hash returns an argon2id hash of password, with a fresh random salt, in
// PHC string format:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>
//
// It returns an error wrapping ErrEmpty for an empty password and
// ErrTooLong for one longer than MaxLength bytes. The password is taken as
// bytes, unnormalised; a host that accepts non-ASCII passwords should
// normalise them (NIST SP 800-63B suggests Unicode NFKC or NFC) the same way
// before Hash and Verify.
func (h *Hasher) Hash(password string) (string, error) {
	if err := checkLength(password); err != nil {
		return "", fail("hash", err)
	}
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", &Error{Op: "hash", Err: errors.New("reading random salt failed")}
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	return (&phc{params: h.p, salt: salt, key: key}).encode(), nil
}

// Verify reports whether password matches encoded, an argon2id PHC string
// or a bcrypt hash ($2a$, $2b$ or $2y$).
//
// A wrong password is (false, nil). A hash that cannot be verified is
// (false, error wrapping ErrMalformed); an empty password or one longer
// than MaxLength is (false, error wrapping ErrEmpty or ErrTooLong), checked
// first. All three wrap gdpr.ErrInvalid, and none says anything about the
// password or the hash beyond a fixed reason.
//
// Any argon2id parameters are accepted, not only the Hasher's, within
// bounds that keep a stored string from costing unbounded work: memory up
// to 1 GiB, time up to 100, parallelism up to 255, salt of 8 to 64 bytes,
// tag of 16 to 64 bytes, version 19 only. bcrypt costs from 4 to 16 are
// accepted. Tags are compared in constant time.
//
// bcrypt uses only the first 72 bytes of a password: a bcrypt hash verifies
// for any password that shares those 72 bytes. That is the hash's own
// weakness, kept for compatibility; NeedsRehash reports every bcrypt hash,
// and argon2id has no such limit.
func (h *Hasher) Verify(password, encoded string) (bool, error) {
	if err := checkLength(password); err != nil {
		return false, fail("verify", err)
	}
	if isBcrypt(encoded) {
		if _, err := checkBcrypt(encoded); err != nil {
			return false, fail("verify", err)
		}
		switch err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password)); {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		default:
			// bcrypt's own error texts quote bytes of the hash: not passed on.
			return false, fail("verify", malformed("bcrypt rejected the hash"))
		}
	}
	ph, err := parsePHC(encoded)
	if err != nil {
		return false, fail("verify", err)
	}
	p := ph.params
	key := argon2.IDKey([]byte(password), ph.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(key, ph.key) == 1, nil
}

// NeedsRehash reports whether encoded should be replaced by a hash from
// h.Hash: true for a bcrypt hash, for an argon2id hash whose parameters
// (memory, time, parallelism, salt or tag length) differ from h's, and for
// anything Verify would reject as malformed. It does not hash.
//
// It is meant for the moment after a successful Verify, when the host holds
// the password in clear: verify, then if NeedsRehash, Hash and store.
// Differing means differing, in either direction: lowering the parameters
// also re-hashes.
func (h *Hasher) NeedsRehash(encoded string) bool {
	if isBcrypt(encoded) {
		return true
	}
	ph, err := parsePHC(encoded)
	return err != nil || ph.params != h.p
}

func checkLength(password string) error {
	switch {
	case password == "":
		return ErrEmpty
	case len(password) > MaxLength:
		return ErrTooLong
	}
	return nil
}
