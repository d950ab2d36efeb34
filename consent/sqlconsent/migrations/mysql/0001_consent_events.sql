-- The consent ledger's append-only events. Keys are VARBINARY so that they
-- compare and sort byte for byte, as on the other databases (a _ci or PAD
-- SPACE collation would make "Alice" equal "alice " here). seq is the
-- ledger's order (the order of appends, not of event times): decisions take
-- the highest seq. It is the primary key, so InnoDB clusters rows in append
-- order and every secondary index ends in seq.
CREATE TABLE {{prefix}}consent_events (
    seq            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    id             VARBINARY(36) NOT NULL,
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
    UNIQUE KEY {{prefix}}consent_events_id (id),
    UNIQUE KEY {{prefix}}consent_events_confirms (confirms),
    KEY {{prefix}}consent_events_decide (subject, purpose, seq),
    KEY {{prefix}}consent_events_notice (notice_id, subject)
) ENGINE=InnoDB;
