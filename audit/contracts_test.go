package audit_test

import (
	"context"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
	"github.com/gdprkit/gdpr/gdprtest"
)

// seedLog returns the Seed of gdprtest's fixtures for l: two events about
// the subject, so that the Exporter suite sees an export stop part-way.
//
// The canary goes where the Log takes personal data in besides the
// subject's ID (which the suite chooses): the ID of the staff member who
// acted. The Log replaces it by a pseudonym before it stores anything,
// and ExportSubject leaves even the pseudonym out (C-579/21, Pankki S), so
// the canary must turn up nowhere: the suites search every error and
// report for it, and every other subject's export. (That no stored byte
// holds it in clear is the tamper suite's NoPersonalDataStored, run on
// memaudit and sqlaudit.) Attrs would be the wrong place: they are
// documented as non-personal, and the Log stores and exports them as they
// are, so a canary in Attrs would test a caller's misuse, not the Log.
// The second event is the subject acting for themselves.
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

// The Log passes the root contracts' conformance suites over memaudit, as
// a gdpr.Eraser (its erasure deletes the subject's salt, so their entries
// can no longer be found or linked) and a gdpr.Exporter (the subject's
// entries). The Eraser suite sees whether a subject's data is there
// through the Log's own export.
func TestLogConformance(t *testing.T) {
	newLog := func(t *testing.T) *audit.Log { return open(t, memaudit.New()).log }
	t.Run("Eraser", func(t *testing.T) {
		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
			l := newLog(t)
			return gdprtest.EraserFixture{Eraser: l, Seed: seedLog(l)}
		})
	})
	t.Run("Exporter", func(t *testing.T) {
		gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
			l := newLog(t)
			return gdprtest.ExporterFixture{Exporter: l, Seed: seedLog(l)}
		})
	})
}
