-- The deliveries of bundles (export.Delivery), one row per delivery: the
-- request it answers ('' for none), the kind of bundle, the subject (kept
-- as given, so that a subject's deliveries are found and erased with
-- them), and when it was made and expires. Times are microseconds since
-- the Unix epoch (UTC). Keys are VARBINARY, so they compare byte for byte
-- whatever the database's collation. One statement, so the migration is
-- atomic on MySQL too.
CREATE TABLE {{prefix}}export_deliveries (
    id         VARBINARY(255) NOT NULL PRIMARY KEY,
    request    VARBINARY(255) NOT NULL,
    kind       VARBINARY(32) NOT NULL,
    subject    VARBINARY(255) NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    KEY {{prefix}}export_dlv_created (created_us, id),
    KEY {{prefix}}export_dlv_subject (subject, created_us, id),
    KEY {{prefix}}export_dlv_request (request, created_us, id),
    KEY {{prefix}}export_dlv_expires (expires_us)
) ENGINE=InnoDB;
