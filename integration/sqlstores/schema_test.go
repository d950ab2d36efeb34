// Package sqlstores_test checks what the module's SQL stores share through
// internal/sqlbase, once for all of them: migrations that run twice and
// side by side under two prefixes, the version table that follows the
// prefix, the refusal of bad arguments, the migrations as files, and
// statements prepared again after Close.
package sqlstores_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/exporttest"
	"github.com/gdprkit/gdpr/export/sqlexport"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// store is what every SQL store of the module has.
type store interface {
	Migrate(ctx context.Context) error
	Close() error
}

type kind struct {
	name       string
	component  string
	tables     []string // without the prefix
	invalid    error    // the package's ErrInvalid
	open       func(db *sql.DB, d sqldialect.Dialect, prefix string) (store, error)
	openNil    func(db *sql.DB, d sqldialect.Dialect) error
	migrations func(d sqldialect.Dialect, prefix string) (fs.FS, error)
	use        func(ctx context.Context, s store) error // one read and one write
}

var kinds = []kind{
	{
		name: "sqlconsent", component: "consent", tables: []string{"consent_events", "consent_notices", "consent_outbox", "consent_suppression"}, invalid: consent.ErrInvalid,
		open: func(db *sql.DB, d sqldialect.Dialect, p string) (store, error) {
			return sqlconsent.New(db, d, sqlconsent.WithTablePrefix(p))
		},
		openNil:    func(db *sql.DB, d sqldialect.Dialect) error { _, err := sqlconsent.New(db, d); return err },
		migrations: sqlconsent.Migrations,
		use: func(ctx context.Context, s store) error {
			cs := s.(*sqlconsent.Store)
			if err := cs.PutNotice(ctx, consent.Notice{ID: "n", Version: 1, TextHash: consent.HashText("t")}); err != nil && !errors.Is(err, consent.ErrConflict) {
				return err
			}
			_, err := cs.Notices(ctx, "n")
			return err
		},
	},
	{
		name: "sqlkeys", component: "crypto", tables: []string{"crypto_keys"}, invalid: crypto.ErrInvalid,
		open: func(db *sql.DB, d sqldialect.Dialect, p string) (store, error) {
			return sqlkeys.New(db, d, sqlkeys.WithTablePrefix(p))
		},
		openNil:    func(db *sql.DB, d sqldialect.Dialect) error { _, err := sqlkeys.New(db, d); return err },
		migrations: sqlkeys.Migrations,
		use: func(ctx context.Context, s store) error {
			ks := s.(*sqlkeys.Store)
			if err := ks.Shred(ctx, "ref-1", testTime); err != nil {
				return err
			}
			_, err := ks.Get(ctx, "ref-1")
			if errors.Is(err, crypto.ErrShredded) {
				return nil
			}
			return err
		},
	},
	{
		name: "sqlaudit", component: "audit", tables: []string{"audit_head", "audit_entries", "audit_hashes", "audit_salts", "audit_checkpoints"}, invalid: audit.ErrInvalid,
		open: func(db *sql.DB, d sqldialect.Dialect, p string) (store, error) {
			return sqlaudit.New(db, d, sqlaudit.WithTablePrefix(p))
		},
		openNil:    func(db *sql.DB, d sqldialect.Dialect) error { _, err := sqlaudit.New(db, d); return err },
		migrations: sqlaudit.Migrations,
		use: func(ctx context.Context, s store) error {
			as := s.(*sqlaudit.Store)
			if _, err := as.Salt(ctx, make([]byte, 32), make([]byte, 32)); err != nil {
				return err
			}
			_, err := as.Head(ctx)
			return err
		},
	},
	{
		name: "sqlerasure", component: "erasure", tables: []string{"erasure_requests", "erasure_leases", "erasure_codes", "erasure_restrictions", "erasure_statements"}, invalid: erasure.ErrInvalid,
		open: func(db *sql.DB, d sqldialect.Dialect, p string) (store, error) {
			return sqlerasure.New(db, d, sqlerasure.WithTablePrefix(p))
		},
		openNil:    func(db *sql.DB, d sqldialect.Dialect) error { _, err := sqlerasure.New(db, d); return err },
		migrations: sqlerasure.Migrations,
		use: func(ctx context.Context, s store) error {
			es := s.(*sqlerasure.Store)
			r := erasure.Request{ID: "00000000-0000-7000-8000-000000000001", Kind: gdpr.KindErasure, Subject: "subject-1",
				SubjectRef: strings.Repeat("a", 64), Received: testTime, Deadline: gdpr.NewDeadline(testTime, time.UTC, nil),
				State: erasure.StateReceived, Version: 1}
			if _, _, err := es.Create(ctx, r); err != nil {
				return err
			}
			_, err := es.Get(ctx, r.ID)
			return err
		},
	},
	{
		// The codes share the Store's schema (component "erasure").
		name: "sqlerasure codes", component: "erasure", tables: []string{"erasure_requests", "erasure_leases", "erasure_codes", "erasure_restrictions", "erasure_statements"}, invalid: erasure.ErrInvalid,
		open: func(db *sql.DB, d sqldialect.Dialect, p string) (store, error) {
			return sqlerasure.NewCodeStore(db, d, sqlerasure.WithTablePrefix(p))
		},
		openNil:    func(db *sql.DB, d sqldialect.Dialect) error { _, err := sqlerasure.NewCodeStore(db, d); return err },
		migrations: sqlerasure.Migrations,
		use: func(ctx context.Context, s store) error {
			cs := s.(*sqlerasure.CodeStore)
			if err := cs.PutCode(ctx, erasure.Code{Request: "r-1", Hash: make([]byte, 32), Created: testTime, Expires: testTime.Add(time.Hour)}); err != nil {
				return err
			}
			_, err := cs.Attempt(ctx, "r-1")
			return err
		},
	},
	{
		name: "sqlerasure journal", component: "erasure_journal", tables: []string{"erasure_journal"}, invalid: erasure.ErrInvalid,
		open: func(db *sql.DB, d sqldialect.Dialect, p string) (store, error) {
			return sqlerasure.NewJournal(db, d, sqlerasure.WithTablePrefix(p))
		},
		openNil:    func(db *sql.DB, d sqldialect.Dialect) error { _, err := sqlerasure.NewJournal(db, d); return err },
		migrations: sqlerasure.JournalMigrations,
		use: func(ctx context.Context, s store) error {
			js := s.(*sqlerasure.Journal)
			e := erasure.JournalEntry{RequestID: "r-1", SubjectRef: strings.Repeat("b", 64), Completed: testTime, Targets: []string{"consent"}}
			if err := js.Append(ctx, e); err != nil {
				return err
			}
			_, err := js.Match(ctx, []string{e.SubjectRef})
			return err
		},
	},
	{
		name: "sqlexport", component: "export", tables: []string{"export_deliveries", "export_parts"}, invalid: export.ErrInvalid,
		open: func(db *sql.DB, d sqldialect.Dialect, p string) (store, error) {
			return sqlexport.New(db, d, sqlexport.WithTablePrefix(p))
		},
		openNil:    func(db *sql.DB, d sqldialect.Dialect) error { _, err := sqlexport.New(db, d); return err },
		migrations: sqlexport.Migrations,
		use: func(ctx context.Context, s store) error {
			xs := s.(*sqlexport.Store)
			del := exporttest.NewDelivery("subject-1", testTime, 1)
			if err := xs.Create(ctx, del); err != nil {
				return err
			}
			_, err := xs.Get(ctx, del.ID)
			return err
		},
	},
	{
		name: "sqlbreach", component: "breach", tables: []string{"breach_events", "breach_notices"}, invalid: breach.ErrInvalid,
		open: func(db *sql.DB, d sqldialect.Dialect, p string) (store, error) {
			return sqlbreach.New(db, d, sqlbreach.WithTablePrefix(p))
		},
		openNil:    func(db *sql.DB, d sqldialect.Dialect) error { _, err := sqlbreach.New(db, d); return err },
		migrations: sqlbreach.Migrations,
		use: func(ctx context.Context, s store) error {
			bs := s.(*sqlbreach.Store)
			const id = "01950000-0000-7000-8000-000000000001"
			ev := breach.Event{Breach: id, Seq: 1, Time: testTime, Kind: breach.KindRecorded, Data: []byte(`{}`)}
			if err := bs.Append(ctx, ev); err != nil && !errors.Is(err, breach.ErrConflict) {
				return err
			}
			_, err := bs.Events(ctx, id)
			return err
		},
	},
}

