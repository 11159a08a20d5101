-- Local accounts, invitations and account linking (issue 3).

-- Local password accounts (Argon2 PHC strings); NULL for SSO-only users.
ALTER TABLE users ADD COLUMN password_hash TEXT;
-- 0 for a local account that may not sign in through SAML ("not configured to use SAML", 003).
ALTER TABLE users ADD COLUMN sso_allowed INTEGER NOT NULL DEFAULT 1;
-- An admin's invitation: following /invite/{token} then signing in links without a prompt.
ALTER TABLE users ADD COLUMN invitation_token TEXT;

-- "Skip linking" creates a second user with the same e-mail (000), so e-mail is not unique.
DROP INDEX users_email;
CREATE INDEX users_email ON users (email COLLATE NOCASE);
CREATE UNIQUE INDEX users_invitation ON users (invitation_token) WHERE invitation_token IS NOT NULL;

-- A verified SSO identity waiting for its owner to link it (or skip) on the linking page.
CREATE TABLE pending_links (
    token           TEXT PRIMARY KEY,
    idp_entity_id   TEXT NOT NULL,
    -- the resolved identity and session facts, as JSON
    identity        TEXT NOT NULL,
    -- the local account that matched by login or e-mail, if any
    matched_user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked          INTEGER NOT NULL DEFAULT 0,
    relay_state     TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);

-- What an outstanding AuthnRequest is for: a sign-in, or the renewal of an existing session.
ALTER TABLE outstanding_requests ADD COLUMN purpose TEXT NOT NULL DEFAULT 'sign_in';
-- the session a renewal refreshes
ALTER TABLE outstanding_requests ADD COLUMN session_token TEXT;
-- the invitation a sign-in started from /invite/{token} redeems
ALTER TABLE outstanding_requests ADD COLUMN invitation_token TEXT;
