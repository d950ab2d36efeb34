// Package sqlerasure keeps the request engine's state in a SQL database:
// PostgreSQL, MySQL or MariaDB, or SQLite (the embedded default, through
// the pure-Go modernc.org/sqlite). It has three types: Store, an
// erasure.Store (the data-subject requests of Art. 15 to 22, the workers'
// leases, the restrictions and objections of Art. 18 and 21, and the
// supplementary statements of Art. 16), CodeStore, an erasure.CodeStore
// (the hashes of the identity-verification codes of Art. 12(6)), and
// Journal, an
// erasure.Journal (the record of completed erasures, Art. 17, replayed
// after a backup restore).
//
// # Storage
//
// Six tables, named with a prefix (WithTablePrefix, default "gdpr_"):
//
//   - <prefix>erasure_requests: one row per request. id (primary key),
//     kind, state, subject, subject_ref, open_key, received_us, due_us
//     (Deadline.Due), next_us (NextAt, NULL when zero), ready_us,
//     closed_us (NULL while open), version and body, the JSON of every
//     other field of the request (channel, params, ask, the deadline with
//     its time zone by name, rejection, steps with their fields and
//     recipients, history, settle_until). The body never holds the
//     subject: erasure.Request.Subject is not encoded in JSON, nor is a
//     correction's Value (only its sealed form, while it waits to be
//     applied), and a closed request is stored without its sealed
//     corrections and its recipients' references for the subject, as the
//     Engine writes it. subject holds the subject ID while the request is
//     open and is NULL once it is closed: the Engine writes a closed
//     request without its subject, and a closed request that comes with
//     one is stored without it all the same (a CHECK constraint holds
//     every row to this), so that only the keyed subject_ref remains.
//     open_key is kind:subject_ref while the request is open and NULL
//     once it is closed; a unique key on it (NULLs are distinct on all
//     three databases) keeps at most one open request per kind and
//     subject. ready_us is next_us while the request is verified or in
//     progress and NULL otherwise: Acquire reads one index range of it,
//     in order, and on MySQL locks no row it does not return. Indexes
//     on (subject_ref, id), (state, id), due_us and closed_us serve List
//     and Count.
//   - <prefix>erasure_leases: one row per leased subject. subject_ref
//     (primary key), request_id, owner, token (random per acquisition)
//     and until_us. Release deletes the row; an expired row is taken
//     over by the next Acquire of that subject.
//   - <prefix>erasure_codes: one row per verification code. request_id
//     (primary key), hash (the keyed hash; never the code), created_us,
//     expires_us, attempts and reminded_us (NULL until the reminder).
//   - <prefix>erasure_restrictions: one row per restriction or
//     objection. id (primary key: the ID of the request that placed it),
//     kind, subject_ref, lifted_us (NULL while not lifted: in force, or an
//     objection overridden), version and body, the JSON of the rest
//     (ground, purposes, direct_marketing, since, lifted_by, override).
//     An index on (subject_ref, id) serves one subject's listing, and one
//     of the rows not lifted, in id order (partial, WHERE lifted_us IS
//     NULL, on PostgreSQL and SQLite; (lifted_us, id) on MySQL/MariaDB),
//     the listing Engine.Check reads on each refresh of its cache.
//   - <prefix>erasure_statements: one row per supplementary statement.
//     id (primary key, "<request id>/<n>"), subject_ref (indexed with
//     id), target, field, sealed (the text encrypted under the Engine's
//     sealing key; never in clear) and at_us.
//   - <prefix>erasure_journal: one row per completed erasure. request_id
//     (primary key), subject_ref (indexed), completed_us and targets, the
//     JSON array of the targets' names. Rows are only ever inserted.
//
// The requests, leases, codes, restrictions and statements form one
// schema, the migration component "erasure": Store.Migrate and
// CodeStore.Migrate apply the same files (Migrations), as the codes
// confirm the requests and live beside them.
// The journal is a component of its own, "erasure_journal" (Journal.Migrate,
// JournalMigrations), because it should live elsewhere: in another
// database, so that a restore of the main data from a backup does not roll
// it back (see erasure.Journal). Open the Journal on that database's
// *sql.DB; its version table is that database's <prefix>schema_version.
//
// Times are BIGINT microseconds since the Unix epoch and come back in UTC;
// a Deadline's LastDay and Due come back in its time zone, loaded by name.
// Keys compare byte for byte: "C" collation on PostgreSQL, VARBINARY on
// MySQL/MariaDB (whose default collations would make "A" equal "a "),
// BINARY on SQLite. Column widths are the same limits on every database
// (MaxIDLen, MaxKeyLen, MaxHashLen), checked before a write, so the tables
// move between databases unchanged.
//
// Every statement is parameterised; table names come from the validated
// prefix only. The schema is versioned and embedded; Migrate applies it
// under a database lock, so many instances may call it at start-up.
//
// # Concurrency
//
// Many instances of a host may share the database; nothing relies on a
// lock in one process.
//
//   - Create is one INSERT that inserts nothing when a unique key refuses
//     the row (ON CONFLICT DO NOTHING; ON DUPLICATE KEY UPDATE on MySQL).
//     Two Creates of one open key serialise on the unique index: the
//     second waits for the first to commit, inserts nothing, and reads
//     and returns the open request, created false. If none is open, the
//     ID was taken: erasure.ErrConflict.
//   - Update is a compare-and-set on (id, version). With a lease, it runs
//     in one transaction that locks the request's row, extends the lease
//     with an UPDATE that matches only the held lease (subject, request
//     and token, until_us after now; no row is erasure.ErrLeaseLost), and
//     writes the request; any failure rolls the whole back.
//   - Acquire runs in one transaction. It reads the due requests whose
//     subject has no live lease, in (ready_us, id) order, locking them
//     FOR UPDATE SKIP LOCKED on PostgreSQL and MySQL/MariaDB, so that
//     concurrent workers read different rows instead of queueing. Then,
//     per subject (the oldest request of each), it takes the lease with
//     one conditional upsert on the lease table's primary key: INSERT …
//     ON CONFLICT (subject_ref) DO UPDATE … WHERE until_us <= now on
//     PostgreSQL and SQLite, INSERT … ON DUPLICATE KEY UPDATE col =
//     IF(until_us <= now, new, col) on MySQL/MariaDB, where the token is
//     read back to tell whether the lease was taken. Upserts of one
//     subject_ref serialise on the key and see the row as committed, so
//     of racing workers exactly one leases a subject, whichever rows
//     each read; SKIP LOCKED only spreads the work. On SQLite every such
//     transaction first takes the database's single write lock (a write
//     that matches no row, whatever the DSN's _txlock), so they run one
//     at a time. Leases are taken in subject order, and Update locks the
//     request before the lease, as Acquire does, so the usual paths do
//     not deadlock; a deadlock or serialization failure that happens all
//     the same is run again (up to five times).
//   - Attempt is UPDATE … SET attempts = attempts + 1 and the row as
//     counted (RETURNING on PostgreSQL, a read in the same transaction
//     elsewhere): the row lock counts every concurrent attempt.
//   - Journal.Append inserts nothing for a request ID stored already, and
//     PutStatement nothing for a statement ID stored already (ON CONFLICT
//     DO NOTHING; ON DUPLICATE KEY UPDATE id = id on MySQL).
//   - CreateRestriction is one INSERT; a duplicate ID inserts nothing and
//     is erasure.ErrConflict. UpdateRestriction is a compare-and-set on
//     (id, version), one UPDATE: of concurrent writers from one Version
//     exactly one matches the row; a read then tells ErrConflict from
//     ErrNotFound. Forget deletes a subject's restrictions and statements
//     in one transaction.
//
// MySQL/MariaDB transactions run at READ COMMITTED, so they take record
// locks only and no gap locks. Leave the driver's clientFoundRows
// parameter off (its default); the Store copes with it on, but other
// stores of the module do not. MySQL 8.0.16 or MariaDB 10.6 or later is
// required (SKIP LOCKED, CHECK).
//
// The package imports no driver. Open the *sql.DB with the driver of
// your choice and pass the matching sqldialect.Dialect:
//
//	db, _ := sql.Open("pgx", dsn)   // github.com/jackc/pgx/v5/stdlib
//	db, _ := sql.Open("mysql", dsn) // github.com/go-sql-driver/mysql
//	db, _ := sql.Open("sqlite", "file:app.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
//	store, err := sqlerasure.New(db, sqldialect.SQLite)
//
// The stores keep no session state, so they work behind PgBouncer in
// transaction mode: on PostgreSQL they prepare no statement themselves
// (behind PgBouncer open pgx with default_query_exec_mode=exec or
// simple_protocol), and Migrate takes a transaction-scoped advisory lock.
// On MySQL and SQLite statements are prepared once per pooled connection.
//
// # Erasure residue
//
// The subject column is cleared when a request closes, and Delete removes
// old requests; Forget deletes a subject's restrictions and statements.
// As with any database, the cleared and deleted bytes may
// survive for a while where the database keeps old row versions and logs:
// PostgreSQL's dead tuples until VACUUM (and its WAL, until recycled),
// InnoDB's undo and redo logs, MySQL's and MariaDB's binary log, whose row
// events carry the before-image, SQLite's WAL until a checkpoint and its
// free pages until they are reused or VACUUM runs (PRAGMA secure_delete
// overwrites deleted content), and in backups and replicas. A host that
// must have them gone runs VACUUM (or lets autovacuum run) on PostgreSQL,
// keeps binary logs and backups on a retention shorter than its erasure
// deadline, and on SQLite opens the database with secure_delete on. The
// journal, the restrictions and the statements hold keyed references
// only, never a subject ID, and a statement's text only sealed.
//
// # Errors
//
// Every error is an *erasure.Error whose Op is "sqlerasure.<method>" (e.g.
// "sqlerasure.Update"). The conditions of the contracts wrap the erasure
// sentinels: erasure.ErrNotFound, erasure.ErrConflict, erasure.ErrLeased
// and erasure.ErrLeaseLost (both wrap ErrConflict), and erasure.ErrInvalid
// for an argument the tables cannot hold, with Field naming it; and
// through them gdpr.ErrNotFound, gdpr.ErrConflict and gdpr.ErrInvalid.
// They are built from fixed texts and never wrap a driver's error. Any
// other database error is wrapped with the server's message withheld
// (only its SQLSTATE or error number is kept): servers quote bound values
// in their messages, and those are subject IDs and references. No error
// names a subject; request IDs appear only where erasure's own rules
// would show them.
//
// # Testing
//
// The stores' tests live in the module github.com/gdprkit/gdpr/integration
// (it imports the drivers, which this module does not): they run
// erasuretest.RunStoreTests, RunCodeStoreTests and RunJournalTests with
// two stores on two connection pools of one database, on SQLite always
// and on PostgreSQL and MySQL/MariaDB when GDPR_TEST_POSTGRES_DSN and
// GDPR_TEST_MYSQL_DSN are set, and again through PgBouncer; and a canary
// test that reads every column of every table after a request closed and
// finds its subject nowhere. In a host's own unit tests, prefer
// memerasure; run this package against a real database in integration
// tests.
package sqlerasure
