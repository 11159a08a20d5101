-- Trust across several IdPs (issue 8): automatic linking asks which IdPs a user already has
-- identities at (sp/src/web/acs.rs), so the identities are looked up by user too.
CREATE INDEX sso_identities_user ON sso_identities (user_id);
