package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
)

func (a *app) auditCmd() *cobra.Command {
	var anchor, origin string
	c := &cobra.Command{
		Use:   "audit",
		Short: "Verify and prove the audit trail (Art. 5(2), 30, 32)",
	}
	c.PersistentFlags().StringVar(&anchor, "anchor", "", "a directory of anchored checkpoints (audit.FileAnchor) to check the trail against")
	c.PersistentFlags().StringVar(&origin, "origin", "", "the trail's checkpoint origin, if the application set one (audit.WithOrigin)")
	// withTrail runs fn on the opened trail and closes it after.
	withTrail := func(ctx context.Context, fn func(*audit.Log) error) error {
		log, db, err := a.openTrail(ctx, anchor, origin)
		if err != nil {
			return err
		}
		defer db.Close()
		defer log.Close(context.WithoutCancel(ctx))
		return fn(log)
	}

	verify := &cobra.Command{
		Use:   "verify",
		Short: "Read the whole trail and check every entry, the tree and the signed checkpoints",
		Example: `  gdpr audit verify --dsn "$GDPR_DSN" --anchor /var/lib/app/anchor
  gdpr audit verify --json | jq .ok`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTrail(cmd.Context(), func(log *audit.Log) error {
				p := a.newProgress("verify", "entries", 0)
				rep, err := log.Verify(cmd.Context(), audit.VerifyOptions{Progress: p.set})
				p.finish()
				if errors.Is(err, audit.ErrTampered) && rep != nil {
					err = nil // a finding, reported below
				}
				if err != nil {
					return interrupted(cmd.Context(), "verify", "run it again: a verification starts from the first entry", err)
				}
				if a.json {
					if err := a.writeJSON(map[string]any{"ok": rep.OK(), "size": rep.Size, "root": rep.Root, "entries": rep.Entries,
						"redacted": rep.Redacted, "checkpoints": len(rep.Checkpoints), "problems": append([]audit.Problem{}, rep.Problems...)}); err != nil {
						return err
					}
				} else if rep.OK() {
					fmt.Fprintf(a.out, "audit trail verified: %d entries (%d redacted), size %d, root %s, against %d signed checkpoints\n",
						rep.Entries, rep.Redacted, rep.Size, rep.Root, len(rep.Checkpoints))
				} else {
					for _, pr := range rep.Problems {
						fmt.Fprintln(a.out, pr)
					}
				}
				if !rep.OK() {
					return problem("the audit trail does not verify: %d problems", len(rep.Problems))
				}
				return nil
			})
		},
	}

	checkpoint := &cobra.Command{
		Use:     "checkpoint",
		Short:   "Sign a checkpoint of the trail as it is now, store and anchor it, and print it",
		Example: `  gdpr audit checkpoint > checkpoint.txt   # a signed note anyone can check with the public key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTrail(cmd.Context(), func(log *audit.Log) error {
				cp, err := log.Checkpoint(cmd.Context())
				if err != nil {
					return err
				}
				if a.json {
					return a.writeJSON(map[string]any{"origin": cp.Origin, "size": cp.Size, "root": cp.Root, "note": string(cp.Note)})
				}
				_, err = a.out.Write(cp.Note)
				return err
			})
		},
	}

	var index int64
	prove := &cobra.Command{
		Use:   "prove --index N",
		Short: "Prove that entry N is in the trail, for an auditor or the authority (RFC 6962 inclusion proof)",
		Long: `prove signs a checkpoint of the trail as it is now (stored, and anchored
with --anchor), and proves entry N against it: the output holds the entry's
encoded body, the proof and the signed checkpoint, which audit.CheckEntry
checks offline with the public key.`,
		Example: `  gdpr audit prove --index 41 --json > proof.json
  # proof.json holds the entry's body, the proof and the signed checkpoint: audit.CheckEntry checks them offline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if index < 0 {
				return usageErr("--index: an entry's index, from 0")
			}
			return withTrail(cmd.Context(), func(log *audit.Log) error {
				cp, err := log.Checkpoint(cmd.Context())
				if err != nil {
					return err
				}
				size := cp.Size
				if index >= cp.Size {
					return problem("no entry %d: the trail holds %d", index, cp.Size)
				}
				_, body, err := log.Entry(cmd.Context(), index)
				if err != nil {
					return err
				}
				proof, err := log.ProveEntry(cmd.Context(), index, size)
				if err != nil {
					return err
				}
				if err := audit.CheckEntry(cp, index, body, proof); err != nil {
					return problem("entry %d does not check against the checkpoint: %v", index, err)
				}
				if a.json {
					return a.writeJSON(map[string]any{"index": index, "size": size, "body": body,
						"proof": hashes(proof), "checkpoint": string(cp.Note)})
				}
				fmt.Fprintf(a.out, "entry %d is in the trail of size %d (root %s): %d hashes of proof, checked; --json writes them\n",
					index, size, cp.Root, len(proof))
				return nil
			})
		},
	}
	prove.Flags().Int64Var(&index, "index", -1, "the entry's index")

	var from int64
	consistency := &cobra.Command{
		Use:   "consistency --from SIZE",
		Short: "Prove that the trail now extends the trail of an older checkpoint (RFC 6962 consistency proof)",
		Long: `consistency signs a checkpoint of the trail as it is now (stored, and anchored
with --anchor), and proves that the trail of size --from, which an auditor
holds a checkpoint of, is a prefix of it: audit.CheckConsistency checks the
two checkpoints and the proof offline.`,
		Example: `  gdpr audit consistency --from 1200 --json   # the trail of size 1200 an auditor holds is a prefix of today's`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from < 1 {
				return usageErr("--from: the older tree's size, from 1")
			}
			return withTrail(cmd.Context(), func(log *audit.Log) error {
				cp, err := log.Checkpoint(cmd.Context())
				if err != nil {
					return err
				}
				if from > cp.Size {
					return problem("the trail holds %d entries, fewer than %d", cp.Size, from)
				}
				proof, err := log.ProveConsistency(cmd.Context(), from, cp.Size)
				if err != nil {
					return err
				}
				if a.json {
					return a.writeJSON(map[string]any{"from": from, "to": cp.Size, "proof": hashes(proof), "checkpoint": string(cp.Note)})
				}
				fmt.Fprintf(a.out, "the trail of size %d extends the trail of size %d: %d hashes of proof; --json writes them\n",
					cp.Size, from, len(proof))
				return nil
			})
		},
	}
	consistency.Flags().Int64Var(&from, "from", 0, "the older tree's size")
	c.AddCommand(verify, checkpoint, prove, consistency)
	return c
}

func hashes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// openTrail opens the audit trail of the database.
func (a *app) openTrail(ctx context.Context, anchor, origin string) (*audit.Log, *sql.DB, error) {
	key, signer, verifier, err := a.secrets.auditKeys()
	if err != nil {
		return nil, nil, err
	}
	db, d, err := openDB(a.dsn)
	if err != nil {
		return nil, nil, err
	}
	store, err := sqlaudit.New(db, d, sqlaudit.WithTablePrefix(a.prefix))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	var opts []audit.Option
	if anchor != "" {
		opts = append(opts, audit.WithAnchor(&audit.FileAnchor{Dir: anchor}))
	}
	if origin != "" {
		opts = append(opts, audit.WithOrigin(origin))
	}
	log, err := audit.New(ctx, store, key, signer, verifier, opts...)
	if errors.Is(err, audit.ErrTampered) {
		db.Close()
		return nil, nil, problem("the audit trail does not extend its signed checkpoints: %v", err)
	}
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("open the audit trail: %v", err)
	}
	return log, db, nil
}

// interrupted says how to resume work that a signal stopped.
func interrupted(ctx context.Context, what, resume string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s interrupted; %s", what, resume)
	}
	return err
}
