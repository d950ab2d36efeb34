package audit_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

// The benchmarks compare the Log with raw tlog over the same encoded
// records, in the same process:
//
//	go test -run '^$' -bench . -benchtime 2s ./audit/

func benchEvent(i int) gdpr.Event {
	return gdpr.Event{
		Time:  time.Date(2026, 11, 25, 10, 0, 0, i*1000, time.UTC),
		Actor: gdpr.Staff(fmt.Sprint("agent-", i%50)), Action: "crypto.decrypt",
		Subject: gdpr.SubjectID(fmt.Sprint("subject-", i%5000)), Purpose: "support",
		Categories: []string{"contact"}, Resource: "profiles/" + strconv.Itoa(i), Outcome: gdpr.Success,
		Attrs: map[string]string{"field": "profiles.email"},
	}
}

// encodedRecords returns n records as the Log encodes them.
func encodedRecords(b *testing.B, n int) [][]byte {
	store := memaudit.New()
	f := open(b, store)
	for i := 0; i < n; i += audit.MaxAppend {
		var evs []gdpr.Event
		for j := i; j < min(n, i+audit.MaxAppend); j++ {
			evs = append(evs, benchEvent(j))
		}
		if _, err := f.log.Append(context.Background(), evs...); err != nil {
			b.Fatal(err)
		}
	}
	ses, err := store.Entries(context.Background(), 0, n)
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, len(ses))
	for i, se := range ses {
		out[i] = se.Body
	}
	return out
}

