//! The SP verifier on arbitrary bytes: it must refuse with a reason code, never panic or crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let policy = samlconf_fuzz::policy();
    let _ = sp::verify::verify_response(data, &policy, samlconf_fuzz::NOW);
    let _ = sp::verify::decode_file_input(data);
});
