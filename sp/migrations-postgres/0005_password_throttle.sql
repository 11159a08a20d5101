-- PostgreSQL mirror of sp/migrations/0005_password_throttle.sql.
CREATE TABLE password_throttle (
    key            TEXT PRIMARY KEY,
    failures       BIGINT NOT NULL,
    window_started BIGINT NOT NULL,
    locked_until   BIGINT NOT NULL DEFAULT 0,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX password_throttle_expiry ON password_throttle (expires_at);
