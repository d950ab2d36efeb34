package crypto_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
)

type records []gdpr.Record

func (r *records) WriteRecord(_ context.Context, rec gdpr.Record) error {
	*r = append(*r, rec)
	return nil
}

// plainStore hides memkeys' TombstoneReader: a Store with the bare
// interface.
type plainStore struct{ crypto.Store }

var _ gdpr.Exporter = (*crypto.Keyring)(nil)

func TestExportSubject(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	f := newFixture(t, crypto.WithClock(clock))
	export := func(k *crypto.Keyring, s gdpr.SubjectID) records {
		t.Helper()
		var out records
		if err := k.ExportSubject(f.ctx, s, &out); err != nil {
			t.Fatalf("ExportSubject: %v", err)
		}
		return out
	}
	// Nothing for a subject without a key.
	if out := export(f.k, "nobody"); len(out) != 0 {
		t.Fatalf("export of an unknown subject = %v, want nothing", out)
	}
	f.encrypt(canarySubject, email, canaryValue)
	created := now
	now = now.Add(time.Hour)
	if err := f.k.Rotate(f.ctx, canarySubject); err != nil {
		t.Fatal(err)
	}
	out := export(f.k, canarySubject)
	if len(out) != 1 {
		t.Fatalf("export = %d records, want 1", len(out))
	}
	r := out[0]
	want := map[string]any{"status": "active", "created": created, "updated": now, "version": int64(2), "kek": "test-kek-1"}
	if r.Dataset != "crypto_keys" || r.ID != "subject_key" || !r.Time.Equal(created) || fmt.Sprint(r.Fields) != fmt.Sprint(want) {
		t.Errorf("export record = %+v; want fields %v", r, want)
	}
	// Never key material, never the Ref.
	rec, _ := f.store.Get(f.ctx, f.k.Ref(canarySubject))
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	text := string(js) + fmt.Sprintf("%+v", r)
	for _, needle := range []string{f.k.Ref(canarySubject), fmt.Sprintf("%x", rec.Wrapped[:8]), string(canarySubject), canaryValue} {
		if strings.Contains(text, needle) {
			t.Errorf("export holds %q: %s", needle, text)
		}
	}

	// Shredded: status and time, from a TombstoneReader.
	now = now.Add(time.Hour)
	if err := f.k.Shred(f.ctx, canarySubject); err != nil {
		t.Fatal(err)
	}
	out = export(f.k, canarySubject)
	if len(out) != 1 || out[0].Fields["status"] != "shredded" || out[0].Fields["shredded"] != now || !out[0].Time.Equal(now) || len(out[0].Fields) != 2 {
		t.Errorf("export after Shred = %+v", out)
	}
	// A Store without TombstoneReader: the shred without its time.
	plainK, err := crypto.New(f.ctx, plainStore{f.store}, f.kek)
	if err != nil {
		t.Fatal(err)
	}
	out = export(plainK, canarySubject)
	if len(out) != 1 || out[0].Fields["status"] != "shredded" || len(out[0].Fields) != 1 || !out[0].Time.IsZero() {
		t.Errorf("export after Shred, plain Store = %+v", out)
	}

	// Scopes are not subjects: a scope's key is in no subject's export.
	if _, err := f.k.EncryptScope(f.ctx, "ticket/1", email, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if out := export(f.k, "ticket/1"); len(out) != 0 {
		t.Errorf("a scope's key exported as a subject's: %v", out)
	}
}

// The writer's first error comes back as it is; bad input is refused.
func TestExportSubjectErrors(t *testing.T) {
	f := newFixture(t)
	f.encrypt("ann", email, "x")
	stop := errors.New("disk full")
	err := f.k.ExportSubject(f.ctx, "ann", gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error { return stop }))
	if err != stop {
		t.Errorf("writer error = %v, want it as it is", err)
	}
	wantFieldErr(t, "nil writer", f.k.ExportSubject(f.ctx, "ann", nil), "export", "writer")
	wantFieldErr(t, "empty subject", f.k.ExportSubject(f.ctx, "", &records{}), "export", "subject")
}
