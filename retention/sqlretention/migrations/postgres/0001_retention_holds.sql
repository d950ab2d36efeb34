-- The legal holds (retention.Hold), one row per hold, keyed by its ID.
-- subject is NULL for a hold on every subject's data of its categories,
-- and categories is the JSON array of the hold's categories in order,
-- NULL for a hold on every category of its subject. The actors are a kind
-- and an ID ('' for none). Times are microseconds since the Unix epoch
-- (UTC); until_us and released_us are NULL while unknown, and ends_us is
-- the earlier of the two, so that "in force at now" is placed_us <= now
-- AND (ends_us IS NULL OR ends_us > now). Keys compare byte for byte
-- (collation "C").
CREATE TABLE {{prefix}}retention_holds (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    subject          TEXT COLLATE "C",
    categories       TEXT,
    reason           TEXT NOT NULL,
    placed_by_kind   TEXT COLLATE "C" NOT NULL,
    placed_by_id     TEXT COLLATE "C" NOT NULL,
    placed_us        BIGINT NOT NULL,
    until_us         BIGINT,
    released_us      BIGINT,
    released_by_kind TEXT COLLATE "C" NOT NULL,
    released_by_id   TEXT COLLATE "C" NOT NULL,
    ends_us          BIGINT
);
CREATE INDEX {{prefix}}retention_hold_subject ON {{prefix}}retention_holds (subject, id);
CREATE INDEX {{prefix}}retention_hold_ends ON {{prefix}}retention_holds (ends_us);
