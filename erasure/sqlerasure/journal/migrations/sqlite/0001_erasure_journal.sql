-- The erasure journal (erasure.Journal), one row per completed erasure:
-- the request's ID, the keyed reference of the subject (never the
-- subject), when it completed and the JSON array of the targets' names.
-- Keep it in another database than the requests, so that a restore of
-- the main data does not roll it back. Rows are only ever inserted.
CREATE TABLE {{prefix}}erasure_journal (
    request_id   TEXT NOT NULL PRIMARY KEY,
    subject_ref  TEXT NOT NULL,
    completed_us INTEGER NOT NULL,
    targets      TEXT NOT NULL
);
CREATE INDEX {{prefix}}erasure_journal_ref ON {{prefix}}erasure_journal (subject_ref);
