// Package erasure is the request engine: every data-subject request's
// lifecycle from receipt to proof, with the deadlines of Art. 12(3),
// identity checks (Art. 12(6)), the fan-out of an erasure (Art. 17) to
// every place that holds the subject's data, crash-safe workers on any
// number of instances, and replay after a backup restore.
//
// # Requests
//
// Every kind of request (gdpr.RequestKind: access, rectification,
// erasure, restriction and its lifting, portability, objection) has one
// lifecycle here, so one queue and one dashboard hold them all. An erasure
// runs its Targets; every other kind runs the gdpr.RequestHandler the host
// registers for it (WithHandler): package export answers access and
// portability, and the restriction, objection and rectification handlers
// follow the same contract. No package of the module imports another: they
// meet through the root's contracts.
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
// records (dataset "dsar_requests"): erasing deletes the subject's closed
// requests and reports the open ones as kept on Art. 17(3)(b). Do not
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
// erasure.step per attempt (attrs step, outcome, count, attempts).
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
// The Engine keeps requests and leases in a Store, verification codes in
// a CodeStore and the journal in a Journal. memerasure holds them in
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
// ErrInvalidReceipt, ErrNotify), which wrap the root's where they mean the
// same. No error text carries a subject ID or any other personal data.
//
// # Testing
//
// A host's tests run the Engine over memerasure's stores with WithClock
// to cross deadlines, backoffs and lease expiries. erasuretest holds the
// conformance suites of Store, CodeStore and Journal for a host's own
// stores, and RunTargetTests, which checks a host's target for idempotence
// and isolation.
package erasure
