package sqlconsent_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestSuppressions: the table keeps the later time of a hash, returns each
// hash kept at most once, looks up more hashes than one query takes, and
// is left alone by DeleteSubject; on every database.
func TestSuppressions(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s := newStore(t, d)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 123000, time.UTC)
		h := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
		if got, err := s.Suppressed(ctx, [][]byte{h(1)}); err != nil || len(got) != 0 {
			t.Fatalf("empty list: %v, %v", got, err)
		}
		if err := s.Suppress(ctx, consent.Suppression{Hash: h(1), Time: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Suppress(ctx, consent.Suppression{Hash: h(1), Time: t0}, consent.Suppression{Hash: h(2), Time: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteSubject(ctx, "anyone"); err != nil {
			t.Fatal(err)
		}
		many := [][]byte{h(1), h(1)}
		for b := byte(3); b < 200; b++ {
			many = append(many, h(b))
		}
		many = append(many, h(2))
		got, err := s.Suppressed(ctx, many)
		if err != nil || len(got) != 2 {
			t.Fatalf("Suppressed = %v, %v; want two entries", got, err)
		}
		for _, e := range got {
			want := t0
			if bytes.Equal(e.Hash, h(1)) {
				want = t0.Add(time.Hour)
			}
			if !e.Time.Equal(want) {
				t.Errorf("entry %x at %v; want %v (the later time)", e.Hash[:1], e.Time, want)
			}
		}
	})
}

// TestErasureKeepsSuppressionAcrossInstances: one instance erases a subject
// who objected to direct marketing; another, on its own pool, then denies
// it; the table holds nothing that names the subject.
func TestErasureKeepsSuppressionAcrossInstances(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s1, s2 := testdb.Pair(t, d, sqlconsent.New)
		key := consent.WithSuppressionKey([]byte("suppression-key-for-tests-0123456789"))
		l1, err := consent.New(s1, consent.WithRegister(marketingRegister()), key)
		if err != nil {
			t.Fatal(err)
		}
		l2, err := consent.New(s2, consent.WithRegister(marketingRegister()), key)
		if err != nil {
			t.Fatal(err)
		}
		const subject = "subject-7f3a-canary"
		if _, err := l1.Object(ctx, consent.Choice{Subject: subject, Purpose: "promotions"}); err != nil {
			t.Fatal(err)
		}
		rep, err := l1.EraseSubject(ctx, subject)
		if err != nil || rep.Erased != 1 || len(rep.Exemptions) != 1 || rep.Exemptions[0].Ground != gdpr.GroundLegalObligation {
			t.Fatalf("EraseSubject = %+v, %v", rep, err)
		}
		dec, err := l2.Decide(ctx, consent.Query{Subject: subject, Purpose: "promotions", Contact: consent.Post})
		if err != nil || dec.Allowed || dec.Reason != consent.ReasonSuppressed {
			t.Errorf("the other instance after erasure: %+v, %v; want ReasonSuppressed", dec, err)
		}
		if got, err := s2.Suppressed(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("Suppressed(nil) = %v, %v", got, err)
		}
	})
}
