-- The audit outbox: one row per event whose audit record the ledger has not
-- yet made (consent.AuditOutbox). Append inserts it with the event, in the
-- same statement; the ledger deletes it once its Recorder took the record,
-- and a drain claims the rows left behind (due_us, claim). Deleting an
-- event deletes its row (ON DELETE CASCADE), in the erasure's statement.
CREATE TABLE {{prefix}}consent_outbox (
    event_id TEXT COLLATE "C" NOT NULL PRIMARY KEY
             REFERENCES {{prefix}}consent_events (id) ON DELETE CASCADE,
    due_us   BIGINT NOT NULL,
    claim    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX {{prefix}}consent_outbox_due ON {{prefix}}consent_outbox (due_us);
CREATE INDEX {{prefix}}consent_outbox_claim ON {{prefix}}consent_outbox (claim);
