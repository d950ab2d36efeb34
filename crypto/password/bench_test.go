package password

import (
	"crypto/rand"
	"crypto/subtle"
	"testing"

	"golang.org/x/crypto/argon2"
)

// The benchmarks use DefaultParams and run argon2.IDKey with the same
// parameters in the same process, so the ratio password/raw-argon2id is the
// overhead of salt generation, encoding and parsing. That overhead is a
// few microseconds against a hash of a few hundred milliseconds, below the
// run-to-run noise of the two, so the sub-benchmark "overhead" measures it
// alone: everything password does besides argon2.IDKey.

func BenchmarkHash(b *testing.B) {
	p := DefaultParams()
	b.Run("raw-argon2id", func(b *testing.B) {
		salt := []byte("0123456789abcdef")
		for b.Loop() {
			argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
	b.Run("overhead", func(b *testing.B) {
		key := make([]byte, p.KeyLen)
		for b.Loop() {
			salt := make([]byte, p.SaltLen)
			rand.Read(salt)
			_ = (&phc{params: p, salt: salt, key: key}).encode()
		}
	})
	b.Run("password", func(b *testing.B) {
		for b.Loop() {
			if _, err := Hash(pw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	p := DefaultParams()
	enc, err := Hash(pw)
	if err != nil {
		b.Fatal(err)
	}
	ph, err := parsePHC(enc)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("raw-argon2id", func(b *testing.B) {
		for b.Loop() {
			key := argon2.IDKey([]byte(pw), ph.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			if subtle.ConstantTimeCompare(key, ph.key) != 1 {
				b.Fatal("mismatch")
			}
		}
	})
	b.Run("overhead", func(b *testing.B) {
		for b.Loop() {
			if _, err := parsePHC(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("password", func(b *testing.B) {
		for b.Loop() {
			if ok, err := Verify(pw, enc); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
