//! The SP verifier on arbitrary bytes: it must refuse with a reason code, never panic or crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut policy = sp::verify::VerifyPolicy::new(
        "https://sp.example/saml/metadata",
        "https://sp.example/saml/acs",
        vec![include_str!("../../sp/tests/fixtures/keys/idp.crt").into()],
    );
    policy.idp_entity_id = Some("https://idp.example/metadata".into());
    let now = time::macros::datetime!(2026-01-01 0:00 UTC);
    let _ = sp::verify::verify_response(data, &policy, now);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sp::verify::decode_post_binding(text);
    }
});
