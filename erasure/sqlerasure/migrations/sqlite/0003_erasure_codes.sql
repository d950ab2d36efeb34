-- The verification codes of erasure.CodeVerifier, one per request: the
-- keyed hash of the code (never the code), when it was issued and
-- expires, the attempts made and when the subject was reminded (NULL if
-- not yet).
CREATE TABLE {{prefix}}erasure_codes (
    request_id  TEXT NOT NULL PRIMARY KEY,
    hash        BLOB NOT NULL,
    created_us  INTEGER NOT NULL,
    expires_us  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    reminded_us INTEGER
);
CREATE INDEX {{prefix}}erasure_code_remind ON {{prefix}}erasure_codes (created_us, request_id) WHERE reminded_us IS NULL;
