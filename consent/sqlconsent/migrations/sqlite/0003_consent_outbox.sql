-- The audit outbox: one row per event whose audit record the ledger has not
-- yet made (consent.AuditOutbox). Append inserts it with the event, in the
-- same transaction; the ledger deletes it once its Recorder took the
-- record, and a drain claims the rows left behind (due_us, claim).
-- Deleting an event deletes its row in the erasure's statement: by a
-- trigger, since SQLite enforces foreign keys only on connections that ask
-- for it (PRAGMA foreign_keys).
CREATE TABLE {{prefix}}consent_outbox (
    event_id TEXT NOT NULL PRIMARY KEY,
    due_us   INTEGER NOT NULL,
    claim    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX {{prefix}}consent_outbox_due ON {{prefix}}consent_outbox (due_us);
CREATE INDEX {{prefix}}consent_outbox_claim ON {{prefix}}consent_outbox (claim);
CREATE TRIGGER {{prefix}}consent_outbox_erase AFTER DELETE ON {{prefix}}consent_events BEGIN DELETE FROM {{prefix}}consent_outbox WHERE event_id = OLD.id; END;
