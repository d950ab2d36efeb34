package sqlaudit_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The Log as a gdpr.Trail over sqlaudit: Search and SubjectTokens on
// every database, and the Store's LookupSalts over more refs than one
// statement takes.

var trailT0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// trailEvent returns the i-th event of the test trail: 500 subjects (one
// entry in 11 about none), 3 staff members, two resource kinds and
// categories that cycle with different periods.
func trailEvent(i int) gdpr.Event {
	ev := gdpr.Event{
		Time:  trailT0.Add(time.Duration(i) * time.Second),
		Actor: gdpr.Staff(fmt.Sprint("agent-", i%3)), Action: []string{"crypto.decrypt", "export.download"}[i%2],
		Subject:    gdpr.SubjectID(fmt.Sprint("subject-", i%500)),
		Purpose:    "billing",
		Resource:   fmt.Sprintf("%s/%d", []string{"invoice", "profile", "invoice", "payment"}[i%4], i),
		Categories: [][]string{{"contact"}, {"payment"}, {"payment", "contact"}, nil, {"identity"}}[i%5],
		Outcome:    gdpr.Success,
	}
	if i%11 == 0 {
		ev.Subject = ""
	}
	return ev
}

func countSalts(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM gdpr_audit_salts").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTrailSearchAndSubjectTokens(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		keys := newLogKeys(t)
		s := newStore(t, d, db)
		other, err := sqlaudit.New(testdb.Reopen(t, d, db), d)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		l := keys.open(t, s)
		const n = 2*audit.MaxPage + 300
		evs := make([]gdpr.Event, n)
		for i := range evs {
			evs[i] = trailEvent(i)
		}
		if _, err := l.Append(ctx, evs...); err != nil {
			t.Fatal(err)
		}
		all := gdpr.TrailQuery{Since: trailT0, Until: trailT0.Add(n * time.Second)}

		// The whole trail, over three pages: every entry, in order, with
		// its subject's token.
		token := map[gdpr.SubjectID][]byte{}
		var got int
		for e, err := range l.Search(ctx, all) {
			if err != nil {
				t.Fatalf("Search after %d entries: %v", got, err)
			}
			if e.Index != int64(got) {
				t.Fatalf("entry %d of the search has index %d", got, e.Index)
			}
			ev := evs[got]
			if !e.Time.Equal(ev.Time) || e.Action != ev.Action || e.Resource != ev.Resource || !slices.Equal(e.Categories, ev.Categories) ||
				e.Purpose != ev.Purpose || e.Outcome != ev.Outcome || (e.Subject == nil) != (ev.Subject == "") {
				t.Fatalf("entry %d: Search yielded %+v for the event %+v", got, e, ev)
			}
			if ev.Subject != "" {
				if tok, ok := token[ev.Subject]; ok && !bytes.Equal(tok, e.Subject) {
					t.Fatalf("entry %d: two tokens for one subject", got)
				}
				token[ev.Subject] = e.Subject
			}
			got++
		}
		if got != n {
			t.Fatalf("Search of the whole trail yielded %d entries; want %d", got, n)
		}

		// A narrower query, matched against the model.
		q := gdpr.TrailQuery{Since: trailT0.Add(100 * time.Second), Until: trailT0.Add(2200 * time.Second),
			Actor: gdpr.Staff("agent-1"), ResourcePrefix: "invoice/", Categories: []string{"payment", "identity"},
			Purpose: "billing", Actions: []string{"crypto.decrypt"}}
		var want, found []int64
		for i, ev := range evs {
			if !ev.Time.Before(q.Since) && ev.Time.Before(q.Until) && ev.Actor == q.Actor && strings.HasPrefix(ev.Resource, q.ResourcePrefix) &&
				(slices.Contains(ev.Categories, "payment") || slices.Contains(ev.Categories, "identity")) && ev.Action == "crypto.decrypt" {
				want = append(want, int64(i))
			}
		}
		for e, err := range l.Search(ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			found = append(found, e.Index)
		}
		if len(want) == 0 || !slices.Equal(found, want) {
			t.Errorf("Search of %+v = %v; want %v", q, found, want)
		}

		// The tokens of 500 recorded subjects and 700 never recorded,
		// interleaved, from another instance (nothing cached): no salt
		// made.
		var candidates []gdpr.SubjectID
		var wantTokens [][]byte
		for i := range 1200 {
			if i%12 < 5 {
				id := gdpr.SubjectID(fmt.Sprint("subject-", i*5/12))
				candidates, wantTokens = append(candidates, id), append(wantTokens, token[id])
			} else {
				candidates, wantTokens = append(candidates, gdpr.SubjectID(fmt.Sprint("candidate-", i))), append(wantTokens, nil)
			}
		}
		before := countSalts(t, db)
		second := keys.open(t, other)
		for _, lg := range []*audit.Log{second, l} {
			tokens, err := lg.SubjectTokens(ctx, candidates)
			if err != nil {
				t.Fatal(err)
			}
			for i := range candidates {
				if !bytes.Equal(tokens[i], wantTokens[i]) || (tokens[i] == nil) != (wantTokens[i] == nil) {
					t.Fatalf("SubjectTokens: candidate %d has token %x; want %x", i, tokens[i], wantTokens[i])
				}
			}
		}
		if after := countSalts(t, db); after != before {
			t.Errorf("SubjectTokens of %d candidates left %d salts, %d before", len(candidates), after, before)
		}

		// Erased on one instance: no token on the other.
		if _, err := l.EraseSubject(ctx, "subject-3"); err != nil {
			t.Fatal(err)
		}
		tokens, err := second.SubjectTokens(ctx, []gdpr.SubjectID{"subject-3", "subject-4"})
		if err != nil {
			t.Fatal(err)
		}
		if tokens[0] != nil || !bytes.Equal(tokens[1], token["subject-4"]) {
			t.Errorf("SubjectTokens after EraseSubject of the first = %x; want nil and the second's token", tokens)
		}
	})
}

