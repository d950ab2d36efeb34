package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	vault "github.com/hashicorp/vault/api"
	"github.com/tink-crypto/tink-go-hcvault/v2/integration/hcvault"

	"github.com/spf13/cobra"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/insecuredevkeys"
)

func (a *app) keysCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "keys",
		Short: "The subjects' keys (package crypto): status and KEK rotation",
	}
	status := &cobra.Command{
		Use:     "status",
		Short:   "Count the subjects' key records by the key-encryption key that wraps them",
		Example: `  gdpr keys status --json   # {"records": 1000000, "by_kek": {"kms-v3": 999000, "kms-v2": 1000}}`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, db, err := a.openKeys()
			if err != nil {
				return err
			}
			defer db.Close()
			byKEK := map[string]int64{}
			var n int64
			p := a.newProgress("status", "records", -1)
			after := ""
			for {
				rs, err := store.List(cmd.Context(), after, 1000)
				if err != nil {
					p.finish()
					return interrupted(cmd.Context(), "status", "run it again", err)
				}
				for _, r := range rs {
					byKEK[r.KEK]++
				}
				n += int64(len(rs))
				p.set(n, -1)
				if len(rs) < 1000 {
					break
				}
				after = rs[len(rs)-1].Ref
			}
			p.finish()
			if a.json {
				return a.writeJSON(map[string]any{"records": n, "by_kek": byKEK})
			}
			fmt.Fprintf(a.out, "%d key records\n", n)
			ids := make([]string, 0, len(byKEK))
			for id := range byKEK {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				fmt.Fprintf(a.out, "  %-24s %d\n", id, byKEK[id])
			}
			return nil
		},
	}

	var kekFile, kekURI, kekID, cursor string
	var previous []string
	var batch int
	rewrap := &cobra.Command{
		Use:   "rewrap",
		Short: "Rotate the KEK: rewrap every subject's key under the current KEK, beside live traffic, resumable",
		Long: `rewrap pages through the key records and rewraps each one wrapped by a
previous KEK with the current one, batch by batch. It runs beside the
application (each record changes under an optimistic version; one that
changed meanwhile is counted lost and picked up by another pass). Ctrl-C
stops it at the end of a batch and prints the cursor to resume from.

The current KEK is a key in a KMS (--kek-uri: hcvault://host:port/<mount>/keys/<name>,
HashiCorp Vault's transit engine, with VAULT_TOKEN and, for a private CA,
VAULT_CACERT from the environment), a Tink AEAD keyset in cleartext JSON
(--kek-file, insecurecleartextkeyset) in a file only its owner reads, or the
development key set (--dev-keys). A previous KEK is ID=FILE or ID=URI.`,
		Example: `  gdpr keys rewrap --kek-file kek-v3.json --kek-id kms-v3 --previous-kek kms-v2=kek-v2.json
  gdpr keys rewrap --kek-file kek-v3.json --kek-id kms-v3 --previous-kek kms-v2=kek-v2.json --cursor 5f1c…   # resume`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if batch < 1 || batch > 10000 {
				return usageErr("--batch: 1 to 10000")
			}
			kek, prev, err := a.keks(kekFile, kekURI, kekID, previous)
			if err != nil {
				return err
			}
			store, db, err := a.openKeys()
			if err != nil {
				return err
			}
			defer db.Close()
			ring, err := crypto.New(cmd.Context(), store, kek, crypto.WithPreviousKEKs(prev...))
			if err != nil {
				return fmt.Errorf("open the keyring: %v", err)
			}
			p := a.newProgress("rewrap", "records", -1)
			res, err := ring.Rewrap(cmd.Context(), cursor, batch, func(r crypto.RewrapProgress) { p.set(int64(r.Visited), -1) })
			p.finish()
			out := map[string]any{"visited": res.Visited, "rewrapped": res.Rewrapped, "skipped": res.Skipped,
				"lost": res.Lost, "cursor": res.Cursor, "done": res.Done}
			if err != nil {
				if cmd.Context().Err() != nil {
					if a.json {
						a.writeJSON(out)
					}
					if res.Cursor == "" {
						return fmt.Errorf("rewrap interrupted before its first batch; run it again from the start")
					}
					return fmt.Errorf("rewrap interrupted after %d records; resume with --cursor %s", res.Visited, res.Cursor)
				}
				return err
			}
			if a.json {
				return a.writeJSON(out)
			}
			fmt.Fprintf(a.out, "rewrapped %d, already on %s %d, lost to concurrent changes %d (run again for them)\n",
				res.Rewrapped, kek.ID, res.Skipped, res.Lost)
			return nil
		},
	}
	rewrap.Flags().StringVar(&kekURI, "kek-uri", "", "the current KEK in a KMS: hcvault://host:port/<mount>/keys/<name>")
	rewrap.Flags().StringVar(&kekFile, "kek-file", "", "the current KEK: a Tink AEAD keyset in cleartext JSON (or give --kek-uri or --dev-keys)")
	rewrap.Flags().StringVar(&kekID, "kek-id", "", "the current KEK's ID, as the key records name it")
	rewrap.Flags().StringArrayVar(&previous, "previous-kek", nil, "a previous KEK as ID=FILE or ID=URI; repeat for several")
	rewrap.Flags().StringVar(&cursor, "cursor", "", "resume after this key record (the cursor an interrupted rewrap printed)")
	rewrap.Flags().IntVar(&batch, "batch", 1000, "records per batch")
	c.AddCommand(status, rewrap)
	return c
}

