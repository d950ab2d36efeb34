-- MySQL commits every DDL statement on its own, so a run that fails half
-- way leaves the statements before the failure applied and the version
-- unrecorded: every statement here is safe to run again (IF NOT EXISTS, an
-- insert that does nothing when the row is there), so the next Migrate
-- finishes the job. Byte strings are VARBINARY/BINARY/BLOB: they compare
-- byte for byte, whatever the database's default collation.
--
-- The audit log's head: one row (id 1), created here and never deleted,
-- holding the committed size of the log and the root hash of its Merkle
-- tree. Every append locks it (SELECT … FOR UPDATE), which serialises the
-- appends of every process that shares the database.
CREATE TABLE IF NOT EXISTS {{prefix}}audit_head (
    id   TINYINT NOT NULL PRIMARY KEY,
    size BIGINT NOT NULL,
    root BINARY(32) NOT NULL,
    CONSTRAINT {{prefix}}audit_head_one CHECK (id = 1 AND size >= 0)
) ENGINE=InnoDB;
INSERT INTO {{prefix}}audit_head (id, size, root) VALUES (1, 0, UNHEX(REPEAT('00', 32))) ON DUPLICATE KEY UPDATE id = id;
-- The entries, by index. A redacted entry keeps its idx and nothing else
-- (every other column NULL). Bodies are MEDIUMBLOB (up to 16 MiB; BLOB
-- would stop at 64 KiB).
CREATE TABLE IF NOT EXISTS {{prefix}}audit_entries (
    idx     BIGINT NOT NULL PRIMARY KEY,
    time_us BIGINT NULL,
    subject VARBINARY(32) NULL,
    actor   VARBINARY(255) NULL,
    body    MEDIUMBLOB NULL,
    KEY {{prefix}}audit_entries_subject (subject, idx),
    KEY {{prefix}}audit_entries_actor (actor, idx),
    KEY {{prefix}}audit_entries_time (time_us, idx)
) ENGINE=InnoDB;
-- The stored hashes of the Merkle tree, by tlog storage index.
CREATE TABLE IF NOT EXISTS {{prefix}}audit_hashes (
    idx  BIGINT NOT NULL PRIMARY KEY,
    hash BINARY(32) NOT NULL
) ENGINE=InnoDB;
-- The pseudonym salts, keyed by a keyed hash of the ID (never the ID).
-- Deleting a salt makes the subject's pseudonyms unlinkable to them.
CREATE TABLE IF NOT EXISTS {{prefix}}audit_salts (
    ref  VARBINARY(64) NOT NULL PRIMARY KEY,
    salt VARBINARY(64) NOT NULL
) ENGINE=InnoDB;
-- Signed checkpoints, one per tree size; the first stored for a size stays.
CREATE TABLE IF NOT EXISTS {{prefix}}audit_checkpoints (
    size       BIGINT NOT NULL PRIMARY KEY,
    note       BLOB NOT NULL,
    created_us BIGINT NOT NULL
) ENGINE=InnoDB;
