-- The reference SP's state. Times are Unix seconds (UTC) from the injected clock.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    login       TEXT,
    email       TEXT NOT NULL,
    first_name  TEXT,
    last_name   TEXT,
    -- 'jit' for users created at their first SSO sign-in, 'local' for accounts made by an admin.
    origin      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- An identity at an IdP (its entity ID and the stable subject it sends) linked to a local user.
CREATE TABLE sso_identities (
    idp_entity_id TEXT NOT NULL,
    subject       TEXT NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    linked_at     INTEGER NOT NULL,
    PRIMARY KEY (idp_entity_id, subject)
);

CREATE TABLE sessions (
    token         TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idp_entity_id TEXT NOT NULL,
    name_id       TEXT,
    session_index TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    -- e.g. 'sign_in.accepted', 'sign_in.rejected', 'user.provisioned'
    kind       TEXT NOT NULL,
    -- the stable reason code for rejections
    code       TEXT,
    idp        TEXT,
    subject    TEXT,
    user_email TEXT,
    -- JSON array of the groups received
    groups     TEXT,
    detail     TEXT NOT NULL
);

-- Assertion IDs already consumed, kept until the assertion could no longer be accepted anyway.
CREATE TABLE replay_cache (
    assertion_id TEXT PRIMARY KEY,
    expires_at   INTEGER NOT NULL
);

-- SP-initiated AuthnRequests awaiting their Response (InResponseTo), so no cookie is needed
-- across the IdP's cross-site POST.
CREATE TABLE outstanding_requests (
    request_id  TEXT PRIMARY KEY,
    relay_state TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
