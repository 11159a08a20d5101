//! The scenario-file parser. The body and its invariants: `samlconf_fuzz::targets::scenario::scenario_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| samlconf_fuzz::targets::scenario::scenario_file(data));
