-- The parts of the deliveries, one row per part, keyed by the SHA-256 of
-- its download token (never the token): unique across the store. idx is
-- the part's place in its delivery; expires_us is its delivery's, kept
-- here so that a claim is one UPDATE of one row; downloaded_us is NULL
-- until the part is claimed.
CREATE TABLE {{prefix}}export_parts (
    token_hash    BYTEA NOT NULL PRIMARY KEY,
    delivery_id   TEXT COLLATE "C" NOT NULL,
    idx           INTEGER NOT NULL,
    blob_name     TEXT COLLATE "C" NOT NULL,
    size_bytes    BIGINT NOT NULL,
    expires_us    BIGINT NOT NULL,
    downloaded_us BIGINT,
    CONSTRAINT {{prefix}}export_part_idx UNIQUE (delivery_id, idx),
    CONSTRAINT {{prefix}}export_part_hash_ck CHECK (octet_length(token_hash) = 32)
);
