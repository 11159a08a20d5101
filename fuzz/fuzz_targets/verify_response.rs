//! The SP verifier on arbitrary bytes. The body and its invariants: `samlconf_fuzz::targets::response::verify_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| samlconf_fuzz::targets::response::verify_response(data));
