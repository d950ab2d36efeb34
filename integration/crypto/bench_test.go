package crypto_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Benchmarks, each with its raw baseline in the same run; see BENCHMARKS.md.
//
//	go test -run '^$' -bench 'Encrypt|Decrypt|BlindIndex' -benchmem ./crypto/   (with the test DSNs set, for the SQL cold paths)
//	go test -run '^$' -bench 'Shred' -benchtime 20x ./crypto/
//
// The many=10000 sub-benchmarks spread the calls over 10,000 distinct
// subjects, all in the Keyring's cache (its default size), visited in a
// random order, over and over, so that each call's cache lookup and Tink
// primitive miss the CPU's caches as in a service with many users. Their
// baselines, in the same run: raw-tink, 10,000 distinct raw Tink
// primitives taken from a slice in the same order (Tink's own memory
// misses the caches too), and raw-tink-map, the same primitives found by
// subject ID in a plain map[gdpr.SubjectID]tink.AEAD (what any
// per-subject key cache must at least do). Each reports cpu-ns/op beside ns/op
// (see reportCPU); on a busy machine compare the ratios of cpu-ns/op.

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
			defer reportCPU(b)()
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
			defer reportCPU(b)()
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
			defer reportCPU(b)()
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
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := k.Decrypt(ctx, "user-42", email, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU, deferred at the start of a sub-benchmark, reports beside
// its ns/op the process's CPU time per operation, cpu-ns/op: on a shared
// machine, ns/op counts the time other processes held the core, cpu-ns/op
// does not (it counts the garbage collector's work on other cores too, as
// the baseline's). Compare ratios of either within one run.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// manySubjects is the number of distinct subjects of the many=…
// sub-benchmarks: the Keyring's default cache size.
const manySubjects = 10_000

// many is a warm Keyring holding manySubjects subjects in its cache, and
// as many raw Tink primitives, by index and by subject ID, for the
// baselines. order is the sequence in which the benchmarks visit them: a
// random permutation, so that no call finds its subject's memory next to
// the previous one's (they were allocated in index order).
type many struct {
	k        *crypto.Keyring
	subjects []gdpr.SubjectID
	raw      []tink.AEAD
	byID     map[gdpr.SubjectID]tink.AEAD
	order    []int
	// ids are copies of subjects, in memory of their own, as a service
	// reads a subject ID afresh from each request or row: a lookup
	// compares the bytes and cannot match on the pointer alone.
	ids []gdpr.SubjectID
}

var (
	manyOnce  sync.Once
	manyState many
)

func manyFixture(b *testing.B) *many {
	manyOnce.Do(func() {
		ctx := context.Background()
		m := &manyState
		m.k = benchKeyring(b)
		m.subjects = make([]gdpr.SubjectID, manySubjects)
		m.raw = make([]tink.AEAD, manySubjects)
		m.byID = make(map[gdpr.SubjectID]tink.AEAD, manySubjects)
		for i := range m.subjects {
			// The same length as "user-42" plus five digits, each ID its own allocation.
			m.subjects[i] = gdpr.SubjectID(fmt.Sprintf("user-%05d", i))
		}
		m.order = rand.New(rand.NewPCG(1, 2)).Perm(manySubjects)
		m.ids = make([]gdpr.SubjectID, manySubjects)
		for i, s := range m.subjects {
			m.ids[i] = gdpr.SubjectID(strings.Clone(string(s)))
		}
		for i, s := range m.subjects {
			if _, err := m.k.Encrypt(ctx, s, email, []byte("warm")); err != nil {
				b.Fatal(err)
			}
			h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
			if err != nil {
				b.Fatal(err)
			}
			if m.raw[i], err = aead.New(h); err != nil {
				b.Fatal(err)
			}
			m.byID[s] = m.raw[i]
		}
	})
	return &manyState
}

// manyAD is associated data as long as the Keyring's for a subject of the
// many fixture and users.email.
var manyAD = []byte("gdpr/crypto/field/v1\x00\x0auser-00000\x05users\x05email\x00")

func BenchmarkEncryptMany(b *testing.B) {
	ctx := context.Background()
	m := manyFixture(b)
	for _, n := range sizes {
		p := make([]byte, n)
		b.Run(fmt.Sprintf("many=%d/raw-tink/%dB", manySubjects, n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			defer reportCPU(b)()
			i := 0
			for b.Loop() {
				if _, err := m.raw[m.order[i]].Encrypt(p, manyAD); err != nil {
					b.Fatal(err)
				}
				if i++; i == manySubjects {
					i = 0
				}
			}
		})
		b.Run(fmt.Sprintf("many=%d/raw-tink-map/%dB", manySubjects, n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			defer reportCPU(b)()
			i := 0
			for b.Loop() {
				if _, err := m.byID[m.ids[m.order[i]]].Encrypt(p, manyAD); err != nil {
					b.Fatal(err)
				}
				if i++; i == manySubjects {
					i = 0
				}
			}
		})
		b.Run(fmt.Sprintf("many=%d/keyring/%dB", manySubjects, n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			defer reportCPU(b)()
			i := 0
			for b.Loop() {
				if _, err := m.k.Encrypt(ctx, m.ids[m.order[i]], email, p); err != nil {
					b.Fatal(err)
				}
				if i++; i == manySubjects {
					i = 0
				}
			}
		})
	}
}

func BenchmarkDecryptMany(b *testing.B) {
	ctx := context.Background()
	m := manyFixture(b)
	for _, n := range sizes {
		p := make([]byte, n)
		rawCT := make([][]byte, manySubjects)
		ringCT := make([][]byte, manySubjects)
		for i, s := range m.subjects {
			var err error
			if rawCT[i], err = m.raw[i].Encrypt(p, manyAD); err != nil {
				b.Fatal(err)
			}
			if ringCT[i], err = m.k.Encrypt(ctx, s, email, p); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("many=%d/raw-tink/%dB", manySubjects, n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			defer reportCPU(b)()
			i := 0
			for b.Loop() {
				if _, err := m.raw[m.order[i]].Decrypt(rawCT[m.order[i]], manyAD); err != nil {
					b.Fatal(err)
				}
				if i++; i == manySubjects {
					i = 0
				}
			}
		})
		b.Run(fmt.Sprintf("many=%d/raw-tink-map/%dB", manySubjects, n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			defer reportCPU(b)()
			i := 0
			for b.Loop() {
				if _, err := m.byID[m.ids[m.order[i]]].Decrypt(rawCT[m.order[i]], manyAD); err != nil {
					b.Fatal(err)
				}
				if i++; i == manySubjects {
					i = 0
				}
			}
		})
		b.Run(fmt.Sprintf("many=%d/keyring/%dB", manySubjects, n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			defer reportCPU(b)()
			i := 0
			for b.Loop() {
				if _, err := m.k.Decrypt(ctx, m.ids[m.order[i]], email, ringCT[m.order[i]]); err != nil {
					b.Fatal(err)
				}
				if i++; i == manySubjects {
					i = 0
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
