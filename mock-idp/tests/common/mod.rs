//! Shared fixtures for the integration tests.
#![allow(dead_code)]

pub mod http;

use mock_idp::keys::IdpKeys;
use mock_idp::knobs::Knobs;
use mock_idp::mint::{CounterIds, MintParams, Minted, mint_response};
use mock_idp::users::{self, User};
use time::OffsetDateTime;
use time::macros::datetime;

pub const IDP_ENTITY_ID: &str = "http://127.0.0.1:8081/metadata";
pub const SP_ENTITY_ID: &str = "http://127.0.0.1:8080/saml/metadata";
pub const ACS_URL: &str = "http://127.0.0.1:8080/saml/acs";
pub const REQUEST_ID: &str = "_4f2b6e0c9a7d4b1e8c3f5a2d6b9e0c1f7a4d8b2e";
/// The SP's encryption certificate (test-only key pair, `testdata/sp-enc-test.{key,crt}`).
pub const SP_ENCRYPTION_CERT: &str = include_str!("../../testdata/sp-enc-test.crt");
/// The fixed instant of deterministic mode.
pub const NOW: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

pub fn alice() -> User {
    users::demo_users().into_iter().next().expect("alice")
}

/// Deterministic mint: fixed clock, counter IDs, fixed keys.
pub fn mint_for(knobs: &Knobs, user: &User) -> Minted {
    try_mint_for(knobs, user).unwrap_or_else(|e| panic!("mint failed: {e}"))
}

/// [`mint_for`], returning the minter's error.
pub fn try_mint_for(knobs: &Knobs, user: &User) -> Result<Minted, mock_idp::mint::MintError> {
    let keys = IdpKeys::fixed_for_tests();
    let ids = CounterIds::new();
    mint_response(&MintParams {
        idp_entity_id: IDP_ENTITY_ID.to_owned(),
        sp_entity_id: SP_ENTITY_ID.to_owned(),
        acs_url: ACS_URL.to_owned(),
        user,
        in_response_to: Some(REQUEST_ID.to_owned()),
        now: NOW,
        knobs,
        keys: &keys,
        ids: &ids,
        session_index: None,
        sp_encryption_cert_pem: Some(SP_ENCRYPTION_CERT),
    })
}

pub fn mint(knobs: &Knobs) -> Minted {
    mint_for(knobs, &alice())
}

pub fn profile(name: &str) -> Knobs {
    mock_idp::profiles::get(name).unwrap_or_else(|| panic!("no profile {name}"))
}
