//! No mutation of a signed response may change what is accepted.
//!
//! The corpus (`fuzz/corpus/verify_response_mutated/`) holds only responses the policy accepts,
//! all minted for one user; libFuzzer mutates them (see `verify_response_mutated.dict`). Whenever
//! the verifier ACCEPTS a mutated input, its NameID and attributes must equal those of the
//! original signed assertion (`valid.xml`); anything else means a mutation got past the
//! signature (wrapping, comment truncation, …) and the target panics so libFuzzer reports it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sp::verify::{Attribute, VerifyPolicy, verify_response};
use std::sync::LazyLock;

/// Response signatures count too: more ways to be accepted, more ways to be fooled.
fn policy() -> VerifyPolicy {
    let mut policy = samlconf_fuzz::policy();
    policy.accept_response_signature = true;
    policy
}

struct Original {
    policy: VerifyPolicy,
    name_id: Option<String>,
    name_id_format: Option<String>,
    attributes: Vec<Attribute>,
}

static ORIGINAL: LazyLock<Original> = LazyLock::new(|| {
    let policy = policy();
    let seed = include_bytes!("../corpus/verify_response_mutated/valid.xml");
    let v = verify_response(seed, &policy, samlconf_fuzz::NOW)
        .expect("the seed must be accepted: re-run fuzz/seed-corpus.sh");
    Original {
        name_id: v.name_id,
        name_id_format: v.name_id_format,
        attributes: v.attributes,
        policy,
    }
});

fuzz_target!(|data: &[u8]| {
    let original = &*ORIGINAL;
    let Ok(accepted) = verify_response(data, &original.policy, samlconf_fuzz::NOW) else {
        return;
    };
    assert_eq!(
        (&accepted.name_id, &accepted.name_id_format),
        (&original.name_id, &original.name_id_format),
        "a mutated response was accepted with another NameID"
    );
    assert_eq!(
        accepted.attributes, original.attributes,
        "a mutated response was accepted with other attributes"
    );
});
