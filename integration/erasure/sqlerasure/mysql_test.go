package sqlerasure_test

import (
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestMySQLClientFoundRows: on a connection with clientFoundRows set,
// where rows affected count matched rows rather than changed ones, a
// duplicate Create is still no creation, a lease held by another worker
// is still not taken, and writes that change nothing still succeed.
func TestMySQLClientFoundRows(t *testing.T) {
	d := sqldialect.MySQL
	ctx := t.Context()
	db := testdb.Open(t, d)
	testdb.Migrated(t, d, db, sqlerasure.New)
	testdb.Migrated(t, d, db, sqlerasure.NewCodeStore)
	var name string
	if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(os.Getenv(testdb.EnvMySQL))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName, cfg.ClientFoundRows = name, true
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	found := sql.OpenDB(c)
	defer found.Close()
	s, err := sqlerasure.New(found, d)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := sqlerasure.NewCodeStore(found, d)
	if err != nil {
		t.Fatal(err)
	}

	r := request(gdpr.KindErasure, "subject-found", t0)
	if _, created, err := s.Create(ctx, r); err != nil || !created {
		t.Fatalf("Create: %v, %v", created, err)
	}
	again := request(gdpr.KindErasure, "subject-found", t0)
	if got, created, err := s.Create(ctx, again); err != nil || created || got.ID != r.ID {
		t.Errorf("second Create of the open kind and subject: created %v, %v; want the first, created false", created, err)
	}
	l, err := s.AcquireID(ctx, r.ID, "w1", t0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireID(ctx, r.ID, "w2", t0, time.Minute); !errors.Is(err, erasure.ErrLeased) {
		t.Errorf("AcquireID of a leased subject: %v; want ErrLeased", err)
	}
	if got, err := s.Acquire(ctx, "w2", t0, time.Minute, 5); err != nil || len(got) != 0 {
		t.Errorf("Acquire of a leased subject: %d, %v; want none", len(got), err)
	}
	if err := s.Renew(ctx, l.Lease, t0, l.Lease.Until); err != nil {
		t.Errorf("Renew to the same Until: %v", err)
	}
	code := erasure.Code{Request: r.ID, Hash: make([]byte, 32), Created: t0, Expires: t0.Add(time.Hour)}
	if err := codes.PutCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := codes.MarkReminded(ctx, r.ID, t0); err != nil {
			t.Errorf("MarkReminded: %v", err)
		}
	}
	if err := codes.MarkReminded(ctx, "unknown", t0); !errors.Is(err, erasure.ErrNotFound) {
		t.Errorf("MarkReminded of an unknown request: %v; want ErrNotFound", err)
	}

	// Restrictions: a duplicate ID is still a conflict, a write from the
	// stored Version still writes, a stale one still does not.
	x := erasure.Restriction{ID: r.ID, Kind: gdpr.KindObjection, SubjectRef: r.SubjectRef, Since: t0}
	if err := s.CreateRestriction(ctx, x); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRestriction(ctx, x); !errors.Is(err, erasure.ErrConflict) {
		t.Errorf("CreateRestriction of an existing ID: %v; want ErrConflict", err)
	}
	x.Version = 1
	if err := s.UpdateRestriction(ctx, x); err != nil {
		t.Errorf("UpdateRestriction from the stored Version, changing nothing but it: %v", err)
	}
	if err := s.UpdateRestriction(ctx, x); !errors.Is(err, erasure.ErrConflict) {
		t.Errorf("UpdateRestriction from a stale Version: %v; want ErrConflict", err)
	}
	st := erasure.Statement{ID: r.ID + "/0", SubjectRef: r.SubjectRef, Target: "crm", Field: "address", Sealed: []byte{1}, At: t0}
	for range 2 {
		if err := s.PutStatement(ctx, st); err != nil {
			t.Errorf("PutStatement: %v", err)
		}
	}
	if n, err := s.Forget(ctx, r.SubjectRef); err != nil || n != 2 {
		t.Errorf("Forget = %d, %v; want 2", n, err)
	}
}
