//! The HTTP-Redirect binding's detached signature (SAML Bindings §3.4.4.1).
//!
//! The signature covers the octets `SAMLRequest=…&RelayState=…&SigAlg=…` (or `SAMLResponse=…`)
//! built from the parameter values *exactly as URL-encoded on the wire*, never re-encoded: two
//! encoders may legitimately differ (`%2B` vs `%2b`, `+` vs `%20`), so re-encoding would refuse
//! good signatures. Signing and verifying use the system libssl through `openssl`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::{Signer, Verifier};
use openssl::x509::X509;

use crate::logout::SignatureCheck;

/// `SigAlg` for RSA-SHA256, the algorithm the IdP signs with.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// `SigAlg` for RSA-SHA1: verified only so the record can say a weak algorithm was used.
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";

/// The longest raw query string `/slo` reads (the message itself is capped again once decoded).
pub const MAX_QUERY_BYTES: usize = 256 * 1024;

/// Which SAML message a redirect carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageParam {
    /// `SAMLRequest` (a LogoutRequest or AuthnRequest).
    SamlRequest,
    /// `SAMLResponse` (a LogoutResponse).
    SamlResponse,
}

impl MessageParam {
    /// The query parameter name.
    pub fn name(self) -> &'static str {
        match self {
            MessageParam::SamlRequest => "SAMLRequest",
            MessageParam::SamlResponse => "SAMLResponse",
        }
    }
}

/// Why a query string could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectSignError {
    /// openssl refused the private key PEM.
    #[error("openssl cannot load the private key: {0}")]
    KeyUnusable(String),
    /// openssl failed to compute the signature.
    #[error("openssl failed to sign the query string: {0}")]
    SigningFailed(String),
}

/// Builds `SAMLRequest=…[&RelayState=…][&SigAlg=…&Signature=…]` for `message_b64` (already
/// DEFLATEd and base64-encoded). `key_pem: None` sends the message unsigned (no SigAlg either).
pub fn build_query(
    param: MessageParam,
    message_b64: &str,
    relay_state: Option<&str>,
    key_pem: Option<&str>,
) -> Result<String, RedirectSignError> {
    let mut query = format!("{}={}", param.name(), encode(message_b64));
    if let Some(relay_state) = relay_state {
        query.push_str("&RelayState=");
        query.push_str(&encode(relay_state));
    }
    let Some(key_pem) = key_pem else {
        return Ok(query);
    };
    query.push_str("&SigAlg=");
    query.push_str(&encode(RSA_SHA256));
    let signature = sign_rsa_sha256(query.as_bytes(), key_pem)?;
    query.push_str("&Signature=");
    query.push_str(&encode(&STANDARD.encode(signature)));
    Ok(query)
}

/// RSA PKCS#1 v1.5 with SHA-256 over `octets`.
pub fn sign_rsa_sha256(octets: &[u8], key_pem: &str) -> Result<Vec<u8>, RedirectSignError> {
    let key = PKey::private_key_from_pem(key_pem.as_bytes())
        .map_err(|e| RedirectSignError::KeyUnusable(e.to_string()))?;
    let mut signer = Signer::new(MessageDigest::sha256(), &key)
        .map_err(|e| RedirectSignError::SigningFailed(e.to_string()))?;
    signer
        .update(octets)
        .map_err(|e| RedirectSignError::SigningFailed(e.to_string()))?;
    signer
        .sign_to_vec()
        .map_err(|e| RedirectSignError::SigningFailed(e.to_string()))
}

/// Why a received query string cannot be read as an HTTP-Redirect binding message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectQueryError {
    /// The query string is longer than [`MAX_QUERY_BYTES`].
    #[error("the query string is {0} bytes; the limit is {MAX_QUERY_BYTES}")]
    TooLarge(usize),
    /// A SAML parameter appears twice, so it is unclear which one the signature covers.
    #[error("the parameter `{0}` appears more than once")]
    Duplicate(&'static str),
    /// Neither `SAMLRequest` nor `SAMLResponse` is present.
    #[error("the query carries neither SAMLRequest nor SAMLResponse")]
    NoMessage,
    /// Both are present.
    #[error("the query carries both SAMLRequest and SAMLResponse")]
    BothMessages,
}

/// A received HTTP-Redirect query, split into its SAML parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectQuery {
    /// Which message parameter it carries.
    pub param: MessageParam,
    /// The message parameter, URL-decoded (still base64 of DEFLATE).
    pub message: String,
    /// `RelayState`, URL-decoded.
    pub relay_state: Option<String>,
    /// `SigAlg`, URL-decoded.
    pub sig_alg: Option<String>,
    /// `Signature`, URL-decoded (base64).
    pub signature: Option<String>,
    /// The octets the signature covers, built from the raw (still URL-encoded) values.
    signed_octets: String,
}

/// Splits a raw query string (as received, still URL-encoded). Other parameters are ignored.
pub fn parse_query(raw: &str) -> Result<RedirectQuery, RedirectQueryError> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(RedirectQueryError::TooLarge(raw.len()));
    }
    const NAMES: [&str; 5] = [
        "SAMLRequest",
        "SAMLResponse",
        "RelayState",
        "SigAlg",
        "Signature",
    ];
    let mut found: [Option<&str>; 5] = [None; 5];
    for pair in raw.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(i) = NAMES.iter().position(|known| *known == name) {
            if found[i].is_some() {
                return Err(RedirectQueryError::Duplicate(NAMES[i]));
            }
            found[i] = Some(value);
        }
    }
    let [request, response, relay_state, sig_alg, signature] = found;
    let (param, message) = match (request, response) {
        (Some(request), None) => (MessageParam::SamlRequest, request),
        (None, Some(response)) => (MessageParam::SamlResponse, response),
        (None, None) => return Err(RedirectQueryError::NoMessage),
        (Some(_), Some(_)) => return Err(RedirectQueryError::BothMessages),
    };
    let mut signed_octets = format!("{}={message}", param.name());
    if let Some(relay_state) = relay_state {
        signed_octets.push_str("&RelayState=");
        signed_octets.push_str(relay_state);
    }
    if let Some(sig_alg) = sig_alg {
        signed_octets.push_str("&SigAlg=");
        signed_octets.push_str(sig_alg);
    }
    Ok(RedirectQuery {
        param,
        message: decode(message),
        relay_state: relay_state.map(decode),
        sig_alg: sig_alg.map(decode),
        signature: signature.map(decode),
        signed_octets,
    })
}

