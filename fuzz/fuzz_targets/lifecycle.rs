//! The sign-in lifecycle as a state machine (`samlconf::lifecycle`): bytes decode into a
//! sequence of steps (two bytes a step, at most 40), run against the real SP and mock IdP
//! routers in process (no sockets), with the reference model checked after every step. A
//! disagreement or a 5xx panics with the sequence rendered as a scenario file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let steps = samlconf::lifecycle::step::decode(data);
    if steps.is_empty() {
        return;
    }
    if let Err(failure) = samlconf::lifecycle::run_blocking(&steps) {
        panic!("{failure}");
    }
});
