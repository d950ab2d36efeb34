// Package sqlconsent is a consent.Store in a SQL database: PostgreSQL,
// MySQL or MariaDB, or SQLite (the embedded default, through the pure-Go
// modernc.org/sqlite).
//
// # Storage
//
// Four tables, named with a prefix (WithTablePrefix, default "gdpr_"):
// <prefix>consent_events, append-only but for erasure,
// <prefix>consent_notices, one row per published notice version,
// <prefix>consent_outbox, the audit outbox (consent.AuditOutbox), and
// <prefix>consent_suppression, the suppression list (consent.Suppressions):
// a keyed hash and a time per row, no subject, untouched by erasure. Times are
// BIGINT microseconds since the Unix epoch (UTC), so every database orders
// and compares them alike. Keys compare byte for byte: "C" collation on
// PostgreSQL, VARBINARY on MySQL/MariaDB (whose default collations would make
// "Alice" equal "alice "), BINARY on SQLite.
//
// The schema is versioned and embedded. Store.Migrate applies it, once,
// under a database lock, so many instances may call it at start-up;
// Migrations gives the same files, rendered with a prefix, to hosts that run
// goose, golang-migrate or atlas. Applied versions are recorded in
// <prefix>schema_version, which the module's stores of one prefix share.
//
// The ledger's order is a seq column that the database assigns on insert:
// an identity column on PostgreSQL (so version 10 or later), AUTO_INCREMENT
// on MySQL/MariaDB (the primary key there, with id a unique key), INTEGER
// PRIMARY KEY AUTOINCREMENT on SQLite (so a seq is not given again after
// the last events are erased). Event.Seq is read from it; a Seq in an
// appended event is ignored. Events and decisions follow seq, not at_us:
// times come from the clocks of many instances and only bound which events
// a decision at a past moment sees. Seq values may have gaps (a failed
// insert may use one up), and two concurrent appends are ordered as the
// database numbered them, which is as good as any order of two concurrent
// choices. Seq is not a commit-order cursor: a higher seq can become visible
// before a lower one still being committed, so nothing should page through
// events with "seq > last seen" and expect to miss none.
//
// Every statement is parameterised; table names come from the validated
// prefix only. A decision (Store.Latest) is one query that reads the index
// (subject, purpose, seq) backwards and stops at the first row that applies
// to the question's channel (consent.Event.Applies, written in SQL: one
// statement for a channel, one for the purpose as a whole), is not pending
// and is not later than the query time; the notice registry's latest
// material version comes in a sub-select on the notices' primary key.
// Uniqueness (event ID, one confirmation per pending event, notice version)
// is enforced by the database's unique keys: a plain INSERT that would
// break one fails, and that failure, recognised by its SQLSTATE or error
// number, is reported as consent.ErrConflict, so a lost race is a conflict
// whatever the driver or its settings, and nothing is written twice.
//
// The audit outbox holds one row per event whose audit record the Ledger
// has not yet made: the event's ID, when the row is due (due_us) and the
// token of the last claim. Append writes it with the event, atomically: on
// PostgreSQL in the same statement (an INSERT of the event in a WITH
// clause, then the INSERT of the row), on MySQL/MariaDB and SQLite in one
// transaction, run again on a deadlock. The Ledger deletes the row once its
// Recorder accepted the record, so the table stays small: it holds the
// appends of the last moments and whatever a Recorder outage left. A row is
// deleted with its event, in the erasure's own statement: by a foreign key
// ON DELETE CASCADE on PostgreSQL and MySQL/MariaDB, by a trigger on
// SQLite (where foreign keys are enforced only on connections that ask
// for it); on MySQL/MariaDB the erasure first locks the subject's rows
// (SELECT … FOR UPDATE) in its transaction, so that the cascade's locks
// on the outbox come after all its locks on the events, in the order an
// Append takes them, and InnoDB's gap locks do not deadlock an erasure
// with another subject's append. ClaimAudit stamps at most Limit due
// rows, oldest first, with a random claim token and the time they are due
// again, then reads the events joined to the rows of that token. The rows
// are picked FOR UPDATE SKIP LOCKED on PostgreSQL (inside the UPDATE) and
// MySQL/MariaDB (a SELECT, then an UPDATE by key, in one transaction), so
// concurrent drains take different rows instead of waiting, and a row
// another drain claimed and committed meanwhile is read again and is no
// longer due; SQLite has one writer. A row claimed by one drain is not
// due for another until the claim lapses. Appends, claims, clearings and
// erasures that the database aborts to break a deadlock are run again.
//
// # Erasure residue
//
// DeleteSubject deletes the subject's rows (and their outbox rows) with
// one DELETE (on MySQL/MariaDB after locking them, in one transaction).
// As with any database, the deleted bytes — subject IDs, staff
// IDs, evidence — may survive for a while where the database keeps old row
// versions and logs: PostgreSQL's dead tuples until VACUUM (and its WAL,
// until recycled), InnoDB's undo and redo logs, MySQL's and MariaDB's
// binary log, whose row events carry the deleted rows, SQLite's WAL until
// a checkpoint and its free pages until they are reused or VACUUM runs
// (PRAGMA secure_delete overwrites deleted content; PRAGMA auto_vacuum
// returns free pages), and in backups and replicas. Unlike the key store
// (sqlkeys) and the audit trail (sqlaudit), the ledger keeps subject IDs
// and evidence in clear, so no key rotation makes such remnants useless: a
// host that must have them gone runs VACUUM (or lets autovacuum run) on
// PostgreSQL, keeps binary logs and backups on a retention shorter than
// its erasure deadline, and on SQLite opens the database with
// secure_delete on or vacuums after erasure. A backup restored after an
// erasure brings the subject's rows back: erase them again, from a journal
// of erasures kept apart from the database (by keyed reference, not by
// subject ID) and replayed after a restore.
//
// The package imports no driver. Open the *sql.DB with the driver of your
// choice and pass the matching sqldialect.Dialect (sqldialect.ForDriver
// maps a driver's name to it):
//
//	db, _ := sql.Open("pgx", dsn)   // github.com/jackc/pgx/v5/stdlib
//	db, _ := sql.Open("mysql", dsn) // github.com/go-sql-driver/mysql
//	db, _ := sql.Open("sqlite", "file:app.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
//	store, err := sqlconsent.New(db, sqldialect.SQLite)
//
// The Store keeps no session state, so it works behind PgBouncer in
// transaction mode: on PostgreSQL it prepares no statement itself (pgx's
// default mode caches them per connection; behind PgBouncer open pgx with
// default_query_exec_mode=exec or simple_protocol), and Migrate takes a
// transaction-scoped advisory lock. On MySQL and SQLite its statements are
// prepared once per pooled connection.
//
// # Errors
//
// Methods return *consent.Error wrapping consent.ErrNotFound or
// consent.ErrConflict (and so gdpr.ErrNotFound and gdpr.ErrConflict) for the
// conditions of the consent.Store contract, or the driver's error otherwise.
// No bound value is placed in an error. A duplicate-key error is replaced,
// not wrapped, by the conflict error: its driver text may quote the
// duplicate value (MySQL's "Duplicate entry '…'"). Other driver errors are
// wrapped; they name the statement or constraint, not bound values.
//
// # Testing
//
// The Store's tests live in the module github.com/gdprkit/gdpr/integration
// (it imports the drivers, which this module does not): they run
// consenttest.RunStoreTests with two Stores on two connection pools of one
// database, on SQLite always and on PostgreSQL and MySQL/MariaDB when
// GDPR_TEST_POSTGRES_DSN and GDPR_TEST_MYSQL_DSN are set, and again
// through PgBouncer. In a host's own unit tests, prefer memconsent; run this
// store against a real database in integration tests.
package sqlconsent
