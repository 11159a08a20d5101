-- Password setup for users created under SSO (issue 14; Flow Production Tracking: an
-- administrator created while SSO was on has no password for the recovery login, and sets one
-- through "Forgot login or password?"). The SP sends no mail: an admin action issues the token
-- and shows it once. Only its SHA-256 is stored.
CREATE TABLE password_setups (
    token_hash TEXT PRIMARY KEY,
    -- one live token per user: issuing another replaces it
    user_id    INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- set when the password was set: a token is used once
    used_at    INTEGER,
    -- kept after expiry so that a late or second use is told apart from an unknown token
    forget_at  INTEGER NOT NULL
);
CREATE INDEX password_setups_forget ON password_setups (forget_at);
