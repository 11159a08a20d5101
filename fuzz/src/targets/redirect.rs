//! Single logout over HTTP-Redirect: the raw query string, and the query-string signature.

use base64::Engine as _;
use sp::slo::{LogoutMessage, Signed, decode_redirect, verify_message, verify_query_signature};

/// A raw query string to `slo::decode_redirect`, and what decodes to `slo::verify_message`:
/// refusals only, never a panic.
pub fn slo_decode_redirect(data: &[u8]) {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let policy = super::slo_policy(false);
    if let Ok(raw) = decode_redirect(query, policy.verify.max_response_bytes) {
        let _ = verify_message(&raw, &policy, super::NOW);
    }
}

/// The `SigAlg` the first byte's low three bits select; the signature itself is always
/// RSA-SHA256 with PKCS#1 v1.5, so any other `SigAlg` must fail to verify (algorithm confusion).
const SIG_ALGS: [Option<&str>; 8] = [
    Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
    Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"),
    Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"),
    Some("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
    Some("http://www.w3.org/2000/09/xmldsig#dsa-sha1"),
    Some("http://www.w3.org/2001/04/xmldsig-more#rsa-md5"),
    Some("http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"),
    None,
];

/// A structured input for [`redirect_signature`].
///
/// ```text
/// byte 0     bits 0-2  SigAlg: SIG_ALGS index (7 = no SigAlg/Signature: unsigned)
///            bit 3     SAMLResponse (a LogoutResponse) instead of SAMLRequest
///            bit 4     sign with the attacker's key instead of the IdP's
///            bit 5     send RelayState
///            bit 6     the policy allows SHA-1
/// bytes 1-2  offset of the byte to alter in the finished query string (u16, little-endian)
/// byte 3     XOR mask for that byte (0: the query is sent as signed)
/// rest       RelayState, a NUL byte, then the XML message (no NUL: all of it is the message)
/// ```
#[derive(Debug)]
pub struct RedirectInput<'a> {
    pub flags: u8,
    pub tamper_at: u16,
    pub tamper_mask: u8,
    pub relay_state: &'a [u8],
    pub xml: &'a [u8],
}

impl<'a> RedirectInput<'a> {
    /// Reads the layout above; `None` for fewer than four bytes.
    pub fn parse(data: &'a [u8]) -> Option<RedirectInput<'a>> {
        let (&[flags, lo, hi, tamper_mask], rest) = data.split_first_chunk::<4>()?;
        let (relay_state, xml) = match rest.iter().position(|b| *b == 0) {
            Some(nul) => (&rest[..nul], &rest[nul + 1..]),
            None => (&rest[..0], rest),
        };
        Some(RedirectInput {
            flags,
            tamper_at: u16::from_le_bytes([lo, hi]),
            tamper_mask,
            relay_state,
            xml,
        })
    }

    /// The inverse of [`RedirectInput::parse`] (the corpus generator writes seeds with it).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.flags];
        out.extend(self.tamper_at.to_le_bytes());
        out.push(self.tamper_mask);
        out.extend(self.relay_state);
        out.push(0);
        out.extend(self.xml);
        out
    }
}

/// The query string as the IdP would send it, and the octets it signed.
struct Built {
    query: String,
    signed_octets: Option<String>,
}

fn build(input: &RedirectInput<'_>) -> Built {
    let keys = &*KEYS;
    let param = if input.flags & 0b1000 != 0 {
        "SAMLResponse"
    } else {
        "SAMLRequest"
    };
    let xml = String::from_utf8_lossy(input.xml);
    let deflated = mock_idp::logout::deflate_base64(&xml);
    let encode = mock_idp::redirect_sig::encode;
    let mut query = format!("{param}={}", encode(&deflated));
    if input.flags & 0b10_0000 != 0 {
        query.push_str("&RelayState=");
        query.push_str(&encode(&String::from_utf8_lossy(input.relay_state)));
    }
    let Some(sig_alg) = SIG_ALGS[usize::from(input.flags & 0b111)] else {
        return Built {
            query,
            signed_octets: None,
        };
    };
    query.push_str("&SigAlg=");
    query.push_str(&encode(sig_alg));
    let key = if input.flags & 0b1_0000 != 0 {
        &keys.attacker.key_pem
    } else {
        &keys.idp.key_pem
    };
    let signature = mock_idp::redirect_sig::sign_rsa_sha256(query.as_bytes(), key)
        .expect("the fixed test keys sign");
    let signed_octets = query.clone();
    query.push_str("&Signature=");
    query.push_str(&encode(
        &base64::engine::general_purpose::STANDARD.encode(signature),
    ));
    Built {
        query,
        signed_octets: Some(signed_octets),
    }
}

