// Command gentrail writes a SQLite audit trail of -n entries and its key
// files, and -keys subjects' key records wrapped under a KEK it writes as
// kek-a.json (ID "kek-a"), for the command line's tests of long work (a
// progress bar, an interrupt). The tests build it without the race
// detector, which would make stores of this size take minutes to write.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	_ "modernc.org/sqlite"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/sqldialect"
)

func main() {
	dir := flag.String("dir", "", "directory of the database (app.db) and the key files (pseudonym.key, audit.key)")
	n := flag.Int("n", 10000, "entries")
	keys := flag.Int("keys", 0, "subjects' key records")
	flag.Parse()
	if err := gen(*dir, *n, *keys); err != nil {
		fmt.Fprintln(os.Stderr, "gentrail:", err)
		os.Exit(1)
	}
}

func gen(dir string, n, keys int) error {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := sqlaudit.New(db, sqldialect.SQLite)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	key := make([]byte, 32)
	rand.Read(key)
	skey, _, err := audit.GenerateKey("cli.test/big")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "pseudonym.key"), []byte(hex.EncodeToString(key)), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "audit.key"), []byte(skey), 0o600); err != nil {
		return err
	}
	signer, verifier, err := audit.NewSigner(skey)
	if err != nil {
		return err
	}
	trail, err := audit.New(ctx, store, key, signer, verifier)
	if err != nil {
		return err
	}
	batch := make([]gdpr.Event, 0, audit.MaxAppend)
	for i := range n {
		batch = append(batch, gdpr.Event{Actor: gdpr.System("batch"), Action: "crm.read",
			Subject: gdpr.SubjectID(fmt.Sprintf("c-%d", i%1000)), Outcome: gdpr.Success})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := trail.Append(ctx, batch...); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := trail.Close(ctx); err != nil {
		return err
	}
	if keys == 0 {
		return nil
	}
	ks, err := sqlkeys.New(db, sqldialect.SQLite)
	if err != nil {
		return err
	}
	if err := ks.Migrate(ctx); err != nil {
		return err
	}
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return err
	}
	var js bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&js)); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "kek-a.json"), js.Bytes(), 0o600); err != nil {
		return err
	}
	p, err := aead.New(h)
	if err != nil {
		return err
	}
	ring, err := crypto.New(ctx, ks, crypto.NewKEK("kek-a", p))
	if err != nil {
		return err
	}
	for i := range keys {
		if _, err := ring.Encrypt(ctx, gdpr.SubjectID(fmt.Sprintf("s-%d", i)), crypto.Field{Table: "t", Column: "c"}, []byte("x")); err != nil {
			return err
		}
	}
	return nil
}
