-- The breach register (breach.Event): every breach's events, one row per
-- event, keyed by the breach's ID and the event's number from 1 without
-- gaps, so that of two writers of one event the primary key lets one in.
-- time_us is microseconds since the Unix epoch (UTC); data is the event's
-- JSON, kept byte for byte. No row holds a subject ID. Keys compare byte
-- for byte (collation "C").
CREATE TABLE {{prefix}}breach_events (
    breach_id TEXT COLLATE "C" NOT NULL,
    seq       BIGINT NOT NULL CHECK (seq >= 1),
    time_us   BIGINT NOT NULL,
    kind      TEXT COLLATE "C" NOT NULL,
    data      BYTEA NOT NULL,
    PRIMARY KEY (breach_id, seq)
);
