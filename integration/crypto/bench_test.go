package crypto_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"runtime"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// Benchmarks, each with its raw baseline in the same run; see BENCHMARKS.md.
//
//	go test -run '^$' -bench 'Encrypt|Decrypt|BlindIndex' -benchmem ./crypto/   (with the test DSNs set, for the SQL cold paths)
//	go test -run '^$' -bench 'Shred' -benchtime 20x ./crypto/

func benchKeyring(b *testing.B, opts ...crypto.Option) *crypto.Keyring {
	kek, err := crypto.EphemeralKEK("bench")
	if err != nil {
		b.Fatal(err)
	}
	k, err := crypto.New(context.Background(), memkeys.New(), kek, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

func rawTink(b *testing.B) func(p, ad []byte) ([]byte, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		b.Fatal(err)
	}
	a, err := aead.New(h)
	if err != nil {
		b.Fatal(err)
	}
	return a.Encrypt
}

var sizes = []int{64, 1024}

// benchAD is associated data as long as the Keyring's for ("user-42",
// users.email), so the baseline authenticates as many bytes.
var benchAD = []byte("gdpr/crypto/field/v1\x00\x07user-42\x05users\x05email\x00")

func BenchmarkEncrypt(b *testing.B) {
	ctx := context.Background()
	k := benchKeyring(b)
	for _, n := range sizes {
		p := make([]byte, n)
		b.Run(fmt.Sprintf("raw-tink/%dB", n), func(b *testing.B) {
			enc := rawTink(b)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc(p, benchAD); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("keyring/%dB", n), func(b *testing.B) {
			if _, err := k.Encrypt(ctx, "user-42", email, p); err != nil { // warm the cache
				b.Fatal(err)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Encrypt(ctx, "user-42", email, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	ctx := context.Background()
	k := benchKeyring(b)
	for _, n := range sizes {
		p := make([]byte, n)
		b.Run(fmt.Sprintf("raw-tink/%dB", n), func(b *testing.B) {
			h, _ := keyset.NewHandle(aead.AES256GCMKeyTemplate())
			a, _ := aead.New(h)
			ct, _ := a.Encrypt(p, benchAD)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Decrypt(ct, benchAD); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("keyring/%dB", n), func(b *testing.B) {
			ct, err := k.Encrypt(ctx, "user-42", email, p)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Decrypt(ctx, "user-42", email, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecryptCold is the path of a subject not in the cache: a Store
// read, the KEK's unwrap, Tink primitive creation, then the decryption; on
// each store, beside the warm path's raw Tink decryption as the baseline.
func BenchmarkDecryptCold(b *testing.B) {
	ctx := context.Background()
	p := make([]byte, 64)
	b.Run("raw-tink-warm", func(b *testing.B) {
		h, _ := keyset.NewHandle(aead.AES256GCMKeyTemplate())
		a, _ := aead.New(h)
		ct, _ := a.Encrypt(p, benchAD)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Decrypt(ct, benchAD); err != nil {
				b.Fatal(err)
			}
		}
	})
	stores := []struct {
		name string
		open func(b *testing.B) crypto.Store
	}{{"memkeys", func(*testing.B) crypto.Store { return memkeys.New() }}}
	for _, d := range testdb.All() {
		stores = append(stores, struct {
			name string
			open func(b *testing.B) crypto.Store
		}{d.String(), func(b *testing.B) crypto.Store {
			if !testdb.Available(d) {
				b.Skipf("no DSN for %s", d.String())
			}
			s, err := sqlkeys.New(testdb.Open(b, d), d)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			return s
		}})
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			kek, _ := crypto.EphemeralKEK("bench")
			k, err := crypto.New(ctx, st.open(b), kek, crypto.WithCache(0, 0))
			if err != nil {
				b.Fatal(err)
			}
			ct, err := k.Encrypt(ctx, "user-42", email, p)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Decrypt(ctx, "user-42", email, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBlindIndex(b *testing.B) {
	const v = "ann@example.org"
	b.Run("raw-hmac", func(b *testing.B) {
		m := hmac.New(sha256.New, make([]byte, 32))
		buf := make([]byte, 0, 32)
		b.ReportAllocs()
		for b.Loop() {
			m.Reset()
			m.Write([]byte(v))
			buf = m.Sum(buf[:0])
		}
	})
	b.Run("blind-index", func(b *testing.B) {
		idx, err := benchKeyring(b).BlindIndex(email, crypto.WithIndexNormalizer(crypto.NormalizeNone))
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 0, 32)
		b.ReportAllocs()
		for b.Loop() {
			buf = idx.AppendSum(buf[:0], v)
		}
	})
	b.Run("blind-index-normalised", func(b *testing.B) {
		idx, err := benchKeyring(b).BlindIndex(email)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 0, 32)
		b.ReportAllocs()
		for b.Loop() {
			buf = idx.AppendSum(buf[:0], v)
		}
	})
}

// BenchmarkShred shreds subjects that have 1 and 100,000 ciphertexts in the
// host's tables: the time is the same, since a shred touches one record.
// All subjects' values are encrypted first (not timed), so run it with a
// fixed count: -benchtime 20x.
func BenchmarkShred(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 100_000} {
		b.Run(fmt.Sprintf("ciphertexts=%d", n), func(b *testing.B) {
			if n > 1 && b.N > 100 {
				b.Skipf("the setup encrypts %d values per iteration: run with -benchtime 20x", n)
			}
			k := benchKeyring(b)
			host := make([][]byte, 0, b.N*n) // the host's table
			subjects := make([]gdpr.SubjectID, b.N)
			for i := range subjects {
				subjects[i] = gdpr.SubjectID(fmt.Sprintf("subject-%d", i))
				for j := range n {
					ct, err := k.Encrypt(ctx, subjects[i], crypto.Field{Table: "notes", Column: "body", Row: fmt.Sprint(j)}, []byte("a note"))
					if err != nil {
						b.Fatal(err)
					}
					host = append(host, ct)
				}
			}
			runtime.GC()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := k.Shred(ctx, subjects[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.KeepAlive(host)
		})
	}
}

var email = crypto.Field{Table: "users", Column: "email"}
