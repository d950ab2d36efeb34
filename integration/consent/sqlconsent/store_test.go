package sqlconsent_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
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
	db := testdb.Open(t, d)
	s, err := sqlconsent.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		consenttest.RunStoreTests(t, func(t *testing.T) consent.Store { return newStore(t, d) })
	})
}

func TestMigrateTwiceAndPrefix(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := context.Background()
		for _, p := range []string{"gdpr_", "app_"} {
			s, err := sqlconsent.New(db, d, sqlconsent.WithTablePrefix(p))
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := s.Migrate(ctx); err != nil {
					t.Fatalf("Migrate with prefix %q: %v", p, err)
				}
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM app_consent_events").Scan(&n); err != nil {
			t.Fatalf("prefixed table missing: %v", err)
		}
	})
}

func TestBadPrefix(t *testing.T) {
	for _, p := range []string{"", "A_", "x;drop table y", "1abc", strings.Repeat("a", 41)} {
		if _, err := sqlconsent.New(testdb.Open(t, sqldialect.SQLite), sqldialect.SQLite, sqlconsent.WithTablePrefix(p)); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}

func TestMigrationsFS(t *testing.T) {
	for _, d := range []sqldialect.Dialect{sqldialect.Postgres, sqldialect.MySQL, sqldialect.SQLite} {
		fsys, err := sqlconsent.Migrations(d, "app_")
		if err != nil {
			t.Fatal(err)
		}
		b, err := fs.ReadFile(fsys, "0001_consent_events.sql")
		if err != nil {
			t.Fatalf("%s: %v", d.String(), err)
		}
		if !strings.Contains(string(b), "CREATE TABLE app_consent_events") || strings.Contains(string(b), "{{") {
			t.Errorf("%s: migration not rendered with the prefix:\n%s", d.String(), b)
		}
	}
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
