-- PostgreSQL mirror of sp/migrations/0009_identities_by_user.sql.
CREATE INDEX sso_identities_user ON sso_identities (user_id);
