-- Login CSRF (issue 8): each AuthnRequest is bound to the browser that started it. The SHA-256
-- (hex) of that browser's binding cookie value; NULL for requests sent while
-- `bind_requests_to_browser` was off (or before this migration), which are not checked.
ALTER TABLE outstanding_requests ADD COLUMN browser_binding TEXT;
