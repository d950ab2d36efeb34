package sqlaudit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/gdprtest"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// seedLog returns the Seed of gdprtest's fixtures for l: two events about
// the subject, so that the Exporter suite sees an export stop part-way.
// As in audit's own contracts test, the canary is the ID of the staff
// member who acted: the personal data the Log takes in besides the
// subject's ID, which it pseudonymises before storing and leaves out of
// exports, so the canary must turn up in no error, report or other
// subject's export. Attrs are documented as non-personal and kept as they
// are: a canary there would test a caller's misuse, not the Log.
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

// errSeen stops an export once it has written a record.
var errSeen = errors.New("a record was written")

// TestLogConformance runs gdprtest's Eraser and Exporter suites against an
// *audit.Log over sqlaudit, on every database, each check on a fresh one.
// For the Eraser suite a second Log, on a second connection pool to the
// same database (as another instance of the service), says whether a
// subject's entries can still be found: an erasure is one for every
// process.
func TestLogConformance(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		// Each suite under a name of its own: the two share check names,
		// and a repeated subtest name gets a "#01", which a SQLite file:
		// URI would cut off (testdb.Open does not escape the path).
		t.Run("Eraser", func(t *testing.T) {
			gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
				db := testdb.Open(t, d)
				keys := newLogKeys(t)
				l := keys.open(t, newStore(t, d, db))
				s2, err := sqlaudit.New(testdb.Reopen(t, d, db), d)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s2.Close() })
				l2 := keys.open(t, s2)
				return gdprtest.EraserFixture{Eraser: l, Seed: seedLog(l),
					Present: func(ctx context.Context, subject gdpr.SubjectID) (bool, error) {
						err := l2.ExportSubject(ctx, subject, gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return errSeen }))
						if errors.Is(err, errSeen) {
							return true, nil
						}
						return false, err
					}}
			})
		})
		t.Run("Exporter", func(t *testing.T) {
			gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
				l := newLogKeys(t).open(t, newStore(t, d, testdb.Open(t, d)))
				return gdprtest.ExporterFixture{Exporter: l, Seed: seedLog(l)}
			})
		})
	})
}
