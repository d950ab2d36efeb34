-- The deliveries of bundles (export.Delivery), one row per delivery: the
-- request it answers ('' for none), the kind of bundle, the subject (kept
-- as given, so that a subject's deliveries are found and erased with
-- them), and when it was made and expires. Times are microseconds since
-- the Unix epoch (UTC); keys compare byte for byte (BINARY).
CREATE TABLE {{prefix}}export_deliveries (
    id         TEXT NOT NULL PRIMARY KEY,
    request    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    expires_us INTEGER NOT NULL
);
CREATE INDEX {{prefix}}export_dlv_created ON {{prefix}}export_deliveries (created_us, id);
CREATE INDEX {{prefix}}export_dlv_subject ON {{prefix}}export_deliveries (subject, created_us, id);
CREATE INDEX {{prefix}}export_dlv_request ON {{prefix}}export_deliveries (request, created_us, id);
CREATE INDEX {{prefix}}export_dlv_expires ON {{prefix}}export_deliveries (expires_us);
