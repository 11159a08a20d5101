-- PostgreSQL mirror of sp/migrations/0008_bounds.sql.
ALTER TABLE audit_events ADD COLUMN verified BIGINT NOT NULL DEFAULT 1;
UPDATE audit_events SET verified = 0 WHERE kind LIKE '%.rejected' OR kind = 'renewal.failed';
CREATE INDEX audit_events_unverified ON audit_events (verified, id);

ALTER TABLE sessions ADD COLUMN csrf_token TEXT;
-- (No PostgreSQL store predates this migration, so no session lacks a token; kept as a mirror.)
UPDATE sessions SET csrf_token = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
    WHERE csrf_token IS NULL;

CREATE INDEX outstanding_requests_created ON outstanding_requests (created_at);
CREATE INDEX outstanding_requests_expires ON outstanding_requests (expires_at);
CREATE INDEX outstanding_logout_requests_created ON outstanding_logout_requests (created_at);
CREATE INDEX pending_links_created ON pending_links (created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX replay_cache_expires ON replay_cache (expires_at);
CREATE INDEX seen_logout_requests_expires ON seen_logout_requests (expires_at);
