//! The SP verifier on arbitrary bytes: it must refuse with a reason code, never panic or crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let policy = sp::verify::VerifyPolicy {
        sp_entity_id: "https://sp.example/saml/metadata".into(),
        acs_url: "https://sp.example/saml/acs".into(),
        idp_entity_id: Some("https://idp.example/metadata".into()),
        idp_certs_pem: vec![include_str!("../../sp/tests/fixtures/keys/idp.crt").into()],
        clock_skew: time::Duration::seconds(120),
        allow_sha1: false,
        accept_response_signature: false,
        max_response_bytes: 512 * 1024,
    };
    let now = time::macros::datetime!(2026-01-01 0:00 UTC);
    let _ = sp::verify::verify_response(data, &policy, now);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sp::verify::decode_post_binding(text);
    }
});
