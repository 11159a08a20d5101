-- PostgreSQL mirror of sp/migrations/0006_request_binding.sql.
ALTER TABLE outstanding_requests ADD COLUMN browser_binding TEXT;
