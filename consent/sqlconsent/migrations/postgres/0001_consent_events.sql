-- The consent ledger's append-only events. seq is the ledger's order (the
-- order of appends, not of event times): decisions take the highest seq.
CREATE TABLE {{prefix}}consent_events (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT COLLATE "C" NOT NULL UNIQUE,
    subject        TEXT COLLATE "C" NOT NULL,
    purpose        TEXT COLLATE "C" NOT NULL,
    contact        TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL,
    at_us          BIGINT NOT NULL,
    actor_kind     TEXT NOT NULL,
    actor_id       TEXT NOT NULL DEFAULT '',
    notice_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    notice_version INTEGER NOT NULL DEFAULT 0,
    notice_hash    TEXT NOT NULL DEFAULT '',
    method         TEXT NOT NULL,
    channel        TEXT NOT NULL DEFAULT '',
    evidence       TEXT NOT NULL DEFAULT '',
    expires_us     BIGINT NOT NULL DEFAULT 0,
    basis          TEXT NOT NULL,
    confirms       TEXT COLLATE "C" UNIQUE,
    token_hash     BYTEA
);
CREATE INDEX {{prefix}}consent_events_decide ON {{prefix}}consent_events (subject, purpose, seq);
CREATE INDEX {{prefix}}consent_events_notice ON {{prefix}}consent_events (notice_id, subject);
