-- The communications to subjects (breach.Notice, Art. 34): one row per
-- breach and subject reference (a keyed HMAC of the breach and subject
-- IDs, 32 bytes, never the subject ID), with the time and outcome of its
-- latest claim or settlement: pending, sent, failed or skipped. One
-- statement, so the migration is atomic on MySQL too.
CREATE TABLE {{prefix}}breach_notices (
    breach_id VARBINARY(36) NOT NULL,
    ref       VARBINARY(32) NOT NULL CHECK (LENGTH(ref) = 32),
    time_us   BIGINT NOT NULL,
    outcome   VARBINARY(16) NOT NULL,
    PRIMARY KEY (breach_id, ref)
) ENGINE=InnoDB;
