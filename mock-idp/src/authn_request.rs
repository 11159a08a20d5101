//! Decoding AuthnRequests from the HTTP-Redirect and HTTP-POST bindings.
//!
//! The input is attacker-controlled: sizes are capped before and after inflation, DTDs are
//! refused before libxml sees the text, and every failure is a value naming what was wrong.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use libxml::parser::{Parser, ParserOptions};
use libxml::tree::Node;
use serde::{Deserialize, Serialize};

use crate::xml::{ASSERTION_NS, PROTOCOL_NS};

/// The largest `SAMLRequest` accepted, both as sent and once decoded (64 KiB).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The fields of an AuthnRequest the IdP acts on, plus the XML itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthnRequest {
    /// The request's `ID` (echoed as `InResponseTo`).
    pub id: String,
    /// The `saml:Issuer`: the SP's entity ID.
    pub issuer: Option<String>,
    /// `AssertionConsumerServiceURL`.
    pub acs_url: Option<String>,
    /// `AssertionConsumerServiceIndex`.
    pub acs_index: Option<u32>,
    /// `Destination`.
    pub destination: Option<String>,
    /// `IsPassive="true"`.
    pub is_passive: bool,
    /// `ForceAuthn="true"`.
    pub force_authn: bool,
    /// `ProtocolBinding`.
    pub protocol_binding: Option<String>,
    /// `IssueInstant`, as sent.
    pub issue_instant: Option<String>,
    /// The decoded XML.
    pub raw_xml: String,
}

/// Why an AuthnRequest could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthnRequestError {
    /// The `SAMLRequest` parameter is longer than [`MAX_REQUEST_BYTES`].
    #[error("SAMLRequest is {0} bytes; the limit is {MAX_REQUEST_BYTES}")]
    ParameterTooLarge(usize),
    /// The parameter is not base64.
    #[error("SAMLRequest is not valid base64: {0}")]
    NotBase64(String),
    /// The Redirect binding's payload is not raw DEFLATE.
    #[error("SAMLRequest does not inflate as raw DEFLATE: {0}")]
    NotDeflate(String),
    /// The payload inflates beyond [`MAX_REQUEST_BYTES`].
    #[error("SAMLRequest inflates beyond {MAX_REQUEST_BYTES} bytes")]
    InflatesTooLarge,
    /// The decoded payload is not UTF-8.
    #[error("the decoded SAMLRequest is not UTF-8")]
    NotUtf8,
    /// The XML declares a DTD (entity expansion and external entities are refused outright).
    #[error("the AuthnRequest declares a DTD; DTDs are refused")]
    DtdRefused,
    /// libxml could not parse the XML.
    #[error("the AuthnRequest is not well-formed XML")]
    MalformedXml,
    /// The root element is not `samlp:AuthnRequest`.
    #[error("the root element is {{{namespace}}}{name}, not samlp:AuthnRequest")]
    NotAnAuthnRequest {
        /// The root element's namespace URI.
        namespace: String,
        /// The root element's local name.
        name: String,
    },
    /// The required `ID` attribute is missing or empty.
    #[error("the AuthnRequest has no ID")]
    MissingId,
}

/// Decodes an HTTP-Redirect `SAMLRequest` (already URL-decoded): base64, then raw DEFLATE.
pub fn decode_redirect(saml_request: &str) -> Result<AuthnRequest, AuthnRequestError> {
    let deflated = decode_base64(saml_request)?;
    let mut inflated = Vec::new();
    // Read one byte past the limit to tell "exactly at the limit" from "beyond it".
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .take(MAX_REQUEST_BYTES as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| AuthnRequestError::NotDeflate(e.to_string()))?;
    if inflated.len() > MAX_REQUEST_BYTES {
        return Err(AuthnRequestError::InflatesTooLarge);
    }
    parse(inflated)
}

/// Decodes an HTTP-POST `SAMLRequest`: base64 of the XML.
pub fn decode_post(saml_request: &str) -> Result<AuthnRequest, AuthnRequestError> {
    parse(decode_base64(saml_request)?)
}

