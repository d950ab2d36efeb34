-- The restrictions of processing (Art. 18) and objections (Art. 21), one
-- row per restriction, its id that of the request that placed it. The
-- columns are what the queries select and order on; body is the JSON of
-- the rest (ground, purposes, direct_marketing, since, lifted_by,
-- override). lifted_us is NULL while the restriction is not lifted
-- (in force, or an objection overridden): the partial index on id holds
-- those rows only, so the listing of the restrictions not lifted, which
-- every cache refresh of Engine.Check reads page by page, reads one
-- index range in order. Nothing here names a subject but by its keyed
-- subject_ref.
CREATE TABLE {{prefix}}erasure_restrictions (
    id          TEXT NOT NULL PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    lifted_us   INTEGER,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX {{prefix}}erasure_restr_subject ON {{prefix}}erasure_restrictions (subject_ref, id);
CREATE INDEX {{prefix}}erasure_restr_in_force ON {{prefix}}erasure_restrictions (id) WHERE lifted_us IS NULL;
-- The supplementary statements of Art. 16, one row per statement, its id
-- "<request id>/<n>": the target and field it supplements, the text
-- sealed under the Engine's key (never in clear), and when it was
-- recorded. Rows are inserted once (a retried step inserts nothing) and
-- deleted by Forget.
CREATE TABLE {{prefix}}erasure_statements (
    id          TEXT NOT NULL PRIMARY KEY,
    subject_ref TEXT NOT NULL,
    target      TEXT NOT NULL,
    field       TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    at_us       INTEGER NOT NULL
);
CREATE INDEX {{prefix}}erasure_stmt_subject ON {{prefix}}erasure_statements (subject_ref, id);
