//! No mutation of a signed response may change what is accepted. The body and its invariants: `samlconf_fuzz::targets::response::verify_response_mutated`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| samlconf_fuzz::targets::response::verify_response_mutated(data));
