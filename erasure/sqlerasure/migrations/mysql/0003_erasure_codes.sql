-- The verification codes of erasure.CodeVerifier, one per request: the
-- keyed hash of the code (never the code), when it was issued and
-- expires, the attempts made and when the subject was reminded (NULL if
-- not yet).
CREATE TABLE {{prefix}}erasure_codes (
    request_id  VARBINARY(255) NOT NULL PRIMARY KEY,
    hash        VARBINARY(255) NOT NULL,
    created_us  BIGINT NOT NULL,
    expires_us  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL,
    reminded_us BIGINT NULL,
    KEY {{prefix}}erasure_code_remind (reminded_us, created_us, request_id)
) ENGINE=InnoDB;
