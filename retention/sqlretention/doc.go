// Package sqlretention keeps the legal holds and the sweeps' leases and
// checkpoints of package retention in PostgreSQL, MySQL/MariaDB or
// SQLite (Store), and deletes or anonymises the expired rows of a
// host's own table (Deleter).
//
//	store, err := sqlretention.New(db, sqldialect.Postgres)
//	err = store.Migrate(ctx)
//	logins, err := sqlretention.NewDeleter(db, sqldialect.Postgres, sqlretention.Table{
//		Name: "login_log", Key: "id", Subject: "user_id", Time: "signed_in_at"})
//	sweeper, err := retention.NewSweeper(store, retention.WithRegister(reg),
//		retention.WithTargets(retention.Target{Name: "login_log", Category: "logins", Deleter: logins}))
//
// The Store is also the erasure engine's gdpr.LegalHolds
// (erasure.WithLegalHolds(store)).
//
// # Deleter
//
// Deleter is the retention.Deleter of a host's own table: NewDeleter(db,
// dialect, Table{Name, Key, Subject, Time, ...}) deletes, or anonymises by
// a named strategy, the rows whose Time is before a batch's cut-off, a
// batch at a time, for a retention.Sweeper's target. It is also a
// retention.Noticer (Expiring: the subjects whose rows expire in a window,
// for notices), a retention.FromDeclarer (Table.From, checked against
// the category's policy by NewSweeper) and a retention.StrategyDeclarer.
// It imports no driver and creates nothing: the table and its index are
// the host's.
//
// The table needs an index on (Time, Key):
//
//	CREATE INDEX orders_time_key ON orders (placed_at, id);
//
// A table that is anonymised keeps its anonymised rows, whose Subject is
// NULL and which no batch selects again: on PostgreSQL and SQLite make the
// index partial, WHERE customer_id IS NOT NULL, so that they drop out of
// it. A row with a NULL Subject is never swept, and a row with a NULL Time
// never expires.
//
// A batch is one SELECT of at most Limit rows after the cursor, in (Time,
// Key) order on that index, with whether the database finds each subject
// among the batch's held subjects (by the column's own type and collation,
// as the host's queries compare); then one DELETE or UPDATE of the unheld
// rows, which checks again that each is still expired, still a subject's
// and not a held subject's: by their keys on MySQL/MariaDB and SQLite, by
// the range just read on PostgreSQL. The cursor is the last row's Time and
// Key (base64url, never the subject; so the Key must not be personal
// data either), and a Done batch returns none; a cursor that is
// malformed, or not before the cut-off, is ErrInvalid. A batch changes
// all its rows or none. Different sweeps may share a Deleter; a row is
// acted on once.
//
// Time is a native timestamp column (TIMESTAMPTZ or TIMESTAMP in UTC on
// PostgreSQL; DATETIME(6), DATETIME or TIMESTAMP in UTC on MySQL/MariaDB,
// with the driver's loc at UTC, its default; on SQLite the text
// modernc.org/sqlite writes for a time.Time in UTC) or an integer of Unix
// seconds, milliseconds or microseconds (Table.TimeUnit).
//
// Anonymising a row applies its strategy's masks, one per column, and sets
// Subject and the BlindIndexes NULL (they must be nullable). Null, Fixed and
// Truncate are done by the database in the batch's one UPDATE; Pseudonym
// (a keyed pseudonym, domain "<table>.<column>") and Func (any Go function
// of the value: an IP's network, a coarser time) read the values FOR UPDATE
// and write each row in one transaction, rolled back when a mask fails. A
// NULL stays NULL under every mask but Fixed. Pseudonymised and truncated
// values are still personal data until the dataset has been assessed
// anonymous (package retention, "Anonymisation").
//
// Performance: a batch of 1000 rows takes a few milliseconds when the
// expired rows are the table's oldest, tens of milliseconds when they are
// spread through it. Purging a million rows in batches takes 2.5 to 8
// times as long as one DELETE (BENCHMARKS.md), the price of short
// transactions that hold their locks for milliseconds instead of seconds.
//
// # Storage
//
// The Deleter's table is the host's. The Store keeps three tables, named with a prefix (WithTablePrefix,
// default "gdpr_"):
//
//   - <prefix>retention_holds: one row per legal hold. id (primary key),
//     subject (NULL for a hold on every subject's data of its
//     categories), categories (the JSON array of the hold's categories
//     in the order placed, NULL for a hold on every category of its
//     subject), reason, placed_by_kind and placed_by_id, placed_us,
//     until_us (NULL while the end is unknown), released_us and
//     released_by_kind/_id (NULL and empty until released), and ends_us,
//     the earlier of until_us and released_us, so that "in force at t"
//     is placed_us <= t AND (ends_us IS NULL OR ends_us > t). Indexes on
//     (subject, id), which serves Holds(subject) and ListHolds{Subject}
//     for both the subject's holds and the holds on categories (subject
//     IS NULL), and on ends_us for the holds in force and PurgeHolds.
//   - <prefix>retention_hold_cats: one row per hold and category it
//     names, primary key (hold_id, category), so that ListHolds{Category}
//     is SQL: categories IS NULL OR EXISTS a row of the hold and the
//     category.
//   - <prefix>retention_sweeps: one row per sweep name (primary key):
//     the lease (owner, token, until_us) and the last checkpoint saved,
//     state, the JSON of a retention.Sweep, NULL until the first
//     SaveSweep. A released lease has until_us set to the smallest
//     integer; the checkpoint stays.
//
// Times are BIGINT microseconds since the Unix epoch and come back in
// UTC: a time with nanoseconds is truncated, and every comparison with
// now is at that precision; a checkpoint's times are stored to the
// microsecond too. Keys compare byte for byte: "C" collation on
// PostgreSQL, VARBINARY on MySQL/MariaDB, BINARY on SQLite, so holds
// list in the byte order of their IDs everywhere. Column widths are the
// same limits on every database, checked before a write: MaxIDLen (255
// bytes: hold ID, subject, category, actor ID, sweep name, owner),
// MaxKindLen (32: actor kind), MaxReasonLen (4096: a hold's reason),
// MaxStateLen (4 MiB: a checkpoint as JSON; the largest Sweep the
// retention limits allow is under 2 MiB). Text must be valid UTF-8
// without NUL; a checkpoint's cursors too, since JSON cannot carry other
// bytes. Longer or other values are refused with retention.ErrInvalid.
//
// Every statement is parameterised; table names come from the validated
// prefix only. The schema is versioned and embedded, one statement per
// migration on MySQL; Migrate applies it under a database lock, so many
// instances may call it at start-up.
//
// # Concurrency
//
// Many instances of a host may share the database; nothing relies on a
// lock in one process.
//
//   - PlaceHold is one transaction: INSERT … ON CONFLICT DO NOTHING (on
//     MySQL/MariaDB ON DUPLICATE KEY UPDATE id = id), then a row per
//     category. Of concurrent placers of one ID the primary key lets one
//     insert; the others wait for it to commit, insert nothing, and read
//     its row: the same placement (subject, categories in order, reason,
//     placed by, placed and until, to the microsecond) is a retry, other
//     contents retention.ErrExists, whether or not the hold was released
//     since.
//   - ReleaseHold is one transaction of one UPDATE by primary key WHERE
//     released_us IS NULL AND (until_us IS NULL OR until_us > at), and a
//     read of the row: of concurrent releases one writes, the others
//     return the hold as it wrote it.
//   - GetHold and ListHolds are one query each; ListHolds is keyset-paged
//     on id. Holds reads pages of retention.MaxLimit until a short one:
//     every hold in force however many, though the pages are not one
//     snapshot.
//   - PurgeHolds is one transaction: the categories of the holds ended
//     before the instant, then the holds.
//   - AcquireSweep is one conditional upsert on the name: INSERT … ON
//     CONFLICT (name) DO UPDATE … WHERE until_us <= now on PostgreSQL and
//     SQLite (rows affected tell), INSERT … ON DUPLICATE KEY UPDATE with
//     IF(until_us <= now, …) per column on MySQL/MariaDB, in a
//     transaction that reads the token back (rows affected would tell
//     only without clientFoundRows). Racing upserts serialise on the key
//     and the condition is evaluated on the committed row, so two never
//     both take a lease; a takeover keeps the checkpoint.
//   - SaveSweep is one UPDATE … SET state, until_us WHERE name = ? AND
//     token = ? AND until_us > now; no row is retention.ErrLeaseLost. On
//     MySQL/MariaDB, whose rows affected leave out a matched row left
//     unchanged, a read of until_us tells the two apart. ReleaseSweep is
//     one UPDATE where the token matches.
//
// Deadlocks and serialization failures are run again (up to five
// times). MySQL/MariaDB transactions run at READ COMMITTED; on SQLite
// every transaction's first statement is a write, so it takes the write
// lock before it reads, whatever the DSN's _txlock.
//
// The Store keeps no session state, so it works behind PgBouncer in
// transaction mode: on PostgreSQL it prepares no statement itself
// (behind PgBouncer open pgx with default_query_exec_mode=exec or
// simple_protocol), and Migrate takes a transaction-scoped advisory lock.
// On MySQL and SQLite statements are prepared once per pooled connection.
//
// # Erasure residue
//
// A hold's row, with its subject ID and reason, stays after the hold is
// released or has ended until retention.Holds.Purge deletes it: the hold
// is the record of why data were kept. The tables never hold a record of
// the host's own data. As with any database, rows deleted (by PurgeHolds
// or by a Deleter) may survive for a while where the database keeps old
// row versions and logs: PostgreSQL's dead tuples until VACUUM (and its
// WAL, until recycled), InnoDB's undo and redo logs, MySQL's and
// MariaDB's binary log, SQLite's WAL until a checkpoint and its free
// pages until reused or VACUUM (PRAGMA secure_delete overwrites deleted
// content), and backups and replicas.
//
// # Errors
//
// Every error of the Store and the Deleter is a *retention.Error whose Op
// is "sqlretention.<method>". The conditions of the contract wrap the
// retention sentinels (ErrNotFound, ErrExists, ErrLeased, ErrLeaseLost,
// ErrInvalid with Field naming the argument or field) with fixed texts,
// and through them gdpr's. A nil context is refused with Field "ctx". Any
// other database error is wrapped with the server's message withheld
// (only its SQLSTATE or error number): servers quote bound values, and
// those are subject IDs. No error names a subject, a reason or a value
// of a host's row.
//
// # Testing
//
// The module github.com/gdprkit/gdpr/integration runs
// retentiontest.RunStoreTests on SQLite always and on PostgreSQL and
// MySQL/MariaDB when GDPR_TEST_POSTGRES_DSN and GDPR_TEST_MYSQL_DSN are
// set, through two pools, through PgBouncer in transaction mode, and on
// a pool of one connection; races Stores on eight pools for one sweep's
// lease (one wins; the losers' and a stale holder's SaveSweeps are
// ErrLeaseLost; a takeover keeps the checkpoint), for one hold ID and
// for its release; checks that Holds(subject) reads the subject index on
// every database; and sweeps tables of a million rows with the Deleter.
// In a host's unit tests prefer memretention.
package sqlretention
