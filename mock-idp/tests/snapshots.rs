//! Whole documents, byte for byte: deterministic mode (fixed clock 2026-01-01T00:00:00Z, counter
//! IDs, the committed test keys) makes signed XML stable, so any change is reviewed like code.

mod common;

use std::sync::Arc;

use common::{mint, profile};
use mock_idp::keys::IdpKeys;
use mock_idp::server::{Idp, IdpConfig, KnownSp};
use mock_idp::users;
use plumbing::clock::ManualClock;

#[test]
fn idp_metadata() {
    let idp = Idp::new(
        IdpConfig {
            entity_id: "http://127.0.0.1:8081/metadata".to_owned(),
            base_url: "http://127.0.0.1:8081".to_owned(),
            service_providers: vec![KnownSp {
                entity_id: common::SP_ENTITY_ID.to_owned(),
                acs_urls: vec![common::ACS_URL.to_owned()],
                slo_url: None,
                signing_cert_pem: None,
                encryption_cert_pem: None,
            }],
            users: users::demo_users(),
            default_profile: "valid".to_owned(),
            deterministic: true,
            forbid_framing: false,
            want_authn_requests_signed: false,
        },
        IdpKeys::fixed_for_tests(),
        Arc::new(ManualClock::new(common::NOW)),
    );
    insta::assert_snapshot!("idp_metadata", idp.metadata_xml());
}

#[test]
fn valid_response() {
    insta::assert_snapshot!("valid_response", mint(&profile("valid")).xml);
}

#[test]
fn entra_guid_groups_response() {
    insta::assert_snapshot!(
        "entra_guid_groups_response",
        mint(&profile("entra-guid-groups")).xml
    );
}

#[test]
fn minting_is_deterministic() {
    assert_eq!(
        mint(&profile("sign-both")).xml,
        mint(&profile("sign-both")).xml
    );
}
