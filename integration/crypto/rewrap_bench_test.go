package crypto_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// BenchmarkRewrap times one full Keyring.Rewrap pass (KEK rotation) over
// rewrapRecords subjects' keys, on memkeys and on sqlkeys over each
// database the test DSNs name (SQLite always), each op one pass, beside
// its raw baselines in the same run:
//
//	go test -run '^$' -bench Rewrap -benchtime 1x -count 3 ./crypto/   (in integration/, with the test DSNs set)
//
// The sub-benchmarks:
//   - rewrap: Rewrap, batch 500 (its default), as a host runs it;
//   - rewrap-update-only: the same over a Store that hides UpdateMany,
//     so Rewrap writes one Update per record (a host's own Store);
//   - raw-tink: the KEK work alone, Tink's keyset.Read with the old KEK
//     and keyset.Write with the new one of the same keysets, one goroutine;
//     raw-tink-parallel the same on GOMAXPROCS goroutines;
//   - raw-sql-update (SQL): the rows written back with plain UPDATE ...
//     WHERE ref = ?, one autocommit statement per row (what Rewrap did per
//     record), and raw-sql-update-tx the same in one transaction per 500.
//
// Each reports records/s. The passes alternate between two KEKs, so each
// starts with every record on the other one. GDPR_BENCH_REWRAP_N sets the
// number of records.
func BenchmarkRewrap(b *testing.B) {
	n := rewrapRecords
	if v, err := strconv.Atoi(os.Getenv("GDPR_BENCH_REWRAP_N")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	keks, raw := rewrapKEKs(b)
	// The keys, made once in memory and copied to each SQL store.
	mem := memkeys.New()
	k0, err := crypto.New(ctx, mem, keks[0], crypto.WithPreviousKEKs(keks[1]))
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := k0.Encrypt(ctx, gdpr.SubjectID(fmt.Sprint("subject-", i)), email, []byte("v")); err != nil {
			b.Fatal(err)
		}
	}
	recs, err := mem.List(ctx, "", n+10)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("store=memkeys", func(b *testing.B) { benchRewrap(b, mem, nil, 0, keks, raw) })
	for _, d := range testdb.All() {
		if !testdb.Available(d) {
			continue
		}
		b.Run("store="+d.String(), func(b *testing.B) {
			db := testdb.Open(b, d)
			s := testdb.Migrated(b, d, db, sqlkeys.New)
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			in := s.Tx(tx)
			for _, r := range recs {
				if err := in.Create(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			benchRewrap(b, s, db, d, keks, raw)
		})
	}
}

const rewrapRecords = 20_000

// updateOnly hides a Store's UpdateMany (if it has one).
type updateOnly struct{ crypto.Store }

func rewrapKEKs(b *testing.B) ([2]crypto.KEK, [2]tink.AEAD) {
	var keks [2]crypto.KEK
	var raw [2]tink.AEAD
	for i := range keks {
		h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
		if err != nil {
			b.Fatal(err)
		}
		if raw[i], err = aead.New(h); err != nil {
			b.Fatal(err)
		}
		keks[i] = crypto.NewKEK(fmt.Sprint("bench-kek-", i), raw[i])
	}
	return keks, raw
}

// benchRewrap runs the sub-benchmarks over s, whose records are all on
// keks[0]; db is s's database (nil for memkeys).
func benchRewrap(b *testing.B, s crypto.Store, db *sql.DB, d sqldialect.Dialect, keks [2]crypto.KEK, raw [2]tink.AEAD) {
	ctx := context.Background()
	on := 0 // the KEK every record is on
	rings := [2]*crypto.Keyring{}
	for i := range rings {
		var err error
		if rings[i], err = crypto.New(ctx, s, keks[i], crypto.WithPreviousKEKs(keks[1-i])); err != nil {
			b.Fatal(err)
		}
	}
	all, err := s.List(ctx, "", 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	n := len(all)
	perSec := func(b *testing.B) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	}
	pass := func(b *testing.B, k *crypto.Keyring) {
		p, err := k.Rewrap(ctx, "", 500, nil)
		if err != nil || !p.Done || p.Rewrapped != n {
			b.Fatalf("Rewrap = %+v, %v; want all %d rewrapped", p, err, n)
		}
	}
	b.Run("rewrap", func(b *testing.B) {
		for b.Loop() {
			pass(b, rings[1-on])
			on = 1 - on
		}
		perSec(b)
	})
	b.Run("rewrap-update-only", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			k, err := crypto.New(ctx, updateOnly{s}, keks[1-on], crypto.WithPreviousKEKs(keks[on]))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			pass(b, k)
			on = 1 - on
		}
		perSec(b)
	})
	// The raw baselines work on the subjects' records as the last pass
	// left them (all on keks[on]).
	all, err = s.List(ctx, "", 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	var subjects []crypto.Record
	for _, r := range all {
		if !strings.HasPrefix(r.Ref, "meta/") {
			subjects = append(subjects, r)
		}
	}
	rawOne := func(b *testing.B, r crypto.Record, from, to tink.AEAD) {
		ad := []byte("gdpr/crypto/keyset/v1\x00" + r.Ref)
		h, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(r.Wrapped)), ctxAEAD{from}, ad)
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), ctxAEAD{to}, ad); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("raw-tink", func(b *testing.B) {
		for b.Loop() {
			for _, r := range subjects {
				rawOne(b, r, raw[on], raw[1-on])
			}
		}
		b.ReportMetric(float64(len(subjects))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("raw-tink-parallel", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			w := runtime.GOMAXPROCS(0)
			for g := range w {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := g; i < len(subjects); i += w {
						rawOne(b, subjects[i], raw[on], raw[1-on])
					}
				}()
			}
			wg.Wait()
		}
		b.ReportMetric(float64(len(subjects))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	if db == nil {
		return
	}
	q := "UPDATE gdpr_crypto_keys SET wrapped = ?, kek = ?, version = version + 1, updated_us = ? WHERE ref = ?"
	if d == sqldialect.Postgres {
		q = "UPDATE gdpr_crypto_keys SET wrapped = $1, kek = $2, version = version + 1, updated_us = $3 WHERE ref = $4"
	}
	b.Run("raw-sql-update", func(b *testing.B) {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		for b.Loop() {
			for _, r := range all {
				if _, err := st.ExecContext(ctx, r.Wrapped, r.KEK, r.Updated.UnixMicro(), r.Ref); err != nil {
					b.Fatal(err)
				}
			}
		}
		perSec(b)
	})
	b.Run("raw-sql-update-tx", func(b *testing.B) {
		for b.Loop() {
			for lo := 0; lo < len(all); lo += 500 {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				st, err := tx.PrepareContext(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range all[lo:min(lo+500, len(all))] {
					if _, err := st.ExecContext(ctx, r.Wrapped, r.KEK, r.Updated.UnixMicro(), r.Ref); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		}
		perSec(b)
	})
}

// ctxAEAD is a tink.AEAD as a tink.AEADWithContext.
type ctxAEAD struct{ a tink.AEAD }

func (c ctxAEAD) EncryptWithContext(_ context.Context, p, ad []byte) ([]byte, error) {
	return c.a.Encrypt(p, ad)
}

func (c ctxAEAD) DecryptWithContext(_ context.Context, ct, ad []byte) ([]byte, error) {
	return c.a.Decrypt(ct, ad)
}
