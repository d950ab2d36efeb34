package dialect_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestOnDatabases checks the generated SQL against real servers: an
// InsertIgnore duplicate affects 0 rows, a plain duplicate INSERT is a
// unique violation, and FOR UPDATE SKIP LOCKED parses.
func TestOnDatabases(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, pd sqldialect.Dialect, db *sql.DB) {
		d := dialect.Of(pd)
		ctx := context.Background()
		mustExec(t, db, `CREATE TABLE items (id VARCHAR(40) NOT NULL PRIMARY KEY, tag VARCHAR(40) NOT NULL, n INT NOT NULL)`)
		mustExec(t, db, `CREATE UNIQUE INDEX items_tag ON items (tag)`)

		ins := d.InsertIgnore("items", "id", "tag", "n")
		for i, tc := range []struct {
			id, tag string
			want    int64
		}{
			{"a", "x", 1},
			{"a", "y", 0}, // duplicate primary key
			{"b", "x", 0}, // duplicate unique index
			{"b", "y", 1},
		} {
			res, err := db.ExecContext(ctx, ins, tc.id, tc.tag, i)
			if err != nil {
				t.Fatalf("InsertIgnore(%s, %s): %v", tc.id, tc.tag, err)
			}
			if n, err := res.RowsAffected(); err != nil || n != tc.want {
				t.Fatalf("InsertIgnore(%s, %s): RowsAffected = %d, %v; want %d", tc.id, tc.tag, n, err, tc.want)
			}
		}

		plain := d.Rebind(`INSERT INTO items (id, tag, n) VALUES (?, ?, ?)`)
		if _, err := db.ExecContext(ctx, plain, "a", "z", 9); !dialect.IsUniqueViolation(err) {
			t.Errorf("duplicate primary key: IsUniqueViolation(%v) = false", err)
		}
		if _, err := db.ExecContext(ctx, plain, "c", "x", 9); !dialect.IsUniqueViolation(err) {
			t.Errorf("duplicate unique index: IsUniqueViolation(%v) = false", err)
		}
		if _, err := db.ExecContext(ctx, `SELECT no_such_column FROM items`); err == nil || dialect.IsUniqueViolation(err) {
			t.Errorf("bad column: IsUniqueViolation(%v) = true or no error", err)
		}

		// FOR UPDATE SKIP LOCKED parses, and on the servers a second
		// transaction skips the rows the first one locked. The predicate
		// is on the primary key: InnoDB locks every row a query examines,
		// so a scan of an unindexed column would lock the whole table.
		q := d.Rebind(`SELECT id FROM items WHERE id >= ? ORDER BY id` + d.ForUpdateSkipLocked())
		tx1, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx1.Rollback()
		if got := ids(t, tx1, q, "b"); len(got) != 1 || got[0] != "b" {
			t.Fatalf("first locker got %v, want [b]", got)
		}
		if d == dialect.SQLite {
			return // one writer at a time: nothing to skip
		}
		tx2, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx2.Rollback()
		if got := ids(t, tx2, q, "a"); len(got) != 1 || got[0] != "a" {
			t.Fatalf("second locker got %v, want [a] (b is locked)", got)
		}
	})
}

func ids(t *testing.T, tx *sql.Tx, q string, arg any) []string {
	t.Helper()
	rows, err := tx.Query(q, arg)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustExec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
