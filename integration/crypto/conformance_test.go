package crypto_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/gdprtest"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The Keyring over sqlkeys passes the root contracts' conformance suites,
// as a gdpr.Eraser and a gdpr.Exporter, on every database: the fixture of
// crypto's own run over memkeys, with a SQL store. sqlkeys is a
// crypto.TombstoneReader, so the export of a shredded subject names the
// time of the shred here too.
func TestKeyringConformanceOnSQL(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		// One database per dialect; each fixture gets empty tables under
		// a prefix of its own.
		var n atomic.Int64
		newKeyring := func(t *testing.T) (*crypto.Keyring, *sqlkeys.Store) {
			s, err := sqlkeys.New(db, d, sqlkeys.WithTablePrefix(fmt.Sprintf("c%d_", n.Add(1))))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			kek, err := crypto.EphemeralKEK("conformance")
			if err != nil {
				t.Fatal(err)
			}
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
	})
}

// ExportSubject over sqlkeys names the time of a shred, as over memkeys:
// sqlkeys implements crypto.TombstoneReader.
func TestExportShredTimeOnSQL(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		s, err := sqlkeys.New(db, d)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		kek, err := crypto.EphemeralKEK("export")
		if err != nil {
			t.Fatal(err)
		}
		k, err := crypto.New(ctx, s, kek)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Encrypt(ctx, "ann", email, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := k.Shred(ctx, "ann"); err != nil {
			t.Fatal(err)
		}
		want, err := s.Tombstone(ctx, k.Ref("ann"))
		if err != nil {
			t.Fatal(err)
		}
		var recs []gdpr.Record
		w := gdpr.RecordWriterFunc(func(_ context.Context, r gdpr.Record) error { recs = append(recs, r); return nil })
		if err := k.ExportSubject(ctx, "ann", w); err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].Fields["status"] != "shredded" {
			t.Fatalf("export of a shredded subject = %+v; want one record with status shredded", recs)
		}
		if got, ok := recs[0].Fields["shredded"]; !ok || !recs[0].Time.Equal(want) || got != want {
			t.Errorf("export of a shredded subject: Time %s, Fields[shredded] %v; want the tombstone's time %s", recs[0].Time, got, want)
		}
	})
}
