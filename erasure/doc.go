// Package erasure is the request engine: every data-subject request's
// lifecycle from receipt to proof, with the deadlines of Art. 12(3),
// identity checks (Art. 12(6)), the fan-out of an erasure (Art. 17) to
// every place that holds the subject's data, restriction (Art. 18) with a
// check for every hot path, objection (Art. 21), rectification (Art. 16),
// the notices to every recipient (Art. 19), crash-safe workers on any
// number of instances, and replay after a backup restore.
//
// # Requests
//
// Every kind of request (gdpr.RequestKind: access, rectification,
// erasure, restriction and its lifting, portability, objection) has one
// lifecycle here, so one queue and one dashboard hold them all. An erasure
// runs its Targets; a restriction, its lift, an objection and a
// rectification are carried out by the Engine itself (below); access and
// portability run the gdpr.RequestHandler the host registers for them
// (WithHandler; package export answers both). No package of the module
// imports another: they meet through the root's contracts.
//
// A Request has a UUIDv7 ID, its kind, subject, channel, time of receipt,
// its gdpr.Deadline (one month, counted in the controller's location,
// WithLocation and WithCalendar, extended by Extend once, by one or two
// months, within the first month and with reasons the subject is told),
// its State and the history of every transition with actor and time. The
// states and the W3C DPV request statuses they map to:
//
//	received                   dpv:RequestInitiated
//	awaiting_identity          dpv:RequestRequiresAction
//	verified, in_progress      dpv:RequestAccepted
//	completed                  dpv:RequestFulfilled
//	completed_with_exemptions  dpv:RequestFulfilled (the exemptions are the reasons of Art. 12(4))
//	rejected                   dpv:RequestRejected (RejectReason: Art. 12(5), 12(6), duplicate)
//	cancelled                  dpv:RequestUnfulfilled (withdrawn by the subject before work started)
//	failed                     dpv:RequestActionDelayed (a person must look, then Retry)
//
// CanMove gives the legal transitions; any other is an error wrapping
// ErrIllegalTransition and writes nothing. Submit returns the open request
// of the same kind for the same subject instead of a second one, and
// WithIntake may refuse at intake (a rate limit).
//
// # Notices
//
// The subject is told of an extension (with the reasons for the delay,
// Art. 12(3)), of a rejection (with the reasons, the right to lodge a
// complaint with a supervisory authority, Art. 77, and to a judicial
// remedy, Art. 79, as Art. 12(4) asks) and of a completion (with any
// exemptions, their grounds and the same remedies for the part not
// carried out), through the host's Notifier. The Engine calls the Notifier
// before it writes the change: a failed notice leaves the request as it
// was (ErrNotify), and a notice may be sent twice after a crash, so
// Notifiers are idempotent by Notice.ID.
//
// # Restriction
//
// A restriction request (Submission.Ground, one of the four grounds of
// Art. 18(1); Purposes, or none for all processing) places a Restriction,
// and Check(ctx, subject, purpose, allowance) answers on every hot path
// whether the subject's data may be processed: restricted data may be
// stored, and otherwise processed only on a ground of Art. 18(2) that the
// caller gives (gdpr.AllowConsent, AllowLegalClaims, AllowOtherPerson,
// AllowPublicInterest; AllowStorage for storage), which is recorded.
// Processing for no stated purpose is covered by every restriction and
// objection: give the purpose (gdpr.WithPurpose).
// Engine.Guard has the signature of crypto's Guard:
//
//	keys, _ := crypto.New(ctx, keyStore, kek, crypto.WithGuard(engine.Guard))
//	ctx = gdpr.WithPurpose(ctx, "support")
//	_, err := keys.Decrypt(ctx, subject, field, ct)                // crypto.ErrRestricted
//	ctx = gdpr.WithAllowance(ctx, gdpr.AllowLegalClaims)
//	pt, err := keys.Decrypt(ctx, subject, field, ct)               // allowed, and recorded
//
// Check answers from a cache of every restriction in force, keyed on
// first sight by the subject ID in memory (a warm check costs about a map
// lookup, see BENCHMARKS.md). The cache is read again from the Store after
// WithRestrictionCache (default 1s), in the background; past twice that a
// Check waits for a fresh read, and refuses if the Store cannot be read.
// So a restriction placed on one instance is honoured by every instance
// within twice the cache time, and the request completes — the subject is
// told their data are restricted — only once that time has passed.
//
// A lift is a request of its own (gdpr.KindLiftRestriction, with the
// restriction's ID or none for all). It needs a Notifier: its first step
// tells the subject (NoticeLifting, Art. 18(3)) and records that it did,
// and only its second step, after that record, lifts the restrictions the
// notice named: at once, or once WithLiftDelay has passed since the
// notice, for the subject to answer before processing resumes.
//
// # Objection
//
// An objection request names its purposes. With a Register
// (WithRegister), a purpose on legitimate interests or a public task is
// objected to under Art. 21(1): Check refuses it (but for
// gdpr.AllowLegalClaims, which Art. 21(1) itself admits, and storage)
// until staff record compelling legitimate grounds with Override, giving
// the reference of their assessment and the reasons the subject is told
// (NoticeOverridden, with the remedies); the override is audited before
// it is written, and a call that failed to tell the hook or the subject
// is repeated with the same reference. A
// purpose the Register marks as direct marketing is objected to under
// Art. 21(2): absolutely, profiling related to it included, never
// overridden (ErrAbsolute). An objection with DirectMarketing and no
// purposes covers every direct-marketing purpose of the Register, present
// and future. An objection to a purpose on any other basis (consent: that
// is a withdrawal) is refused at intake. WithObjectionHook is told of each
// purpose objected to and each override, to record them in the consent
// ledger (consent.Ledger.Object) so that its decisions deny them too.
//
// # Rectification
//
// The host registers a Rectifier per place that holds correctable data,
// naming its fields (WithRectifiers). A rectification carries
// Corrections (target, field, the value the subject supplies); an unknown
// target or field is refused at intake (ErrUnknownField). The value is
// personal data: it is sealed at intake, before anything is written, with
// AES-256-GCM (Tink) under a key derived from the subject key by
// HKDF-SHA256 and bound to the request, target and field, handed to the
// Rectifier when its step runs, and its ciphertext is dropped in the same
// write that records the step (and from any request that closes). A
// correction marked Supplement is a supplementary statement for
// incomplete data (Art. 16, second sentence): it is kept, sealed, as a
// Statement, which Statements and ExportSubject open for the subject.
//
// # Recipients
//
// With WithRecipients, every rectification, erasure and restriction tells
// each recipient of the subject's data (Art. 19): the actual recipients
// the host records (gdpr.Disclosures; CJEU C-154/21) and the Register's.
// They are listed in the request's first step, before any target runs,
// and told in steps of their own after the request's work, each with its
// outcome recorded: notified, not notified (the RecipientNotifier said
// ErrImpossible or ErrDisproportionate, with its reason), or failed and
// retried with backoff like a target. A recipient is told of an erasure
// with the categories erased, and not told when every datum was kept (a
// legal hold), the reason recorded; a disclosure
// record without a usable name is on the request as not notified. The
// completion notice lists them
// (Notice.Recipients), so the subject can be told who was informed
// (Art. 19, second sentence). A recipient's own reference for the
// subject, which the notice carries, is dropped when the request closes.
// Package erasure/webhook delivers the notices as signed Standard
// Webhooks, and verifies them on the receiving side.
//
// # Identity
//
// WithVerifier makes every request wait in awaiting_identity until the
// Verifier confirms it (Engine.ConfirmIdentity), or the host confirms it
// by its own means, a fresh sign-in (Engine.Verified). CodeVerifier is the
// ready one: an 8-digit code from crypto/rand sent over a channel already
// on record, kept only as an HMAC, compared in constant time, with a time
// to live, an attempt limit counted before the comparison, and reminders.
// Nothing here asks for identity documents: verification stays
// proportionate (EDPB Guidelines 01/2022, section 3.3).
//
// # Targets
//
// The host registers every place that holds personal data as a Target, a
// gdpr.Eraser with a name: its own tables, the consent ledger
// (consent.Ledger), the key store's shred (crypto.Keyring), the audit
// log's pseudonyms (audit.Log), its processors' APIs. Targets run in the
// order given, and the outcome of each step — erased (with a count),
// nothing found, retained (with the Art. 17(3) ground and until when) or
// failed (with an error text from which the subject ID is cut) — is
// written before the next step starts. Put the consent ledger before the
// audit log, so the ledger's owed audit records are written (or dropped)
// before the log forgets the subject.
//
// Before each erasure the Engine asks the legal holds (WithLegalHolds,
// gdpr.LegalHolds; package retention keeps them): a target whose data a
// hold covers is not called, and its step is retained on ground
// Art. 17(3)(e) until the hold's end. A failing step is tried again with
// exponential backoff and jitter (WithRetry); past the limit the request
// is failed, the alert hook fires (WithAlert), and an operator's Retry
// resumes at the first unfinished step. No failed target is ever skipped.
//
// A request is completed only once the erased data is unreadable on every
// instance: a target that reports a latency (gdpr.ErasureLatency — the
// crypto Keyring's cache TTL, within which another instance may still hold
// the subject's key) is waited out before the state changes. The wait is a
// NextAt, not a sleep: no worker is held.
//
// # Workers
//
// Run leases due requests and works on them; any number of Engines may
// Run over one Store. A lease is per subject, so the requests of one
// subject run one at a time; it is renewed by a heartbeat at a third of
// its time to live (WithLease), and a worker that dies is taken over once
// it expires, at the first unfinished step. The SQL store leases with
// SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL and MySQL 8 / MariaDB
// 10.6, and through SQLite's single writer. A worker that loses its lease
// writes nothing more (ErrLeaseLost). A step that succeeded is recorded
// even if the worker's context ends just then, so stopping a worker
// between steps never runs a target twice; stopping it within a step may,
// which the Eraser contract (idempotence) allows.
//
// An existing job system can drive the same engine instead of Run:
// Process(ctx, id) is idempotent, and a job's arguments carry the request
// ID, never personal data. With River:
//
//	type ProcessArgs struct{ RequestID string `json:"request_id"` }
//
//	func (ProcessArgs) Kind() string { return "dsar_process" }
//
//	type ProcessWorker struct {
//		river.WorkerDefaults[ProcessArgs]
//		Engine *erasure.Engine
//	}
//
//	func (w *ProcessWorker) Work(ctx context.Context, job *river.Job[ProcessArgs]) error {
//		r, err := w.Engine.Process(ctx, job.Args.RequestID)
//		if errors.Is(err, erasure.ErrLeased) {
//			return river.JobSnooze(10 * time.Second)
//		}
//		if err != nil {
//			return err // River retries with its own backoff
//		}
//		if r.State.Open() && !r.NextAt.IsZero() {
//			return river.JobSnooze(time.Until(r.NextAt)) // a backoff, or the key caches' latency
//		}
//		return nil
//	}
//
// and insert a ProcessArgs{RequestID: r.ID} job after Submit (and after
// Verified, ConfirmIdentity or Retry).
//
// # The Engine's own data
//
// Once a request is closed its subject ID is gone: only SubjectRef, a
// keyed HMAC of it under the subject key given to New, remains, so the
// history stays for accountability (Art. 5(2)) and can be linked to no
// one without the key and the ID. Closed requests are deleted after the
// accountability period (WithAccountability; Purge, which Run calls
// hourly). The Engine is itself a gdpr.Eraser and gdpr.Exporter of its
// records (datasets "dsar_requests", "dsar_restrictions" and
// "dsar_statements"): erasing deletes the subject's closed requests, and,
// once none is open, their restrictions and statements, and reports the
// open ones as kept on Art. 17(3)(b). An erasure that keeps nothing also
// deletes the subject's restrictions and statements. Do not
// make the Engine a Target of its own erasures.
//
// Audit events (WithRecorder) are recorded before the change they
// describe is written, so a crash leaves at worst an event for a change
// not made, never a change without its event; a Recorder that fails stops
// the change. They carry no Subject: the Resource is
// "dsar_request/<id>", so the trail gains no fresh link to a person it has
// erased. The actions are erasure.request.received, .verified,
// .extended, .rejected, .cancelled, .retried, .completed, .purged and
// .erased (the Engine's own records of a subject), and
// erasure.step per attempt (attrs step, outcome, count, attempts), and
// for the kinds the Engine carries out itself erasure.restriction.placed,
// .lift_notified, .lifted, .allowed (processing under an allowance of
// Art. 18(2)) and .erased, erasure.objection.recorded and .overridden,
// and erasure.rectified (attrs target, field; never the value).
//
// # Journal and replay
//
// A backup restore brings erased subjects back. The Journal, kept apart
// from the main data (FileJournal in a file on other storage,
// sqlerasure.Journal in another database, memerasure.Journal for tests),
// records per completed erasure the subject's keyed reference, the time
// and the targets, and nothing in clear. After a restore, Replay takes the
// subject IDs the host finds in the restored data, matches them against
// the journal, and runs those erasures again.
//
// # Receipts
//
// Receipt gives the subject a signed statement of a closed request:
// targets, outcomes, counts, exemptions with their grounds and end dates,
// and times, as a compact JWS signed with Ed25519 (WithReceiptKey), which
// VerifyReceipt checks offline with the public key. It names no subject.
//
// # Storage
//
// The Engine keeps requests, leases, restrictions, objections and
// supplementary statements in a Store, verification codes in a CodeStore
// and the journal in a Journal. memerasure holds them in
// memory (the fake for a host's tests); sqlerasure in PostgreSQL,
// MySQL/MariaDB or SQLite, on the module's shared SQL base. The subject
// ID in clear is in a request's row only while it is open.
//
// # Errors
//
// Every error is an *Error with the operation, the field at fault and a
// cause wrapping one of the sentinels (ErrInvalid, ErrNotFound,
// ErrConflict, ErrIllegalTransition, ErrUnknownKind, ErrRefused,
// ErrLeased, ErrLeaseLost, ErrInvalidCode, ErrTooManyAttempts,
// ErrInvalidReceipt, ErrNotify, ErrUnknownField, ErrAbsolute), which wrap
// the root's where they mean the same. Check refuses with ErrRestricted or
// ErrObjected (which wraps it), both matching gdpr.ErrRestricted. No error text carries a subject ID or any other personal data.
//
// # Testing
//
// A host's tests run the Engine over memerasure's stores with WithClock
// to cross deadlines, backoffs and lease expiries, and with
// WithRestrictionCache(0) so that a restriction is seen at once.
// erasuretest holds the conformance suites of Store (restrictions and
// statements included), CodeStore and Journal for a host's own stores,
// and RunTargetTests, which checks a host's target for idempotence and
// isolation. gdprtest/fake wires an Engine to a consent ledger, a keyring
// it guards and an audit trail in one call.
package erasure
