package consent_test

import (
	"context"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

// Erasing the trail first and the ledger after, or the other way round,
// then exporting, leaves nothing in the trail linked to the subject: the
// erasure's record and an export that finds nothing carry no subject.
func TestErasureLeavesNothingLinked(t *testing.T) {
	ctx := context.Background()
	const s = gdpr.SubjectID("erased-subject")
	for _, trailFirst := range []bool{true, false} {
		name := map[bool]string{true: "trail first", false: "ledger first"}[trailFirst]
		t.Run(name, func(t *testing.T) {
			trail := newTrail(t)
			l := mustOK(consent.New(memconsent.New(), consent.WithRecorder(trail)))
			mustOK(l.Publish(ctx, consent.Notice{ID: "nl", Version: 1, TextHash: consent.HashText("nl")}))
			mustOK(l.Give(ctx, consent.Choice{Subject: s, Purpose: "newsletter", Notice: consent.NoticeRef{ID: "nl", Version: 1}}))
			mustOK(l.Withdraw(ctx, consent.Choice{Subject: s, Purpose: "newsletter", Contact: consent.SMS}))
			if trailFirst {
				mustOK(trail.EraseSubject(ctx, s))
			}
			rep, err := l.EraseSubject(ctx, s)
			if err != nil || rep.Erased != 2 {
				t.Fatalf("Ledger.EraseSubject = %+v, %v; want 2 erased", rep, err)
			}
			if !trailFirst {
				mustOK(trail.EraseSubject(ctx, s))
			}
			discard := gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return nil })
			if err := l.ExportSubject(ctx, s, discard); err != nil {
				t.Fatal(err)
			}
			mustOK(l.History(ctx, s, ""))
			mustOK(l.Decide(ctx, consent.Query{Subject: s, Purpose: "newsletter"}))
			mustOK(l.EraseSubject(ctx, s)) // again: idempotent, and still unlinked
			linked, err := trail.Entries(ctx, audit.Filter{Subject: s})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range linked {
				t.Errorf("after erasure (%s) the trail links %s (entry %d, %s) to the subject", name, e.Action, e.Index, e.Resource)
			}
			res := trailResources(t, trail)
			if res["consent_ledger"] < 3 {
				t.Errorf("trail resources %v; want the erasures and the export recorded (without a subject)", res)
			}
		})
	}
	// An export of a subject the ledger holds names them: it is an access
	// to their data, which they may ask about (Art. 15(1)(c)).
	trail := newTrail(t)
	l := mustOK(consent.New(memconsent.New(), consent.WithRecorder(trail)))
	mustOK(l.Publish(ctx, consent.Notice{ID: "nl", Version: 1, TextHash: consent.HashText("nl")}))
	mustOK(l.Give(ctx, consent.Choice{Subject: s, Purpose: "newsletter", Notice: consent.NoticeRef{ID: "nl", Version: 1}}))
	if err := l.ExportSubject(ctx, s, gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return nil })); err != nil {
		t.Fatal(err)
	}
	es := mustOK(trail.Entries(ctx, audit.Filter{Subject: s}))
	if len(es) != 2 || es[1].Action != "consent.exported" {
		t.Errorf("entries for a subject with data after an export: %d; want the consent and the export", len(es))
	}
}
