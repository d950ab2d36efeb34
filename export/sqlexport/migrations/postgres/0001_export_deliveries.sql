-- The deliveries of bundles (export.Delivery), one row per delivery: the
-- request it answers ('' for none), the kind of bundle, the subject (kept
-- as given, so that a subject's deliveries are found and erased with
-- them), and when it was made and expires. Times are microseconds since
-- the Unix epoch (UTC); keys compare byte for byte (collation "C").
CREATE TABLE {{prefix}}export_deliveries (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    request    TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL
);
CREATE INDEX {{prefix}}export_dlv_created ON {{prefix}}export_deliveries (created_us, id);
CREATE INDEX {{prefix}}export_dlv_subject ON {{prefix}}export_deliveries (subject, created_us, id);
CREATE INDEX {{prefix}}export_dlv_request ON {{prefix}}export_deliveries (request, created_us, id);
CREATE INDEX {{prefix}}export_dlv_expires ON {{prefix}}export_deliveries (expires_us);
