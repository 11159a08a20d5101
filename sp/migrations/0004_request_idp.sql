-- Several IdPs on one SP: the IdP an AuthnRequest was sent to must be the one that answers it.
ALTER TABLE outstanding_requests ADD COLUMN idp_entity_id TEXT;
