package breach_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/membreach"
)

// rawStore returns whatever events it was given, as a database changed
// behind the Log's back would.
type rawStore struct {
	*membreach.Store
	evs []breach.Event
}

func (s rawStore) Events(context.Context, string) ([]breach.Event, error) { return s.evs, nil }

// FuzzEvents: a breach's stored events, the bytes a Log reads back from a
// database, decode into a state or fail with ErrCorrupt; never a panic,
// never their contents in the error.
func FuzzEvents(f *testing.F) {
	f.Add("recorded", []byte(`{"aware":"2026-05-12T10:00:00Z","description":"x"}`), "notified", []byte(`{"at":"2026-05-12T11:00:00Z","authority":"a"}`))
	f.Add("recorded", []byte(`{"aware":"x"}`), "affected", []byte(`{"scope":{"Since":"2026-05-12T11:00:00Z"},"by_category":{"a":1}}`))
	f.Add("updated", []byte(`{}`), "closed", []byte(`null`))
	f.Add("recorded", []byte(`{"aware":"2026-05-12T10:00:00Z","controllers":["a","b"]}`), "reported", []byte(`{"controller":"a","at":"2026-05-12T11:00:00Z"}`))
	f.Add("recorded", []byte(`{"processor":{"name":"p","aware":"2026-05-12T09:00:00Z"},"nature":["integrity"]}`), "noticed", []byte(`{"sent":-1}`))
	f.Fuzz(func(t *testing.T, k1 string, d1 []byte, k2 string, d2 []byte) {
		const id = "0196d3c4-2f00-7000-8000-000000000001"
		at := time.Date(2026, 5, 12, 12, 0, 0, 0, time.UTC)
		s := rawStore{Store: membreach.New(), evs: []breach.Event{
			{Breach: id, Seq: 1, Time: at, Kind: breach.Kind(k1), Data: d1},
			{Breach: id, Seq: 2, Time: at, Kind: breach.Kind(k2), Data: d2},
		}}
		l, err := breach.New(s, key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := l.Get(context.Background(), id)
		if err != nil {
			if !errors.Is(err, breach.ErrCorrupt) {
				t.Fatalf("Get = %v, want ErrCorrupt", err)
			}
			for _, d := range [][]byte{d1, d2} {
				if len(d) > 8 && !strings.Contains(id, string(d)) && strings.Contains(err.Error(), string(d)) {
					t.Fatalf("the error shows the stored data: %v", err)
				}
			}
			return
		}
		if b.ID != id || b.Events != 2 {
			t.Fatalf("Get = %+v", b)
		}
		if _, err := l.AuthorityNotice(context.Background(), id); err != nil {
			t.Fatalf("AuthorityNotice of a breach Get accepts: %v", err)
		}
		n, _ := l.AuthorityNotice(context.Background(), id)
		var sb strings.Builder
		if err := n.WriteHTML(&sb); err != nil {
			t.Fatalf("WriteHTML: %v", err)
		}
	})
}
