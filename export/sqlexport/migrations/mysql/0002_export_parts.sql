-- The parts of the deliveries, one row per part, keyed by the SHA-256 of
-- its download token (never the token): unique across the store. idx is
-- the part's place in its delivery; expires_us is its delivery's, kept
-- here so that a claim is one UPDATE of one row; downloaded_us is NULL
-- until the part is claimed.
CREATE TABLE {{prefix}}export_parts (
    token_hash    VARBINARY(32) NOT NULL PRIMARY KEY,
    delivery_id   VARBINARY(255) NOT NULL,
    idx           INT NOT NULL,
    blob_name     VARBINARY(255) NOT NULL,
    size_bytes    BIGINT NOT NULL,
    expires_us    BIGINT NOT NULL,
    downloaded_us BIGINT NULL,
    UNIQUE KEY {{prefix}}export_part_idx (delivery_id, idx),
    CONSTRAINT {{prefix}}export_part_hash_ck CHECK (LENGTH(token_hash) = 32)
) ENGINE=InnoDB;
