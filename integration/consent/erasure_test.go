package consent_test

import (
	"context"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/consent"
)

// TestErasureLeavesNothingLinked erases through the trail first and the
// ledger after, then exports: nothing in the trail is linked to the
// subject, on every store.
func TestErasureLeavesNothingLinked(t *testing.T) {
	forEachStore(t, func(t *testing.T, store consent.Store) {
		ctx := context.Background()
		trail := newTrail(t)
		l, err := consent.New(store, consent.WithRecorder(trail))
		if err != nil {
			t.Fatal(err)
		}
		const s = gdpr.SubjectID("erased-subject")
		if _, err := l.Publish(ctx, consent.Notice{ID: "nl", Version: 1, TextHash: consent.HashText("nl")}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Give(ctx, consent.Choice{Subject: s, Purpose: "newsletter", Notice: consent.NoticeRef{ID: "nl", Version: 1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := trail.EraseSubject(ctx, s); err != nil {
			t.Fatal(err)
		}
		if rep, err := l.EraseSubject(ctx, s); err != nil || rep.Erased != 1 {
			t.Fatalf("EraseSubject = %+v, %v", rep, err)
		}
		if err := l.ExportSubject(ctx, s, gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return nil })); err != nil {
			t.Fatal(err)
		}
		if n, err := l.DrainAudit(ctx); err != nil || n != 0 {
			t.Errorf("DrainAudit after erasure = %d, %v; want 0", n, err)
		}
		es, err := trail.Entries(ctx, audit.Filter{Subject: s})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			t.Errorf("after erasure the trail links %s (entry %d) to the subject", e.Action, e.Index)
		}
	})
}
