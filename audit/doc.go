// Package audit is a tamper-evident audit trail of access to and changes of
// personal data: who did what to whose data, why and when (GDPR Art. 5(2)
// accountability, Art. 30 records, Art. 32 security of processing), that
// an insider with write access to the database cannot quietly alter, that
// holds no personal data in clear, and that survives the erasure of the
// subjects it names.
//
// A [Log] is a Merkle tree over its entries, as in Certificate
// Transparency (RFC 6962), built with golang.org/x/mod/sumdb/tlog: each
// entry's canonical encoding is a leaf, and the root hash commits to every
// entry and its position. The Log signs checkpoints of the tree (size and
// root) in the C2SP tlog-checkpoint format, as signed notes
// (golang.org/x/mod/sumdb/note; Ed25519 by default, any note.Signer such
// as a KMS or HSM), and publishes them to an [Anchor] outside the
// database. Then:
//
//   - [Log.Verify] recomputes every leaf and the root and compares them
//     with the stored hashes and the checkpoints. It names each altered,
//     missing, inserted or reordered entry by its index, flags none of the
//     untouched ones, and detects a log cut short behind a checkpoint. It
//     also checks the query columns a Store keeps beside each body (time,
//     subject, actor: what queries select on, and what the hash does not
//     cover) against what the body says, and names each entry moved to
//     another subject, actor or time ([ColumnMismatch]).
//   - [Log.ProveEntry] gives the inclusion proof of one entry and
//     [Log.ProveConsistency] the proof that today's tree extends an older
//     checkpoint; anyone checks them with [CheckEntry] and
//     [CheckConsistency] (tlog.CheckRecord and tlog.CheckTree) without
//     reading the log.
//
// A hash chain, the usual alternative, breaks at the first redaction and
// cannot tell a cut-off tail from the end of the log; the tree does
// neither.
//
// # Entries and pseudonyms
//
// Record takes a gdpr.Event. The log never stores its Subject, nor the ID
// of a staff member or subject acting, in clear: each is replaced by a
// [Pseudonym], HMAC-SHA-256 under the Log's pseudonym key of the ID and a
// random salt kept for that ID in a separate table (created, for an ID the
// Log meets for the first time, in the transaction of the batch that
// first names it: see [SaltReader]). Queries for a subject
// ("who looked at my data", Art. 15) or an actor compute the pseudonym
// again. [Log.EraseSubject] deletes the salt: from then on nothing in the
// log can be linked to that subject, by anyone, key or not, while every
// entry and the tree still verify. That is how the log meets the erasure
// contract (gdpr.Eraser) without breaking its hashes. [Log.ForgetActor]
// does the same for a staff member. Neither records an entry: nothing
// written by the erasure names the subject or the staff member.
//
// Erasure unlinks what is in the log; it does not stop what comes after.
// An event recorded after a subject's erasure that names them again — as
// its Subject, or as a subject actor (gdpr.ActorSubject with their ID) —
// gets a new salt, so a new pseudonym: unrelated to the entries from
// before, but linking this entry and every later one to the subject
// again, until EraseSubject is called again. So a component records the
// events of its own erasure (a key shredded, a ledger erased) without a
// Subject and by a system or staff actor; an event with no Subject
// creates no salt and links no one. Then erasing through every
// component, in any order, leaves nothing in the trail linked to the
// subject.
//
// Each entry also carries a random 16-byte nonce, so the hash of an entry
// whose content is gone confirms no guess of what it said. [Log.Redact]
// drops one entry's body and nonce (an entry recorded in error, a court
// order) and keeps its leaf hash, so the tree and every other entry still
// verify; it first appends an audit.redact entry naming the index and the
// reason, and Verify reports a body that vanished without one.
//
// An entry's fields other than the pseudonyms — action, purpose,
// categories, resource, attributes — are not personal data by contract
// (gdpr.Event): put IDs and keys there, never values. They are stored as
// given.
//
// # Writing
//
// Record takes who acts and why from the call's context when the event
// leaves them out: an event with a zero Actor takes gdpr.ActorFrom(ctx)
// and one with an empty Purpose takes gdpr.PurposeFrom(ctx), before it is
// checked (gdpr.WithActor, gdpr.WithPurpose; a host sets them once, in
// the middleware that authenticates the caller). An event's own actor and
// purpose win. An event without a time gets the Log's clock's (WithClock).
//
// Appends from many goroutines are batched into one Store transaction
// (group commit): while one batch commits, the next gathers, so throughput
// grows with load and a lone Record is not delayed. Appends from many
// processes are serialised by the Store's append lock, so there is one
// tree and each index is written once. Record returns once its entry is
// durable. [Log.AppendTx] writes inside the caller's own database
// transaction instead (sqlaudit.Store.Tx), so the entry commits or rolls
// back with the change it records.
//
// # Reading
//
// [Log.Entries] reads a page at a time, in index order: [Filter].Limit
// entries, [DefaultPage] (100) when it is 0, at most [MaxPage] (1000);
// the next page starts at From, the last index seen plus one. A limit
// out of range is refused, never cut down. [Log.Verify] reads the whole
// log, VerifyOptions.PageSize entries at a time (default 4096), and
// [Log.ExportSubject] a subject's entries MaxPage at a time.
//
// The Store finds entries by their query columns, which an insider can
// edit; the answer is decoded from the hashed body. Entries and
// ExportSubject check every row the Store returns — its columns against
// its body, its body against the filter — and refuse the call with an
// error wrapping ErrTampered, naming the index, if one disagrees: an
// answer to "who accessed my data" (Art. 15) never holds another
// subject's entry, and never silently drops one that was moved into the
// query. A row moved out of it (its subject column set to another
// subject's) the Store does not return at all; Verify names it, and a
// query of the subject it was moved to fails. An answer is therefore
// complete for a log that Verify passes: run Verify on a schedule, and
// before an answer that must be complete if the last run is older than
// you accept. The check costs a read of each returned body's first bytes.
//
// [Log.Search] and [Log.SubjectTokens] make the Log a gdpr.Trail, through
// which package breach finds the subjects a personal-data breach concerns
// (Art. 33(3)(a), Art. 34). Search yields the entries of a window
// (gdpr.TrailQuery: Since and Until required; an actor, a resource
// prefix, categories, a purpose and actions where set), read MaxPage at
// a time and checked as Entries checks them, each with its subject's
// pseudonym as a token in place of the ID. SubjectTokens gives candidate
// IDs' tokens, nil for those without a salt (never recorded, or erased),
// and creates no salt and writes nothing: a list of candidates is
// matched against the trail without leaving a trace of those it never
// held. A Store that is a [SaltLookuper] reads their salts 1000 at a
// time.
//
// # Options
//
// [New] takes the store, the pseudonym key, the signer and the verifier
// in that order, and options: [WithOrigin], [WithAnchor],
// [WithCheckpoints], [WithMaxBatch], [WithPseudonymCache], [WithClock]
// and [WithErrorHandler], each documenting its default. New checks every
// one: a nil or out-of-range argument is refused with an [*Error] whose
// Op is "new" and whose Field names the option, wrapping ErrInvalid,
// rather than failing later in a background goroutine.
//
// # Storage
//
// A [Store] keeps the entries, the stored hashes of the tree
// (tlog.StoredHashIndex layout), the head, the signed checkpoints and the
// salts. memaudit keeps them in memory (the fake for tests); sqlaudit in
// PostgreSQL, MySQL/MariaDB or SQLite. The pseudonym key and the signing
// key live outside the database; a copy of the database alone can neither
// link pseudonyms to IDs nor sign a checkpoint.
//
// # Errors
//
// Errors wrap the sentinels [ErrInvalid], [ErrNotFound], [ErrConflict],
// [ErrTampered] and [ErrClosed] for errors.Is; the first three wrap the
// root package's gdpr.ErrInvalid, gdpr.ErrNotFound and gdpr.ErrConflict
// too. They come in an [*Error] for errors.As, naming the operation (Op:
// "new", "record", "entries", "verify", …) and, where one argument, field
// or option is at fault, its name (Field: "ctx", "key", "Limit",
// "WithClock", …). The text reads "audit <op>: <field>: <cause>", e.g.
// "audit record: ctx: invalid input: nil context", and names the package
// once: a Store's own *Error under a Log operation reads "audit record:
// append: memaudit: conflict: …". No error text holds an ID, a
// pseudonym's input, a rejected value or an entry's content.
//
// ErrTampered means evidence: hashes, a body, a column or a checkpoint
// that disagree, or a hash under a checkpoint that is not stored. A Store
// that fails (a timeout, a killed connection, a cancelled context),
// during a consistency proof in New, Checkpoint or Close as anywhere
// else, is returned wrapped, with errors.Is true for the Store's error
// and false for ErrTampered; try again.
//
// A nil context.Context is refused by every function and method that
// takes one, with an *Error (Field "ctx") wrapping ErrInvalid; nothing is
// written, and Close with a nil context closes nothing.
//
// # Secrets
//
// A [*Log] holds the pseudonym key and the signer: under every fmt verb
// (%v, %+v, %#v, %s, %x, %q, …) it prints only "audit.Log(<origin>)".
// The signer NewSigner returns keeps its key out of fmt's reach too. Keep
// the keys themselves (the bytes given to New, the skey of GenerateKey)
// out of logs.
//
// # Testing
//
// Use memaudit.New as the Store in unit tests. A Store of your own proves
// itself with audittest.RunStoreTests, and audittest.RunTamperTests checks
// that verification over it catches every change an insider can make.
//
// # Limits
//
// An insider who can write the database can append entries, like the
// application can; the log records that they did, not that they should
// have. Between checkpoints the newest entries can be cut or rewritten
// (hashes and head recomputed to match) without a trace in the database.
// A running Log notices it for the entries it wrote itself: it keeps in
// memory the size and root it last committed, and refuses with
// ErrTampered to sign a checkpoint (Checkpoint, the periodic one, Close)
// or to append over a tree that does not extend them, and keeps refusing
// until it is replaced: find out what happened first. A Log opened
// afterwards knows only the checkpoints, and so does Verify: sign
// checkpoints often enough (WithCheckpoints) for the risk you accept, and
// anchor them. After a backup restore the log is shorter than its anchor
// and New refuses it; start a new log (a new origin or table prefix) and
// keep the old one's last checkpoint with it.
package audit
