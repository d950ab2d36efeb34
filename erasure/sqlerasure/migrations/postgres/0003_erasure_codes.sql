-- The verification codes of erasure.CodeVerifier, one per request: the
-- keyed hash of the code (never the code), when it was issued and
-- expires, the attempts made and when the subject was reminded (NULL if
-- not yet).
CREATE TABLE {{prefix}}erasure_codes (
    request_id  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    hash        BYTEA NOT NULL,
    created_us  BIGINT NOT NULL,
    expires_us  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL,
    reminded_us BIGINT
);
CREATE INDEX {{prefix}}erasure_code_remind ON {{prefix}}erasure_codes (created_us, request_id) WHERE reminded_us IS NULL;
