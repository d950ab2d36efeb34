package crypto_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/sqldialect"
)

// A Decrypt through the host's transaction (Keyring.In, Store.Tx) that
// starts after Shred returned does not open the key, even when the
// transaction's snapshot predates the Shred: on MySQL, whose plain reads
// in a transaction see its snapshot (REPEATABLE READ, the default), and on
// PostgreSQL at REPEATABLE READ, where the locking read fails with a
// serialization failure (SQLSTATE 40001: the host retries its transaction,
// and then sees the tombstone). On SQLite a BEGIN IMMEDIATE transaction
// holds the write lock, so no Shred returns while it is open.
func TestNoKeyThroughTxAfterShred(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		for _, iso := range []sql.IsolationLevel{sql.LevelDefault, sql.LevelRepeatableRead} {
			t.Run(iso.String(), func(t *testing.T) {
				if d == sqldialect.SQLite && iso != sql.LevelDefault {
					t.Skip("SQLite transactions are serializable")
				}
				ctx := t.Context()
				h := newHostDB(t, d)
				ct, err := h.ring.Encrypt(ctx, "user-1", email, []byte("ann@example.org"))
				if err != nil {
					t.Fatal(err)
				}
				tx, err := h.db.BeginTx(ctx, &sql.TxOptions{Isolation: iso})
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				var n int
				if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil { // the snapshot starts here
					t.Fatal(err)
				}
				err = h.ring.Shred(ctx, "user-1")
				if d == sqldialect.SQLite {
					if err == nil {
						t.Fatal("Shred returned while a BEGIN IMMEDIATE transaction was open; want it to wait for the write lock and fail")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				pt, err := h.ring.In(h.store.Tx(tx)).Decrypt(ctx, "user-1", email, ct)
				var se *dialect.ServerError
				switch {
				case errors.Is(err, crypto.ErrShredded):
				case d == sqldialect.Postgres && iso == sql.LevelRepeatableRead && errors.As(err, &se) && se.Code == "SQLSTATE 40001":
				default:
					t.Errorf("Decrypt through a transaction begun before the Shred, called after it returned: (%q, %v); want ErrShredded (or, at REPEATABLE READ on PostgreSQL, a serialization failure)", pt, err)
				}
			})
		}
	})
}
