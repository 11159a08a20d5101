//! IdP metadata import. The body and its invariants: `samlconf_fuzz::targets::metadata::idp_metadata`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| samlconf_fuzz::targets::metadata::idp_metadata(data));
