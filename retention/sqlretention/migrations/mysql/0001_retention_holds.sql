-- The legal holds (retention.Hold), one row per hold, keyed by its ID.
-- subject is NULL for a hold on every subject's data of its categories,
-- and categories is the JSON array of the hold's categories in order,
-- NULL for a hold on every category of its subject. The actors are a kind
-- and an ID ('' for none). Times are microseconds since the Unix epoch
-- (UTC); until_us and released_us are NULL while unknown, and ends_us is
-- the earlier of the two, so that "in force at now" is placed_us <= now
-- AND (ends_us IS NULL OR ends_us > now). Keys are VARBINARY, so they
-- compare byte for byte whatever the database's collation. One
-- statement, so the migration is atomic on MySQL too.
CREATE TABLE {{prefix}}retention_holds (
    id               VARBINARY(255) NOT NULL PRIMARY KEY,
    subject          VARBINARY(255) NULL,
    categories       BLOB NULL,
    reason           VARBINARY(4096) NOT NULL,
    placed_by_kind   VARBINARY(32) NOT NULL,
    placed_by_id     VARBINARY(255) NOT NULL,
    placed_us        BIGINT NOT NULL,
    until_us         BIGINT NULL,
    released_us      BIGINT NULL,
    released_by_kind VARBINARY(32) NOT NULL,
    released_by_id   VARBINARY(255) NOT NULL,
    ends_us          BIGINT NULL,
    KEY {{prefix}}retention_hold_subject (subject, id),
    KEY {{prefix}}retention_hold_ends (ends_us)
) ENGINE=InnoDB;
