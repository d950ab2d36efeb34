// Package sqlexport keeps the state of single-use bundle delivery in a
// SQL database: PostgreSQL, MySQL or MariaDB, or SQLite (the embedded
// default, through the pure-Go modernc.org/sqlite). Its Store is an
// export.Store: the deliveries of access (Art. 15(3)) and portability
// (Art. 20) bundles, and the hashes of their parts' download tokens, so
// that each part is fetched once, by the subject, until its delivery
// expires (Art. 5(1)(e)). The bundles' bytes are not here: they are in
// an export.Blobs (export.DirBlobs, or the host's object store).
//
// # Storage
//
// Two tables, named with a prefix (WithTablePrefix, default "gdpr_"):
//
//   - <prefix>export_deliveries: one row per delivery. id (primary key),
//     request (empty for a bundle made outside a request), kind, subject,
//     created_us and expires_us. The subject ID is kept as given: it is
//     what export.Deliverer.EraseSubject finds a subject's deliveries by
//     (List{Subject}), and a delivery is short-lived. Indexes on
//     (created_us, id), (subject, created_us, id), (request, created_us,
//     id) and expires_us serve List's filters in its order.
//   - <prefix>export_parts: one row per part. token_hash (primary key:
//     the SHA-256 of the part's token, 32 bytes, a CHECK holds every row
//     to that; never the token), delivery_id and idx (unique together:
//     the part's place in its delivery), blob_name, size_bytes,
//     expires_us (its delivery's, so that a claim reads and writes one
//     row) and downloaded_us (NULL until the part is claimed). The
//     primary key makes a token hash unique across the store.
//
// There is no foreign key between them (SQLite enforces one only where
// the host turns foreign keys on): the Store writes and deletes a
// delivery with its parts atomically itself.
//
// Times are BIGINT microseconds since the Unix epoch and come back in
// UTC: a time with nanoseconds is truncated, and Claim compares now with
// Expires at that precision. Keys compare byte for byte: "C" collation
// on PostgreSQL, VARBINARY on MySQL/MariaDB, BINARY on SQLite. Column
// widths are the same limits on every database (MaxIDLen, MaxKindLen),
// checked before a write, so the tables move between databases
// unchanged.
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
//   - Create is one transaction: the delivery's row, then its parts'
//     rows in the order of their token hashes, so that two Creates that
//     share hashes wait for one another in one order and never deadlock.
//     A primary key that refuses a row — the delivery's ID, a part's
//     token hash, held by another delivery or by another part of this one
//     — rolls the transaction back: export.ErrConflict, nothing stored.
//     Of concurrent Creates sharing an ID or a hash, the second waits for
//     the first to commit, and then fails.
//   - Claim is one transaction whose first statement is UPDATE … SET
//     downloaded_us = now WHERE token_hash = ? AND downloaded_us IS NULL
//     AND expires_us > now: one row, by its primary key. Of concurrent
//     claims the row's lock lets one write; the others wait, find
//     downloaded_us set and match nothing (PostgreSQL re-checks the
//     condition on the updated row, InnoDB reads the latest committed
//     version for an UPDATE, SQLite runs writers one at a time). When it
//     matched, one query in the same transaction reads the delivery and
//     its parts, the claimed one as written. Unknown, used and expired
//     tokens all match nothing and are one ErrNotFound.
//   - Get and List are one query each, joining the deliveries and their
//     parts, so they read a delivery and its parts as of one moment.
//     List's page is a derived table ORDER BY created_us, id LIMIT n;
//     Finished is expires_us <= t OR NOT EXISTS a part whose
//     downloaded_us is NULL or after t.
//   - Delete is one statement on PostgreSQL (WITH … DELETE of the
//     delivery, then DELETE of its parts, on one snapshot) and on
//     MySQL/MariaDB (a multiple-table DELETE … LEFT JOIN), and one
//     transaction of two DELETEs on SQLite. A Claim of one of its parts
//     either commits first, or finds the part gone.
//
// Deadlocks and serialization failures that happen all the same are run
// again (up to five times). MySQL/MariaDB transactions run at READ
// COMMITTED, so they take record locks only and no gap locks. On SQLite,
// each transaction's first statement is a write, so it takes the write
// lock before it reads anything, whatever the DSN's _txlock.
//
// # Token hashes
//
// The contract asks that a store compare token hashes in constant time.
// A database finds a row through an index, whose lookup time depends on
// the key, not a constant-time comparison. What makes that safe is what
// is looked up: the SHA-256 of a random 256-bit token, which the caller
// computes from the token it was given. A timing difference can tell an
// attacker at most how a hash it computed sorts among stored hashes; it
// cannot turn that into a token, as it would have to invert SHA-256. No
// hash leaves the Store in an error or a log line.
//
// The package imports no driver. Open the *sql.DB with the driver of
// your choice and pass the matching sqldialect.Dialect:
//
//	db, _ := sql.Open("pgx", dsn)   // github.com/jackc/pgx/v5/stdlib
//	db, _ := sql.Open("mysql", dsn) // github.com/go-sql-driver/mysql
//	db, _ := sql.Open("sqlite", "file:app.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
//	store, err := sqlexport.New(db, sqldialect.SQLite)
//
// The Store keeps no session state, so it works behind PgBouncer in
// transaction mode: on PostgreSQL it prepares no statement itself
// (behind PgBouncer open pgx with default_query_exec_mode=exec or
// simple_protocol), and Migrate takes a transaction-scoped advisory lock.
// On MySQL and SQLite statements are prepared once per pooled connection.
//
// # Erasure residue
//
// A delivery's subject column holds the subject ID until the delivery is
// deleted: when it is over (export.Deliverer.Sweep), downloaded in full,
// or with its subject (export.Deliverer.EraseSubject). As with any
// database, the deleted bytes may survive for a while where the
// database keeps old row versions and logs: PostgreSQL's dead tuples
// until VACUUM (and its WAL, until recycled), InnoDB's undo and redo
// logs, MySQL's and MariaDB's binary log, whose row events carry the
// before-image, SQLite's WAL until a checkpoint and its free pages until
// they are reused or VACUUM runs (PRAGMA secure_delete overwrites deleted
// content), and in backups and replicas. A host that must have them gone
// runs VACUUM (or lets autovacuum run) on PostgreSQL, keeps binary logs
// and backups on a retention shorter than its erasure deadline, and on
// SQLite opens the database with secure_delete on. The tables never hold
// a token or a bundle's bytes: a token hash opens nothing without the
// token, and the blobs are encrypted under keys derived from the tokens.
//
// # Errors
//
// Every error is an *export.Error whose Op is "sqlexport.<method>" (e.g.
// "sqlexport.Claim"). The conditions of the contract wrap the export
// sentinels: export.ErrNotFound, export.ErrConflict, and export.ErrInvalid
// for a delivery the Store refuses, with Field naming the field — an
// empty ID ("id"), no parts ("parts"), Expires not after Created
// ("expires"), a TokenHash that is not 32 bytes ("token_hash"), an empty
// or too long Blob ("blob"), a negative Size ("size"), or a value longer
// than its column ("id", "request", "subject", "kind") — and through
// them gdpr.ErrNotFound, gdpr.ErrConflict and gdpr.ErrInvalid. A nil
// context is refused with Field "ctx", and a context done before a call
// starts is returned wrapped. The conditions' errors are built from fixed
// texts and never wrap a driver's error. Any other database error is
// wrapped with the server's message withheld (only its SQLSTATE or error
// number is kept): servers quote bound values in their messages, and
// those are subject IDs and token hashes. No error names a subject, a
// token hash, a delivery ID or a blob name.
//
// # Testing
//
// The Store's tests live in the module github.com/gdprkit/gdpr/integration
// (it imports the drivers, which this module does not): they run
// exporttest.RunStoreTests on SQLite always and on PostgreSQL and
// MySQL/MariaDB when GDPR_TEST_POSTGRES_DSN and GDPR_TEST_MYSQL_DSN are
// set, on a first connection pool and on a second one; race Stores on
// four connection pools claiming one token (exactly one wins), creating
// deliveries whose token hashes collide (exactly one is stored, nothing
// of the others) and claiming the parts of a delivery being deleted
// (nothing is left behind); and read every column of every table after a
// Delete to find the subject and the hashes nowhere. In a host's own unit
// tests, prefer memexport; run this package against a real database in
// integration tests.
package sqlexport
