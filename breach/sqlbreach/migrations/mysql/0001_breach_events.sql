-- The breach register (breach.Event): every breach's events, one row per
-- event, keyed by the breach's ID and the event's number from 1 without
-- gaps, so that of two writers of one event the primary key lets one in.
-- time_us is microseconds since the Unix epoch (UTC); data is the event's
-- JSON, kept byte for byte (up to breach's 1 MiB; MEDIUMBLOB keeps 16).
-- No row holds a subject ID. Keys are VARBINARY, so they compare byte for
-- byte whatever the database's collation. One statement, so the
-- migration is atomic on MySQL too.
CREATE TABLE {{prefix}}breach_events (
    breach_id VARBINARY(36) NOT NULL,
    seq       BIGINT NOT NULL CHECK (seq >= 1),
    time_us   BIGINT NOT NULL,
    kind      VARBINARY(32) NOT NULL,
    data      MEDIUMBLOB NOT NULL,
    PRIMARY KEY (breach_id, seq)
) ENGINE=InnoDB;
