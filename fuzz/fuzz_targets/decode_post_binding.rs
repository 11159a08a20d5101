//! The HTTP-POST `SAMLResponse` form value (base64, whitespace-wrapped): decode it, then verify
//! what it decodes to. Refusals only, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(xml) = sp::verify::decode_post_binding(text) {
        let _ = sp::verify::verify_response(&xml, &samlconf_fuzz::policy(), samlconf_fuzz::NOW);
    }
});
