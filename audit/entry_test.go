package audit

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
)

func sampleEntry() Entry {
	e := Entry{
		Time:       time.Date(2026, 11, 25, 14, 0, 0, 123456000, time.UTC),
		Actor:      gdpr.Actor{Kind: gdpr.ActorStaff, ID: strings.Repeat("ab", 32)},
		Action:     "crypto.decrypt",
		Purpose:    "support",
		Categories: []string{"contact", "health"},
		Resource:   "profiles/email",
		Outcome:    gdpr.Success,
		Attrs:      map[string]string{"field": "profiles.email", "a": "1"},
	}
	copy(e.Subject[:], bytes.Repeat([]byte{7}, 32))
	copy(e.Nonce[:], bytes.Repeat([]byte{9}, NonceSize))
	return e
}

func TestEntryRoundTrip(t *testing.T) {
	cases := map[string]func(*Entry){
		"full":           func(*Entry) {},
		"no subject":     func(e *Entry) { e.Subject = Pseudonym{} },
		"system actor":   func(e *Entry) { e.Actor = gdpr.System("worker") },
		"subject actor":  func(e *Entry) { e.Actor = gdpr.SubjectActor() },
		"denied":         func(e *Entry) { e.Outcome = gdpr.Denied },
		"failure":        func(e *Entry) { e.Outcome = gdpr.Failure },
		"no attrs":       func(e *Entry) { e.Attrs = nil },
		"before 1970":    func(e *Entry) { e.Time = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) },
		"unicode system": func(e *Entry) { e.Actor = gdpr.System("Zürich-Import") },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			e := sampleEntry()
			edit(&e)
			b, err := e.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Entry
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			b2, err := got.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, b2) {
				t.Fatalf("re-encoding differs:\n%x\n%x", b, b2)
			}
			if !got.Time.Equal(e.Time) || got.Action != e.Action || got.Subject != e.Subject || got.Actor != e.Actor || got.Nonce != e.Nonce || len(got.Attrs) != len(e.Attrs) {
				t.Fatalf("decoded %+v, want %+v", got, e)
			}
		})
	}
}

// TestEntryEncodingIsStable pins version 1: a change to the encoding breaks
// every existing log, so it must be a new version, not an edit.
func TestEntryEncodingIsStable(t *testing.T) {
	e := sampleEntry()
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	const want = "01" + "0006611a3e281a40" + "02" + "20abababababababababababababababababababababababababababababababab" +
		"0e63727970746f2e64656372797074" + "200707070707070707070707070707070707070707070707070707070707070707" +
		"07737570706f7274" + "0207636f6e74616374066865616c7468" + "0e70726f66696c65732f656d61696c" + "01" +
		"09090909090909090909090909090909" + "02" + "01610131" + "056669656c640e70726f66696c65732e656d61696c"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("encoding v1 changed:\n got %s", got)
	}
}

