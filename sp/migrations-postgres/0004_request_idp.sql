-- PostgreSQL mirror of sp/migrations/0004_request_idp.sql.
ALTER TABLE outstanding_requests ADD COLUMN idp_entity_id TEXT;
