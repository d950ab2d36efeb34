package sqlerasure

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/sqldialect"
)

func testRequest(subject gdpr.SubjectID) erasure.Request {
	at := time.Date(2025, time.March, 31, 23, 30, 0, 123456789, time.FixedZone("X", 3600))
	return erasure.Request{
		ID: "0195a0b0-0000-7000-8000-000000000001", Kind: gdpr.KindErasure, Subject: subject,
		SubjectRef: strings.Repeat("ab", 32), Channel: "web", Params: map[string]string{"scope": "all"},
		Received: at, Deadline: gdpr.NewDeadline(at, time.UTC, nil), State: erasure.StateVerified,
		History: []erasure.Transition{{To: erasure.StateReceived, At: at, Actor: gdpr.SubjectActor(), Event: "submitted"}},
		NextAt:  at, Version: 1,
	}
}

// TestBodyHoldsNoSubject: the body column is the JSON of the request
// without its subject, open or closed; the subject column is bound only
// while the request is open.
func TestBodyHoldsNoSubject(t *testing.T) {
	const canary = "CANARY-ann@example.org"
	r := testRequest(canary)
	for _, st := range []erasure.State{erasure.StateVerified, erasure.StateCompleted} {
		r.State = st
		w, err := encodeRequest("Create", r)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(w.body), canary) {
			t.Errorf("%s: the body holds the subject", st)
		}
		args := w.args()
		subject, openKey := args[3], args[5]
		if st.Open() && (subject != canary || openKey != "erasure:"+r.SubjectRef) {
			t.Errorf("open: subject column %v, open_key %v", subject != nil, openKey)
		}
		if !st.Open() && (subject != nil || openKey != nil || w.stored.Subject != "") {
			t.Errorf("closed: subject column set %v, open_key %v; want both NULL", subject != nil, openKey)
		}
	}
}

// TestTimesNormalized: every time to the microsecond in UTC; the ready
// column only for verified and in-progress requests.
func TestTimesNormalized(t *testing.T) {
	r := testRequest("s")
	w, err := encodeRequest("Create", r)
	if err != nil {
		t.Fatal(err)
	}
	s := w.stored
	for name, tm := range map[string]time.Time{"Received": s.Received, "NextAt": s.NextAt, "History.At": s.History[0].At, "Deadline.Received": s.Deadline.Received} {
		if tm.Location() != time.UTC || tm.Nanosecond()%1000 != 0 {
			t.Errorf("%s = %v; want microseconds in UTC", name, tm)
		}
	}
	if w.args()[9] == nil {
		t.Error("a verified request due: ready_us NULL")
	}
	r.State = erasure.StateAwaitingIdentity
	if w, _ := encodeRequest("Update", r); w.args()[9] != nil {
		t.Error("a request awaiting identity: ready_us set")
	}
}

func TestTooLong(t *testing.T) {
	for field, r := range map[string]erasure.Request{
		"subject": testRequest(gdpr.SubjectID(strings.Repeat("x", MaxIDLen+1))),
		"subject_ref": func() erasure.Request {
			r := testRequest("s")
			r.SubjectRef = strings.Repeat("a", MaxIDLen+1)
			return r
		}(),
		"kind": func() erasure.Request {
			r := testRequest("s")
			r.Kind = gdpr.RequestKind(strings.Repeat("k", MaxKeyLen+1))
			return r
		}(),
	} {
		_, err := encodeRequest("Create", r)
		var ee *erasure.Error
		if !errors.Is(err, erasure.ErrInvalid) || !errors.As(err, &ee) || ee.Field != field || strings.Contains(err.Error(), "xxxx") {
			t.Errorf("%s too long: %v; want ErrInvalid naming the field, not the value", field, err)
		}
	}
}

// TestMigrationsRender: both schemas, on every dialect, with the prefix.
func TestMigrationsRender(t *testing.T) {
	for _, d := range []sqldialect.Dialect{sqldialect.Postgres, sqldialect.MySQL, sqldialect.SQLite} {
		for name, get := range map[string]func(sqldialect.Dialect, string) (fs.FS, error){"store": Migrations, "journal": JournalMigrations} {
			fsys, err := get(d, "app_")
			if err != nil {
				t.Fatalf("%s %v: %v", name, d, err)
			}
			files, _ := fs.Glob(fsys, "*.sql")
			if len(files) == 0 {
				t.Fatalf("%s %v: no files", name, d)
			}
			for _, f := range files {
				b, _ := fs.ReadFile(fsys, f)
				if strings.Contains(string(b), "{{") || !strings.Contains(string(b), "app_erasure_") {
					t.Errorf("%s %v %s: not rendered with the prefix", name, d, f)
				}
			}
		}
		if _, err := JournalMigrations(d, "Bad"); !errors.Is(err, erasure.ErrInvalid) {
			t.Errorf("JournalMigrations with a bad prefix: %v", err)
		}
	}
}

