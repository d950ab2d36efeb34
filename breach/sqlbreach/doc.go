// Package sqlbreach keeps the breach register of package breach (Art.
// 33(5): every personal-data breach, its facts, effects and the remedial
// action taken) and the outcomes of the communications to subjects
// (Art. 34) in PostgreSQL, MySQL/MariaDB or SQLite: a breach.Store.
//
//	store, err := sqlbreach.New(db, sqldialect.Postgres)
//	err = store.Migrate(ctx)
//	log, err := breach.New(store, subjectKey, breach.WithRegister(reg), ...)
//
// It imports no driver: the host opens db with its own.
//
// # Storage
//
// Two tables, named with a prefix (WithTablePrefix, default "gdpr_"):
//
//   - <prefix>breach_events: one row per event (breach.Event), primary
//     key (breach_id, seq): breach_id (the breach's UUID), seq (from 1,
//     without gaps), time_us, kind and data, the event's JSON, kept as
//     bytes (BYTEA, MEDIUMBLOB, BLOB), byte for byte as given. The
//     register is append-only: no row is updated or deleted.
//   - <prefix>breach_notices: one row per breach and subject reference
//     (breach.Notice), primary key (breach_id, ref): ref (32 bytes, a
//     keyed HMAC of the breach and subject IDs, kept as given), and the
//     time_us and outcome (pending, sent, failed, skipped) of its last
//     claim or settlement.
//
// The primary keys are the only indexes: every query reads one of them.
// Times are BIGINT microseconds since the Unix epoch and come back in
// UTC (a time with nanoseconds is truncated). Keys compare byte for byte:
// "C" collation on PostgreSQL, VARBINARY on MySQL/MariaDB, BINARY on
// SQLite, so breaches and notices list in the byte order of their IDs and
// refs everywhere, as membreach lists them. Every statement is
// parameterised; table names come from the validated prefix only. The
// schema is versioned and embedded, one statement per migration;
// Migrate applies it under a database lock, so many instances may call it
// at start-up.
//
// No column holds a subject ID, a name or a contact: the events' data is
// what package breach writes (a breach's facts, never its subjects), and
// a notice names its subject by the keyed reference alone. What the
// tables hold is kept for as long as the register is (Art. 33(5) asks for
// the documentation; nothing here deletes it).
//
// # Statements and concurrency
//
// Many instances of a host may share the database; nothing relies on a
// lock in one process. Each method is one statement, or two where the
// first changed nothing and the second tells why; none runs a
// transaction of several statements.
//
//   - Append of Seq 1 is one INSERT; of Seq n > 1 one INSERT … SELECT …
//     FROM <prefix>breach_events WHERE breach_id = ? AND seq = n-1, which
//     inserts nothing when the breach has no event n-1: a gap,
//     breach.ErrInvalid with Field "Seq". The primary key refuses an
//     event of a Seq stored already, Seq 1 of an existing breach
//     included: breach.ErrConflict (dialect.IsUniqueViolation). Of
//     concurrent Appends of one Seq the key lets one in; the others wait
//     for it to commit and are refused.
//   - Events is one SELECT … WHERE breach_id = ? ORDER BY seq; no row is
//     breach.ErrNotFound. Breaches is one SELECT of the rows of Seq 1
//     (one per breach) WHERE breach_id > after ORDER BY breach_id LIMIT
//     limit.
//   - Claim on PostgreSQL and SQLite is one conditional upsert: INSERT …
//     SELECT ?, ?, ?, 'pending' FROM <prefix>breach_events WHERE
//     breach_id = ? AND seq = 1 ON CONFLICT (breach_id, ref) DO UPDATE SET
//     time_us = excluded.time_us, outcome = excluded.outcome WHERE
//     outcome = 'failed'. One row affected is a claim. Concurrent upserts
//     of one notice serialise on the key and the condition is evaluated
//     on the row as committed, so exactly one of them claims. No row
//     affected is followed by a read of the breach's row of Seq 1: none
//     is breach.ErrNotFound, else the notice was not to be claimed
//     (false).
//   - Claim on MySQL/MariaDB is that INSERT … SELECT without ON CONFLICT:
//     one row is a claim, none an unknown breach (ErrNotFound); when the
//     notice's row is there already (the key's violation), one UPDATE …
//     SET outcome = 'pending' WHERE breach_id = ? AND ref = ? AND outcome
//     = 'failed' claims it or finds it not to be claimed. Of concurrent
//     claimers the key lets one insert and the row's lock one update; the
//     others find the notice pending. ON DUPLICATE KEY UPDATE with a
//     condition is not used: its rows affected for a row left unchanged
//     are 0, but 1 (as for an insert) when the connection sets
//     clientFoundRows, and a loser would then claim too. Both statements
//     used here count the same either way.
//   - Settle is one UPDATE … SET outcome, time_us WHERE breach_id = ? AND
//     ref = ? AND outcome IN ('pending', 'failed'). No row affected is
//     followed by a read of the row: none is breach.ErrNotFound (not
//     claimed), sent or skipped breach.ErrConflict (recorded already).
//     On MySQL/MariaDB, whose rows affected leave out a row matched but
//     left unchanged (a failed notice settled failed again at the same
//     microsecond), the read finding the outcome and time Settle wrote
//     is a success.
//   - Notices is one SELECT … WHERE breach_id = ? AND ref > after ORDER
//     BY ref LIMIT limit.
//
// Deadlocks and serialization failures are run again (up to five times).
// A breach ID that breach.CheckEvent could not have let in (not 36 bytes
// of hex digits and hyphens) finds nothing, and is not sent to the
// database.
//
// The Store keeps no session state, so it works behind PgBouncer in
// transaction mode: on PostgreSQL it prepares no statement itself
// (behind PgBouncer open pgx with default_query_exec_mode=exec or
// simple_protocol), and Migrate takes a transaction-scoped advisory lock.
// On MySQL and SQLite statements are prepared once per pooled connection.
//
// # Errors
//
// Every error of the Store is a *breach.Error whose Op is
// "sqlbreach.<method>". Arguments are checked first by breach.CheckEvent,
// CheckNotice and CheckLimit, whose Field and cause (breach.ErrInvalid)
// the error keeps; a nil context is refused with Field "ctx". The
// conditions of the contract wrap breach.ErrInvalid, ErrNotFound and
// ErrConflict with fixed texts, and through them gdpr's. Any other
// database error is wrapped with the server's message withheld (only its
// SQLSTATE or error number): servers quote bound values.
//
// # Testing
//
// The module github.com/gdprkit/gdpr/integration runs
// breachtest.RunStoreTests on SQLite always and on PostgreSQL and
// MySQL/MariaDB when GDPR_TEST_POSTGRES_DSN and GDPR_TEST_MYSQL_DSN are
// set, through two pools, on a pool of one connection, and through
// PgBouncer in transaction mode; races Stores on four pools for one
// notice's claim, a failed notice's reclaim and one event's Seq; and
// reads every column of every row back to check that the Store keeps
// what it is given and nothing else. In a host's unit tests prefer
// membreach.
package sqlbreach
