// Package crypto encrypts personal-data fields with one key per data
// subject, so that erasing a subject is destroying one key
// (crypto-shredding): every ciphertext of theirs, in every table and every
// backup of the host's database, becomes unreadable at once.
//
// It serves Art. 5(1)(f) and 32 (confidentiality: a leaked table or backup
// gives away nothing without the keys), Art. 25 (data protection by design),
// Art. 17 (erasure that reaches backups the controller cannot edit), Art. 18
// (a Guard refuses decryption while processing is restricted), Art. 15 (the
// Keyring exports what it holds about a subject), Art. 5(2) and 30 (an
// audit trail of who decrypted what, and why) and Art. 34(3)(a) (it tells
// a breach investigation whose encrypted data stayed unintelligible).
//
// # Keys
//
// A Keyring holds, per subject, a Tink keyset of AES-256-GCM keys, created
// on first use and stored in a Store wrapped by a key-encryption key (KEK):
// a local Tink keyset in development, a cloud KMS or an HSM in production
// (see KEK for AWS KMS, Cloud KMS and Vault). The wrapped keyset's associated
// data names its record, so a wrapped key moved to another subject does not
// open. The Store never holds a subject ID: records are keyed by a Ref, an
// HMAC of the subject ID under a key the KEK wraps, so a copy of the Store
// without the KEK reveals neither keys nor who has them.
//
// Unwrapped primitives are cached (WithCache; 10,000 keys for 5 minutes
// by default), so a field operation costs one AES-GCM operation and the KMS
// is called once per subject per TTL, not per field.
//
// No key prints: a Keyring, a BlindIndex and a KEK print as
// crypto.Keyring{kek: "<id>"}, crypto.BlindIndex{size: 16} and
// crypto.KEK{ID: "<id>"} under every fmt verb.
//
// # Fields
//
// Encrypt(ctx, subject, Field{Table, Column, Row}, plaintext) returns
// FormatV1 followed by Tink's ciphertext. The associated data binds the
// subject, table, column and (optionally) row, so a ciphertext copied to
// another subject, table, column or row does not decrypt. Decrypt never
// creates a key; its failures are ErrDecrypt, which says nothing about why,
// or ErrShredded once the subject's key is gone. Field.Category names the
// field's data category as in the Register ("contact"); it is not bound
// into the ciphertext and serves the audit trail.
//
// A Field that Encrypt accepts is one the audit log accepts in every
// event about it: Table and Column are printable UTF-8 (no C0, DEL or C1
// control character) and "table.column", the events' Resource, is at most
// 256 bytes; Category, when set, matches ^[a-z0-9_.-]{1,64}$ (audit's
// MaxResourceLen and MaxKeyLen). Row, never recorded, is any bytes up to
// 1024. Anything else is refused with ErrInvalid (Field "field") before a
// key is made or anything written, by Decrypt and BlindIndex alike, so no
// audited Decrypt of an accepted field fails for its name. A Scope is
// likewise printable, as it is recorded in Attrs["scope"].
//
// Blind indexes (BlindIndex) let a host look up rows by an encrypted value
// (a user by e-mail address); their doc says what they leak.
//
// # Scopes: keys for things that are not people
//
// Some data must be destroyed on the controller's own schedule rather than
// with a person's erasure: the temporary site credentials a customer shares
// in a support ticket, destroyed when the ticket closes. A Scope names such
// a key ("ticket/4711"): EncryptScope, DecryptScope and ShredScope work as
// Encrypt, Decrypt and Shred do for a subject, in the same Store, under
// Refs of a separate HMAC domain, so a scope never shares a key with a
// subject, even one of the same name. A scope is not a data subject: its
// audit events carry no Subject (no pseudonym is minted for a non-person)
// and name the scope in Attrs["scope"]; so a scope is an identifier, never
// personal data. See Scope.
//
// # Options
//
// New takes sealed Options (WithCache, WithClock, WithGuard, WithRecorder,
// WithDecryptAudit, WithPreviousKEKs), and Keyring.BlindIndex sealed
// IndexOptions (WithIndexSize, WithIndexNormalizer). Each checks its
// argument when applied; nil is an error unless the option's doc says what
// nil means, and each doc states the default.
//
// # Audit
//
// With WithRecorder the Keyring records every key created, rotated,
// shredded, revived and rewrapped; with WithDecryptAudit also every
// decryption, one event per call: success, denied (the Guard refused) or
// failure (the ciphertext did not open, or the key is shredded). Who acted
// and why travel in the context, set once by the host's middleware with
// gdpr.WithActor and gdpr.WithPurpose: an event names that actor (the
// staff member behind a support tool, the subject in their privacy
// center) or, with none, the system actor "crypto". A decrypt event's Resource is the field
// ("users.email") and its Categories hold the field's Category. No event
// carries a value or a Ref.
//
// Erasure leaves nothing linked. An event about an erasure (crypto.shred,
// through Shred or EraseSubject, Resource "crypto_key" and
// Attrs["erased"], the number of live keys destroyed: "1" or "0"), and an
// event about a subject of whom the Keyring holds no live key (a Decrypt
// refused because their key is shredded or was never made, whatever the
// ciphertext, or refused by the Guard), carries no Subject, and a subject
// acting for themselves (gdpr.WithActor with their own ID) is recorded
// without that ID: recording it must not make an audit log that has
// erased them (audit.Log.EraseSubject) mint a new pseudonym and link them
// again. Such events name the resource and counts only. ExportSubject
// records no event. So erasing a subject through the Keyring and the
// audit log, in either order, and then exporting them or trying their
// ciphertexts, leaves no entry the trail ties to them. An event about a
// subject with a live key (a key created, rotated, revived, a successful
// decryption) names them: erase the audit log last, or again, if the
// subject's key is still used after it.
//
// # Erasure, restriction, access and rotation
//
// Shred destroys a subject's keyset and leaves a tombstone holding only the
// Ref and the time; no get-or-create path makes a new key for them after it
// (Revive is the explicit step for a returning subject). No call on the
// Keyring, or through a TxKeyring, that starts after Shred returned uses
// the key: not from the cache, not by joining a load of it that began
// before the Shred (such loads are detached, and what they read is never
// cached), not from an older snapshot of the host's transaction (sqlkeys'
// view reads a live key with a locking read). Other instances forget a
// cached key within the cache TTL (WithCache). The Keyring is a
// gdpr.Eraser. A Guard consulted before every decryption of a subject's
// data refuses it for a restricted subject (Art. 18). The Keyring is a
// gdpr.Exporter: ExportSubject writes one record about the subject's key
// (status, times, KEK ID and version), never key material nor the Ref.
// Rotate gives a subject a new primary key (Reencrypt moves old values to
// it); Rewrap rotates the KEK over the whole Store, resumably, beside live
// traffic. Its cursor (RewrapProgress.Cursor) names the last record it
// finished, so a run resumed after a failure starts with the record that
// failed: retire the old KEK only after a pass that ends Done with nothing
// rewrapped or lost. Each batch's KEK work runs on GOMAXPROCS goroutines,
// and its writes go in one call to a Store that is a BatchUpdater
// (memkeys and sqlkeys are), each record still on its own version.
//
// # Breaches
//
// The Keyring is a gdpr.KeyCustodian: SubjectKeys tells a breach
// investigation (package breach) whose ciphertexts stayed unintelligible
// to whoever took a copy of them (Art. 34(3)(a)). For each subject it says
// gdpr.KeyLive and the ID of the KEK that wraps the key, gdpr.KeyShredded,
// or gdpr.KeyNone (no key of their own: none of their data was encrypted
// under one), and Since, when that began: the key's last write (created,
// rotated, revived or rewrapped) or its shred. It reports the wrapping
// now, not at the time of the breach: before Since the key may have been wrapped under another
// KEK (Rewrap moves every key to the current one), and a revived subject's
// older ciphertexts were under a key now destroyed, so for a breach that
// began before Since the answer needs an older record (a backup of the key
// Store; the audit trail's crypto.kek_rewrapped events date each Rewrap).
// Nor does it speak of keys a running instance holds unwrapped (its cache)
// or of an attacker who could call the KMS: a KEK that was not compromised
// is one the attacker could neither read nor use. It reads metadata only:
// it creates no key, unwraps none (no KMS call), caches nothing, asks no
// Guard and records no event, and it reads a batch of subjects in one call
// to a Store that is a BatchGetter (memkeys and sqlkeys are).
//
// # Transactions
//
// A host often encrypts a field in the same database transaction that
// writes the row holding it: a sign-up inserts the user and their
// encrypted e-mail address at once. The first Encrypt for a new subject
// creates their key; a plain Encrypt creates it through the Keyring's own
// Store, on another connection, in a transaction of its own. On SQLite,
// which has one writer at a time, that write waits for the host's write
// transaction, which waits for the Encrypt: it fails when the busy timeout
// expires, with a withheld database error. On PostgreSQL and MySQL it
// works, but the key is committed at once and outlives a rollback.
//
// Keyring.In takes a view of the Store in the host's transaction (sqlkeys'
// Store.Tx) and returns a TxKeyring, whose Encrypt, Decrypt, EncryptScope
// and DecryptScope read and create keys through it, so a new key commits
// or rolls back with the host's row:
//
//	tx, _ := db.BeginTx(ctx, nil)
//	ct, err := keyring.In(store.Tx(tx)).Encrypt(ctx, "user-42", email, []byte("ann@example.org"))
//	_, err = tx.ExecContext(ctx, "INSERT INTO users (id, email) VALUES (?, ?)", "user-42", ct)
//	err = tx.Commit()
//
// A key created or read through the transaction is never cached: had the
// host rolled back, the key would never have existed, and values
// encrypted under a cached copy of it would be lost when the entry
// expired. A key already in the cache (committed, read by the Keyring
// itself) is used as it is. Shred, Rotate, Revive and Rewrap are the
// Keyring's alone and unchanged. (One view type rather than a Tx twin of
// each method: four field operations need it, and each keeps its name.)
//
// # Storage
//
// memkeys keeps records in memory (the fake for tests); sqlkeys in
// PostgreSQL, MySQL/MariaDB or SQLite. A host's own Store passes
// keystest.RunStoreTests, which opens two handles on one storage to race
// them as two instances would. A Store may also implement TombstoneReader
// (memkeys and sqlkeys do), so that an export names the time of a shred,
// BatchUpdater, so that Rewrap writes a page at once, and BatchGetter, so
// that SubjectKeys reads a batch of subjects in one round trip.
//
// New creates the Keyring's own keys (the key of the Refs and the master
// key of the blind indexes) only in a Store that holds no subject's or
// scope's Ref, live or shredded (Store.Refs lists both). A Store that lost
// those keys but still holds keys or tombstones (a partial restore, rows
// deleted by hand) is refused with ErrInvalid (Field "store") and nothing
// is written: new keys would change every Ref, no tombstone would match
// any more, and a shredded subject would silently get a fresh key.
// Restore the Keyring's own rows (they are wrapped by the KEK like any
// key) or the whole Store.
//
// # Errors
//
// Methods return *Error (Op, Field and cause, for errors.As) wrapping
// ErrInvalid, ErrNotFound, ErrConflict, ErrShredded, ErrRestricted (which
// wrap the root package's sentinels) or ErrDecrypt. Field names the input
// or option at fault: "ctx" for a nil context (always an error, never a
// panic), "subject", "subjects[i]" (SubjectKeys: the i-th subject),
// "scope", "field", "actor", "purpose", "store" (a nil Store,
// Keyring.In(nil) included), an option's name such as "WithGuard",
// or "kek" when a stored record does not open with the KEKs the Keyring
// holds. Texts read "crypto <op>: <field>: <cause>", e.g.
// "crypto new: WithGuard: invalid input: nil guard" or
// "crypto decrypt: key shredded". No error carries a subject ID, a
// plaintext, key material, a Ref or a rejected value.
//
// # Testing
//
// Use memkeys.New() and EphemeralKEK in a host's tests: a real Keyring, with
// nothing to set up. Passwords are hashed by the subpackage crypto/password.
package crypto
