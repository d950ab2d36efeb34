-- The notice registry: one row per published version.
CREATE TABLE {{prefix}}consent_notices (
    id           TEXT COLLATE "C" NOT NULL,
    version      INTEGER NOT NULL,
    text_hash    TEXT NOT NULL,
    language     TEXT NOT NULL DEFAULT '',
    url          TEXT NOT NULL DEFAULT '',
    material     SMALLINT NOT NULL,
    published_us BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);
