//! Single logout over HTTP-Redirect: a raw query string. The body and its invariants: `samlconf_fuzz::targets::redirect::slo_decode_redirect`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| samlconf_fuzz::targets::redirect::slo_decode_redirect(data));
