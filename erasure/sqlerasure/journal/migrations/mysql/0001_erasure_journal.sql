-- The erasure journal (erasure.Journal), one row per completed erasure:
-- the request's ID, the keyed reference of the subject (never the
-- subject), when it completed and the JSON array of the targets' names.
-- Keep it in another database than the requests, so that a restore of
-- the main data does not roll it back. Rows are only ever inserted.
CREATE TABLE {{prefix}}erasure_journal (
    request_id   VARBINARY(255) NOT NULL PRIMARY KEY,
    subject_ref  VARBINARY(255) NOT NULL,
    completed_us BIGINT NOT NULL,
    targets      MEDIUMBLOB NOT NULL,
    KEY {{prefix}}erasure_journal_ref (subject_ref)
) ENGINE=InnoDB;
