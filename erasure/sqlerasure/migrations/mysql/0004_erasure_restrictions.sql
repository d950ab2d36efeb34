-- MySQL commits every DDL statement on its own, so a run that fails half
-- way leaves the first table created and the version unrecorded: both
-- statements are CREATE TABLE IF NOT EXISTS, so the next Migrate finishes
-- the job. Keys are VARBINARY, so they compare byte for byte whatever the
-- database's collation.
--
-- The restrictions of processing (Art. 18) and objections (Art. 21), one
-- row per restriction, its id that of the request that placed it. The
-- columns are what the queries select and order on; body is the JSON of
-- the rest (ground, purposes, direct_marketing, since, lifted_by,
-- override). lifted_us is NULL while the restriction is not lifted
-- (in force, or an objection overridden): the listing of the restrictions
-- not lifted, which every cache refresh of Engine.Check reads page by
-- page, reads the index (lifted_us, id) from its NULL end, in id order.
-- Nothing here names a subject but by its keyed subject_ref.
CREATE TABLE IF NOT EXISTS {{prefix}}erasure_restrictions (
    id          VARBINARY(255) NOT NULL PRIMARY KEY,
    kind        VARBINARY(32) NOT NULL,
    subject_ref VARBINARY(255) NOT NULL,
    lifted_us   BIGINT NULL,
    version     BIGINT NOT NULL,
    body        MEDIUMBLOB NOT NULL,
    KEY {{prefix}}erasure_restr_subject (subject_ref, id),
    KEY {{prefix}}erasure_restr_in_force (lifted_us, id)
) ENGINE=InnoDB;
-- The supplementary statements of Art. 16, one row per statement, its id
-- "<request id>/<n>": the target and field it supplements, the text
-- sealed under the Engine's key (never in clear; MEDIUMBLOB, up to
-- 16 MiB), and when it was recorded. Rows are inserted once (a retried
-- step inserts nothing) and deleted by Forget.
CREATE TABLE IF NOT EXISTS {{prefix}}erasure_statements (
    id          VARBINARY(255) NOT NULL PRIMARY KEY,
    subject_ref VARBINARY(255) NOT NULL,
    target      VARBINARY(255) NOT NULL,
    field       VARBINARY(255) NOT NULL,
    sealed      MEDIUMBLOB NOT NULL,
    at_us       BIGINT NOT NULL,
    KEY {{prefix}}erasure_stmt_subject (subject_ref, id)
) ENGINE=InnoDB;
