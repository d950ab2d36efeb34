// Package sqlaudit is an audit.Store in a SQL database: PostgreSQL, MySQL or
// MariaDB, or SQLite (the embedded default, through the pure-Go
// modernc.org/sqlite). It keeps a tamper-evident audit log (GDPR Art. 5(2)
// accountability, Art. 30 records, Art. 32 security of processing): the
// entries, the stored hashes of their RFC 6962 Merkle tree, the head, the
// signed checkpoints, and the salts of the pseudonyms, whose deletion makes
// a subject's entries unlinkable to them (Art. 17).
//
// # Storage
//
// Five tables, named with a prefix (WithTablePrefix, default "gdpr_"):
//
//   - <prefix>audit_head: one row (id 1), inserted by the migration and
//     never deleted: size, the number of entries, and root, the 32-byte root
//     hash of the tree over them (all zero for an empty log). Appends lock
//     this row.
//   - <prefix>audit_entries: one row per entry. idx (primary key) is the
//     entry's index; time_us its time in microseconds since the Unix epoch
//     (UTC); subject the subject's pseudonym (32 bytes, an HMAC of the ID
//     under the Log's key and the subject's salt), NULL if none; actor the
//     actor, a pseudonym or a system's name, prefixed by its kind; body the
//     Log's encoding of the entry, whose tlog.RecordHash is the tree's leaf.
//     Indexes on (subject, idx), (actor, idx) and (time_us, idx) serve
//     Query; on PostgreSQL and SQLite they are partial (NULLs left out), so
//     redacted rows drop out of them. A redacted entry keeps idx and nothing
//     else: every other column is NULL. time_us, subject and actor repeat
//     what the body says, for the indexes; the tree hashes the body only,
//     so audit.Log.Verify checks them against it (audit.ColumnMismatch)
//     and Log.Entries refuses a row where they disagree.
//   - <prefix>audit_hashes: idx (primary key), a tlog storage index
//     (tlog.StoredHashIndex), and hash, the 32-byte hash stored there.
//     Redaction keeps them: they are what proves the rest of the log.
//   - <prefix>audit_salts: ref (primary key), a keyed hash of an ID that
//     only the Log can compute, and salt. A table of its own, so that
//     forgetting a subject deletes one row and touches no entry.
//   - <prefix>audit_checkpoints: size (primary key), note (the signed
//     checkpoint of the tree at that size, as a signed note) and created_us.
//     The first checkpoint stored for a size stays.
//
// No column holds a subject ID, a staff member's ID or any other personal
// data in clear: subjects and staff appear as pseudonyms, salts are filed
// under keyed hashes of IDs, and the Log writes pseudonyms, not subject or
// staff IDs, into bodies. Without the Log's key and the salts, the tables link no entry to
// a person; once a salt is deleted, not even with the key.
//
// Byte strings compare byte for byte on every database: BYTEA on
// PostgreSQL, BLOB on SQLite, VARBINARY, BINARY and BLOB on MySQL/MariaDB
// (never a character column, whose collation would make "a" equal "A "),
// so a pseudonym never matches a neighbour's. Column widths on MySQL are
// the Store's limits everywhere (MaxSubjectLen, MaxActorLen, MaxBodyLen,
// MaxRefLen, MaxSaltLen, MaxNoteLen), so a log moves between databases
// unchanged.
//
// # Appends
//
// Appends are serialised by one row lock, whatever the number of processes:
// Append begins a transaction and first takes the lock, with SELECT size,
// root FROM <prefix>audit_head … FOR UPDATE on PostgreSQL and MySQL, and on
// SQLite with a write to the head row (UPDATE … SET size = size) before
// anything is read, which takes the database's single write lock whether
// or not the DSN asks for BEGIN IMMEDIATE (and so never meets a stale read
// snapshot). Under the lock it calls the AppendFunc with the head and a
// tlog.HashReader that reads in the same transaction (on MySQL as locking
// reads, which see the latest committed rows whatever the transaction's
// snapshot), checks the Batch against the head as the audit.Appender
// contract says, writes it and moves the head, and commits. A batch that
// does not start at the head is refused with audit.ErrConflict before
// anything is written; an index already stored (a row planted behind the
// Store's back) makes the database refuse the insert, and that too is
// audit.ErrConflict, with the transaction rolled back.
//
// Round trips per append: on PostgreSQL five at most (BEGIN, the lock, one
// read of the hashes the Log needs, none if it wrote the head itself, one
// statement, COMMIT): the entries and the
// hashes are inserted from arrays (INSERT … SELECT FROM unnest(…)) and the
// head moved in a single statement with data-modifying CTEs, whatever the
// batch's size. On pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib)
// the arrays are bound as Go slices, which pgx sends in binary; on any
// other driver, a wrapped pgx included, as text literals the server casts
// ('{…}'::bytea[]), which every driver passes through. The driver is
// told from its type, so the Store imports no driver. On MySQL
// and SQLite the entries go in multi-row INSERTs of up to 256 rows (1,280
// parameters) on MySQL, 192 rows (960 parameters) on SQLite, and about 1
// MiB of bodies, the hashes in INSERTs of up to 1,024 rows (2,048
// parameters) on MySQL, 480 (960 parameters) on SQLite: below the
// parameter limits (65,535 on MySQL; 32,766 on SQLite since 3.32, 999
// before) and MySQL's smallest default max_allowed_packet (4 MiB), with
// room to spare. Full chunks run as statements
// prepared once per connection, the last, shorter one unprepared, so the
// server keeps a bounded number of prepared statements. ReadHashes reads a
// run of consecutive storage indexes (verification's pages, proofs) as a
// range of the primary key, and scattered indexes with "idx = ANY(array)"
// on PostgreSQL and IN lists of 1, 2, 4, … 256 placeholders elsewhere,
// padded with a repeated index.
//
// If the database aborts the transaction to resolve a conflict
// (serialization failure or deadlock on PostgreSQL, SQLSTATE 40001 and
// 40P01; deadlock or lock wait timeout on MySQL, 1213 and 1205; a stale
// snapshot on SQLite, SQLITE_BUSY_SNAPSHOT), Append runs it again, the
// AppendFunc included, up to five times in all, as the contract allows.
//
// The reader Append gives the AppendFunc is an audit.SaltReader: the salts
// of subjects and staff the Log has not met are created in the append's
// transaction, with the batch that first names them, in one statement on
// PostgreSQL (an INSERT … ON CONFLICT DO NOTHING RETURNING and a read of
// the rest) and in multi-row inserts that do nothing on a duplicate and IN
// lists on MySQL (locking reads) and SQLite. A batch that fails leaves no
// salt, and no batch commits without its salts.
//
// The Store is an audit.SaltLookuper: LookupSalts, with which
// audit.Log.SubjectTokens matches a breach's candidates, reads many salts
// at once, on the pool and without a lock, and writes nothing: one
// statement (ref = ANY(array)) for up to 4096 refs on PostgreSQL, IN
// lists of up to 256 refs on MySQL and SQLite.
//
// On MySQL and SQLite, full chunks and chunks of a power-of-two number of
// rows (the group commit's usual batches) run as prepared statements,
// kept; other sizes run unprepared.
//
// Store.Tx gives an audit.SaltAppender that appends inside the host's own
// transaction (audit.Log.AppendTx), so that an audit entry commits or rolls
// back with the change it records: the same lock, taken in the host's
// transaction and held until the host commits or rolls back; no commit, no
// rollback and no retry of its own; the AppendFunc's salts and the writes
// under a savepoint, so that a refused batch leaves the host's transaction
// usable and keeps no salt of its own. New salts are
// created in the host's transaction too: on SQLite, a second connection
// would wait for the host's write lock, which waits for the append.
//
// Redact is one UPDATE that sets every column but idx to NULL. As with any
// database, the old bytes may survive for a while where the database keeps
// old row versions and logs (PostgreSQL's dead tuples until VACUUM,
// InnoDB's undo and redo logs, MySQL's and MariaDB's binary log, SQLite's
// WAL and free pages; secure_delete helps on SQLite), and in backups. The
// entries hold pseudonyms, not IDs, and deleting a subject's salt (the
// Log's forgetting of a subject) makes every copy of their pseudonyms,
// remnants included, unlinkable to them.
//
// The schema is versioned and embedded. Store.Migrate applies it, once,
// under a database lock, so many instances may call it at start-up;
// Migrations gives the same files, rendered with a prefix, to hosts that run
// goose, golang-migrate or atlas (the first file inserts the head row, which
// the Store needs). Applied versions are recorded in <prefix>schema_version.
// On MySQL, where DDL commits statement by statement, every statement of
// the migration is safe to run again, so a Migrate interrupted half way is
// finished by the next. Every statement is parameterised; table names come
// from the validated prefix only.
//
// The package imports no driver. Open the *sql.DB with the driver of your
// choice and pass the matching sqldialect.Dialect (sqldialect.ForDriver
// maps a driver's name to it):
//
//	db, _ := sql.Open("pgx", dsn)   // github.com/jackc/pgx/v5/stdlib
//	db, _ := sql.Open("mysql", dsn) // github.com/go-sql-driver/mysql
//	db, _ := sql.Open("sqlite", "file:audit.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
//	store, err := sqlaudit.New(db, sqldialect.SQLite)
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
// Methods return *audit.Error (Op "append", "head", "read hashes",
// "entries", "query", "redact", "salt", "lookup salt", "lookup salts",
// "delete salt", "put checkpoint" or "latest checkpoint") wrapping
// audit.ErrNotFound, audit.ErrConflict or audit.ErrInvalid (and so gdpr.ErrNotFound,
// gdpr.ErrConflict and gdpr.ErrInvalid) for the conditions of the
// audit.Store contract and the Store's limits; audit.ErrTampered for a head
// or stored hash that is not 32 bytes; or a database error otherwise. An
// AppendFunc's own error is returned as it is. A database server's error
// reaches the caller with its message withheld and its code alone
// (SQLSTATE, MySQL error number or SQLite result code): servers quote bound
// values in their messages, and those are pseudonyms, entries and salts. A
// duplicate-key error is replaced by the conflict error. Error texts name
// operations, indexes and sizes only, never a row's contents.
//
// # Testing
//
// The Store's tests live in the module github.com/gdprkit/gdpr/integration
// (it imports the drivers, which this module does not): they run
// audittest.RunStoreTests and the tamper suite (with a Tamperer that rewrites the tables with raw SQL) with two Stores on two connection pools of one
// database, on SQLite always and on PostgreSQL and MySQL/MariaDB when
// GDPR_TEST_POSTGRES_DSN and GDPR_TEST_MYSQL_DSN are set, and again
// through PgBouncer. In a host's own unit tests, prefer memaudit; run this
// store against a real database in integration tests.
package sqlaudit
