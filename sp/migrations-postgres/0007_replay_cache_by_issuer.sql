-- PostgreSQL mirror of sp/migrations/0007_replay_cache_by_issuer.sql.
CREATE TABLE replay_cache_by_issuer (
    issuer       TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (issuer, assertion_id)
);
INSERT INTO replay_cache_by_issuer (issuer, assertion_id, expires_at)
    SELECT '', assertion_id, expires_at + 1 FROM replay_cache;
DROP TABLE replay_cache;
ALTER TABLE replay_cache_by_issuer RENAME TO replay_cache;
CREATE INDEX replay_cache_expires_at ON replay_cache (expires_at);
