package webhook

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
)

// FuzzDecode feeds the payload decoder, which Verify runs only past the
// MAC, arbitrary IDs and bodies: it never panics; what it accepts is UTF-8
// JSON whose notice belongs to the ID, with its kind's type, a request, a
// reference, a time and a known ground; and the notice it returns, encoded
// again, decodes to the same. Its error never quotes the body.
func FuzzDecode(f *testing.F) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, rn := range []erasure.RecipientNotice{
		{ID: "r-1", Request: "r", Kind: gdpr.KindErasure, Categories: []string{"orders"}, At: at},
		{ID: "r-2", Request: "r", Kind: gdpr.KindRectification, Fields: []string{"crm.phone"}, At: at},
		{ID: "r-3", Request: "r", Kind: gdpr.KindRestriction, Ground: erasure.GroundAccuracy, Purposes: []gdpr.Purpose{"newsletter"}, At: at},
		{ID: "r-4", Request: "r", Kind: gdpr.KindRestriction, At: at},
	} {
		rn.Recipient.Reference = "C-1042"
		body, err := encode(rn)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rn.ID, body)
		f.Add(rn.ID, bytes.Replace(body, []byte(`"C-1042"`), []byte(`"C-\u00e9\ud800"`), 1))
		f.Add("other", body)
	}
	f.Add("r-1", []byte(`{"type":"gdpr.erasure","timestamp":"2026-03-02T09:00:00Z","data":null}`))
	f.Add("r-1", []byte(`{"type":"gdpr.erasure","timestamp":"x","data":{"id":1}}`))
	f.Add("r-1", []byte("{\"type\":\"gdpr.erasure\",\"data\":{\"reference\":\"\xff\"}}"))
	f.Add("", []byte(`[`))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		m, err := decode(id, body)
		if err != nil {
			if m.ID != "" || m.Type != "" || m.Notice.ID != "" || m.Notice.Reference != "" {
				t.Fatal("a refused payload returns a Message")
			}
			if len(body) >= 8 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("the error quotes the body: %v", err)
			}
			return
		}
		n := m.Notice
		switch {
		case !utf8.Valid(body) || !json.Valid(body):
			t.Fatal("accepted a body that is not UTF-8 JSON")
		case m.ID != id || n.ID != id:
			t.Fatalf("Message %q, Notice %q, delivery %q", m.ID, n.ID, id)
		case m.Type != "gdpr."+string(n.Kind) || article(n.Kind, "") == "":
			t.Fatalf("type %q, kind %q", m.Type, n.Kind)
		case n.Request == "" || n.Reference == "" || n.At.IsZero() || m.Timestamp.IsZero():
			t.Fatalf("accepted a notice without request, reference or time: %+v", m)
		case n.Ground != "" && !n.Ground.Valid():
			t.Fatalf("accepted ground %q", n.Ground)
		}
		data, err := json.Marshal(n)
		if err != nil {
			t.Fatalf("the notice does not encode: %v", err)
		}
		again, err := json.Marshal(envelope{Type: m.Type, Timestamp: m.Timestamp.Format(time.RFC3339Nano), Data: data})
		if err != nil {
			t.Fatal(err)
		}
		m2, err := decode(id, again)
		if err != nil {
			t.Fatalf("the notice encoded again is refused: %v", err)
		}
		if d2, _ := json.Marshal(m2.Notice); !bytes.Equal(d2, data) || !m2.Timestamp.Equal(m.Timestamp) {
			t.Fatalf("the notice encoded again decodes to another:\n%s\n%s", data, d2)
		}
	})
}
