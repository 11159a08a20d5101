//! Single logout over HTTP-Redirect: a raw query string to `sp::slo::decode_redirect`, and what
//! decodes to `sp::slo::verify_message`. Refusals only, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let policy = sp::slo::SloPolicy {
        verify: samlconf_fuzz::policy(),
        sls_url: "https://sp.example/saml/sls".into(),
        require_signed_requests: false,
        max_request_age: time::Duration::minutes(5),
    };
    if let Ok(raw) = sp::slo::decode_redirect(query, policy.verify.max_response_bytes) {
        let _ = sp::slo::verify_message(&raw, &policy, samlconf_fuzz::NOW);
    }
});
