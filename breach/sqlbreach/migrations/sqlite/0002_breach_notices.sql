-- The communications to subjects (breach.Notice, Art. 34): one row per
-- breach and subject reference (a keyed HMAC of the breach and subject
-- IDs, 32 bytes, never the subject ID), with the time and outcome of its
-- latest claim or settlement: pending, sent, failed or skipped.
CREATE TABLE {{prefix}}breach_notices (
    breach_id TEXT NOT NULL,
    ref       BLOB NOT NULL CHECK (length(ref) = 32),
    time_us   INTEGER NOT NULL,
    outcome   TEXT NOT NULL,
    PRIMARY KEY (breach_id, ref)
);
