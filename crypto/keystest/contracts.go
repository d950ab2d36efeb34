package keystest

import (
	"context"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/gdprtest"
)

// RunKeyringContracts runs gdprtest's Eraser and Exporter suites on a
// *crypto.Keyring over the stores newStore makes, as RunStoreTests calls
// it: two handles on one fresh storage. The Keyring under test is over s;
// whether a subject's key is still live is read through other, as a
// second instance of the host would see it (the export of a shredded
// subject still reports the tombstone, so presence is a live key). Each
// subject is seeded with one encrypted field holding the suites' canary.
func RunKeyringContracts(t *testing.T, newStore func(t *testing.T) (s, other crypto.Store)) {
	seed := func(k *crypto.Keyring) func(context.Context, gdpr.SubjectID, string) error {
		return func(ctx context.Context, s gdpr.SubjectID, canary string) error {
			_, err := k.Encrypt(ctx, s, crypto.Field{Table: "users", Column: "name", Category: "identity"}, []byte(canary))
			return err
		}
	}
	t.Run("Eraser", func(t *testing.T) {
		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
			s, other := newStore(t)
			k := contractKeyring(t, s)
			return gdprtest.EraserFixture{Eraser: k, Seed: seed(k),
				Present: func(ctx context.Context, subject gdpr.SubjectID) (bool, error) {
					_, err := other.Get(ctx, k.Ref(subject))
					if errors.Is(err, crypto.ErrNotFound) || errors.Is(err, crypto.ErrShredded) {
						return false, nil
					}
					return err == nil, err
				}}
		})
	})
	t.Run("Exporter", func(t *testing.T) {
		gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
			s, _ := newStore(t)
			k := contractKeyring(t, s)
			return gdprtest.ExporterFixture{Exporter: k, Seed: seed(k)}
		})
	})
}

func contractKeyring(t *testing.T, s crypto.Store) *crypto.Keyring {
	t.Helper()
	kek, err := crypto.EphemeralKEK("conformance")
	if err != nil {
		t.Fatal(err)
	}
	k, err := crypto.New(t.Context(), s, kek)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
