package crypto_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/keystest"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The Keyring over sqlkeys passes the root contracts' conformance suites,
// as a gdpr.Eraser and a gdpr.Exporter, on every database, with a second
// handle on another pool saying whether a key is still live.
func TestKeyringConformanceOnSQL(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		keystest.RunKeyringContracts(t, func(t *testing.T) (crypto.Store, crypto.Store) {
			return testdb.Pair(t, d, sqlkeys.New)
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
