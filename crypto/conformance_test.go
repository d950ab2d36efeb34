package crypto_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/gdprtest"
)

// The Keyring passes the root contracts' conformance suites, as a
// gdpr.Eraser and a gdpr.Exporter.
func TestKeyringConformance(t *testing.T) {
	newKeyring := func(t *testing.T) (*crypto.Keyring, *memkeys.Store) {
		kek, err := crypto.EphemeralKEK("conformance")
		if err != nil {
			t.Fatal(err)
		}
		s := memkeys.New()
		k, err := crypto.New(t.Context(), s, kek)
		if err != nil {
			t.Fatal(err)
		}
		return k, s
	}
	seed := func(k *crypto.Keyring) func(context.Context, gdpr.SubjectID, string) error {
		return func(ctx context.Context, s gdpr.SubjectID, canary string) error {
			_, err := k.Encrypt(ctx, s, crypto.Field{Table: "users", Column: "name", Category: "identity"}, []byte(canary))
			return err
		}
	}
	gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
		k, s := newKeyring(t)
		return gdprtest.EraserFixture{Eraser: k, Seed: seed(k),
			// The export of a shredded subject still reports the
			// tombstone (status "shredded"), so presence is a live key.
			Present: func(ctx context.Context, subject gdpr.SubjectID) (bool, error) {
				_, err := s.Get(ctx, k.Ref(subject))
				if errors.Is(err, crypto.ErrNotFound) || errors.Is(err, crypto.ErrShredded) {
					return false, nil
				}
				return err == nil, err
			}}
	})
	gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
		k, _ := newKeyring(t)
		return gdprtest.ExporterFixture{Exporter: k, Seed: seed(k)}
	})
}