/// Parses AuthnRequest XML bytes.
pub fn parse(xml: Vec<u8>) -> Result<AuthnRequest, AuthnRequestError> {
    if xml.len() > MAX_REQUEST_BYTES {
        return Err(AuthnRequestError::ParameterTooLarge(xml.len()));
    }
    let raw_xml = String::from_utf8(xml).map_err(|_| AuthnRequestError::NotUtf8)?;
    // Checked on the text because the text must be UTF-8 and libxml ignores the prolog's encoding, so no
    // other encoding can hide the declaration.
    if contains_ignore_ascii_case(&raw_xml, "<!DOCTYPE") {
        return Err(AuthnRequestError::DtdRefused);
    }
    let options = ParserOptions {
        recover: false,
        no_net: true,
        // No explicit `encoding`: libxml2 2.9's forced-encoding path races between threads (a
        // concurrent parse intermittently lost elements; see tests/concurrency.rs). The text is
        // checked to be UTF-8 and `ignore_enc` makes libxml2 ignore the prolog's claim.
        ignore_enc: true,
        ..ParserOptions::default()
    };
    let doc = Parser::default()
        .parse_string_with_options(&raw_xml, options)
        .map_err(|_| AuthnRequestError::MalformedXml)?;
    let root = doc
        .get_root_element()
        .ok_or(AuthnRequestError::MalformedXml)?;
    let namespace = root
        .get_namespace()
        .map(|ns| ns.get_href())
        .unwrap_or_default();
    if root.get_name() != "AuthnRequest" || namespace != PROTOCOL_NS {
        return Err(AuthnRequestError::NotAnAuthnRequest {
            namespace,
            name: root.get_name(),
        });
    }
    let attr = |name: &str| root.get_attribute_no_ns(name).filter(|v| !v.is_empty());
    let flag = |name: &str| matches!(attr(name).as_deref(), Some("true" | "1"));
    let request = AuthnRequest {
        id: attr("ID").ok_or(AuthnRequestError::MissingId)?,
        issuer: issuer(&root),
        acs_url: attr("AssertionConsumerServiceURL"),
        acs_index: attr("AssertionConsumerServiceIndex").and_then(|v| v.parse().ok()),
        destination: attr("Destination"),
        is_passive: flag("IsPassive"),
        force_authn: flag("ForceAuthn"),
        protocol_binding: attr("ProtocolBinding"),
        issue_instant: attr("IssueInstant"),
        raw_xml: String::new(),
    };
    Ok(AuthnRequest { raw_xml, ..request })
}

fn issuer(root: &Node) -> Option<String> {
    root.get_child_elements()
        .into_iter()
        .find(|child| {
            child.get_name() == "Issuer"
                && child
                    .get_namespace()
                    .is_some_and(|ns| ns.get_href() == ASSERTION_NS)
        })
        .map(|issuer| issuer.get_content().trim().to_owned())
        .filter(|issuer| !issuer.is_empty())
}

fn decode_base64(param: &str) -> Result<Vec<u8>, AuthnRequestError> {
    if param.len() > MAX_REQUEST_BYTES {
        return Err(AuthnRequestError::ParameterTooLarge(param.len()));
    }
    // SPs wrap long POST values at 76 columns and some drop the padding; both are harmless.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = param.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT
        .decode(compact)
        .map_err(|e| AuthnRequestError::NotBase64(e.to_string()))
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    const REQUEST: &str = r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_req1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="http://idp/sso" AssertionConsumerServiceURL="http://sp/acs" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" IsPassive="true"><saml:Issuer>http://sp</saml:Issuer></samlp:AuthnRequest>"#;

    fn deflate_base64(xml: &[u8]) -> String {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(xml).expect("deflate");
        base64::engine::general_purpose::STANDARD.encode(encoder.finish().expect("deflate"))
    }

    #[test]
    fn decodes_both_bindings() {
        let redirect = decode_redirect(&deflate_base64(REQUEST.as_bytes())).expect("redirect");
        let post =
            decode_post(&base64::engine::general_purpose::STANDARD.encode(REQUEST)).expect("post");
        assert_eq!(redirect, post);
        assert_eq!(redirect.id, "_req1");
        assert_eq!(redirect.issuer.as_deref(), Some("http://sp"));
        assert_eq!(redirect.acs_url.as_deref(), Some("http://sp/acs"));
        assert!(redirect.is_passive);
        assert!(!redirect.force_authn);
        assert_eq!(redirect.raw_xml, REQUEST);
    }

    #[test]
    fn refuses_garbage_with_precise_errors() {
        assert!(matches!(
            decode_redirect("%%%not base64"),
            Err(AuthnRequestError::NotBase64(_))
        ));
        assert!(matches!(
            decode_redirect("aGVsbG8gd29ybGQ="),
            Err(AuthnRequestError::NotDeflate(_))
        ));
        assert!(matches!(
            decode_post("PGEvPg=="),
            Err(AuthnRequestError::NotAnAuthnRequest { .. })
        ));
        assert!(matches!(
            decode_post("PGE+PC9i"),
            Err(AuthnRequestError::MalformedXml)
        ));
        let huge = "A".repeat(MAX_REQUEST_BYTES + 4);
        assert!(matches!(
            decode_post(&huge),
            Err(AuthnRequestError::ParameterTooLarge(_))
        ));
        let bomb = deflate_base64(&vec![b' '; 10 * MAX_REQUEST_BYTES]);
        assert!(bomb.len() < MAX_REQUEST_BYTES);
        assert_eq!(
            decode_redirect(&bomb),
            Err(AuthnRequestError::InflatesTooLarge)
        );
    }

    #[test]
    fn refuses_dtds_and_missing_ids() {
        let xxe = format!(r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>{REQUEST}"#);
        assert_eq!(parse(xxe.into_bytes()), Err(AuthnRequestError::DtdRefused));
        let no_id = REQUEST.replace(r#"ID="_req1" "#, "");
        assert_eq!(parse(no_id.into_bytes()), Err(AuthnRequestError::MissingId));
    }
}
