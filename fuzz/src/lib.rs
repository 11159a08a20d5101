//! What the fuzz targets share: the SP policy the seed corpus (`fuzz/seed-corpus.sh`) is minted for.
//!
//! The seeds are minted by the mock IdP with its fixed test key (`--deterministic`) at
//! `2026-01-01T00:00:00Z` for this SP and ACS, so the valid ones are accepted at [`NOW`].

use sp::verify::{DecryptionKey, VerifyPolicy};
use time::OffsetDateTime;

/// The SP entity ID (Audience) the corpus is minted for.
pub const SP_ENTITY_ID: &str = "https://sp.example/saml/metadata";
/// The ACS URL (Destination, Recipient) the corpus is minted for.
pub const ACS_URL: &str = "https://sp.example/saml/acs";
/// The mock IdP's default entity ID (the Issuer).
pub const IDP_ENTITY_ID: &str = "http://127.0.0.1:9000/metadata";
/// One minute into the minted responses' five-minute validity window.
pub const NOW: OffsetDateTime = time::macros::datetime!(2026-01-01 0:01 UTC);

/// The default verifier policy, pinned to the mock IdP's fixed test key, able to decrypt
/// assertions encrypted to `sp/testdata/sp-enc.crt`.
pub fn policy() -> VerifyPolicy {
    let mut policy = VerifyPolicy::new(
        SP_ENTITY_ID,
        ACS_URL,
        vec![include_str!("../../mock-idp/testdata/idp.crt").into()],
    );
    policy.idp_entity_id = Some(IDP_ENTITY_ID.into());
    policy.decryption_keys = vec![DecryptionKey::from_pem(include_str!(
        "../../sp/testdata/sp-enc.key"
    ))];
    policy
}
