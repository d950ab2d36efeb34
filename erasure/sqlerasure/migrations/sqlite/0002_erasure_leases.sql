-- The workers' leases, one row per subject (subject_ref is the primary
-- key, so two workers never hold one subject): the request it was taken
-- for, the worker, a random token per acquisition and the expiry. A lease
-- whose until_us has passed may be taken over by a conditional upsert.
-- Release deletes the row.
CREATE TABLE {{prefix}}erasure_leases (
    subject_ref TEXT NOT NULL PRIMARY KEY,
    request_id  TEXT NOT NULL,
    owner       TEXT NOT NULL,
    token       TEXT NOT NULL,
    until_us    INTEGER NOT NULL
);
CREATE INDEX {{prefix}}erasure_lease_request ON {{prefix}}erasure_leases (request_id);
