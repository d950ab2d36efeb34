-- The consent ledger's append-only events. Keys are VARBINARY so that they
-- compare and sort byte for byte, as on the other databases (a _ci or PAD
-- SPACE collation would make "Alice" equal "alice " here).
CREATE TABLE {{prefix}}consent_events (
    id             VARBINARY(36) NOT NULL PRIMARY KEY,
    subject        VARBINARY(255) NOT NULL,
    purpose        VARBINARY(255) NOT NULL,
    contact        VARBINARY(16) NOT NULL DEFAULT '',
    kind           VARBINARY(16) NOT NULL,
    at_us          BIGINT NOT NULL,
    actor_kind     VARBINARY(16) NOT NULL,
    actor_id       VARBINARY(255) NOT NULL DEFAULT '',
    notice_id      VARBINARY(256) NOT NULL DEFAULT '',
    notice_version INT NOT NULL DEFAULT 0,
    notice_hash    VARBINARY(64) NOT NULL DEFAULT '',
    method         VARBINARY(64) NOT NULL,
    channel        VARBINARY(64) NOT NULL DEFAULT '',
    evidence       BLOB NOT NULL,
    expires_us     BIGINT NOT NULL DEFAULT 0,
    basis          VARBINARY(32) NOT NULL,
    confirms       VARBINARY(36) NULL,
    token_hash     VARBINARY(32) NULL,
    UNIQUE KEY {{prefix}}consent_events_confirms (confirms),
    KEY {{prefix}}consent_events_decide (subject, purpose, at_us, id),
    KEY {{prefix}}consent_events_notice (notice_id, subject)
) ENGINE=InnoDB;
