-- The key store: one row per Ref, ever. A live row holds the wrapped keyset
-- (shredded_us NULL); a tombstone holds the Ref and shredded_us only. One
-- primary key serialises Create, Shred and Revive of a Ref, so a live record
-- and a tombstone never coexist. Refs are VARBINARY so that they compare and
-- sort byte for byte (a _ci or PAD SPACE collation would make "A" equal
-- "a "). The CHECK is enforced by MySQL 8.0.16+ and MariaDB 10.2+.
CREATE TABLE {{prefix}}crypto_keys (
    ref         VARBINARY(255) NOT NULL PRIMARY KEY,
    wrapped     MEDIUMBLOB NULL,
    kek         VARBINARY(255) NULL,
    version     BIGINT NOT NULL,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL,
    shredded_us BIGINT NULL,
    CONSTRAINT {{prefix}}crypto_keys_state CHECK (
        (shredded_us IS NULL AND wrapped IS NOT NULL AND kek IS NOT NULL AND version >= 1) OR
        (shredded_us IS NOT NULL AND wrapped IS NULL AND kek IS NULL AND version = 0 AND created_us = 0 AND updated_us = 0))
) ENGINE=InnoDB;
