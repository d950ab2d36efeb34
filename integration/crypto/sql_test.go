package crypto_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// Concurrent first use of one subject, from many goroutines on several
// instances over many connections to one database, makes exactly one
// keyset, and every ciphertext opens on every instance.
func TestConcurrentFirstUseOnSQL(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := context.Background()
		kek, err := crypto.EphemeralKEK("sql-test")
		if err != nil {
			t.Fatal(err)
		}
		var stores []*sqlkeys.Store
		var rings []*crypto.Keyring
		db := testdb.Open(t, d)
		for i := range 4 {
			s, err := sqlkeys.New(db, d)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if err := s.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
			}
			stores = append(stores, s)
		}
		// Instances starting together agree on the Keyring's own keys.
		rings = make([]*crypto.Keyring, len(stores))
		var start sync.WaitGroup
		for i, s := range stores {
			start.Add(1)
			go func() {
				defer start.Done()
				k, err := crypto.New(ctx, s, kek)
				if err != nil {
					t.Error(err)
				}
				rings[i] = k
			}()
		}
		start.Wait()
		if t.Failed() {
			return
		}
		idx := func(k *crypto.Keyring) string {
			b, err := k.BlindIndex(email)
			if err != nil {
				t.Fatal(err)
			}
			return string(b.Sum("x"))
		}
		for _, k := range rings[1:] {
			if idx(k) != idx(rings[0]) || k.Ref("s") != rings[0].Ref("s") {
				t.Fatal("instances started together disagree on the Keyring's own keys")
			}
		}
		cts := make([][]byte, 16)
		var wg sync.WaitGroup
		for i := range cts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ct, err := rings[i%len(rings)].Encrypt(ctx, "first-use", email, []byte("v"))
				if err != nil {
					t.Error(err)
				}
				cts[i] = ct
			}()
		}
		wg.Wait()
		for i, ct := range cts {
			for _, k := range rings {
				if _, err := k.Decrypt(ctx, "first-use", email, ct); err != nil {
					t.Fatalf("ciphertext %d does not open on every instance: %v", i, err)
				}
			}
		}
		recs, err := stores[0].List(ctx, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(recs) - 2; n != 1 {
			t.Fatalf("%d subject keysets stored, want exactly 1", n)
		}
	})
}
