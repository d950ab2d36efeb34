package consent

import (
	"context"
	"strconv"
	"time"

	"github.com/gdprkit/gdpr"
)

var (
	_ gdpr.Eraser   = (*Ledger)(nil)
	_ gdpr.Exporter = (*Ledger)(nil)
)

// EraseSubject deletes every event of the subject (Art. 17): afterwards
// decisions for them deny with ReasonNone, their pending confirmation
// tokens are invalid, and History is empty. It meets gdpr.Eraser: erasing
// an unknown or already erased subject succeeds with a zero count.
//
// Erasure also removes the proof of consent the controller held for past
// processing, and any record of a withdrawal or objection. A host that must
// keep suppressing direct marketing to an erased address keeps its own
// suppression list of keyed hashes; the ledger does not keep one for it.
func (l *Ledger) EraseSubject(ctx context.Context, subject gdpr.SubjectID) (gdpr.ErasureReport, error) {
	const op = "erase"
	if err := subject.Validate(); err != nil {
		return gdpr.ErasureReport{}, wrap(op, invalid("subject", err))
	}
	n, err := l.store.EraseSubject(ctx, subject)
	if err != nil {
		return gdpr.ErasureReport{}, wrap(op, err)
	}
	err = l.recorder.Record(ctx, gdpr.Event{
		Time: l.now(), Actor: gdpr.System("consent"), Action: "consent.erased", Subject: subject,
		Resource: "consent_ledger", Outcome: gdpr.Success, Attrs: map[string]string{"events": strconv.FormatInt(n, 10)},
	})
	return gdpr.ErasureReport{Erased: n}, wrap(op, err)
}

// ExportDataset is the Dataset of the records ExportSubject writes.
const ExportDataset = "consent_events"

// ExportSubject writes each of the subject's events, oldest first, as a
// gdpr.Record of dataset "consent_events" (Art. 15, Art. 20). Token hashes
// are left out; everything else the ledger holds is in the record.
func (l *Ledger) ExportSubject(ctx context.Context, subject gdpr.SubjectID, w gdpr.RecordWriter) error {
	const op = "export"
	if err := subject.Validate(); err != nil {
		return wrap(op, invalid("subject", err))
	}
	evs, err := l.store.Events(ctx, subject, "")
	if err != nil {
		return wrap(op, err)
	}
	for _, e := range evs {
		if err := w.WriteRecord(ctx, exportRecord(e)); err != nil {
			return wrap(op, err)
		}
	}
	return wrap(op, l.recorder.Record(ctx, gdpr.Event{
		Time: l.now(), Actor: gdpr.System("consent"), Action: "consent.exported", Subject: subject,
		Resource: "consent_ledger", Outcome: gdpr.Success, Attrs: map[string]string{"events": strconv.Itoa(len(evs))},
	}))
}

func exportRecord(e Event) gdpr.Record {
	f := map[string]any{
		"purpose": string(e.Purpose),
		"kind":    string(e.Kind),
		"method":  string(e.Method),
		"basis":   e.Basis.String(),
		"actor":   string(e.Actor.Kind),
	}
	if e.Contact != "" {
		f["contact"] = string(e.Contact)
	}
	if e.Channel != "" {
		f["channel"] = e.Channel
	}
	if e.Notice.ID != "" {
		f["notice_id"] = e.Notice.ID
		f["notice_version"] = e.Notice.Version
		f["notice_sha256"] = e.Notice.TextHash
	}
	if !e.ExpiresAt.IsZero() {
		f["expires_at"] = e.ExpiresAt.Format(time.RFC3339Nano)
	}
	if e.Confirms != "" {
		f["confirms"] = e.Confirms
	}
	if ev := e.Evidence; ev.IPPrefix != "" || ev.UserAgent != "" || ev.Locator != "" || len(ev.Attrs) > 0 {
		m := map[string]any{}
		if ev.IPPrefix != "" {
			m["ip_prefix"] = ev.IPPrefix
		}
		if ev.UserAgent != "" {
			m["user_agent"] = ev.UserAgent
		}
		if ev.Locator != "" {
			m["locator"] = ev.Locator
		}
		for k, v := range ev.Attrs {
			m["attr."+k] = v
		}
		f["evidence"] = m
	}
	return gdpr.Record{
		Dataset: ExportDataset, ID: e.ID, Time: e.Time, Category: "consent",
		Provided: e.Actor.Kind == gdpr.ActorSubject, Fields: f,
	}
}
