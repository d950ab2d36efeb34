-- The audit log's head: one row (id 1), created here and never deleted,
-- holding the committed size of the log and the root hash of its Merkle
-- tree. Every append locks it (SELECT … FOR UPDATE), which serialises the
-- appends of every process that shares the database.
CREATE TABLE {{prefix}}audit_head (
    id   SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL CHECK (size >= 0),
    root BYTEA NOT NULL CHECK (length(root) = 32)
);
INSERT INTO {{prefix}}audit_head (id, size, root) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
-- The entries, by index. A redacted entry keeps its idx and nothing else
-- (every other column NULL). The query indexes are partial: redacted rows
-- and entries without a subject stay out of them.
CREATE TABLE {{prefix}}audit_entries (
    idx     BIGINT NOT NULL PRIMARY KEY CHECK (idx >= 0),
    time_us BIGINT,
    subject BYTEA,
    actor   BYTEA,
    body    BYTEA
);
CREATE INDEX {{prefix}}audit_entries_subject ON {{prefix}}audit_entries (subject, idx) WHERE subject IS NOT NULL;
CREATE INDEX {{prefix}}audit_entries_actor ON {{prefix}}audit_entries (actor, idx) WHERE actor IS NOT NULL;
CREATE INDEX {{prefix}}audit_entries_time ON {{prefix}}audit_entries (time_us, idx) WHERE time_us IS NOT NULL;
-- The stored hashes of the Merkle tree, by tlog storage index.
CREATE TABLE {{prefix}}audit_hashes (
    idx  BIGINT NOT NULL PRIMARY KEY CHECK (idx >= 0),
    hash BYTEA NOT NULL CHECK (length(hash) = 32)
);
-- The pseudonym salts, keyed by a keyed hash of the ID (never the ID).
-- Deleting a salt makes the subject's pseudonyms unlinkable to them.
CREATE TABLE {{prefix}}audit_salts (
    ref  BYTEA NOT NULL PRIMARY KEY,
    salt BYTEA NOT NULL
);
-- Signed checkpoints, one per tree size; the first stored for a size stays.
CREATE TABLE {{prefix}}audit_checkpoints (
    size       BIGINT NOT NULL PRIMARY KEY CHECK (size >= 0),
    note       BYTEA NOT NULL,
    created_us BIGINT NOT NULL
);
