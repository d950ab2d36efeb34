-- The notice registry: one row per published version.
CREATE TABLE {{prefix}}consent_notices (
    id           VARBINARY(256) NOT NULL,
    version      INT NOT NULL,
    text_hash    VARBINARY(64) NOT NULL,
    language     VARBINARY(64) NOT NULL DEFAULT '',
    url          VARBINARY(2048) NOT NULL DEFAULT '',
    material     SMALLINT NOT NULL,
    published_us BIGINT NOT NULL,
    PRIMARY KEY (id, version)
) ENGINE=InnoDB;
