//! The transport of incoming logout messages: HTTP-Redirect (deflated, query-string signature)
//! and HTTP-POST (base64 form field), decoded to a [`RawMessage`] not yet parsed or verified.

use std::io::Read;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use flate2::read::DeflateDecoder;
use serde::Serialize;

use super::{MessageKind, input, malformed};
use crate::reason::{Reason, Rejection};

const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The query-string signature of an HTTP-Redirect message, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectSignature {
    /// `SigAlg`, decoded.
    pub sig_alg: String,
    /// `Signature`, base64-decoded.
    pub signature: Vec<u8>,
    /// The signed octets, rebuilt from the parameters *as received* (still URL-encoded):
    /// `SAMLRequest=…[&RelayState=…]&SigAlg=…`.
    pub signed_octets: String,
}

/// The binding a logout message arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Binding {
    /// `GET` with a deflated message and, when signed, a query-string signature.
    HttpRedirect,
    /// `POST` form with a base64 message and, when signed, an enveloped XML signature.
    HttpPost,
}

/// A logout message taken off the wire, not yet parsed or verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// The binding it arrived on (which kind of signature counts).
    pub binding: Binding,
    /// Which parameter carried it.
    pub kind: MessageKind,
    /// The decoded XML bytes.
    pub xml: Vec<u8>,
    /// `RelayState`, decoded.
    pub relay_state: Option<String>,
    /// The query-string signature (HTTP-Redirect only), when present.
    pub redirect_signature: Option<RedirectSignature>,
}

/// Decodes an HTTP-Redirect message from the raw query string (bindings §3.4.4): exactly one of
/// `SAMLRequest`/`SAMLResponse`, base64 of raw DEFLATE, inflated to at most `max_bytes`. A
/// repeated parameter is refused (it would make "what was signed" ambiguous).
pub fn decode_redirect(raw_query: &str, max_bytes: usize) -> Result<RawMessage, Rejection> {
    let max_chars = max_bytes.div_ceil(3).saturating_mul(4).saturating_add(4096);
    if raw_query.len() > max_chars.saturating_mul(3) {
        return Err(input(
            Reason::InputExceedsSizeLimit,
            format!("the query string is {} bytes", raw_query.len()),
        ));
    }
    let mut raw: [Option<&str>; 5] = [None; 5];
    const NAMES: [&str; 5] = [
        "SAMLRequest",
        "SAMLResponse",
        "RelayState",
        "SigAlg",
        "Signature",
    ];
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        // The names we read are plain ASCII; a percent-encoded name is some other parameter.
        if let Some(i) = NAMES.iter().position(|n| *n == name) {
            if raw[i].is_some() {
                return Err(malformed(format!("the query string repeats {name}")));
            }
            raw[i] = Some(value);
        }
    }
    let [request, response, relay_state, sig_alg, signature] = raw;
    let (kind, message) = match (request, response) {
        (Some(m), None) => (MessageKind::Request, m),
        (None, Some(m)) => (MessageKind::Response, m),
        (Some(_), Some(_)) => {
            return Err(malformed(
                "the query string carries both SAMLRequest and SAMLResponse",
            ));
        }
        (None, None) => {
            return Err(input(
                Reason::InputIsNotBase64,
                "the query string carries no SAMLRequest or SAMLResponse",
            ));
        }
    };
    if message.len() > max_chars.saturating_mul(3) {
        return Err(input(
            Reason::InputExceedsSizeLimit,
            format!("{} is {} characters", kind.parameter(), message.len()),
        ));
    }
    let compressed = decode_base64(&percent_decode(message), kind.parameter(), max_bytes)?;
    let mut xml = Vec::new();
    DeflateDecoder::new(compressed.as_slice())
        .take(max_bytes as u64 + 1)
        .read_to_end(&mut xml)
        .map_err(|e| {
            input(
                Reason::InputIsNotValidDeflate,
                format!("{} is not raw DEFLATE data: {e}", kind.parameter()),
            )
        })?;
    if xml.len() > max_bytes {
        return Err(input(
            Reason::InputExceedsSizeLimit,
            format!("the inflated message exceeds {max_bytes} bytes"),
        ));
    }
    let redirect_signature = match (sig_alg, signature) {
        (None, None) => None,
        (Some(alg), Some(sig)) => {
            let mut signed_octets = format!("{}={message}", kind.parameter());
            if let Some(relay) = relay_state {
                signed_octets.push_str(&format!("&RelayState={relay}"));
            }
            signed_octets.push_str(&format!("&SigAlg={alg}"));
            Some(RedirectSignature {
                sig_alg: percent_decode(alg),
                signature: decode_base64(&percent_decode(sig), "Signature", 64 * 1024)?,
                signed_octets,
            })
        }
        (Some(_), None) => return Err(malformed("SigAlg is present without Signature")),
        (None, Some(_)) => return Err(malformed("Signature is present without SigAlg")),
    };
    Ok(RawMessage {
        binding: Binding::HttpRedirect,
        kind,
        xml,
        relay_state: relay_state.map(percent_decode),
        redirect_signature,
    })
}

