// Package kit wires every part of the library on one database: the
// consent ledger, the per-subject keys, the audit trail, the request
// engine, the export deliveries, the legal holds and the retention
// sweeps, each on its SQL store, migrated, recording into one audit trail,
// with the erasure targets in a safe order and every exporter listed.
//
// It is the one library package that imports the others. Each of them can
// be adopted alone, and a host that wants another order, other stores or
// only some parts wires them in its main, as examples/quickstart does;
// kit is that wiring for a host that wants all of them on the usual
// terms, which examples/dsar-server uses.
//
//	k, err := kit.Open(ctx, db, sqldialect.Postgres, reg, keys,
//		kit.WithAnchor(&audit.FileAnchor{Dir: "/var/lib/app/anchor"}),
//		kit.WithJournal(journal),
//		kit.WithExports(blobs, sendLinks),
//		kit.WithTargets(erasure.Target{Name: "profiles", Eraser: profiles}),
//		kit.WithSources(export.Source{Name: "profiles", Exporter: profiles}))
//	…
//	go k.Run(ctx) // workers, sweeps, drains: on every instance
//
// # What it decides
//
// The order of an erasure: the export deliveries first (no bundle outlives
// the erasure), the consent ledger (its erasure deletes, with the events,
// the audit records it still owes the trail), the host's own targets, the
// keyring (the subject's key is destroyed, and with it every ciphertext
// under it, in every backup), the audit trail last (it forgets the
// subject's pseudonym, which unlinks every entry about them).
//
// The Keyring's guard: before every decryption it asks the request
// engine whether the subject's processing is restricted (Art. 18) or
// objected to (Art. 21), so a host's support tool cannot read what a
// restriction covers. Decryptions are audited (crypto.WithDecryptAudit),
// so the trail answers "who read my data".
//
// Everything else is each package's default, and every package's options
// pass through (WithConsentOptions, WithCryptoOptions, …), after the kit's
// own.
//
// # Keys
//
// Keys holds every secret, each from a KMS or a secret store in
// production, the same on every instance; package insecuredevkeys makes a
// development set.
//
// # Storage
//
// Every store on the one *sql.DB given to Open, under one table prefix
// (WithTablePrefix, default "gdpr_"), PostgreSQL, MySQL/MariaDB or
// SQLite. Two parts must live elsewhere to survive a restore of the
// database or a rewrite by its administrators: the erasure journal
// (WithJournal) and the audit anchor (WithAnchor). The export bundles'
// blobs (WithExports) go where every instance reaches them.
//
// # Errors
//
// Open's bad arguments and options are an *Error wrapping ErrInvalid
// (and gdpr.ErrInvalid); a part that fails to open is an *Error naming
// it, wrapping that part's error. Nothing is opened then.
//
// # Testing
//
// A host's unit tests use package gdprtest/fake, the same parts in memory.
// The module github.com/gdprkit/gdpr/integration runs the kit on all three
// databases.
package kit
