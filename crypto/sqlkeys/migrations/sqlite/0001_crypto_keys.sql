-- The key store: one row per Ref, ever. A live row holds the wrapped keyset
-- (shredded_us NULL); a tombstone holds the Ref and shredded_us only. One
-- primary key serialises Create, Shred and Revive of a Ref, so a live record
-- and a tombstone never coexist. TEXT compares byte for byte (BINARY).
CREATE TABLE {{prefix}}crypto_keys (
    ref         TEXT NOT NULL PRIMARY KEY,
    wrapped     BLOB,
    kek         TEXT,
    version     INTEGER NOT NULL,
    created_us  INTEGER NOT NULL,
    updated_us  INTEGER NOT NULL,
    shredded_us INTEGER,
    CONSTRAINT {{prefix}}crypto_keys_state CHECK (
        (shredded_us IS NULL AND wrapped IS NOT NULL AND kek IS NOT NULL AND version >= 1) OR
        (shredded_us IS NOT NULL AND wrapped IS NULL AND kek IS NULL AND version = 0 AND created_us = 0 AND updated_us = 0))
) WITHOUT ROWID;
