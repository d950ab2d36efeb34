package memaudit

import (
	"testing"
	"time"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
)

// TestQueryUsesIndexes checks that a Query by subject or actor reads that
// subject's or actor's index, the shorter one when both are set, not every
// entry, and that Redact takes the entry out of the indexes.
func TestQueryUsesIndexes(t *testing.T) {
	ctx := t.Context()
	s := New()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	many := make([]audit.StoredEntry, 1000)
	for i := range many {
		many[i] = audit.StoredEntry{Time: t0, Subject: []byte("other"), Actor: []byte("system:bulk"), Body: []byte{byte(i), byte(i >> 8)}}
	}
	many[500] = audit.StoredEntry{Time: t0, Subject: []byte("needle"), Actor: []byte("staff:n"), Body: []byte("n")}
	if _, err := audittest.Append(ctx, s, many...); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    audit.StoreFilter
		want []int64
	}{
		{audit.StoreFilter{Subject: []byte("needle")}, []int64{500}},
		{audit.StoreFilter{Actor: []byte("staff:n")}, []int64{500}},
		{audit.StoreFilter{Subject: []byte("other"), Actor: []byte("staff:n")}, []int64{500}},
		{audit.StoreFilter{Subject: []byte("none")}, nil},
	} {
		l, ok := s.candidates(tc.f)
		if !ok || len(l) != len(tc.want) || (len(l) > 0 && l[0] != tc.want[0]) {
			t.Errorf("candidates(%q, %q) = %v, %v; want %v, true", tc.f.Subject, tc.f.Actor, l, ok, tc.want)
		}
	}
	if _, ok := s.candidates(audit.StoreFilter{Since: t0}); ok {
		t.Errorf("candidates of a filter without subject or actor reported an index")
	}
	if err := s.Redact(ctx, 500); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.bySubject["needle"]; ok {
		t.Errorf("the subject index still holds a redacted entry's subject")
	}
	if _, ok := s.byActor["staff:n"]; ok {
		t.Errorf("the actor index still holds a redacted entry's actor")
	}
	if got := len(s.bySubject.get("other")); got != 999 {
		t.Errorf("the subject index holds %d entries of \"other\"; want 999", got)
	}
}