impl RedirectQuery {
    /// The exact octets the `Signature` covers.
    pub fn signed_octets(&self) -> &str {
        &self.signed_octets
    }

    /// Verifies `Signature` over the signed octets with the public key of `cert_pem`.
    pub fn verify(&self, cert_pem: Option<&str>) -> SignatureCheck {
        let (Some(sig_alg), Some(signature)) = (&self.sig_alg, &self.signature) else {
            return SignatureCheck::Missing;
        };
        let Some(cert_pem) = cert_pem else {
            return SignatureCheck::NoCertificate;
        };
        verify_octets(self.signed_octets.as_bytes(), sig_alg, signature, cert_pem)
    }
}

/// Verifies a base64 RSA `signature` (algorithm URI `sig_alg`) over `octets` with `cert_pem`.
pub fn verify_octets(
    octets: &[u8],
    sig_alg: &str,
    signature: &str,
    cert_pem: &str,
) -> SignatureCheck {
    let digest = match sig_alg {
        RSA_SHA256 => MessageDigest::sha256(),
        RSA_SHA1 => MessageDigest::sha1(),
        other => {
            return SignatureCheck::Invalid {
                reason: format!("unsupported SigAlg `{other}`"),
            };
        }
    };
    let compact: String = signature
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let invalid = |reason: String| SignatureCheck::Invalid { reason };
    let Ok(signature) = STANDARD.decode(compact) else {
        return invalid("Signature is not base64".to_owned());
    };
    let key = match X509::from_pem(cert_pem.as_bytes()).and_then(|cert| cert.public_key()) {
        Ok(key) => key,
        Err(e) => return invalid(format!("the SP certificate cannot be read: {e}")),
    };
    let verified = Verifier::new(digest, &key)
        .and_then(|mut verifier| {
            verifier.update(octets)?;
            verifier.verify(&signature)
        })
        .unwrap_or(false);
    match (verified, sig_alg) {
        (false, _) => invalid("the signature does not verify with the SP's certificate".to_owned()),
        (true, RSA_SHA1) => SignatureCheck::WeakAlgorithm {
            algorithm: RSA_SHA1.to_owned(),
        },
        (true, _) => SignatureCheck::Verified {
            algorithm: sig_alg.to_owned(),
        },
    }
}

/// URL-encodes a parameter value (`application/x-www-form-urlencoded`, as SAML libraries do).
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// URL-decodes one raw parameter value with form semantics (`+` is a space; invalid UTF-8 is
/// replaced, which makes the base64 or signature check fail with a clear error instead of a
/// panic).
fn decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(&raw.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::IdpKeys;

    #[test]
    fn build_then_parse_then_verify_round_trips() {
        let keys = IdpKeys::fixed_for_tests();
        let query = build_query(
            MessageParam::SamlRequest,
            "ab+/=",
            Some("r s"),
            Some(&keys.idp.key_pem),
        )
        .expect("sign");
        let parsed = parse_query(&query).expect("parse");
        assert_eq!(parsed.message, "ab+/=");
        assert_eq!(parsed.relay_state.as_deref(), Some("r s"));
        assert_eq!(parsed.sig_alg.as_deref(), Some(RSA_SHA256));
        assert!(matches!(
            parsed.verify(Some(&keys.idp.cert_pem)),
            SignatureCheck::Verified { .. }
        ));
        assert!(matches!(
            parsed.verify(Some(&keys.attacker.cert_pem)),
            SignatureCheck::Invalid { .. }
        ));
        assert_eq!(parsed.verify(None), SignatureCheck::NoCertificate);
    }

    #[test]
    fn values_are_decoded_as_forms_are() {
        assert_eq!(decode("a+b%2B%2b%20c"), "a b++ c");
        assert_eq!(decode("x=y%3D"), "x=y=");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%C3%A9"), "%zzé");
        assert_eq!(decode("%FF"), "\u{fffd}");
        let parsed = parse_query("SAMLRequest=a%2Bb+c&RelayState=%2F%3Fx%3D1").expect("parse");
        assert_eq!(parsed.message, "a+b c");
        assert_eq!(parsed.relay_state.as_deref(), Some("/?x=1"));
        assert_eq!(
            parsed.signed_octets(),
            "SAMLRequest=a%2Bb+c&RelayState=%2F%3Fx%3D1",
            "the signature covers the parameters as encoded on the wire"
        );
    }

    #[test]
    fn refuses_ambiguous_queries() {
        assert_eq!(
            parse_query("SAMLRequest=a&SAMLRequest=b"),
            Err(RedirectQueryError::Duplicate("SAMLRequest"))
        );
        assert_eq!(parse_query("x=1"), Err(RedirectQueryError::NoMessage));
        assert_eq!(
            parse_query("SAMLRequest=a&SAMLResponse=b"),
            Err(RedirectQueryError::BothMessages)
        );
        let unsigned = parse_query("SAMLRequest=a").expect("parse");
        assert_eq!(unsigned.verify(Some("x")), SignatureCheck::Missing);
    }
}
