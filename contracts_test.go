package gdpr

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	_ Eraser       = EraserFunc(nil)
	_ Recorder     = RecorderFunc(nil)
	_ RecordWriter = RecordWriterFunc(nil)
)

type ctxKey struct{}

func TestEraserFunc(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	boom := errors.New("boom")
	var gotSubject SubjectID
	var e Eraser = EraserFunc(func(ctx context.Context, s SubjectID) (ErasureReport, error) {
		if ctx.Value(ctxKey{}) != "v" {
			t.Errorf("context not passed through")
		}
		gotSubject = s
		return ErasureReport{Erased: 3, Exemptions: []Exemption{{Category: "invoices", Records: 2, Ground: GroundLegalObligation}}}, boom
	})
	rep, err := e.EraseSubject(ctx, "u1")
	if gotSubject != "u1" || rep.Erased != 3 || len(rep.Exemptions) != 1 || !errors.Is(err, boom) {
		t.Errorf("EraseSubject = %+v, %v (subject passed: %v)", rep, err, string(gotSubject))
	}
}

func TestRecordWriterFunc(t *testing.T) {
	var got []Record
	stop := errors.New("stop")
	var w RecordWriter = RecordWriterFunc(func(ctx context.Context, r Record) error {
		got = append(got, r)
		if len(got) == 2 {
			return stop
		}
		return nil
	})
	ctx := context.Background()
	if err := w.WriteRecord(ctx, Record{Dataset: "a", ID: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRecord(ctx, Record{Dataset: "a", ID: "2"}); !errors.Is(err, stop) {
		t.Errorf("error not returned: %v", err)
	}
	if len(got) != 2 || got[1].ID != "2" {
		t.Errorf("records = %+v", got)
	}
}

func TestRecorderFunc(t *testing.T) {
	var got Event
	var r Recorder = RecorderFunc(func(ctx context.Context, e Event) error { got = e; return nil })
	e := Event{Time: time.Unix(0, 0), Actor: Staff("alice"), Action: "consent.given", Subject: "u1", Outcome: Success}
	if err := r.Record(context.Background(), e); err != nil || got.Action != "consent.given" || got.Subject != "u1" {
		t.Errorf("Record = %v; got %+v", err, got)
	}
}

func TestDiscard(t *testing.T) {
	if Discard == nil {
		t.Fatal("Discard is nil")
	}
	if err := Discard.Record(context.Background(), Event{Subject: "u1", Action: "x"}); err != nil {
		t.Errorf("Discard.Record = %v", err)
	}
	// A cancelled context is no reason to fail: Discard does nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Discard.Record(ctx, Event{}); err != nil {
		t.Errorf("Discard.Record with a cancelled context = %v", err)
	}
}

// The Subject of an Event never reaches its JSON form; a Recorder stores a
// pseudonym instead.
func TestEventJSONOmitsSubject(t *testing.T) {
	b, err := json.Marshal(Event{Subject: rawSubject, Action: "consent.given", Outcome: Success, Actor: SubjectActor()})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), rawSubject) {
		t.Errorf("Event JSON carries the subject: %s", b)
	}
}