func TestEntryDecodeRefusesNonCanonical(t *testing.T) {
	e := sampleEntry()
	good, _ := e.MarshalBinary()
	mutate := map[string]func([]byte) []byte{
		"empty":         func([]byte) []byte { return nil },
		"version 2":     func(b []byte) []byte { b[0] = 2; return b },
		"trailing byte": func(b []byte) []byte { return append(b, 0) },
		"truncated":     func(b []byte) []byte { return b[:len(b)-1] },
		"actor kind 9":  func(b []byte) []byte { b[9] = 9; return b },
		"non-minimal len": func(b []byte) []byte {
			// actor length 0x20 written as 0xa0 0x00
			return append(append(append([]byte{}, b[:10]...), 0xa0, 0x00), b[11:]...)
		},
		"attrs out of order": func(b []byte) []byte {
			e2 := e
			e2.Attrs = map[string]string{"a": "1", "b": "2"}
			out, _ := e2.MarshalBinary()
			i := bytes.Index(out, []byte{1, 'a', 1, '1', 1, 'b', 1, '2'})
			copy(out[i:], []byte{1, 'b', 1, '2', 1, 'a', 1, '1'})
			return out
		},
		"too large": func(b []byte) []byte { return make([]byte, MaxEntrySize+1) },
	}
	for name, m := range mutate {
		t.Run(name, func(t *testing.T) {
			var got Entry
			err := got.UnmarshalBinary(m(bytes.Clone(good)))
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
				t.Fatalf("UnmarshalBinary = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestEntryValidate(t *testing.T) {
	bad := map[string]func(*Entry){
		"no time":          func(e *Entry) { e.Time = time.Time{} },
		"action":           func(e *Entry) { e.Action = "Crypto Decrypt" },
		"staff not hashed": func(e *Entry) { e.Actor = gdpr.Staff("alice@example.com") },
		"outcome":          func(e *Entry) { e.Outcome = "maybe" },
		"resource control": func(e *Entry) { e.Resource = "a\nb" },
		"attr key":         func(e *Entry) { e.Attrs = map[string]string{"E-Mail": "x"} },
		"attr value long":  func(e *Entry) { e.Attrs = map[string]string{"k": strings.Repeat("x", MaxAttrValueLen+1)} },
		"too many attrs": func(e *Entry) {
			e.Attrs = map[string]string{}
			for i := range MaxAttrs + 1 {
				e.Attrs[string(rune('a'+i))] = "v"
			}
		},
		"category": func(e *Entry) { e.Categories = []string{"Health Data"} },
	}
	for name, edit := range bad {
		t.Run(name, func(t *testing.T) {
			e := sampleEntry()
			edit(&e)
			_, err := e.MarshalBinary()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("MarshalBinary = %v, want ErrInvalid", err)
			}
			if strings.Contains(err.Error(), "alice") || strings.Contains(err.Error(), "xxxx") {
				t.Fatalf("error %q echoes the value", err)
			}
		})
	}
}

func FuzzEntryDecode(f *testing.F) {
	e := sampleEntry()
	b, _ := e.MarshalBinary()
	f.Add(b)
	e.Attrs, e.Subject, e.Actor = nil, Pseudonym{}, gdpr.System("x")
	b, _ = e.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Entry
		if err := e.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// Whatever decodes is canonical: it encodes back to the input.
		out, err := e.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded entry does not encode: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("decode/encode not canonical:\n in  %x\n out %x", data, out)
		}
		if peekAction(data) != e.Action {
			t.Fatalf("peekAction = %q, want %q", peekAction(data), e.Action)
		}
		// The columns read from the head are the decoded entry's, as a
		// Log writes them beside the body.
		c, ok := peekColumns(data)
		if !ok {
			t.Fatal("peekColumns refuses an entry that decodes")
		}
		se := storedColumns(&e)
		if d := c.mismatch(&se); d != "" {
			t.Fatalf("peekColumns: the %s column of a decoded entry disagrees with its body", d)
		}
	})
}

// storedColumns returns the query columns a Log stores beside e's body.
func storedColumns(e *Entry) StoredEntry {
	se := StoredEntry{Time: e.Time, Actor: []byte(string(e.Actor.Kind) + ":")}
	if !e.Subject.IsZero() {
		se.Subject = e.Subject[:]
	}
	switch {
	case e.Actor.Kind == gdpr.ActorSystem:
		se.Actor = append(se.Actor, e.Actor.ID...)
	case e.Actor.ID != "":
		p, _ := hex.DecodeString(e.Actor.ID)
		se.Actor = append(se.Actor, p...)
	}
	return se
}

func TestColumnMismatch(t *testing.T) {
	e := sampleEntry()
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c, ok := peekColumns(b)
	if !ok {
		t.Fatal("peekColumns refuses a sample entry")
	}
	other := Pseudonym{9}
	for _, tc := range []struct {
		name string
		edit func(*StoredEntry)
		want string
	}{
		{"none", func(*StoredEntry) {}, ""},
		{"time", func(se *StoredEntry) { se.Time = se.Time.Add(time.Second) }, "time"},
		{"zero time", func(se *StoredEntry) { se.Time = time.Time{} }, "time"},
		{"subject", func(se *StoredEntry) { se.Subject = other[:] }, "subject"},
		{"no subject", func(se *StoredEntry) { se.Subject = nil }, "subject"},
		{"actor", func(se *StoredEntry) { se.Actor = append([]byte("staff:"), other[:]...) }, "actor"},
		{"actor kind", func(se *StoredEntry) { se.Actor = append([]byte("subject:"), se.Actor[len("staff:"):]...) }, "actor"},
		{"no actor", func(se *StoredEntry) { se.Actor = nil }, "actor"},
		{"all", func(se *StoredEntry) { se.Time, se.Subject, se.Actor = time.Time{}, nil, nil }, "time, subject, actor"},
	} {
		se := storedColumns(&e)
		tc.edit(&se)
		if got := c.mismatch(&se); got != tc.want {
			t.Errorf("%s: mismatch = %q; want %q", tc.name, got, tc.want)
		}
	}
}
