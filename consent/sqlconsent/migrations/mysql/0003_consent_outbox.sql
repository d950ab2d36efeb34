-- The audit outbox: one row per event whose audit record the ledger has not
-- yet made (consent.AuditOutbox). Append inserts it with the event, in the
-- same transaction; the ledger deletes it once its Recorder took the
-- record, and a drain claims the rows left behind (due_us, claim).
-- Deleting an event deletes its row (ON DELETE CASCADE), in the erasure's
-- statement. One statement, so the migration is atomic on MySQL too.
CREATE TABLE {{prefix}}consent_outbox (
    event_id VARBINARY(36) NOT NULL PRIMARY KEY,
    due_us   BIGINT NOT NULL,
    claim    VARBINARY(32) NOT NULL DEFAULT '',
    KEY {{prefix}}consent_outbox_due (due_us),
    KEY {{prefix}}consent_outbox_claim (claim),
    CONSTRAINT {{prefix}}consent_outbox_event FOREIGN KEY (event_id)
        REFERENCES {{prefix}}consent_events (id) ON DELETE CASCADE
) ENGINE=InnoDB;