// TestMigrateTwiceAndSideBySide migrates every store twice under two
// prefixes in one database: each prefix gets its own tables and its own
// version table, <prefix>schema_version, naming each store's component.
func TestMigrateTwiceAndSideBySide(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		for _, p := range []string{"gdpr_", "app_"} {
			for _, k := range kinds {
				s, err := k.open(db, d, p)
				if err != nil {
					t.Fatal(err)
				}
				for range 2 {
					if err := s.Migrate(ctx); err != nil {
						t.Fatalf("%s: Migrate with prefix %q: %v", k.name, p, err)
					}
				}
				if err := k.use(ctx, s); err != nil {
					t.Fatalf("%s with prefix %q after Migrate: %v", k.name, p, err)
				}
				for _, table := range k.tables {
					if _, err := db.ExecContext(ctx, "SELECT 1 FROM "+p+table+" WHERE 1 = 0"); err != nil {
						t.Errorf("%s: table %s%s missing: %v", k.name, p, table, err)
					}
				}
			}
			rows, err := db.QueryContext(ctx, "SELECT DISTINCT component FROM "+p+"schema_version ORDER BY component")
			if err != nil {
				t.Fatalf("version table %sschema_version: %v", p, err)
			}
			var comps []string
			for rows.Next() {
				var c string
				if err := rows.Scan(&c); err != nil {
					t.Fatal(err)
				}
				comps = append(comps, c)
			}
			rows.Close()
			slices.Sort(comps) // byte order, whatever the database's collation
			want := "audit:" + p + " breach:" + p + " consent:" + p + " crypto:" + p + " erasure:" + p + " erasure_journal:" + p + " export:" + p
			if strings.Join(comps, " ") != want {
				t.Errorf("%sschema_version records %v; want %s", p, comps, want)
			}
		}
	})
}