// openKeys opens the key store.
func (a *app) openKeys() (*sqlkeys.Store, *sql.DB, error) {
	db, d, err := openDB(a.dsn)
	if err != nil {
		return nil, nil, err
	}
	store, err := sqlkeys.New(db, d, sqlkeys.WithTablePrefix(a.prefix))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return store, db, nil
}

// keks loads the current KEK and the previous ones.
func (a *app) keks(file, uri, id string, previous []string) (crypto.KEK, []crypto.KEK, error) {
	var kek crypto.KEK
	switch {
	case file != "" && uri != "":
		return kek, nil, usageErr("give one of --kek-file and --kek-uri")
	case file != "" || uri != "":
		if id == "" {
			return kek, nil, usageErr("--kek-id: the ID of the current KEK, as the key records name it")
		}
		k, err := loadKEK("kek", id, file+uri)
		if err != nil {
			return kek, nil, err
		}
		kek = k
	case a.secrets.devKeys != "":
		b, err := readSecret("dev-keys", a.secrets.devKeys)
		if err != nil {
			return kek, nil, err
		}
		dev, err := insecuredevkeys.Parse(b)
		if err != nil {
			return kek, nil, fmt.Errorf("--dev-keys: %v", err)
		}
		kek = dev.KEK()
	default:
		return kek, nil, usageErr("the current KEK: give --kek-uri or --kek-file, and --kek-id (or --dev-keys)")
	}
	var prev []crypto.KEK
	for _, p := range previous {
		pid, where, ok := strings.Cut(p, "=")
		if !ok || pid == "" || where == "" {
			return kek, nil, usageErr("--previous-kek: ID=FILE or ID=URI")
		}
		k, err := loadKEK("previous-kek", pid, where)
		if err != nil {
			return kek, nil, err
		}
		prev = append(prev, k)
	}
	return kek, prev, nil
}

// loadKEK loads the KEK id from a KMS URI or a keyset file.
func loadKEK(flag, id, where string) (crypto.KEK, error) {
	if strings.HasPrefix(where, "hcvault://") {
		return kekFromVault(flag, id, where)
	}
	if strings.Contains(where, "://") {
		return crypto.KEK{}, usageErr("--%s: a KMS this command does not know (hcvault://)", flag)
	}
	return kekFromFile(flag, where, id)
}

// kekFromVault is the KEK at uri, a key of HashiCorp Vault's transit
// engine: hcvault://host:port/<mount>/keys/<name>. The token and the CA
// come from the environment (VAULT_TOKEN, VAULT_CACERT), never a flag.
func kekFromVault(flag, id, uri string) (crypto.KEK, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return crypto.KEK{}, usageErr("--%s: an hcvault:// URI with a host", flag)
	}
	if os.Getenv("VAULT_TOKEN") == "" {
		return crypto.KEK{}, usageErr("--%s: HashiCorp Vault needs VAULT_TOKEN in the environment", flag)
	}
	cfg := vault.DefaultConfig() // VAULT_CACERT, VAULT_CLIENT_CERT, … from the environment
	if cfg.Error != nil {
		return crypto.KEK{}, fmt.Errorf("--%s: the Vault client's configuration: %v", flag, cfg.Error)
	}
	cfg.Address = "https://" + u.Host
	c, err := vault.NewClient(cfg) // VAULT_TOKEN from the environment
	if err != nil {
		return crypto.KEK{}, fmt.Errorf("--%s: the Vault client: %v", flag, err)
	}
	kc, err := hcvault.NewClientWithAEADOptions("hcvault://"+u.Host, c.Logical())
	if err != nil {
		return crypto.KEK{}, fmt.Errorf("--%s: %v", flag, err)
	}
	p, err := kc.GetAEAD(uri)
	if err != nil {
		return crypto.KEK{}, usageErr("--%s: not a transit key path (/<mount>/keys/<name>)", flag)
	}
	return crypto.NewKEK(id, p), nil
}

// kekFromFile reads a Tink AEAD keyset in cleartext JSON.
func kekFromFile(flag, path, id string) (crypto.KEK, error) {
	b, err := readSecret(flag, path)
	if err != nil {
		return crypto.KEK{}, err
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(b)))
	if err != nil {
		return crypto.KEK{}, fmt.Errorf("--%s: not a Tink keyset in JSON", flag)
	}
	p, err := aead.New(h)
	if err != nil {
		return crypto.KEK{}, fmt.Errorf("--%s: not an AEAD keyset", flag)
	}
	return crypto.NewKEK(id, p), nil
}
