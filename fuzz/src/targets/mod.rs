//! The bodies of the fuzz targets, as plain functions: each `fuzz_targets/<name>.rs` is a one-line
//! `fuzz_target!` over one of them, and `tests/fuzz_corpus.rs` in the main workspace replays every
//! committed corpus and regression input through the same functions without libFuzzer.
//!
//! This directory is compiled twice: as `samlconf_fuzz::targets` (the fuzz workspace) and through
//! `#[path]` as a module of the main workspace's test (so that `cargo test` needs neither
//! libfuzzer-sys nor a second crate). It may therefore name only external crates (`sp`,
//! `mock_idp`, `samlconf`, `time`, …) and `super::`, never `crate::`.
//!
//! A target returns normally when the input is refused or accepted as it should be, and panics
//! when an invariant breaks: libFuzzer reports the panic as a crash, the replay test as a failure.
//!
//! The seeds (`fuzz/corpus/<target>/`) are written by `samlconf fuzz-corpus --out fuzz/corpus`,
//! minted by the mock IdP with its fixed test key at [`MINTED_AT`] for the policy below, so the
//! valid ones are accepted at [`NOW`] and libFuzzer mutates from inside the accepting path.

use sp::verify::{DecryptionKey, VerifyPolicy};
use time::OffsetDateTime;

pub mod logout;
pub mod metadata;
pub mod redirect;
pub mod response;
pub mod scenario;

/// The SP entity ID (Audience) the corpus is minted for.
pub const SP_ENTITY_ID: &str = "https://sp.example/saml/metadata";
/// The ACS URL (Destination, Recipient) the corpus is minted for.
pub const ACS_URL: &str = "https://sp.example/saml/acs";
/// The SP's single-logout URL (the Destination of the IdP's logout messages).
pub const SLS_URL: &str = "https://sp.example/saml/sls";
/// The mock IdP's default entity ID (the Issuer).
pub const IDP_ENTITY_ID: &str = "http://127.0.0.1:9000/metadata";
/// The instant the corpus is minted at.
pub const MINTED_AT: OffsetDateTime = time::macros::datetime!(2026-01-01 0:00 UTC);
/// One minute into the minted responses' five-minute validity window.
pub const NOW: OffsetDateTime = time::macros::datetime!(2026-01-01 0:01 UTC);
/// The mock IdP's fixed test certificate, the one the policy pins.
pub const IDP_CERT_PEM: &str = include_str!("../../../mock-idp/testdata/idp.crt");

/// A target's body: returns when the input is handled as it should be, panics otherwise.
pub type Body = fn(&[u8]);

/// Every target: its name (the directory under `fuzz/corpus/` and `fuzz/regressions/`, and the
/// `[[bin]]` in `fuzz/Cargo.toml`) and its body.
pub const ALL: &[(&str, Body)] = &[
    ("verify_response", response::verify_response),
    ("decode_post_binding", response::decode_post_binding),
    ("verify_response_mutated", response::verify_response_mutated),
    ("slo_decode_redirect", redirect::slo_decode_redirect),
    ("redirect_signature", redirect::redirect_signature),
    ("logout_request", logout::logout_request),
    ("idp_metadata", metadata::idp_metadata),
    ("scenario_file", scenario::scenario_file),
];

/// The default verifier policy, pinned to the mock IdP's fixed test key, able to decrypt
/// assertions encrypted to `sp/testdata/sp-enc.crt`.
pub fn policy() -> VerifyPolicy {
    let mut policy = VerifyPolicy::new(SP_ENTITY_ID, ACS_URL, vec![IDP_CERT_PEM.into()]);
    policy.idp_entity_id = Some(IDP_ENTITY_ID.into());
    policy.decryption_keys = vec![DecryptionKey::from_pem(include_str!(
        "../../../sp/testdata/sp-enc.key"
    ))];
    policy
}

/// The logout policy of the targets: [`policy`], this SP's SLS URL, a five-minute request age.
pub fn slo_policy(require_signed_requests: bool) -> sp::slo::SloPolicy {
    sp::slo::SloPolicy {
        verify: policy(),
        sls_url: SLS_URL.into(),
        require_signed_requests,
        max_request_age: time::Duration::minutes(5),
    }
}
