-- The consent ledger's append-only events.
CREATE TABLE {{prefix}}consent_events (
    id             TEXT PRIMARY KEY,
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
CREATE INDEX {{prefix}}consent_events_decide ON {{prefix}}consent_events (subject, purpose, at_us, id);
CREATE INDEX {{prefix}}consent_events_notice ON {{prefix}}consent_events (notice_id, subject);