/// Decodes an HTTP-POST message (bindings §3.5.4): a form with exactly one of
/// `SAMLRequest`/`SAMLResponse` (base64 of the XML, not deflated) and optional `RelayState`.
pub fn decode_post(body: &[u8], max_bytes: usize) -> Result<RawMessage, Rejection> {
    let mut message = None;
    let mut relay_state = None;
    for (key, value) in url::form_urlencoded::parse(body) {
        let slot = match &*key {
            "SAMLRequest" => Some((&mut message, Some(MessageKind::Request))),
            "SAMLResponse" => Some((&mut message, Some(MessageKind::Response))),
            "RelayState" => Some((&mut relay_state, None)),
            _ => None,
        };
        if let Some((slot, kind)) = slot {
            if slot.is_some() {
                return Err(malformed(format!(
                    "the form repeats {key} (or carries both SAMLRequest and SAMLResponse)"
                )));
            }
            *slot = Some((kind, value.into_owned()));
        }
    }
    let Some((Some(kind), value)) = message else {
        return Err(input(
            Reason::InputIsNotBase64,
            "the POST carries no SAMLRequest or SAMLResponse field",
        ));
    };
    let xml = crate::verify::decode_post_binding_with_limit(&value, max_bytes)?;
    Ok(RawMessage {
        binding: Binding::HttpPost,
        kind,
        xml,
        relay_state: relay_state.map(|(_, v)| v),
        redirect_signature: None,
    })
}

/// Percent-decodes a form value (`+` is a space), as every SAML library encodes. Only decoded
/// values are read; the signature is checked over the parts as received.
fn percent_decode(value: &str) -> String {
    percent_encoding::percent_decode_str(&value.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Base64 of a query value. A `+` left unencoded by the sender decodes to a space: base64 has no
/// spaces, so it is read back as `+`.
fn decode_base64(value: &str, what: &str, max_bytes: usize) -> Result<Vec<u8>, Rejection> {
    let compact: String = value
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n' | '\t'))
        .map(|c| if c == ' ' { '+' } else { c })
        .collect();
    if compact.is_empty() {
        return Err(input(Reason::InputIsNotBase64, format!("{what} is empty")));
    }
    if compact.len() > max_bytes.div_ceil(3).saturating_mul(4).saturating_add(4) {
        return Err(input(
            Reason::InputExceedsSizeLimit,
            format!("{what} exceeds the size limit"),
        ));
    }
    B64.decode(compact.as_bytes()).map_err(|e| {
        input(
            Reason::InputIsNotBase64,
            format!("{what} is not valid base64: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_decoding_follows_form_semantics() {
        for (raw, decoded) in [
            ("a+b", "a b"),
            ("a%2Bb", "a+b"),
            ("%2Fpath%3Fq%3D1", "/path?q=1"),
            ("k=v", "k=v"),
            ("100%", "100%"),
            ("%zz", "%zz"),
            ("%FF", "\u{FFFD}"),
            ("%C3%BC", "ü"),
        ] {
            assert_eq!(percent_decode(raw), decoded, "{raw:?}");
        }
    }
}
