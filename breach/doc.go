// Package breach keeps the register of personal-data breaches that
// Art. 33(5) GDPR asks every controller to keep, runs the 72-hour clock of
// Art. 33(1), finds the subjects a breach affected from the audit trail,
// and produces the notification to the supervisory authority (Art. 33(3))
// and the communication to the people concerned (Art. 34).
//
// A breach starts with Record, when the controller becomes aware of it
// (or a processor reports it, Art. 33(2)): what happened, the categories
// and approximate numbers of data and of subjects, the likely
// consequences, the measures, the contact point. Art. 33(4) allows the
// information in phases, so every item may follow later (Update), and
// the notice marks what is still to follow. Assess records the risk (none,
// a risk, a high risk) with its reasoning, and any ground of Art. 34(3)
// relied on for not telling the subjects. NotifyAuthority records each
// notification; one made 72 hours or more after the awareness is refused
// without the reasons for the delay (ErrLate). Publish records a public
// communication made instead of individual notices (Art. 34(3)(c)).
// Close ends the breach. Every breach, notified or not, stays in the
// register.
//
// A processor keeps a register too: a breach recorded with
// Report.Controllers is one it must report to those controllers "without
// undue delay after becoming aware" (Art. 33(2)). Its Aware is the
// processor's awareness, ReportToController records each report (the
// delay since awareness is there to see), and it has no 72-hour clock,
// no notification to the authority and no notices to subjects: those are
// the controllers'. On the controller's side, a breach a processor
// reported is recorded with Report.Processor (the processor and when it
// became aware), and its clock runs from when the processor told the
// controller, which is when the controller became aware (EDPB Guidelines
// 9/2022).
//
// # The clock
//
// The 72 hours are counted by Regulation (EEC, Euratom) No 1182/71 for a
// period in hours (see Clock): the hour of awareness does not count, the
// period runs 72 elapsed hours from the start of the next hour, and it
// does not move to a working day. Deadlines are shown in the controller's
// zone (WithLocation).
//
// # Who is affected
//
// Affected takes a Scope (a time window and what was compromised: a staff
// account, a resource prefix, data categories, a purpose, actions) and the
// host's candidate subject IDs, streamed (its own user list). The audit
// trail (WithTrail, an audit.Log through the root contract gdpr.Trail)
// yields the entries concerned, with a token for each subject, never its
// ID; each batch of candidates is turned into tokens by the trail
// (gdpr.Trail.SubjectTokens, which creates nothing) and matched. Nothing
// about a candidate is stored: the result is counts for the authority,
// recorded with the breach, and the subjects found, handed to a function
// as they are found.
//
// Subjects whose every affected category the scope says was exposed only
// as ciphertexts (Scope.Encrypted), and whose own key was wrapped under a
// key-encryption key that stayed safe (Scope.SafeKEKs) since before the
// window began, or shredded before it, are counted apart as
// Unintelligible: Art. 34(3)(a) may exempt them from the communication.
// The keyring says how each key is wrapped (WithKeys, a crypto.Keyring
// through gdpr.KeyCustodian). The package writes out the reasoning; it
// does not assume the exemption. Only an assessment that relies on
// Art. 34(3)(a) makes NotifySubjects skip them.
//
// NotifySubjects matches the candidates again with the scope the last
// Affected used and sends each subject found the SubjectNotice, in plain
// language with the items of Art. 33(3)(b)–(d), through the host's
// Notifier. Each subject is claimed before the send and its outcome
// settled after, under a keyed reference (an HMAC under the key given to
// New, per breach), so that concurrent or repeated runs tell no one twice
// and retry the failures. A send interrupted between claim and outcome
// stays Pending and is not repeated: it may have gone out.
//
// # Notices
//
// AuthorityNotice returns the notification for the authority with every
// item of Art. 33(3)(a)–(d), the clock, the assessment and the counts;
// it encodes as JSON, and WriteHTML writes it as a self-contained page
// (html/template, one inline style block pinned by hash in its
// Content-Security-Policy, no script, nothing loaded). Breach.SubjectNotice
// returns the communication to the subjects.
//
// # Storage
//
// A Store keeps each breach as a sequence of events (Event, one per
// change, numbered without gaps) and the notices to subjects (Notice);
// the state of a breach is derived from its events, and concurrent
// writers are ordered by the event number (a loser gets ErrConflict and
// the Log decides again on what the winner wrote). membreach is the
// in-memory Store; sqlbreach keeps it in PostgreSQL, MySQL/MariaDB or
// SQLite. No Store holds a subject ID: events describe the breach, and
// notices name subjects by keyed reference. Staff IDs appear only in the
// audit events, which the Recorder protects.
//
// Every change is recorded through the Recorder (WithRecorder) before it
// is stored: breach.recorded, breach.updated, breach.assessed,
// breach.notified, breach.affected, breach.published, breach.closed,
// breach.subjects_notified, and one breach.subject_notified per subject
// notice, about that subject (which the Recorder pseudonymises). If the
// Recorder fails, nothing is stored (ErrNotRecorded); for a subject
// notice, which has been sent, the outcome is stored and the error
// returned.
//
// # Errors
//
// Every error is an *Error with the operation and the field at fault.
// Bad input wraps ErrInvalid (ErrUnknownCategory for a category the
// Register does not declare, ErrLate for a late notification without
// reasons), with nothing written; ErrNotFound, ErrConflict and ErrClosed
// say what the store found. No error text holds a personal-data value.
//
// # Testing
//
// membreach is a working Store for a host's tests. breachtest.RunStoreTests
// is the conformance suite a Store must pass; membreach and sqlbreach pass
// it, the latter on all three databases and across connection pools.
package breach
