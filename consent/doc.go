// Package consent is an append-only ledger of consent: every choice a data
// subject makes about a purpose of processing is an immutable Event, and the
// state of their consent at any moment is derived from those events.
//
// It answers the GDPR's demands on consent:
//
//   - Art. 4(11), 7(1): consent must be demonstrable. Every event records its
//     time, actor, the notice ID and version shown with the SHA-256 of its
//     text, the method and channel, and evidence (a truncated network prefix,
//     a browser family — never raw personal data; see Evidence). Decide
//     returns the event that decided, and Receipt gives the subject a signed
//     Kantara Consent Receipt 1.1 of a consent given, with every field the
//     specification requires (the controller's contact, postal address,
//     e-mail and phone among them) and a consentType that says how the
//     consent was given. Withdrawals, refusals and objections get no
//     receipt: the specification's receipt records authority granted.
//   - Art. 7(3): withdrawal as easy as giving. Withdraw needs nothing a
//     Give did not; signed unsubscribe tokens (Unsubscriber) work from a link
//     in a bulk message without a database lookup and carry no subject ID in
//     clear; per-channel withdrawal ("no more SMS") is a Contact scope.
//   - Double opt-in (ePrivacy practice, and proof that the address belongs
//     to the subject) with Request and Confirm.
//     Confirmation tokens are single-use, unguessable (256-bit secrets), kept
//     only as hashes and compared in constant time.
//   - Art. 13, 14: notices are versioned (Publish). A material new version
//     makes consents given under older ones stale: decisions deny them and
//     StaleSubjects lists who to ask again.
//   - Art. 17, 15, 20: the Ledger is a gdpr.Eraser and a gdpr.Exporter.
//   - Art. 21(2)–(3): objection to direct marketing (Object), per purpose and
//     per channel, which decisions always honour — after an erasure too:
//     with a suppression key (WithSuppressionKey), EraseSubject keeps a keyed
//     hash of each standing direct-marketing objection and withdrawal (no ID
//     in clear), reported as an exemption on the ground of Art. 17(3)(b),
//     and Decide denies with ReasonSuppressed until the subject consents
//     again. An old unsubscribe link of an erased subject writes only such a
//     hash: nothing that names them. See Suppressions.
//   - ePrivacy Directive 2002/58/EC Art. 13: direct marketing by e-mail,
//     SMS and the other electronic channels (Contact.Electronic) needs prior
//     consent (Art. 13(1)), or, for e-mail and SMS to an existing customer,
//     the soft opt-in of Art. 13(2), which RecordSoftOptIn records with its
//     evidence: the sale in whose context the detail was obtained, what was
//     sold, and the notice that offered the opt-out. Decisions deny the
//     electronic channels of a direct-marketing purpose that does not rest
//     on consent unless one of them is on record, and an objection or
//     unsubscribe always wins over a soft opt-in.
//
// # Decisions
//
// Decide(Query{Subject, Purpose, Contact}) finds the latest event for the
// subject and purpose that applies to the channel asked about (Event.Applies):
// events for all channels always apply; an event for one channel applies to
// that channel, and, when it denies (a withdrawal, refusal, expiry or
// objection), to a question about the purpose as a whole too. Pending double
// opt-ins do not count. "Latest" is the order in which the ledger recorded
// the events (Seq), not their timestamps: the clocks of many application
// instances skew, and a withdrawal recorded after a consent must win over
// it. A decision for now counts every event; a decision for a past moment
// (Query.At) leaves out events stamped after it.
//
// A Given consent allows unless it has expired, its notice has a newer
// material version (ReasonStale), or the Register asks for explicit consent
// (Art. 9(2)(a)) and it is not explicit (ReasonNotExplicit); every other
// outcome denies, with a Reason. With a gdpr.Register (WithRegister),
// purposes are checked against it, and a purpose resting on another basis
// (contract, legitimate interests…) is allowed unless the subject objected
// (and no OverrideObjection followed, Art. 21(1)). One Store query per
// decision; two when a suppression list (WithSuppressionKey) must be asked
// about direct marketing that would be allowed, which then denies with
// ReasonSuppressed (see Suppressions).
//
// Direct marketing (Activity.DirectMarketing) that rests on another basis
// is allowed on an electronic channel only by a soft opt-in for that channel
// (ReasonSoftOptIn) or a current consent from when the purpose rested on
// consent; with neither, Decide denies with ReasonNoOptIn (ePrivacy
// Art. 13(1)). Calls by a person (Phone) and Post follow the basis, with the
// objection always winning; Contact says which law governs each channel.
//
// Ask about the channel you will use: Contact = Email before sending an
// e-mail. A question without a channel is conservative: a withdrawal on any
// one channel denies it. For direct marketing that does not rest on
// consent, it says whether the purpose may be pursued at all, never that an
// electronic message may be sent.
//
// # Evidence
//
// Evidence holds no raw personal data, and the Ledger enforces it rather
// than trusting the host: an IP address only as its /24 or /48 network
// (TruncateIP), a user agent only as a browser and OS family
// (UserAgentFamily, "Firefox/Linux"), a locator only as a path, route
// pattern or reference without query string or fragment, and attributes
// only as short tokens. A value that breaks a rule, or that looks like an
// e-mail address, an IP address or a telephone number, is refused with
// ErrInvalid naming the field, and nothing is written; the Ledger never
// rewrites evidence silently. The exact rules are on Evidence's fields.
// Evidence given to Confirm and Unsubscribe is checked the same way.
//
// # Storage
//
// A Ledger works over a Store: memconsent keeps events in memory (the fake
// for a host's unit tests), sqlconsent in PostgreSQL, MySQL/MariaDB or
// SQLite. The Store is append-only except for DeleteSubject, which
// Ledger.EraseSubject calls, its audit outbox (AuditOutbox, see # Audit),
// and its suppression list (Suppressions), which DeleteSubject leaves
// alone. Times are kept in UTC to the microsecond; IDs are UUIDv7.
//
// Suppression entries are HMAC-SHA256 under the host's key of the subject,
// purpose and channel, with the time of the stop: kept as long as the
// controller markets at all, they are matched only by one who holds the key
// and the subject ID. Keep the key out of the database (WithSuppressionKey
// says how to rotate it).
//
// # Errors
//
// Methods return *Error (for errors.As: Op, Field, cause) wrapping a
// sentinel for errors.Is: ErrInvalid (bad input; nothing was written) and
// the more precise ErrUnknownPurpose, ErrUnknownNotice, ErrNotConsentBased,
// ErrStaleNotice, ErrNotOverridable, ErrObjectionStands, ErrInvalidToken,
// ErrInvalidReceipt and ErrTokenExpired, which all wrap it; ErrNotFound; ErrConflict and the
// ErrTokenUsed and ErrSuperseded that wrap it. ErrInvalid, ErrNotFound and
// ErrConflict wrap the root package's gdpr.ErrInvalid, gdpr.ErrNotFound and
// gdpr.ErrConflict.
//
// An error reads "consent <op>: <field>: <cause>", naming each package once:
// "consent give: purpose: unknown purpose: \"newsletter\"", or, for an
// option New rejects, "consent new: WithClock: invalid input: nil clock".
// Field is the input field ("purpose", "notice.version"), "ctx" for a nil
// context or a bad actor or purpose in it (every method that takes a
// context refuses a nil one with ErrInvalid), or the option's name. No
// error text holds a subject ID, evidence or any other personal-data
// value, in this package, memconsent or sqlconsent: a rejected value is
// quoted only when it looks like a key (^[a-z0-9_.-]{1,40}$) and not like
// personal data (no dotted quad, no run of 9 or more digits; a UUID is
// fine), by the rule every package of the module shares (errs.Show, as the
// root package's errors use it).
//
// # Audit
//
// With WithRecorder, every event appended, notice published, erasure and
// export is recorded. A choice's audit event names the event's actor
// (Choice.Actor, else the actor of the context set by gdpr.WithActor, else
// the subject) and its purpose; events of calls without a Choice name the
// context's actor, else the system actor "consent", and the context's
// purpose (gdpr.WithPurpose). Confirm and Unsubscribe always record the
// subject, whose token proves the choice.
//
// Every event the ledger accepts gets its audit record, at least once,
// whatever happens to the caller's context or process between the write
// and the record:
//
//   - Before anything is written, every value the record will carry is
//     checked against the audit trail's limits (package audit's Entry): a
//     system actor's name of at most 128 bytes, attribute values such as
//     the method and the notice ID of at most 256 bytes, a notice ID that
//     fits the resource "notice/<ID>" (at most 249 bytes), none with a C0,
//     DEL or C1 control character. A value the trail would refuse is
//     refused with ErrInvalid and the field named ("method", "actor",
//     "notice.id", "id", or "ctx" for the context's actor), so no event
//     stands that its record cannot follow.
//   - Store.Append writes the event and an audit marker for it atomically:
//     in one statement or transaction in sqlconsent, under one lock in
//     memconsent (AuditOutbox). After the write, the Ledger records the
//     event with the caller's context values but not its cancellation
//     (context.WithoutCancel), bounded by AuditTimeout, and clears the
//     marker once the Recorder accepted it. A caller that gives up after
//     the write no longer drops the record.
//   - A marker left behind — the Recorder failed or timed out, the process
//     crashed, or the commit's acknowledgement was lost so the caller got
//     an error for a write that happened — is due AuditGrace after its
//     event, and Ledger.DrainAudit records it then. Call DrainAudit when an
//     instance starts and periodically (every minute or so); instances may
//     drain at once, each claims other markers.
//   - Delivery is at least once: a crash between the Recorder's acceptance
//     and the marker's removal records the event again on a later drain.
//     The record is rebuilt from the stored event, identical, and its
//     Resource names the consent event ("consent_event/<ID>"), so a
//     duplicate is recognisable. Erasure removes the markers with the
//     events (DeleteSubject), so an erased event's record is never made
//     afterwards.
//
// The outbox lives in the consent Store rather than in one transaction
// with the audit trail's: the trail is often another database (or another
// service), a Recorder is an interface that takes no transaction, and a
// shared transaction would hold the trail's append lock for the length of
// every consent write. Nor does New drain: New takes no context and does
// no I/O (a Ledger is often built before the Store is migrated, and a
// trail that is down must not stop an instance from starting), so the
// host calls DrainAudit with a context of its own. Notice publications,
// erasures and exports are recorded with the same detached context but
// have no marker: their Recorder error is returned to the caller, who can
// repeat the call.
//
// An audit event about an erasure (consent.erased), or about a subject
// of whom the ledger holds nothing (an export that finds no event), carries
// no Subject: it names the resource and the count only. The trail forgets
// a subject by deleting the salt of their pseudonym (audit.Log.EraseSubject);
// an event naming them recorded after that would link them again, under a
// new pseudonym. So erasing through the ledger, the keyring and the trail
// in any order, and exporting afterwards, leaves nothing in the trail
// linked to them. One window is left to the order: a record still owed
// for an event not yet erased, drained after the trail forgot the subject
// and before the ledger's erasure, names them. Erase the ledger before
// the trail (or drain before erasing) to close it.
//
// # Printing
//
// A Ledger and an Unsubscriber print under every fmt verb as a summary:
// never the receipt signing key or an unsubscribe secret.
//
// # Testing
//
// Use memconsent.New() as the Store in a host's tests, with WithClock to
// move time. A host's own Store passes consenttest.RunStoreTests.
package consent
