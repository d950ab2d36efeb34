-- The key store: one row per Ref, ever. A live row holds the wrapped keyset
-- (shredded_us NULL); a tombstone holds the Ref and shredded_us only. One
-- primary key serialises Create, Shred and Revive of a Ref, so a live record
-- and a tombstone never coexist. Refs compare byte for byte (collation "C").
CREATE TABLE {{prefix}}crypto_keys (
    ref         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    wrapped     BYTEA,
    kek         TEXT,
    version     BIGINT NOT NULL,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL,
    shredded_us BIGINT,
    CONSTRAINT {{prefix}}crypto_keys_state CHECK (
        (shredded_us IS NULL AND wrapped IS NOT NULL AND kek IS NOT NULL AND version >= 1) OR
        (shredded_us IS NOT NULL AND wrapped IS NULL AND kek IS NULL AND version = 0 AND created_us = 0 AND updated_us = 0))
);
