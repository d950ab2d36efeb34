package crypto_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// A key table whose Keyring meta rows were deleted (raw SQL, as an insider
// or a partial restore would) but which still holds a tombstone is refused
// by crypto.New, with nothing written: otherwise new meta keys would change
// every Ref, and the shredded subject would silently get a fresh key. A
// fresh table is accepted.
func TestNewRefusesTombstonesWithoutMetaRows(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		store := testdb.Migrated(t, d, db, sqlkeys.New)
		kek, err := crypto.EphemeralKEK("restore")
		if err != nil {
			t.Fatal(err)
		}
		k, err := crypto.New(ctx, store, kek)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Encrypt(ctx, "ann", email, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := k.Shred(ctx, "ann"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "DELETE FROM gdpr_crypto_keys WHERE ref LIKE 'meta/%'"); err != nil {
			t.Fatal(err)
		}
		count := func() (n int) {
			t.Helper()
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM gdpr_crypto_keys").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(); n != 1 {
			t.Fatalf("%d rows left, want the tombstone alone", n)
		}
		if _, err := crypto.New(ctx, store, kek); !errors.Is(err, crypto.ErrInvalid) {
			t.Fatalf("New over a key table with a tombstone and no meta rows: %v; want ErrInvalid", err)
		}
		if n := count(); n != 1 {
			t.Errorf("the refused New left %d rows; want the tombstone alone (nothing written)", n)
		}
		fresh := testdb.Migrated(t, d, db, sqlkeys.New, sqlkeys.WithTablePrefix("fresh_"))
		if _, err := crypto.New(ctx, fresh, kek); err != nil {
			t.Errorf("New over a fresh key table: %v", err)
		}
	})
}
