package sqlretention_test

import (
	"context"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestMisspeltColumnIsAnError: a Deleter whose subject column is not in
// the table fails its batch on every database, and deletes nothing. On
// SQLite a double-quoted name that is no column is read as a string
// literal, so "subject_id" IN (held…) was false for every row: the batch
// deleted the held subjects' rows with the others. Identifiers are now
// backquoted there, which SQLite never reads as a string.
func TestMisspeltColumnIsAnError(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := context.Background()
		db := testdb.Open(t, d)
		if _, err := db.ExecContext(ctx, "CREATE TABLE logins (id VARCHAR(64) NOT NULL PRIMARY KEY, subject VARCHAR(64) NULL, at_us BIGINT NULL)"); err != nil {
			t.Fatal(err)
		}
		old := time.Now().AddDate(-1, 0, 0).UnixMicro()
		for _, row := range [][2]string{{"1", "held"}, {"2", "other"}} {
			q := "INSERT INTO logins (id, subject, at_us) VALUES (?, ?, ?)"
			if d == sqldialect.Postgres {
				q = "INSERT INTO logins (id, subject, at_us) VALUES ($1, $2, $3)"
			}
			if _, err := db.ExecContext(ctx, q, row[0], row[1], old); err != nil {
				t.Fatal(err)
			}
		}
		del, err := sqlretention.NewDeleter(db, d, sqlretention.Table{Name: "logins", Key: "id", Subject: "subject_id",
			Time: "at_us", TimeUnit: sqlretention.UnixMicros})
		if err != nil {
			t.Fatal(err)
		}
		_, err = del.Expire(ctx, retention.Batch{Target: "logins", Policy: retention.Policy{Category: "logins", Period: gdpr.Period{Months: 6}},
			Before: time.Now().AddDate(0, -6, 0), Limit: 100, Held: []gdpr.SubjectID{"held"}})
		var n int
		db.QueryRowContext(ctx, "SELECT COUNT(*) FROM logins").Scan(&n)
		if err == nil || n != 2 {
			t.Errorf("a misspelt subject column: Expire = %v, %d of 2 rows left", err, n)
		}
	})
}