// TestLookupSaltsChunks asks LookupSalts for more refs than one
// statement reads (4096 on PostgreSQL, 256 on MySQL and SQLite), stored
// and missing ones interleaved, some twice, on every database and on
// PostgreSQL with array literals too.
func TestLookupSaltsChunks(t *testing.T) {
	run := func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		s := newStore(t, d, db)
		const stored = 4500
		refs := make([][]byte, stored)
		fresh := make([][]byte, stored)
		for i := range refs {
			r, f := sha256.Sum256(fmt.Appendf(nil, "ref %d", i)), sha256.Sum256(fmt.Appendf(nil, "salt %d", i))
			refs[i], fresh[i] = r[:], f[:]
		}
		err := s.Append(ctx, func(h audit.Head, r tlog.HashReader) (*audit.Batch, error) {
			if _, err := r.(audit.SaltReader).Salts(refs, fresh); err != nil {
				return nil, err
			}
			return audittest.NextBatch(h, r, []audit.StoredEntry{entry(0)})
		})
		if err != nil {
			t.Fatalf("Append creating %d salts: %v", stored, err)
		}
		var ask, want [][]byte
		for i := range refs {
			missing := sha256.Sum256(fmt.Appendf(nil, "missing %d", i))
			ask, want = append(ask, refs[i], missing[:]), append(want, fresh[i], nil)
			if i%100 == 0 {
				ask, want = append(ask, refs[i/2]), append(want, fresh[i/2])
			}
		}
		before := countSalts(t, db)
		got, err := s.LookupSalts(ctx, ask)
		if err != nil {
			t.Fatalf("LookupSalts of %d refs: %v", len(ask), err)
		}
		if len(got) != len(ask) {
			t.Fatalf("LookupSalts of %d refs returned %d salts", len(ask), len(got))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) || (got[i] == nil) != (want[i] == nil) {
				t.Fatalf("LookupSalts: ref %d got %x, want %x", i, got[i], want[i])
			}
		}
		if after := countSalts(t, db); after != before {
			t.Errorf("LookupSalts changed the number of salts from %d to %d", before, after)
		}
	}
	testdb.ForEach(t, run)
	t.Run("postgres-literal-arrays", func(t *testing.T) {
		run(t, sqldialect.Postgres, testdb.OpenPostgresWrapped(t))
	})
}
