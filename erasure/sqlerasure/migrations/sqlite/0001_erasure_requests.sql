-- The data-subject requests, one row per request. The columns are what the
-- queries select, order and constrain on; body is the JSON of the rest
-- (channel, params, deadline with its time zone, rejection, steps,
-- history, settle_until), never the subject. subject holds the subject ID
-- while the request is open and is NULL once it is closed. open_key is
-- kind:subject_ref while the request is open and NULL once it is closed:
-- its unique constraint (NULLs are distinct) keeps at most one open
-- request per kind and subject. ready_us is next_us while the request is
-- verified or in progress (what Acquire takes) and NULL otherwise, so a
-- worker's pick reads one index range in order. Times are microseconds
-- since the Unix epoch (UTC); keys compare byte for byte (BINARY).
CREATE TABLE {{prefix}}erasure_requests (
    id          TEXT NOT NULL PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    subject     TEXT,
    subject_ref TEXT NOT NULL,
    open_key    TEXT,
    received_us INTEGER NOT NULL,
    due_us      INTEGER NOT NULL,
    next_us     INTEGER,
    ready_us    INTEGER,
    closed_us   INTEGER,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    CONSTRAINT {{prefix}}erasure_req_open UNIQUE (open_key),
    CONSTRAINT {{prefix}}erasure_req_closed_ck CHECK (open_key IS NOT NULL OR subject IS NULL)
);
CREATE INDEX {{prefix}}erasure_req_ready ON {{prefix}}erasure_requests (ready_us, id) WHERE ready_us IS NOT NULL;
CREATE INDEX {{prefix}}erasure_req_subject ON {{prefix}}erasure_requests (subject_ref, id);
CREATE INDEX {{prefix}}erasure_req_state ON {{prefix}}erasure_requests (state, id);
CREATE INDEX {{prefix}}erasure_req_due ON {{prefix}}erasure_requests (due_us);
CREATE INDEX {{prefix}}erasure_req_closed ON {{prefix}}erasure_requests (closed_us) WHERE closed_us IS NOT NULL;
