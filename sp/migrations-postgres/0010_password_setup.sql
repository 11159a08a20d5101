-- PostgreSQL mirror of sp/migrations/0010_password_setup.sql.
CREATE TABLE password_setups (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    forget_at  BIGINT NOT NULL
);
CREATE INDEX password_setups_forget ON password_setups (forget_at);
