package crypto

import (
	"context"
	"errors"

	"github.com/gdprkit/gdpr"
)

var _ gdpr.Exporter = (*Keyring)(nil)

// ExportDataset is the gdpr.Record.Dataset of the record ExportSubject
// writes.
const ExportDataset = "crypto_keys"

// ExportSubject writes what the Keyring holds about subject (gdpr.Exporter,
// for the right of access, Art. 15): one record about their key, with ID
// "subject_key", Dataset ExportDataset and no Category, whose Fields are
//
//	status   "active", or "shredded" once the key was destroyed
//	created  when the key was made (time.Time; active keys only)
//	updated  when the key was last rotated or rewrapped under a new KEK
//	         (the Store does not tell the two apart; equal to created
//	         when neither happened)
//	version  how many times the record was written (1 for a new key)
//	kek      the ID of the key-encryption key that wraps it
//	shredded when the key was destroyed (time.Time), for a shredded key
//	         whose Store implements TombstoneReader
//
// and Time the creation (or shred) time. It never writes key material,
// and never the Ref: the Ref is a stable pseudonym of the subject that
// outlives their erasure (tombstones are keyed by it), so an export that
// leaves the controller's systems with it would tie whoever holds a copy
// of the key Store to the subject's record there.
//
// A subject without a key or tombstone writes nothing. After Shred or
// EraseSubject the record stays, with status "shredded": the tombstone is
// what the Keyring still holds about them (so an erasure suite asks the
// Store, not the export, whether a key is live). It reads the Store
// once and calls no KEK. It returns the first error of w as it is, and
// otherwise an *Error of Op "export".
func (k *Keyring) ExportSubject(ctx context.Context, subject gdpr.SubjectID, w gdpr.RecordWriter) error {
	const op = "export"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	o := owner{subject: subject}
	if err := o.validate(); err != nil {
		return wrap(op, err)
	}
	if w == nil {
		return wrap(op, invalidf("writer", "nil RecordWriter"))
	}
	ref := k.ref(o)
	rec := gdpr.Record{Dataset: ExportDataset, ID: "subject_key"}
	r, err := k.store.Get(ctx, ref)
	switch {
	case err == nil:
		rec.Time = r.Created
		rec.Fields = map[string]any{"status": "active", "created": r.Created, "updated": r.Updated,
			"version": r.Version, "kek": r.KEK}
	case errors.Is(err, ErrShredded):
		rec.Fields = map[string]any{"status": "shredded"}
		if tr, ok := k.store.(TombstoneReader); ok {
			at, err := tr.Tombstone(ctx, ref)
			switch {
			case err == nil:
				rec.Time = at
				rec.Fields["shredded"] = at
			case !errors.Is(err, ErrNotFound): // revived meanwhile: still report the shred
				return wrap(op, fromStore(err))
			}
		}
	case errors.Is(err, ErrNotFound):
		return nil
	default:
		return wrap(op, fromStore(err))
	}
	return w.WriteRecord(ctx, rec)
}
