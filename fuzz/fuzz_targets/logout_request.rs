//! An IdP's LogoutRequest end to end: decode, verify, replay cache, sessions. The body and its invariants: `samlconf_fuzz::targets::logout::logout_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| samlconf_fuzz::targets::logout::logout_request(data));
