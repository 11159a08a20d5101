//! The HTTP-Redirect query-string signature, over messages the target signs itself. The body and its invariants: `samlconf_fuzz::targets::redirect::redirect_signature`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| samlconf_fuzz::targets::redirect::redirect_signature(data));
