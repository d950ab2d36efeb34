-- The audit log's head: one row (id 1), created here and never deleted,
-- holding the committed size of the log and the root hash of its Merkle
-- tree. Every append writes it first, which takes the database's write
-- lock and so serialises the appends of every process using the file.
CREATE TABLE {{prefix}}audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = 32)
);
INSERT INTO {{prefix}}audit_head (id, size, root) VALUES (1, 0, zeroblob(32));
-- The entries, by index (the rowid). A redacted entry keeps its idx and
-- nothing else (every other column NULL). The query indexes are partial:
-- redacted rows and entries without a subject stay out of them.
CREATE TABLE {{prefix}}audit_entries (
    idx     INTEGER NOT NULL PRIMARY KEY CHECK (idx >= 0),
    time_us INTEGER,
    subject BLOB,
    actor   BLOB,
    body    BLOB
);
CREATE INDEX {{prefix}}audit_entries_subject ON {{prefix}}audit_entries (subject, idx) WHERE subject IS NOT NULL;
CREATE INDEX {{prefix}}audit_entries_actor ON {{prefix}}audit_entries (actor, idx) WHERE actor IS NOT NULL;
CREATE INDEX {{prefix}}audit_entries_time ON {{prefix}}audit_entries (time_us, idx) WHERE time_us IS NOT NULL;
-- The stored hashes of the Merkle tree, by tlog storage index.
CREATE TABLE {{prefix}}audit_hashes (
    idx  INTEGER NOT NULL PRIMARY KEY CHECK (idx >= 0),
    hash BLOB NOT NULL CHECK (length(hash) = 32)
);
-- The pseudonym salts, keyed by a keyed hash of the ID (never the ID).
-- Deleting a salt makes the subject's pseudonyms unlinkable to them.
CREATE TABLE {{prefix}}audit_salts (
    ref  BLOB NOT NULL PRIMARY KEY,
    salt BLOB NOT NULL
) WITHOUT ROWID;
-- Signed checkpoints, one per tree size; the first stored for a size stays.
CREATE TABLE {{prefix}}audit_checkpoints (
    size       INTEGER NOT NULL PRIMARY KEY CHECK (size >= 0),
    note       BLOB NOT NULL,
    created_us INTEGER NOT NULL
);
