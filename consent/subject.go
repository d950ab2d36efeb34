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
// processing, and the record of withdrawals and objections — except, with a
// suppression key (WithSuppressionKey), a keyed hash of each standing
// objection to or withdrawal from direct marketing, written before the
// events are deleted, which decisions honour afterwards (ReasonSuppressed)
// so that direct marketing cannot resume (Art. 21(3)). The report names
// those entries, every time, as one Exemption of category
// SuppressionCategory on the ground of Art. 17(3)(b), a legal obligation:
// that of Art. 21(3) to process the data no longer for direct marketing
// (with the national law of ePrivacy Directive Art. 13). Erased counts the
// events deleted.
//
// The audit event names the actor of the context (gdpr.WithActor), else the
// system actor "consent", and the purpose of the context, if any; it
// carries no Subject, only the resource and the count: a record of an
// erasure linked to the subject would link them again in a trail that
// forgot them (audit.Log.EraseSubject ran first), under a new pseudonym.
func (l *Ledger) EraseSubject(ctx context.Context, subject gdpr.SubjectID) (gdpr.ErasureReport, error) {
	const op = "erase"
	if err := checkCtx(op, ctx); err != nil {
		return gdpr.ErasureReport{}, err
	}
	if err := subject.Validate(); err != nil {
		return gdpr.ErasureReport{}, wrap(op, invalid("subject", err))
	}
	actor, purpose, err := auditFrom(ctx)
	if err != nil {
		return gdpr.ErasureReport{}, wrap(op, err)
	}
	kept, err := l.keepSuppressions(ctx, subject)
	if err != nil {
		return gdpr.ErasureReport{}, wrap(op, err)
	}
	n, err := l.store.DeleteSubject(ctx, subject)
	if err != nil {
		return gdpr.ErasureReport{}, wrap(op, err)
	}
	err = l.record(ctx, gdpr.Event{
		Time: l.now(), Actor: actor, Action: "consent.erased", Purpose: purpose,
		Resource: "consent_ledger", Outcome: gdpr.Success, Attrs: map[string]string{"events": strconv.FormatInt(n, 10)},
	})
	return gdpr.ErasureReport{Erased: n, Exemptions: kept}, wrap(op, err)
}

// ExportDataset is the Dataset of the records ExportSubject writes.
const ExportDataset = "consent_events"

// ExportCategory is the data category ID a Register may list under an
// activity for the consent records of its purpose; ExportSubject puts it in
// Record.Category only when the activity lists it.
const ExportCategory = "consent"

// ExportSubject writes each of the subject's events, oldest first, as a
// gdpr.Record of dataset "consent_events" (Art. 15, Art. 20). Token hashes
// are left out; everything else the ledger holds is in the record.
//
// With a Register (WithRegister), a record names the Register entry it
// belongs to: Record.Activity is the ID of the activity whose purpose is the
// event's purpose, and Record.Category is ExportCategory if that activity
// lists a data category of that ID. Otherwise (no Register, a purpose the
// Register does not know, or an activity without that category) they are
// empty: the ledger never names a category the Register does not list.
//
// The audit event names the actor of the context (gdpr.WithActor), else the
// system actor "consent", and the purpose of the context, if any. It names
// the subject only when the ledger held events of theirs: an export that
// finds nothing (an unknown or erased subject) records the resource and
// the count alone, so it links no one in the trail.
func (l *Ledger) ExportSubject(ctx context.Context, subject gdpr.SubjectID, w gdpr.RecordWriter) error {
	const op = "export"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := subject.Validate(); err != nil {
		return wrap(op, invalid("subject", err))
	}
	if w == nil {
		return wrap(op, invalidf("w", "nil RecordWriter"))
	}
	actor, purpose, err := auditFrom(ctx)
	if err != nil {
		return wrap(op, err)
	}
	evs, err := l.store.Events(ctx, subject, "")
	if err != nil {
		return wrap(op, err)
	}
	for _, e := range evs {
		if err := w.WriteRecord(ctx, l.exportRecord(e)); err != nil {
			return wrap(op, err)
		}
	}
	rec := gdpr.Event{
		Time: l.now(), Actor: actor, Action: "consent.exported", Purpose: purpose,
		Resource: "consent_ledger", Outcome: gdpr.Success, Attrs: map[string]string{"events": strconv.Itoa(len(evs))},
	}
	if len(evs) > 0 {
		rec.Subject = subject
	}
	return wrap(op, l.record(ctx, rec))
}

// exportRecord is e as an exported record, tied to its Register entry.
func (l *Ledger) exportRecord(e Event) gdpr.Record {
	r := exportRecord(e)
	if a, ok := l.register.Activity(e.Purpose); ok {
		r.Activity = a.ID
		for _, c := range a.DataCategories {
			if c.ID == ExportCategory {
				r.Category = c.ID
				break
			}
		}
	}
	return r
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
		Dataset: ExportDataset, ID: e.ID, Time: e.Time,
		Provided: e.Actor.Kind == gdpr.ActorSubject, Fields: f,
	}
}
