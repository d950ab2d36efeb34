package password

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// FuzzVerify fuzzes the argon2id PHC and bcrypt parsers through Verify with
// a fixed password. It must never panic; it must never return true unless
// the string is a genuine hash of the password (one of the seeds: parsing is
// canonical, so a genuine hash has a single encoding, up to bcrypt's
// $2a$/$2b$/$2y$ labels); every error must wrap ErrMalformed and carry no
// input; and every string that parses must re-encode to itself.
func FuzzVerify(f *testing.F) {
	h := testHasher()
	// The genuine hashes are fixed, not random: every fuzz worker process
	// runs this setup and must agree on them.
	genuine := map[string]bool{refSmall: true, refDefault: true, bcryptPw: true}
	seeds := []string{refSmall, refDefault, bcryptPw, "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}
	for _, p := range []Params{testParams, {Memory: 256, Time: 2, Threads: 4, SaltLen: 8, KeyLen: 16}} {
		salt := []byte("fixed-salt-for-the-fuzzer")[:p.SaltLen]
		key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		enc := (&phc{params: p, salt: salt, key: key}).encode()
		genuine[enc] = true
		seeds = append(seeds, enc)
	}
	for _, tc := range malformedCases {
		seeds = append(seeds, tc.enc)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, enc string) {
		if ph, err := parsePHC(enc); err == nil {
			if ph.encode() != enc {
				t.Fatalf("parsePHC accepted a non-canonical encoding %q (re-encodes to %q)", enc, ph.encode())
			}
			// Parsing is the target; skip the hashing when it would be slow.
			if uint64(ph.params.Memory)*uint64(ph.params.Time) > 1<<12 {
				return
			}
		}
		if cost, err := checkBcrypt(enc); err == nil && cost > 5 {
			return
		}
		h.NeedsRehash(enc) // must not panic
		ok, err := h.Verify(pw, enc)
		if ok {
			norm := enc
			if isBcrypt(enc) && len(enc) > 4 {
				norm = "$2a$" + enc[4:]
			}
			if err != nil || !genuine[norm] {
				t.Fatalf("Verify(pw, %q) = true, %v for a string that is not a genuine hash of pw", enc, err)
			}
			if h.NeedsRehash(enc) != (isBcrypt(enc) || !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$")) {
				t.Fatalf("NeedsRehash(%q) inconsistent with its parameters", enc)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify(pw, %q): error %v does not wrap ErrMalformed", enc, err)
			}
			// The text is one of a fixed set: nothing of the input is in it.
			if msg := err.Error(); !fixedErrors[msg] {
				t.Fatalf("Verify(pw, %q): error text %q is not one of the fixed messages", enc, msg)
			}
		}
	})
}

// fixedErrors are every text Verify may return for a malformed hash.
var fixedErrors = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range []string{
		"bcrypt rejected the hash", "bcrypt cost not two digits", "bcrypt cost outside 4..16",
		"bcrypt hash not 60 bytes", "bcrypt hash not canonical", "bcrypt prefix not $2a$, $2b$ or $2y$",
		"bcrypt salt not canonical", "bcrypt salt or hash not bcrypt base64",
		"hash not canonical base64 of 16..64 bytes", "no version", "not argon2id",
		"parameters below argon2 minimums", "salt not canonical base64 of 8..64 bytes", "too long",
		"version is not 19", "want 5 fields", "want parameters m, t, p in order", "want parameters m, t, p",
		"parameter m not a number within bounds", "parameter t not a number within bounds",
		"parameter p not a number within bounds",
	} {
		m[fail("verify", malformed(r)).Error()] = true
	}
	return m
}()
