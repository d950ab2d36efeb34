-- The workers' leases, one row per subject (subject_ref is the primary
-- key, so two workers never hold one subject): the request it was taken
-- for, the worker, a random token per acquisition and the expiry. A lease
-- whose until_us has passed may be taken over by a conditional upsert.
-- Release deletes the row.
CREATE TABLE {{prefix}}erasure_leases (
    subject_ref VARBINARY(255) NOT NULL PRIMARY KEY,
    request_id  VARBINARY(255) NOT NULL,
    owner       VARBINARY(255) NOT NULL,
    token       VARBINARY(64) NOT NULL,
    until_us    BIGINT NOT NULL,
    KEY {{prefix}}erasure_lease_request (request_id)
) ENGINE=InnoDB;
