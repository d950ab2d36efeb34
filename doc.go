// Package gdpr is the shared vocabulary of the gdpr module and the contracts
// between its packages: the primitives the EU General Data Protection
// Regulation (Regulation (EU) 2016/679) asks of an application.
//
// Which package answers which article:
//
//	package      articles                       what it gives
//	gdpr         4, 6, 9, 10, 12(3), 30         SubjectID, Actor, Purpose, Category, LawfulBasis,
//	                                            the Register of processing activities, Deadline
//	consent      4(11), 7, 13, 14, 21(2)–(3)    append-only consent ledger, double opt-in,
//	                                            withdrawal, objection, receipts, unsubscribe links
//	crypto       5(1)(f), 17, 25, 32            per-subject envelope encryption, crypto-shredding
//	erasure      12, 16, 17, 18, 19, 21         requests that change data, with deadlines
//	export       15, 20                         access and portability bundles
//	audit        5(2), 30, 32                   tamper-evident trail without personal data in clear
//	retention    5(1)(e)                        retention policies, legal holds, sweeps
//	breach       33, 34                         breach register, 72-hour clock, subjects affected,
//	                                            notices to the authority and to the subjects
//
// Beside them: sqldialect names the databases the SQL stores run on;
// gdprtest holds a recording Recorder and the conformance suites of Eraser
// and Exporter, and gdprtest/fake the ledger, keyring and trail over memory
// stores in one call, for a host's unit tests; insecuredevkeys keeps
// development keys in a file so a program restarts against its own
// database (never in production).
//
// The packages do not import each other. They meet through the small
// interfaces here: a component that holds a subject's data is an Eraser
// (Art. 17) and an Exporter (Art. 15, 20); every component records what it
// does into a Recorder (Art. 5(2)); the audit trail is a Trail and the
// keyring a KeyCustodian, which a breach investigation searches. A host
// wires them together in main, and can adopt any one package alone.
//
// # Who acts, and why
//
// WithActor and WithPurpose put the actor (a staff member, the subject, a
// system) and the purpose of processing in a context; every package names
// them in the audit events it records for calls made with it.
//
// # Personal data in errors and logs
//
// A SubjectID is personal data. fmt prints it as "[subject]" whatever the
// verb (it implements fmt.Formatter), and no error, log line or panic of
// this module carries a subject ID, a field value or an evidence value: IDs
// of records, field names and kinds only. The ID of a staff Actor is
// personal data of that staff member; Actor.String masks it.
//
// # Errors
//
// Every package wraps the sentinels ErrInvalid, ErrNotFound, ErrConflict,
// ErrRestricted and ErrShredded, so errors.Is works whatever package
// returned the error. Validation errors of the Register are a
// *ValidationError listing every problem with its path.
//
// # Deadlines
//
// NewDeadline computes the one-month response period of Art. 12(3) by the
// rules of Regulation (EEC, Euratom) No 1182/71: the day of receipt does not
// count, the period ends on the same date of the next month (or that
// month's last day), and a period ending on a Saturday, Sunday or public
// holiday (from a pluggable Calendar) runs to the end of the next working
// day. Deadline.Extend adds the two further months, with a recorded reason.
package gdpr
