-- Single logout (sp/src/slo.rs).

-- SP-initiated LogoutRequests awaiting the IdP's LogoutResponse (InResponseTo), each answered once.
CREATE TABLE outstanding_logout_requests (
    request_id    TEXT PRIMARY KEY,
    idp_entity_id TEXT NOT NULL,
    name_id       TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);

-- IdP-initiated LogoutRequest IDs already processed (replay), kept until they would be refused
-- as expired anyway.
CREATE TABLE seen_logout_requests (
    request_id TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE INDEX sessions_name_id ON sessions (idp_entity_id, name_id);

-- The Format of each session's NameID, so an SP-initiated LogoutRequest can name the NameID
-- exactly as the IdP sent it. Written beside the session at sign-in.
CREATE TABLE session_name_id_formats (
    token  TEXT PRIMARY KEY REFERENCES sessions (token) ON DELETE CASCADE,
    format TEXT NOT NULL
);