static KEYS: std::sync::LazyLock<mock_idp::keys::IdpKeys> =
    std::sync::LazyLock::new(mock_idp::keys::IdpKeys::fixed_for_tests);

/// The HTTP-Redirect binding with its query-string signature: the target signs the fuzzer's
/// message itself (so that mutations of the message, the RelayState and the SigAlg all reach the
/// signature check with a signature that is right for *something*), then alters one byte of the
/// finished query string. Invariant: the signature verifies only when the octets the SP rebuilt
/// are exactly the ones signed, under the IdP's key, with the SigAlg the signature was made with
/// (RSA-SHA256); then the message and RelayState are exactly the ones signed; and
/// `verify_message` (signatures required) never accepts a message whose query signature did not
/// verify.
pub fn redirect_signature(data: &[u8]) {
    let _ = redirect_signature_accepts(data);
}

/// [`redirect_signature`], saying whether `verify_message` accepted the message (the replay test
/// checks that the valid seeds are accepted, so that mutations start from the accepting path).
pub fn redirect_signature_accepts(data: &[u8]) -> bool {
    let Some(input) = RedirectInput::parse(data) else {
        return false;
    };
    let Built {
        mut query,
        signed_octets,
    } = build(&input);
    if input.tamper_mask != 0 && !query.is_empty() {
        let at = usize::from(input.tamper_at) % query.len();
        let mut bytes = std::mem::take(&mut query).into_bytes();
        bytes[at] ^= input.tamper_mask;
        let Ok(tampered) = String::from_utf8(bytes) else {
            return false;
        };
        query = tampered;
    }
    let mut policy = super::slo_policy(true);
    policy.verify.allow_sha1 = input.flags & 0b100_0000 != 0;
    let Ok(raw) = decode_redirect(&query, policy.verify.max_response_bytes) else {
        return false;
    };
    let query_verified = match &raw.redirect_signature {
        Some(sig) => match verify_query_signature(sig, &policy.verify) {
            Ok(signed) => {
                assert_eq!(
                    signed,
                    Signed::QueryString {
                        certificate_index: 0
                    }
                );
                assert_eq!(
                    Some(&sig.signed_octets),
                    signed_octets.as_ref(),
                    "a query signature verified over octets that were not signed"
                );
                assert_eq!(
                    input.flags & 0b1_0000,
                    0,
                    "the attacker's signature verified"
                );
                assert_eq!(
                    sig.sig_alg, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                    "an RSA-SHA256 signature verified under another SigAlg"
                );
                assert_eq!(
                    raw.xml,
                    String::from_utf8_lossy(input.xml).as_bytes(),
                    "a verified query carried another message"
                );
                true
            }
            Err(_) => false,
        },
        None => false,
    };
    if let Ok(message) = verify_message(&raw, &policy, super::NOW) {
        let signed = match &message {
            LogoutMessage::Request(r) => r.signed,
            LogoutMessage::Response(r) => r.signed,
        };
        match signed {
            Signed::QueryString { .. } => assert!(
                query_verified,
                "verify_message accepted a query signature that does not verify"
            ),
            Signed::Xml { .. } => panic!("an XML signature counted on HTTP-Redirect"),
            Signed::Unsigned => panic!("an unsigned message was accepted with signatures required"),
        }
        return true;
    }
    false
}
