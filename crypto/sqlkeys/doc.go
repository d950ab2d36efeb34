// Package sqlkeys is a crypto.Store in a SQL database: PostgreSQL, MySQL or
// MariaDB, or SQLite (the embedded default, through the pure-Go
// modernc.org/sqlite). It keeps the wrapped per-subject keysets and the
// tombstones of shredded subjects, so that erasing a subject (Art. 17) is
// destroying one row's key material, O(1) in the number of their
// ciphertexts.
//
// # Storage
//
// One table, named with a prefix (WithTablePrefix, default "gdpr_"):
// <prefix>crypto_keys, one row per Ref with the columns ref (primary key),
// wrapped, kek, version, created_us, updated_us and shredded_us. A live
// record has shredded_us NULL; a tombstone is the same row with shredded_us
// set and every other column cleared (wrapped and kek NULL, version and
// times 0), so it holds the Ref and the time of the shred only, as the
// crypto.Store contract asks. A CHECK constraint keeps a row in one of the
// two shapes. Times are BIGINT microseconds since the Unix epoch (UTC).
// Refs compare byte for byte: "C" collation on PostgreSQL, VARBINARY(255)
// on MySQL/MariaDB (whose default collations would make "A" equal "a "),
// BINARY on SQLite; a Ref is 1 to MaxRefLen bytes.
//
// Why one table and not a table of keys beside a table of tombstones: with
// two tables, a Create that checks for a tombstone and a Shred that deletes
// the key and inserts the tombstone touch different rows, and under
// PostgreSQL's READ COMMITTED (and MySQL's consistent reads) each can miss
// the other's uncommitted row and both commit, leaving a live key beside a
// tombstone; closing that needs explicit locks or SERIALIZABLE retries per
// database. With one row per Ref, the primary key itself serialises every
// write of a Ref on every database, each operation is a single statement,
// and a live record and a tombstone cannot coexist:
//
//   - Create is a plain INSERT. If the Ref has a row, live or tombstone, the
//     primary key refuses it (a concurrent insert of the same key waits for
//     the first to commit, then fails), and one read of that row says
//     whether the answer is crypto.ErrConflict or crypto.ErrShredded. Rows
//     are never deleted, so the row is still there to read.
//   - Shred is one upsert: INSERT … ON CONFLICT (ref) DO UPDATE on
//     PostgreSQL and SQLite, INSERT … ON DUPLICATE KEY UPDATE on MySQL. It
//     inserts a tombstone, or turns the live row into one, or keeps an
//     existing tombstone and its first date. Racing a Create, it either
//     waits for the Create's row and then overwrites it, or inserts first
//     and makes the Create fail: once Shred returns, no live record exists
//     and no Create can succeed, whichever ran first.
//   - Update is UPDATE … SET wrapped, kek, version = version + 1, updated_us
//     WHERE ref = ? AND version = ? AND shredded_us IS NULL. The row lock and
//     the re-check of the WHERE clause on the latest row version (PostgreSQL
//     READ COMMITTED, InnoDB's locking reads for UPDATE, SQLite's single
//     writer) make exactly one of many Updates from the same Version
//     succeed. When no row matches, a read tells ErrConflict, ErrShredded
//     and ErrNotFound apart.
//   - UpdateMany (crypto.BatchUpdater, Rewrap's writes) keeps Update's
//     condition per record. On PostgreSQL it is one UPDATE … FROM
//     unnest(arrays) … WHERE k.ref = u.ref AND k.version = u.v AND
//     k.shredded_us IS NULL RETURNING k.ref, per 1,000 records, the
//     arrays bound as slices on pgx's database/sql driver and as text
//     literals on any other; on MySQL and SQLite, Update's statement
//     once per record in one transaction, so a batch costs one commit. A
//     record it did not update is read as Update's is. A deadlock or
//     serialization failure, which writes nothing, is retried.
//   - Revive is UPDATE … WHERE ref = ? AND shredded_us IS NOT NULL, turning
//     the tombstone into a live row with Version 1 in one statement; if no
//     row matched and the Ref has no row at all, it is inserted as Create
//     does (ErrConflict if it is live).
//
// None of this depends on the isolation level (each statement runs alone,
// in autocommit), on application-level locks, or on one process: many
// instances may share the database. On SQLite every write statement takes
// the database's single write lock; open it with a busy timeout so writers
// wait rather than fail.
//
// The Store is also a crypto.TombstoneReader: Tombstone reads shredded_us,
// so a Keyring's export of a shredded subject names the time of the shred.
// And it is a crypto.BatchGetter, for crypto.Keyring.SubjectKeys: GetMany
// reads many Refs' rows, tombstone times included, with "ref =
// ANY(array)" per 1,000 Refs on PostgreSQL and IN lists of up to 256
// placeholders on MySQL and SQLite, primary-key lookups all.
//
// Shredding clears the keyset in the row, but the old bytes may survive for
// a while where the database keeps old row versions and logs (PostgreSQL's
// dead tuples until VACUUM, InnoDB's undo log and redo log, MySQL's and
// MariaDB's binary log, whose row events carry the row's before-image,
// SQLite's WAL and free pages; secure_delete helps on SQLite), and in
// backups. The keysets
// are wrapped by the KEK, so such remnants are as safe as the KEK; a host
// that needs the remnants gone too rotates the KEK after shredding
// (crypto.Keyring's rewrap), which makes every older wrapped copy useless.
//
// List reads live rows in primary-key order after a cursor, so KEK rotation
// pages through the store with short queries while the application runs.
// Tombstones stay in the table forever (they are what keeps a shredded
// subject from getting a new key); a host with very many of them pays for
// them only in List's scan.
//
// The schema is versioned and embedded. Store.Migrate applies it, once,
// under a database lock, so many instances may call it at start-up;
// Migrations gives the same files, rendered with a prefix, to hosts that run
// goose, golang-migrate or atlas. Applied versions are recorded in
// <prefix>schema_version, which the module's stores of one prefix share.
// Every statement is parameterised; the table name comes from the
// validated prefix only.
//
// The package imports no driver. Open the *sql.DB with the driver of your
// choice and pass the matching sqldialect.Dialect (sqldialect.ForDriver
// maps a driver's name to it):
//
//	db, _ := sql.Open("pgx", dsn)   // github.com/jackc/pgx/v5/stdlib
//	db, _ := sql.Open("mysql", dsn) // github.com/go-sql-driver/mysql
//	db, _ := sql.Open("sqlite", "file:keys.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
//	store, err := sqlkeys.New(db, sqldialect.SQLite)
//
// The Store keeps no session state, so it works behind PgBouncer in
// transaction mode: on PostgreSQL it prepares no statement itself (pgx's
// default mode caches them per connection; behind PgBouncer open pgx with
// default_query_exec_mode=exec or simple_protocol), and Migrate takes a
// transaction-scoped advisory lock. On MySQL and SQLite its statements are
// prepared once per pooled connection.
//
// # Transactions
//
// Store.Tx(tx) is a crypto.Store that runs every query in tx, a
// transaction the host began on the Store's *sql.DB, for crypto.Keyring.In:
// a new subject's key is then created in the host's transaction, commits
// with the row that holds its first ciphertext, and never existed if the
// host rolls back. On SQLite this is what makes the first Encrypt for a
// subject inside a write transaction possible at all: SQLite has one
// writer, so a key created on another connection waits for the host's
// transaction until the busy timeout, then fails.
//
//	tx, _ := db.BeginTx(ctx, nil)
//	ct, err := keyring.In(store.Tx(tx)).Encrypt(ctx, "user-42", email, []byte("ann@example.org"))
//	_, err = tx.ExecContext(ctx, "INSERT INTO users (id, email) VALUES (?, ?)", "user-42", ct)
//	err = tx.Commit()
//
// The view never commits, rolls back or retries. A refused write
// (crypto.ErrConflict, crypto.ErrShredded, crypto.ErrNotFound) leaves tx
// usable on every database: on PostgreSQL, where a failed statement aborts
// the transaction, the view inserts with ON CONFLICT DO NOTHING instead of
// letting the primary key fail the statement, so no savepoint is needed;
// MySQL and SQLite roll back only a failed statement. On MySQL, whose reads
// in a transaction see its snapshot, the row that refused a write is read
// with a locking read, and so is every later Get of that Ref through the
// view, so a key another process committed meanwhile is found and used.
// A live key is always read as committed now (FOR SHARE on PostgreSQL, a
// second read LOCK IN SHARE MODE on MySQL), so a key shredded before the
// call is never taken from an older snapshot of the host's transaction.
// Store.Tx says the rest: isolation levels, BEGIN IMMEDIATE on SQLite,
// locks held until tx ends.
//
// # Errors
//
// Methods return *crypto.Error in the package's shape, "crypto <op>:
// <field>: <cause>", with Op "get", "create", "update", "shred",
// "revive", "list", "refs" or "tombstone" ("sqlkeys.New" and
// "sqlkeys.Migrations" for those two). For the conditions of the
// crypto.Store contract Field is "ref" and the cause wraps
// crypto.ErrNotFound, crypto.ErrConflict or crypto.ErrShredded (and so
// gdpr.ErrNotFound, gdpr.ErrConflict and gdpr.ErrShredded), e.g.
// "crypto create: ref: conflict: a live key exists"; an empty Ref or one
// longer than MaxRefLen (Create, Shred, Revive) wraps crypto.ErrInvalid.
// Field is "limit" for a negative List or Refs limit, "ctx" for a nil context,
// "tx" for any call on Tx(nil), and empty for a database error.
//
// No error text holds a Ref: a Ref is a stable pseudonym of a subject
// (their tombstone keeps it after erasure), so errors say "ref", never
// which, as memkeys does. A duplicate-key error is replaced, not wrapped,
// by the conflict or shredded error: its driver text may quote the key
// (MySQL's "Duplicate entry '…'"). Any other server error comes with its
// message withheld and its code kept ("database error SQLSTATE 22021
// (message withheld: …)"), since servers quote bound values; errors that
// carry no server message (a context's, a closed connection's) are
// wrapped as they are.
//
// # Testing
//
// The Store's tests live in the module github.com/gdprkit/gdpr/integration
// (it imports the drivers, which this module does not): they run
// keystest.RunStoreTests with two Stores on two connection pools of one
// database (so the suite's races run between two pools, as between two
// processes), on SQLite always and on PostgreSQL and MySQL/MariaDB when
// GDPR_TEST_POSTGRES_DSN and GDPR_TEST_MYSQL_DSN are set, and again
// through PgBouncer; the Tx view's tests and the Keyring's Eraser and
// Exporter suites (gdprtest) over this Store run on each database too. In a host's own unit tests, prefer memkeys; run this
// store against a real database in integration tests.
package sqlkeys
