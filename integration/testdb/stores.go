package testdb

import (
	"context"
	"database/sql"
	"testing"

	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/sqldialect"
)

// Store is what every SQL store of the module has.
type Store interface {
	Migrate(ctx context.Context) error
	Close() error
}

// Opener is the New of a SQL store: sqlconsent.New, sqlkeys.New,
// sqlaudit.New.
type Opener[S Store] func(db *sql.DB, d sqldialect.Dialect, opts ...sqlbase.Option) (S, error)

// Migrated returns a store opened with open over db and migrated, closed
// when t ends. It fails t on any error.
func Migrated[S Store](t testing.TB, d sqldialect.Dialect, db *sql.DB, open Opener[S], opts ...sqlbase.Option) S {
	t.Helper()
	s := opened(t, d, db, open, opts)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// Pair returns two stores on one fresh database of dialect d, over two
// connection pools (Open and Reopen), as two processes of a host would
// open them: the first migrated, the second not. Both are closed when t
// ends. It is what a store conformance suite's newStore returns.
func Pair[S Store](t testing.TB, d sqldialect.Dialect, open Opener[S], opts ...sqlbase.Option) (S, S) {
	t.Helper()
	db := Open(t, d)
	return Migrated(t, d, db, open, opts...), opened(t, d, Reopen(t, d, db), open, opts)
}

func opened[S Store](t testing.TB, d sqldialect.Dialect, db *sql.DB, open Opener[S], opts []sqlbase.Option) S {
	t.Helper()
	s, err := open(db, d, opts...)
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
