-- The replay cache keyed by (issuer, assertion ID): IDs are unique per issuer only (SAML core
-- §1.3.4), so one IdP's IDs must neither block nor be blocked by another's. `expires_at` is the
-- Unix second at or after the last instant the assertion could be accepted (rounded up).
-- Entries already cached keep issuer '' and still count for every issuer until they expire, so
-- upgrading opens no replay window.
CREATE TABLE replay_cache_by_issuer (
    issuer       TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (issuer, assertion_id)
);
INSERT INTO replay_cache_by_issuer (issuer, assertion_id, expires_at)
    SELECT '', assertion_id, expires_at + 1 FROM replay_cache;
DROP TABLE replay_cache;
ALTER TABLE replay_cache_by_issuer RENAME TO replay_cache;
CREATE INDEX replay_cache_expires_at ON replay_cache (expires_at);
