-- The data-subject requests, one row per request. The columns are what the
-- queries select, order and constrain on; body is the JSON of the rest
-- (channel, params, deadline with its time zone, rejection, steps,
-- history, settle_until), never the subject. subject holds the subject ID
-- while the request is open and is NULL once it is closed. open_key is
-- kind:subject_ref while the request is open and NULL once it is closed:
-- its unique key (NULLs are distinct) keeps at most one open request per
-- kind and subject. ready_us is next_us while the request is verified or
-- in progress (what Acquire takes) and NULL otherwise, so a worker's
-- locking pick reads, and locks, one index range in order and no more.
-- Times are microseconds since the Unix epoch (UTC). Keys are VARBINARY,
-- so they compare byte for byte whatever the database's collation. One
-- statement, so the migration is atomic on MySQL too.
CREATE TABLE {{prefix}}erasure_requests (
    id          VARBINARY(255) NOT NULL PRIMARY KEY,
    kind        VARBINARY(32) NOT NULL,
    state       VARBINARY(32) NOT NULL,
    subject     VARBINARY(255) NULL,
    subject_ref VARBINARY(255) NOT NULL,
    open_key    VARBINARY(288) NULL,
    received_us BIGINT NOT NULL,
    due_us      BIGINT NOT NULL,
    next_us     BIGINT NULL,
    ready_us    BIGINT NULL,
    closed_us   BIGINT NULL,
    version     BIGINT NOT NULL,
    body        MEDIUMBLOB NOT NULL,
    UNIQUE KEY {{prefix}}erasure_req_open (open_key),
    KEY {{prefix}}erasure_req_ready (ready_us, id),
    KEY {{prefix}}erasure_req_subject (subject_ref, id),
    KEY {{prefix}}erasure_req_state (state, id),
    KEY {{prefix}}erasure_req_due (due_us),
    KEY {{prefix}}erasure_req_closed (closed_us),
    CONSTRAINT {{prefix}}erasure_req_closed_ck CHECK (open_key IS NOT NULL OR subject IS NULL)
) ENGINE=InnoDB;
