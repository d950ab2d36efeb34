package audittest

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/gdprtest"
)

// RunLogContracts runs gdprtest's Eraser and Exporter suites on an
// *audit.Log over the stores newStore makes, as RunStoreTests calls it:
// two handles on one fresh storage. The Log under test is over s; a
// second Log over other, with the same keys, as a second instance of the
// service, says whether a subject's entries can still be found, so an
// erasure (the salt deleted) must hold for every process.
//
// Each subject is seeded with two events. The canary is the ID of the
// staff member who acted in the first: the personal data the Log takes in
// besides the subject's ID, which it pseudonymises before storing and
// leaves out of exports (C-579/21), so it must turn up in no error,
// report or other subject's export. (Attrs are documented as
// non-personal and kept as they are: a canary there would test a caller's
// misuse, not the Log.)
func RunLogContracts(t *testing.T, newStore func(t *testing.T) (s, other audit.Store)) {
	t.Run("Eraser", func(t *testing.T) {
		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
			s, other := newStore(t)
			keys := newContractKeys(t)
			l := keys.open(t, s)
			return gdprtest.EraserFixture{Eraser: l, Seed: seedLog(l), Present: gdprtest.ExportsAny(keys.open(t, other))}
		})
	})
	t.Run("Exporter", func(t *testing.T) {
		gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
			s, _ := newStore(t)
			l := newContractKeys(t).open(t, s)
			return gdprtest.ExporterFixture{Exporter: l, Seed: seedLog(l)}
		})
	})
}

func seedLog(l *audit.Log) func(context.Context, gdpr.SubjectID, string) error {
	return func(ctx context.Context, subject gdpr.SubjectID, canary string) error {
		err := l.Record(ctx, gdpr.Event{Actor: gdpr.Staff(canary), Action: "crypto.decrypt", Subject: subject,
			Purpose: "support", Categories: []string{"contact"}, Resource: "profiles/1", Outcome: gdpr.Success})
		if err != nil {
			return err
		}
		return l.Record(ctx, gdpr.Event{Actor: gdpr.SubjectActor(), Action: "consent.given", Subject: subject,
			Purpose: "newsletter", Resource: "consent_event/1", Outcome: gdpr.Success})
	}
}

type contractKeys struct {
	skey string
	key  []byte
}

func newContractKeys(t *testing.T) contractKeys {
	t.Helper()
	skey, _, err := audit.GenerateKey("audittest.example/contracts")
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, audit.MinKeySize)
	rand.Read(key)
	return contractKeys{skey: skey, key: key}
}

// open returns a Log over s with these keys, closed when t ends.
func (k contractKeys) open(t *testing.T, s audit.Store) *audit.Log {
	t.Helper()
	signer, verifier, err := audit.NewSigner(k.skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(context.Background(), s, k.key, signer, verifier)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}
