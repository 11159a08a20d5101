-- Bounded state (issue 8): expiry sweeps, global caps, unverified audit rows, logout CSRF.

-- 0 for rows that record a refused message: their facts (issuer, subject, groups, detail) were
-- read from a message that did not verify, and are truncated to fixed bounds.
ALTER TABLE audit_events ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;
UPDATE audit_events SET verified = 0 WHERE kind LIKE '%.rejected' OR kind = 'renewal.failed';
CREATE INDEX audit_events_unverified ON audit_events (verified, id);

-- The token the logout form carries (POST /logout), one per session: a cross-site request
-- cannot read it, so it cannot end the session (logout CSRF).
ALTER TABLE sessions ADD COLUMN csrf_token TEXT;
UPDATE sessions SET csrf_token = lower(hex(randomblob(32))) WHERE csrf_token IS NULL;

-- The sweeps delete by expiry; the caps evict oldest first.
CREATE INDEX outstanding_requests_created ON outstanding_requests (created_at);
CREATE INDEX outstanding_requests_expires ON outstanding_requests (expires_at);
CREATE INDEX outstanding_logout_requests_created ON outstanding_logout_requests (created_at);
CREATE INDEX pending_links_created ON pending_links (created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX replay_cache_expires ON replay_cache (expires_at);
CREATE INDEX seen_logout_requests_expires ON seen_logout_requests (expires_at);
