//! Games with the HTTP-Redirect binding of an IdP-initiated LogoutRequest (knob
//! `logout_redirect_game`): how the query string is encoded, ordered, framed and signed, as a
//! sloppy encoder, a rewriting proxy or an attacker would send it. The XML itself is the IdP's.
//!
//! The binding (SAML bindings §3.4.4.1) signs the octets `SAMLRequest=…[&RelayState=…]&SigAlg=…`
//! as they appear on the wire, in that order: a verifier must rebuild them from the values as
//! received, never re-encode them, and must refuse a repeated parameter (which of the two was
//! signed?).

use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde::{Deserialize, Serialize};

use crate::redirect_sig::{RSA_SHA1, RSA_SHA256, RedirectSignError, encode};

/// How many bytes of XML whitespace [`RedirectGame::DeflateBomb`] appends after the root element:
/// 8 MiB inflated, about 8 KiB deflated.
pub const DEFLATE_BOMB_BYTES: usize = 8 * 1024 * 1024;

/// One game with the HTTP-Redirect encoding of a LogoutRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedirectGame {
    /// A second `SAMLRequest` (the same value) appended after the signature: a verifier that
    /// checks the first and reads the last (or the reverse) can be fed an unsigned message.
    RepeatSamlRequest,
    /// The parameters sent in the reverse order (`Signature`, `SigAlg`, `RelayState`,
    /// `SAMLRequest`), signed in the binding's order: a verifier rebuilding the signed octets in
    /// the binding's order accepts; one that signs the query as it came refuses.
    ReorderParameters,
    /// Percent-encoding with lower-case hex digits (`%2b`) and `%20` for spaces, signed as sent:
    /// a legitimate encoder difference that a verifier re-encoding the values would refuse.
    LowerCaseHex,
    /// Signed with upper-case hex, then re-encoded with lower-case hex by a proxy: the values
    /// are the same, the signed octets are not.
    ReencodedAfterSigning,
    /// The `SAMLRequest` value percent-encoded twice (`%252B`) and signed so: a layer that
    /// decodes twice reads another message than the one whose octets were signed.
    DoubleEncoded,
    /// Signed with RSA-SHA1 (`SigAlg` `xmldsig#rsa-sha1`): a downgrade where SHA-256 is required.
    SigAlgRsaSha1,
    /// The message deflated with zlib framing (RFC 1950 header and Adler-32) instead of raw
    /// DEFLATE, as some IdPs wrongly send it.
    ZlibFraming,
    /// A DEFLATE bomb: [`DEFLATE_BOMB_BYTES`] of whitespace after the root element, a few KiB on
    /// the wire, megabytes once inflated.
    DeflateBomb,
}

/// Builds the query string of `xml` (a LogoutRequest) as `game` sends it; `key_pem: None`
/// leaves it unsigned (only the encoding games then apply).
pub fn build_query(
    xml: &str,
    relay_state: Option<&str>,
    key_pem: Option<&str>,
    game: RedirectGame,
) -> Result<String, RedirectSignError> {
    use RedirectGame as G;
    let message = match game {
        G::ZlibFraming => compress(xml, Framing::Zlib),
        G::DeflateBomb => {
            let mut padded = xml.to_owned();
            padded.push_str(&" ".repeat(DEFLATE_BOMB_BYTES));
            compress(&padded, Framing::Raw)
        }
        _ => compress(xml, Framing::Raw),
    };
    let encoded = match game {
        G::LowerCaseHex => lower_hex(&encode_spaces_as_percent(&message)),
        G::DoubleEncoded => encode(&encode(&message)),
        _ => encode(&message),
    };
    let relay = relay_state.map(|r| match game {
        G::LowerCaseHex => lower_hex(&encode_spaces_as_percent(r)),
        _ => encode(r),
    });
    let mut signed = format!("SAMLRequest={encoded}");
    if let Some(relay) = &relay {
        signed.push_str(&format!("&RelayState={relay}"));
    }
    let Some(key_pem) = key_pem else {
        return Ok(signed);
    };
    let (alg, digest) = match game {
        G::SigAlgRsaSha1 => (RSA_SHA1, MessageDigest::sha1()),
        _ => (RSA_SHA256, MessageDigest::sha256()),
    };
    let sig_alg = match game {
        G::LowerCaseHex => lower_hex(&encode(alg)),
        _ => encode(alg),
    };
    signed.push_str(&format!("&SigAlg={sig_alg}"));
    let signature = encode(&STANDARD.encode(sign(signed.as_bytes(), key_pem, digest)?));
    Ok(match game {
        G::RepeatSamlRequest => format!("{signed}&Signature={signature}&SAMLRequest={encoded}"),
        G::ReorderParameters => {
            let mut parts = vec![
                format!("Signature={signature}"),
                format!("SigAlg={sig_alg}"),
            ];
            if let Some(relay) = &relay {
                parts.push(format!("RelayState={relay}"));
            }
            parts.push(format!("SAMLRequest={encoded}"));
            parts.join("&")
        }
        G::ReencodedAfterSigning => lower_hex(&format!("{signed}&Signature={signature}")),
        _ => format!("{signed}&Signature={signature}"),
    })
}

enum Framing {
    Raw,
    Zlib,
}

/// DEFLATE (raw or zlib-framed), then base64. Writing to a Vec cannot fail.
fn compress(xml: &str, framing: Framing) -> String {
    let level = flate2::Compression::default();
    let bytes = match framing {
        Framing::Raw => {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), level);
            e.write_all(xml.as_bytes()).and_then(|()| e.finish())
        }
        Framing::Zlib => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
            e.write_all(xml.as_bytes()).and_then(|()| e.finish())
        }
    };
    STANDARD.encode(bytes.unwrap_or_default())
}

/// Form encoding, but a space as `%20` instead of `+`.
fn encode_spaces_as_percent(value: &str) -> String {
    value.split(' ').map(encode).collect::<Vec<_>>().join("%20")
}

/// Every `%XX` escape with lower-case hex digits.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).unwrap_or(&rest[at..]);
        out.push_str(&escape.to_ascii_lowercase());
        rest = &rest[at + escape.len()..];
    }
    out.push_str(rest);
    out
}

fn sign(octets: &[u8], key_pem: &str, digest: MessageDigest) -> Result<Vec<u8>, RedirectSignError> {
    let key = PKey::private_key_from_pem(key_pem.as_bytes())
        .map_err(|e| RedirectSignError::KeyUnusable(e.to_string()))?;
    let mut signer =
        Signer::new(digest, &key).map_err(|e| RedirectSignError::SigningFailed(e.to_string()))?;
    signer
        .update(octets)
        .map_err(|e| RedirectSignError::SigningFailed(e.to_string()))?;
    signer
        .sign_to_vec()
        .map_err(|e| RedirectSignError::SigningFailed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_hex_lowers_only_escapes() {
        assert_eq!(lower_hex("A%2BB%3Dc%2f"), "A%2bB%3dc%2f");
        assert_eq!(encode_spaces_as_percent("a b+c"), "a%20b%2Bc");
    }
}
