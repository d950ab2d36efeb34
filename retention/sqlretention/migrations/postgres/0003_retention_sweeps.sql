-- The sweeps, one row per sweep name: the lease (owner, a random token
-- per acquisition, until_us, microseconds since the Unix epoch; a lease
-- whose until_us is not after now may be taken over by a conditional
-- upsert) and the last checkpoint saved, the JSON of a retention.Sweep
-- (NULL until the first save). Releasing a lease sets until_us to the
-- smallest BIGINT and keeps the checkpoint.
CREATE TABLE {{prefix}}retention_sweeps (
    name     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    owner    TEXT COLLATE "C" NOT NULL,
    token    TEXT COLLATE "C" NOT NULL,
    until_us BIGINT NOT NULL,
    state    TEXT
);
