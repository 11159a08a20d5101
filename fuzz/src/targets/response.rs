//! The response verifier: arbitrary bytes, the HTTP-POST form value, and mutations of accepted
//! signed responses.

use std::sync::LazyLock;

use sp::verify::{Attribute, VerifyPolicy, verify_response as verify};

/// libxml2 keeps the last error it reported for each thread (its message and names copied) until
/// the next one replaces it. libFuzzer runs its leak check only after an input that allocated more
/// blocks than it freed, and stops checking after a thousand such inputs without a leak: the kept
/// error made many inputs look like that, so leak checking stopped early in long runs. Forgetting
/// the error after each input keeps the count honest. (The SP itself never reads it.)
pub fn forget_libxml_last_error() {
    // SAFETY: frees the calling thread's copy of libxml2's last error; nothing holds it.
    unsafe { libxml::bindings::xmlResetLastError() }
}

/// Arbitrary bytes to `verify_response` and `decode_file_input`: a refusal, never a panic.
pub fn verify_response(data: &[u8]) {
    let _ = verify(data, &super::policy(), super::NOW);
    let _ = sp::verify::decode_file_input(data);
    forget_libxml_last_error();
}

/// The HTTP-POST `SAMLResponse` form value (base64, whitespace-wrapped): decoded, then verified.
pub fn decode_post_binding(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(xml) = sp::verify::decode_post_binding(text) {
        let _ = verify(&xml, &super::policy(), super::NOW);
        forget_libxml_last_error();
    }
}

/// Response signatures count too: more ways to be accepted, more ways to be fooled.
pub fn mutated_policy() -> VerifyPolicy {
    let mut policy = super::policy();
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
    let policy = mutated_policy();
    let seed = include_bytes!("../../corpus/verify_response_mutated/valid.xml");
    let v = verify(seed, &policy, super::NOW)
        .expect("the seed must be accepted: re-run samlconf fuzz-corpus");
    Original {
        name_id: v.name_id,
        name_id_format: v.name_id_format,
        attributes: v.attributes,
        policy,
    }
});

/// No mutation of a signed response may change what is accepted. The corpus holds only responses
/// the policy accepts, all minted for one user; whenever the verifier ACCEPTS a mutated input,
/// its NameID and attributes must equal those of the original signed assertion (`valid.xml`);
/// anything else means a mutation got past the signature (wrapping, comment truncation, …).
pub fn verify_response_mutated(data: &[u8]) {
    let original = &*ORIGINAL;
    let verdict = verify(data, &original.policy, super::NOW);
    forget_libxml_last_error();
    let Ok(accepted) = verdict else {
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
}
