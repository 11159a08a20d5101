//! Properties: the decoders and the verifier never panic on arbitrary input, and no single-byte
//! change to a signed response yields different accepted claims.

mod verifier_support;

use proptest::prelude::*;
use sp::verify::{decode_file_input, decode_post_binding, verify_response};
use verifier_support::{NOW, policy, signed_default, verify};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn verify_response_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = verify_response(&bytes, &policy(), NOW);
    }

    #[test]
    fn verify_response_never_panics_on_xmlish_text(s in "(<[a-zA-Z:]{1,12}( [a-zA-Z:]{1,8}=\"[^\"<]{0,12}\")*>|</[a-zA-Z:]{1,12}>|[^<]{0,16}|<!DOCTYPE|<!--|-->|&[a-z]{1,4};){0,40}") {
        let _ = verify_response(s.as_bytes(), &policy(), NOW);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_strings(s in ".{0,512}", b in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_post_binding(&s);
        let _ = decode_file_input(&b);
    }

    #[test]
    fn a_single_byte_change_never_yields_different_accepted_claims(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let original = verify(signed_default()).expect("the fixture verifies");
        let mut bytes = signed_default().as_bytes().to_vec();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        if let Ok(v) = verify_response(&bytes, &policy(), NOW) {
            // Only bytes outside the signed canonical form (whitespace inside tags, comments,
            // unsigned Response fields...) may change without rejection; the claims may not.
            prop_assert_eq!(&v.name_id, &original.name_id);
            prop_assert_eq!(&v.issuer, &original.issuer);
            prop_assert_eq!(&v.attributes, &original.attributes);
            prop_assert_eq!(&v.audiences, &original.audiences);
            prop_assert_eq!(&v.assertion_id, &original.assertion_id);
            prop_assert_eq!(v.not_on_or_after, original.not_on_or_after);
        }
    }
}
