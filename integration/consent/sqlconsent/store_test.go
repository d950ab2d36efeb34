package sqlconsent_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/consenttest"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

func newStore(t *testing.T, d sqldialect.Dialect) *sqlconsent.Store {
	t.Helper()
	return testdb.Migrated(t, d, testdb.Open(t, d), sqlconsent.New)
}

// TestConformance runs the conformance suite on every database, with the
// suite's second handle a Store on a second connection pool to the same
// database (testdb.Reopen), as a second instance of the host would have:
// the suite's races between instances run there.
func TestConformance(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		consenttest.RunStoreTests(t, func(t *testing.T) (s, other consent.Store) {
			return testdb.Pair(t, d, sqlconsent.New)
		})
	})
}

// TestConflictWithoutDriverText checks that a duplicate key becomes
// consent.ErrConflict without the driver's error, whose text may quote the
// duplicate value (MySQL: "Duplicate entry '…' for key …").
func TestConflictWithoutDriverText(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s := newStore(t, d)
		p := consenttest.NewEvent("subject-x", "newsletter", consent.Pending, time.Now())
		c := consenttest.NewEvent("subject-x", "newsletter", consent.Given, time.Now())
		c.Confirms = p.ID
		for _, e := range []consent.Event{p, c} {
			if err := s.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		again := consenttest.NewEvent("subject-x", "newsletter", consent.Given, time.Now())
		again.Confirms = p.ID
		n := consent.Notice{ID: "notice-x", Version: 1, TextHash: "00", Published: time.Now()}
		if err := s.PutNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
		for what, err := range map[string]error{
			"duplicate ID":                   s.Append(ctx, p),
			"second confirmation":            s.Append(ctx, again),
			"duplicate notice (ID, Version)": s.PutNotice(ctx, n),
		} {
			if !errors.Is(err, consent.ErrConflict) {
				t.Errorf("%s: %v; want consent.ErrConflict", what, err)
				continue
			}
			msg := strings.ToLower(err.Error())
			if strings.Contains(msg, p.ID) || strings.Contains(msg, "duplicate") || strings.Contains(msg, "unique") {
				t.Errorf("%s: error %q quotes the value or the driver's text; want neither", what, err)
			}
		}
	})
}
