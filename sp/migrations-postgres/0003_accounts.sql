-- PostgreSQL mirror of sp/migrations/0003_accounts.sql.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN sso_allowed BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN invitation_token TEXT;

DROP INDEX users_email;
CREATE INDEX users_email ON users (email COLLATE nocase);
CREATE UNIQUE INDEX users_invitation ON users (invitation_token) WHERE invitation_token IS NOT NULL;

CREATE TABLE pending_links (
    token           TEXT PRIMARY KEY,
    idp_entity_id   TEXT NOT NULL,
    identity        TEXT NOT NULL,
    matched_user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked          BIGINT NOT NULL DEFAULT 0,
    relay_state     TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

ALTER TABLE outstanding_requests ADD COLUMN purpose TEXT NOT NULL DEFAULT 'sign_in';
ALTER TABLE outstanding_requests ADD COLUMN session_token TEXT;
ALTER TABLE outstanding_requests ADD COLUMN invitation_token TEXT;