// TestCeilMicros: a Filter's "before" bound keeps a stored time (whole
// microseconds) exactly when the time is before the bound.
func TestCeilMicros(t *testing.T) {
	at := time.Date(2025, 3, 3, 9, 30, 0, 5_000, time.UTC) // 5 µs
	for _, c := range []struct {
		bound time.Time
		keep  bool
	}{{at, false}, {at.Add(500), true}, {at.Add(time.Microsecond), true}, {at.Add(-500), false}} {
		if got := sqlbase.Micros(at) < ceilMicros(c.bound); got != c.keep || at.Before(c.bound) != c.keep {
			t.Errorf("stored %v, bound %v: kept %v; want %v", at, c.bound, got, c.keep)
		}
	}
}

// TestBodyAsk: the body carries the Ask, a correction sealed but never
// its Value; a closed request keeps no sealed correction and no
// recipient's reference for the subject, and what is stored is what is
// read back.
func TestBodyAsk(t *testing.T) {
	const value, reference = "CANARY-new-address", "CANARY-cust-0042"
	r := testRequest("s")
	r.Kind, r.State = gdpr.KindRectification, erasure.StateInProgress
	r.Ask = erasure.Ask{Ground: erasure.GroundAccuracy, Purposes: []gdpr.Purpose{"marketing"},
		Corrections: []erasure.Correction{{Target: "crm", Field: "address", Value: value, Sealed: []byte{0, 1, 2}}}}
	r.Steps = []erasure.Step{{Target: "recipient", Recipient: &gdpr.Disclosure{Recipient: "Mailer", Reference: reference,
		At: time.Date(2025, 3, 3, 9, 0, 0, 999, time.FixedZone("X", 3600))}}}
	for _, st := range []erasure.State{erasure.StateInProgress, erasure.StateCompleted} {
		r.State = st
		w, err := encodeRequest("Update", r)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(w.body), value) {
			t.Errorf("%s: the body holds a correction's value", st)
		}
		if !strings.Contains(string(w.body), `"ask":`) {
			t.Errorf("%s: the body holds no ask: %s", st, w.body)
		}
		if got := strings.Contains(string(w.body), reference); got != st.Open() {
			t.Errorf("%s: the body holds the recipient's reference %v; want %v", st, got, st.Open())
		}
		s := w.stored
		if c := s.Ask.Corrections[0]; c.Value != "" || (len(c.Sealed) > 0) != st.Open() {
			t.Errorf("%s: stored correction: Value set %v, Sealed %x", st, c.Value != "", c.Sealed)
		}
		if at := s.Steps[0].Recipient.At; at.Location() != time.UTC || at.Nanosecond() != 0 {
			t.Errorf("%s: Recipient.At = %v; want microseconds in UTC", st, at)
		}
		back, err := scanRequest(fakeRow(w))
		if err != nil {
			t.Fatal(err)
		}
		if back.Ask.Ground != erasure.GroundAccuracy || len(back.Ask.Corrections) != 1 || back.Steps[0].Recipient == nil ||
			back.Steps[0].Recipient.Reference != s.Steps[0].Recipient.Reference || string(back.Ask.Corrections[0].Sealed) != string(s.Ask.Corrections[0].Sealed) {
			t.Errorf("%s: read back %+v, %+v; want what was stored", st, back.Ask, back.Steps)
		}
	}
}

// fakeRow scans the columns reqSelect names from a write.
type fakeRow written

func (f fakeRow) Scan(dest ...any) error {
	a := written(f).args()
	// reqSelect: id, kind, state, subject, subject_ref, received_us, next_us, closed_us, version, body
	vals := []any{a[0], a[1], a[2], a[3], a[4], a[6], a[8], a[10], a[11], a[12]}
	for i, d := range dest {
		switch d := d.(type) {
		case *string:
			*d = vals[i].(string)
		case *int64:
			*d = vals[i].(int64)
		case *[]byte:
			*d = []byte(vals[i].(string))
		case *sql.NullString:
			*d = sql.NullString{}
			if v, ok := vals[i].(string); ok {
				*d = sql.NullString{String: v, Valid: true}
			}
		case *sql.NullInt64:
			*d = sql.NullInt64{}
			if v, ok := vals[i].(int64); ok {
				*d = sql.NullInt64{Int64: v, Valid: true}
			}
		default:
			return fmt.Errorf("fakeRow: cannot scan into %T", d)
		}
	}
	return nil
}
