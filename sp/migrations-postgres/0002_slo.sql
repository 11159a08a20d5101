-- PostgreSQL mirror of sp/migrations/0002_slo.sql.
CREATE TABLE outstanding_logout_requests (
    request_id    TEXT PRIMARY KEY,
    idp_entity_id TEXT NOT NULL,
    name_id       TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);

CREATE TABLE seen_logout_requests (
    request_id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_name_id ON sessions (idp_entity_id, name_id);

CREATE TABLE session_name_id_formats (
    token  TEXT PRIMARY KEY REFERENCES sessions (token) ON DELETE CASCADE,
    format TEXT NOT NULL
);