func TestBadArguments(t *testing.T) {
	db := testdb.Open(t, sqldialect.SQLite)
	for _, k := range kinds {
		for _, p := range []string{"", "A_", "x;drop table y", `x"y`, "1abc", strings.Repeat("a", 41), "ann@example.org"} {
			_, err := k.open(db, sqldialect.SQLite, p)
			if !errors.Is(err, k.invalid) || !errors.Is(err, gdpr.ErrInvalid) {
				t.Errorf("%s: prefix %q: %v; want the package's ErrInvalid", k.name, p, err)
			}
			if err != nil && p != "" && strings.Contains(err.Error(), p) {
				t.Errorf("%s: the error %q quotes the rejected prefix", k.name, err)
			}
			if err != nil && !strings.Contains(err.Error(), "WithTablePrefix") {
				t.Errorf("%s: the error %q does not name the option", k.name, err)
			}
		}
		if _, err := k.open(db, sqldialect.SQLite, strings.Repeat("a", 40)); err != nil {
			t.Errorf("%s: a 40-byte prefix: %v", k.name, err)
		}
		for _, d := range []sqldialect.Dialect{0, 7} {
			if err := k.openNil(db, d); !errors.Is(err, k.invalid) {
				t.Errorf("%s: dialect %v: %v; want ErrInvalid", k.name, d, err)
			}
		}
		if err := k.openNil(nil, sqldialect.SQLite); !errors.Is(err, k.invalid) {
			t.Errorf("%s: nil db: %v; want ErrInvalid", k.name, err)
		}
		if _, err := k.migrations(sqldialect.SQLite, "Bad"); !errors.Is(err, k.invalid) {
			t.Errorf("%s: Migrations with a bad prefix: %v; want ErrInvalid", k.name, err)
		}
	}
}

// TestMigrationsFS checks the schema as files for goose, golang-migrate or
// atlas: numbered from 0001, every table under the prefix, nothing left
// unrendered.
func TestMigrationsFS(t *testing.T) {
	for _, k := range kinds {
		for _, d := range []sqldialect.Dialect{sqldialect.Postgres, sqldialect.MySQL, sqldialect.SQLite} {
			fsys, err := k.migrations(d, "app_")
			if err != nil {
				t.Fatal(err)
			}
			files, err := fs.Glob(fsys, "*.sql")
			if err != nil || len(files) == 0 || !strings.HasPrefix(files[0], "0001_") {
				t.Fatalf("%s %v: files %v, %v", k.name, d, files, err)
			}
			var all strings.Builder
			for _, f := range files {
				b, err := fs.ReadFile(fsys, f)
				if err != nil {
					t.Fatal(err)
				}
				all.Write(b)
			}
			for _, table := range k.tables {
				if !strings.Contains(all.String(), "app_"+table) {
					t.Errorf("%s %v: no table app_%s", k.name, d, table)
				}
			}
			if strings.Contains(all.String(), "{{") || strings.Contains(all.String(), "gdpr_") {
				t.Errorf("%s %v: not rendered with the prefix", k.name, d)
			}
		}
	}
}

// TestCloseThenUse: Close releases the prepared statements; a store used
// afterwards prepares them again.
func TestCloseThenUse(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		for _, k := range kinds {
			s, err := k.open(db, d, "gdpr_")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := k.use(ctx, s); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("%s: Close: %v", k.name, err)
			}
			if err := k.use(ctx, s); err != nil {
				t.Fatalf("%s: used after Close: %v", k.name, err)
			}
		}
	})
}

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