func BenchmarkAppend(b *testing.B) {
	b.Run("raw_tlog_StoredHashes", func(b *testing.B) {
		recs := encodedRecords(b, 4096)
		var hashes []tlog.Hash
		r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for i, x := range idx {
				out[i] = hashes[x]
			}
			return out, nil
		})
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			hs, err := tlog.StoredHashes(int64(i), recs[i%len(recs)], r)
			if err != nil {
				b.Fatal(err)
			}
			hashes = append(hashes, hs...)
		}
	})
	for _, batch := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("Log.Append_batch=%d", batch), func(b *testing.B) {
			f := open(b, memaudit.New())
			evs := make([]gdpr.Event, batch)
			for i := range evs {
				evs[i] = benchEvent(i)
			}
			ctx := context.Background()
			// Warm the pseudonym cache, as a running service has it.
			for i := 0; i < 5000; i += batch {
				f.log.Append(ctx, evs...)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				if _, err := f.log.Append(ctx, evs...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("Log.Record_parallel", func(b *testing.B) {
		f := open(b, memaudit.New())
		ctx := context.Background()
		b.SetParallelism(16)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if err := f.log.Record(ctx, benchEvent(i)); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// bigLog is a memaudit log of benchN entries, built once.
var bigLog struct {
	once   sync.Once
	f      *fixture
	bodies [][]byte
}

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("GDPR_BENCH_AUDIT_N")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func big(b *testing.B) *fixture {
	bigLog.once.Do(func() {
		store := memaudit.New()
		f := &fixture{store: store, key: pseudonymKey(), anchor: &audit.FileAnchor{Dir: os.TempDir()}}
		s, v, _ := audit.NewSigner(keys.skey)
		l, err := audit.New(context.Background(), store, f.key, s, v, audit.WithCheckpoints(0, 0))
		if err != nil {
			b.Fatal(err)
		}
		f.log = l
		n := benchN()
		evs := make([]gdpr.Event, 0, audit.MaxAppend)
		for i := 0; i < n; i++ {
			evs = append(evs, benchEvent(i))
			if len(evs) == audit.MaxAppend || i == n-1 {
				if _, err := l.Append(context.Background(), evs...); err != nil {
					b.Fatal(err)
				}
				evs = evs[:0]
			}
		}
		ses, _ := store.Entries(context.Background(), 0, n)
		for _, se := range ses {
			bigLog.bodies = append(bigLog.bodies, se.Body)
		}
		bigLog.f = f
	})
	return bigLog.f
}

func BenchmarkVerify(b *testing.B) {
	f := big(b)
	n := int64(len(bigLog.bodies))
	b.Run(fmt.Sprintf("raw_recompute_n=%d", n), func(b *testing.B) {
		for range b.N {
			hashes := make([]tlog.Hash, 0, tlog.StoredHashCount(n))
			r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
				out := make([]tlog.Hash, len(idx))
				for i, x := range idx {
					out[i] = hashes[x]
				}
				return out, nil
			})
			for i, body := range bigLog.bodies {
				hs, err := tlog.StoredHashes(int64(i), body, r)
				if err != nil {
					b.Fatal(err)
				}
				hashes = append(hashes, hs...)
			}
			if _, err := tlog.TreeHash(n, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("Log.Verify_n=%d", n), func(b *testing.B) {
		for range b.N {
			rep, err := f.log.Verify(context.Background(), audit.VerifyOptions{})
			if err != nil || rep.Entries != n {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkProofs(b *testing.B) {
	f := big(b)
	ctx := context.Background()
	cp, err := f.log.Checkpoint(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("ProveEntry+CheckEntry_n=%d", cp.Size), func(b *testing.B) {
		for i := range b.N {
			idx := int64(i*7919) % cp.Size
			p, err := f.log.ProveEntry(ctx, idx, cp.Size)
			if err != nil {
				b.Fatal(err)
			}
			if err := audit.CheckEntry(cp, idx, bigLog.bodies[idx], p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("ProveConsistency+Check_n=%d", cp.Size), func(b *testing.B) {
		for i := range b.N {
			old := 1 + int64(i*7919)%(cp.Size-1)
			oldRoot, err := tlog.TreeHash(old, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return f.store.ReadHashes(ctx, idx) }))
			if err != nil {
				b.Fatal(err)
			}
			p, err := f.log.ProveConsistency(ctx, old, cp.Size)
			if err != nil {
				b.Fatal(err)
			}
			if err := audit.CheckConsistency(audit.Checkpoint{Origin: cp.Origin, Size: old, Root: oldRoot}, cp, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEntries compares Log.Entries with the Store's own Query over the
// same filter: one subject's entries (an Art. 15 answer: 200 of the log's
// entries at n = 1,000,000, a page of DefaultPage) and a page of MaxPage
// entries of every subject.
func BenchmarkEntries(b *testing.B) {
	f := big(b)
	ctx := context.Background()
	first, err := f.log.Entries(ctx, audit.Filter{Subject: "subject-42", Limit: 1})
	if err != nil || len(first) != 1 {
		b.Fatalf("Entries = %d, %v", len(first), err)
	}
	p := first[0].Subject
	for _, c := range []struct {
		name string
		f    audit.Filter
		sf   audit.StoreFilter
	}{
		{"subject", audit.Filter{Subject: "subject-42"}, audit.StoreFilter{Subject: p[:], Limit: audit.DefaultPage}},
		{"page", audit.Filter{From: 5000, Limit: audit.MaxPage}, audit.StoreFilter{From: 5000, Limit: audit.MaxPage}},
	} {
		b.Run("raw_Store.Query_"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := f.store.Query(ctx, c.sf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Log.Entries_"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := f.log.Entries(ctx, c.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSubjectTokens compares Log.SubjectTokens for 1000 recorded
// subjects with the raw computation in a loop: per subject an
// HMAC-SHA-256 for the salt's ref, a map lookup of the salt and an
// HMAC-SHA-256 for the pseudonym. The Log reads the salts from memaudit
// through LookupSalts (a Log that has nothing cached, as another
// instance, or the same after the cache's TTL), from its cache (the Log
// that recorded them), or one LookupSalt a subject (a Store that is no
// SaltLookuper).
func BenchmarkSubjectTokens(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	subjects := make([]gdpr.SubjectID, n)
	evs := make([]gdpr.Event, n)
	for i := range subjects {
		subjects[i] = gdpr.SubjectID(fmt.Sprint("subject-", i))
		evs[i] = gdpr.Event{Time: time.Date(2026, 11, 25, 10, 0, 0, i*1000, time.UTC), Actor: gdpr.System("import"),
			Action: "profile.imported", Subject: subjects[i], Outcome: gdpr.Success}
	}
	b.Run("raw_2xHMAC+map_n=1000", func(b *testing.B) {
		mac := hmac.New(sha256.New, pseudonymKey())
		sum := func(parts ...string) []byte {
			mac.Reset()
			for _, p := range parts {
				mac.Write([]byte(p))
			}
			return mac.Sum(nil)
		}
		salts := make(map[string][]byte, n)
		for _, s := range subjects {
			salt := make([]byte, 32)
			rand.Read(salt)
			salts[string(sum("gdpr/audit/salt-ref/v1\x00", "subject", "\x00", string(s)))] = salt
		}
		out := make([][]byte, n)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			for i, s := range subjects {
				salt := salts[string(sum("gdpr/audit/salt-ref/v1\x00", "subject", "\x00", string(s)))]
				out[i] = sum("gdpr/audit/pseudonym/v1\x00", "subject", "\x00", string(salt), string(s))
			}
		}
	})
	store := memaudit.New()
	f := open(b, store)
	if _, err := f.log.Append(ctx, evs...); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		l    *audit.Log
	}{
		{"Log.SubjectTokens_LookupSalts_n=1000", f.reopen(b)},
		{"Log.SubjectTokens_cached_n=1000", f.log},
		{"Log.SubjectTokens_LookupSalt_n=1000", (&fixture{store: plainStore{store}, key: f.key, anchor: f.anchor}).reopen(b)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				ts, err := c.l.SubjectTokens(ctx, subjects)
				if err != nil || ts[n-1] == nil {
					b.Fatal(err)
				}
			}
		})
	}
}
