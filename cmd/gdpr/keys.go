package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"sort"
	"strings"

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

	var kekFile, kekID, cursor string
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

The KEKs are Tink AEAD keysets in cleartext JSON (insecurecleartextkeyset),
in files only their owner reads, or the development key set (--dev-keys).`,
		Example: `  gdpr keys rewrap --kek-file kek-v3.json --kek-id kms-v3 --previous-kek kms-v2=kek-v2.json
  gdpr keys rewrap --kek-file kek-v3.json --kek-id kms-v3 --previous-kek kms-v2=kek-v2.json --cursor 5f1c…   # resume`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if batch < 1 || batch > 10000 {
				return usageErr("--batch: 1 to 10000")
			}
			kek, prev, err := a.keks(kekFile, kekID, previous)
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
	rewrap.Flags().StringVar(&kekFile, "kek-file", "", "the current KEK: a Tink AEAD keyset in cleartext JSON (or give --dev-keys)")
	rewrap.Flags().StringVar(&kekID, "kek-id", "", "the current KEK's ID, as the key records name it")
	rewrap.Flags().StringArrayVar(&previous, "previous-kek", nil, "a previous KEK as ID=FILE; repeat for several")
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
func (a *app) keks(file, id string, previous []string) (crypto.KEK, []crypto.KEK, error) {
	var kek crypto.KEK
	switch {
	case file != "":
		if id == "" {
			return kek, nil, usageErr("--kek-id: the ID of the KEK in --kek-file")
		}
		k, err := kekFromFile("kek-file", file, id)
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
		return kek, nil, usageErr("the current KEK: give --kek-file and --kek-id (or --dev-keys)")
	}
	var prev []crypto.KEK
	for _, p := range previous {
		pid, pfile, ok := strings.Cut(p, "=")
		if !ok || pid == "" || pfile == "" {
			return kek, nil, usageErr("--previous-kek: ID=FILE")
		}
		k, err := kekFromFile("previous-kek", pfile, pid)
		if err != nil {
			return kek, nil, err
		}
		prev = append(prev, k)
	}
	return kek, prev, nil
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
