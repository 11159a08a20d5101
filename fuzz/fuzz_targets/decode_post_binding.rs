//! The HTTP-POST `SAMLResponse` form value, decoded then verified. The body and its invariants: `samlconf_fuzz::targets::response::decode_post_binding`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| samlconf_fuzz::targets::response::decode_post_binding(data));
