-- The suppression list (consent.Suppressions): one row per direct-marketing
-- objection or withdrawal kept past erasure, keyed by an HMAC-SHA256 of the
-- subject, purpose and channel under the host's key. No column names a
-- subject, so erasing one leaves the row: the objection must outlive it
-- (Art. 21(3) GDPR). at_us is the time of the stop.
CREATE TABLE {{prefix}}consent_suppression (
    hash  VARBINARY(32) NOT NULL PRIMARY KEY,
    at_us BIGINT NOT NULL
) ENGINE=InnoDB;
