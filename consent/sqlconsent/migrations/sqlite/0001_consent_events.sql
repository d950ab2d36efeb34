-- The consent ledger's append-only events. seq is the ledger's order (the
-- order of appends, not of event times): decisions take the highest seq.
-- AUTOINCREMENT keeps a seq from being given again after the last events
-- were erased.
CREATE TABLE {{prefix}}consent_events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    subject        TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    contact        TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL,
    at_us          INTEGER NOT NULL,
    actor_kind     TEXT NOT NULL,
    actor_id       TEXT NOT NULL DEFAULT '',
    notice_id      TEXT NOT NULL DEFAULT '',
    notice_version INTEGER NOT NULL DEFAULT 0,
    notice_hash    TEXT NOT NULL DEFAULT '',
    method         TEXT NOT NULL,
    channel        TEXT NOT NULL DEFAULT '',
    evidence       TEXT NOT NULL DEFAULT '',
    expires_us     INTEGER NOT NULL DEFAULT 0,
    basis          TEXT NOT NULL,
    confirms       TEXT UNIQUE,
    token_hash     BLOB
);
CREATE INDEX {{prefix}}consent_events_decide ON {{prefix}}consent_events (subject, purpose, seq);
CREATE INDEX {{prefix}}consent_events_notice ON {{prefix}}consent_events (notice_id, subject);
