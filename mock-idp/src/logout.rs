//! Single logout messages: building the IdP's LogoutRequests and LogoutResponses as text, and
//! decoding the ones SPs send.
//!
//! Received messages are attacker-controlled, so decoding follows the AuthnRequest rules: sizes
//! capped before and after inflation, DTDs refused before libxml sees the text, every failure a
//! value naming what was wrong.

use std::io::{Read as _, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use libxml::parser::{Parser, ParserOptions};
use libxml::tree::{Document, Node};
use serde::{Deserialize, Serialize};

use crate::dsig::{self, SignError, Signed};
use crate::keys::SigningIdentity;
use crate::knobs::{DigestAlgorithm, SignatureAlgorithm, StatusCode};
use crate::mint::write_signature_template;
use crate::xml::{ASSERTION_NS, PROTOCOL_NS, XmlWriter};

/// The largest logout message accepted, both as sent and once decoded (64 KiB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

const ENTITY_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/// What the IdP found out about a received message's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum SignatureCheck {
    /// The signature verifies with the SP's certificate using a current algorithm.
    Verified {
        /// The SigAlg or SignatureMethod URI.
        algorithm: String,
    },
    /// The signature verifies, but with RSA-SHA1, which the IdP refuses.
    WeakAlgorithm {
        /// The SigAlg or SignatureMethod URI.
        algorithm: String,
    },
    /// The message carries no signature.
    Missing,
    /// The signature is present but does not verify (or cannot be checked).
    Invalid {
        /// Why.
        reason: String,
    },
    /// The SP has no `signing_cert_pem`, so nothing can be verified.
    NoCertificate,
}

impl SignatureCheck {
    /// Whether the message may be acted on.
    pub fn accepted(&self) -> bool {
        matches!(self, SignatureCheck::Verified { .. })
    }
}

/// Why a received logout message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutDecodeError {
    /// The parameter or the decoded message is longer than [`MAX_MESSAGE_BYTES`].
    #[error("the message is {0} bytes; the limit is {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    /// The parameter is not base64.
    #[error("the message is not valid base64: {0}")]
    NotBase64(String),
    /// The Redirect binding's payload is not raw DEFLATE.
    #[error("the message does not inflate as raw DEFLATE: {0}")]
    NotDeflate(String),
    /// The payload inflates beyond [`MAX_MESSAGE_BYTES`].
    #[error("the message inflates beyond {MAX_MESSAGE_BYTES} bytes")]
    InflatesTooLarge,
    /// The decoded payload is not UTF-8.
    #[error("the decoded message is not UTF-8")]
    NotUtf8,
    /// The XML declares a DTD.
    #[error("the message declares a DTD; DTDs are refused")]
    DtdRefused,
    /// libxml could not parse the XML.
    #[error("the message is not well-formed XML")]
    MalformedXml,
    /// The root element is not the expected one.
    #[error("the root element is {{{namespace}}}{name}, not samlp:{expected}")]
    WrongRoot {
        /// The expected local name.
        expected: &'static str,
        /// The root element's namespace URI.
        namespace: String,
        /// The root element's local name.
        name: String,
    },
    /// The required `ID` attribute is missing or empty.
    #[error("the message has no ID")]
    MissingId,
}

/// The fields of a received LogoutRequest, plus its XML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutRequestFields {
    /// `ID` (echoed as the answer's `InResponseTo`).
    pub id: String,
    /// `saml:Issuer`: the SP's entity ID.
    pub issuer: Option<String>,
    /// `Destination`.
    pub destination: Option<String>,
    /// `IssueInstant`, as sent.
    pub issue_instant: Option<String>,
    /// `NotOnOrAfter`, as sent.
    pub not_on_or_after: Option<String>,
    /// `saml:NameID` value.
    pub name_id: Option<String>,
    /// `saml:NameID` `Format`.
    pub name_id_format: Option<String>,
    /// Every `samlp:SessionIndex`.
    pub session_indexes: Vec<String>,
    /// The decoded XML.
    pub raw_xml: String,
}

/// The fields of a received LogoutResponse, plus its XML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutResponseFields {
    /// `ID`.
    pub id: String,
    /// `InResponseTo`.
    pub in_response_to: Option<String>,
    /// `saml:Issuer`.
    pub issuer: Option<String>,
    /// `Destination`.
    pub destination: Option<String>,
    /// Top-level StatusCode `Value`.
    pub status_code: Option<String>,
    /// Second-level StatusCode `Value`.
    pub sub_status_code: Option<String>,
    /// The decoded XML.
    pub raw_xml: String,
}

/// Decodes an HTTP-Redirect parameter (already URL-decoded): base64, then raw DEFLATE.
pub fn decode_redirect(param: &str) -> Result<String, LogoutDecodeError> {
    let deflated = decode_base64(param)?;
    let mut inflated = Vec::new();
    // Read one byte past the limit to tell "exactly at the limit" from "beyond it".
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .take(MAX_MESSAGE_BYTES as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| LogoutDecodeError::NotDeflate(e.to_string()))?;
    if inflated.len() > MAX_MESSAGE_BYTES {
        return Err(LogoutDecodeError::InflatesTooLarge);
    }
    String::from_utf8(inflated).map_err(|_| LogoutDecodeError::NotUtf8)
}

/// Decodes an HTTP-POST parameter: base64 of the XML.
pub fn decode_post(param: &str) -> Result<String, LogoutDecodeError> {
    String::from_utf8(decode_base64(param)?).map_err(|_| LogoutDecodeError::NotUtf8)
}

/// Raw DEFLATE then base64, as the HTTP-Redirect binding carries a message.
pub fn deflate_base64(xml: &str) -> String {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let deflated = encoder
        .write_all(xml.as_bytes())
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    STANDARD.encode(deflated)
}

/// Parses a LogoutRequest.
pub fn parse_logout_request(xml: &str) -> Result<LogoutRequestFields, LogoutDecodeError> {
    let doc = parse_xml(xml)?;
    let root = root_named(&doc, "LogoutRequest")?;
    let attr = |name: &str| root.get_attribute_no_ns(name).filter(|v| !v.is_empty());
    let name_id = child(&root, ASSERTION_NS, "NameID");
    Ok(LogoutRequestFields {
        id: attr("ID").ok_or(LogoutDecodeError::MissingId)?,
        issuer: child_text(&root, ASSERTION_NS, "Issuer"),
        destination: attr("Destination"),
        issue_instant: attr("IssueInstant"),
        not_on_or_after: attr("NotOnOrAfter"),
        name_id: name_id.as_ref().map(|n| n.get_content().trim().to_owned()),
        name_id_format: name_id.and_then(|n| n.get_attribute_no_ns("Format")),
        session_indexes: root
            .get_child_elements()
            .into_iter()
            .filter(|c| is(c, PROTOCOL_NS, "SessionIndex"))
            .map(|c| c.get_content().trim().to_owned())
            .collect(),
        raw_xml: xml.to_owned(),
    })
}

/// Parses a LogoutResponse.
pub fn parse_logout_response(xml: &str) -> Result<LogoutResponseFields, LogoutDecodeError> {
    let doc = parse_xml(xml)?;
    let root = root_named(&doc, "LogoutResponse")?;
    let attr = |name: &str| root.get_attribute_no_ns(name).filter(|v| !v.is_empty());
    let top =
        child(&root, PROTOCOL_NS, "Status").and_then(|s| child(&s, PROTOCOL_NS, "StatusCode"));
    let sub = top
        .as_ref()
        .and_then(|t| child(t, PROTOCOL_NS, "StatusCode"));
    Ok(LogoutResponseFields {
        id: attr("ID").ok_or(LogoutDecodeError::MissingId)?,
        in_response_to: attr("InResponseTo"),
        issuer: child_text(&root, ASSERTION_NS, "Issuer"),
        destination: attr("Destination"),
        status_code: top.and_then(|t| t.get_attribute_no_ns("Value")),
        sub_status_code: sub.and_then(|s| s.get_attribute_no_ns("Value")),
        raw_xml: xml.to_owned(),
    })
}

/// Everything in one LogoutRequest the IdP sends.
#[derive(Debug, Clone)]
pub struct LogoutRequestParts<'a> {
    /// `ID`.
    pub id: &'a str,
    /// `IssueInstant`, formatted.
    pub issue_instant: &'a str,
    /// `Destination`.
    pub destination: &'a str,
    /// `NotOnOrAfter`, formatted; `None` leaves it out.
    pub not_on_or_after: Option<&'a str>,
    /// `saml:Issuer`.
    pub issuer: &'a str,
    /// `saml:NameID` value.
    pub name_id: &'a str,
    /// `saml:NameID` `Format`.
    pub name_id_format: &'a str,
    /// `samlp:SessionIndex`; `None` leaves it out (all of the principal's sessions).
    pub session_index: Option<&'a str>,
    /// Leaves out the `saml:NameID` (knob `logout_omit_name_id`): a malformed request.
    pub omit_name_id: bool,
}

/// The LogoutRequest XML; with `signer`, an enveloped RSA-SHA256 signature follows the Issuer
/// (the HTTP-POST binding), without it the XML is unsigned (HTTP-Redirect signs the query).
pub fn logout_request_xml(
    parts: &LogoutRequestParts<'_>,
    signer: Option<&SigningIdentity>,
) -> Result<String, SignError> {
    let mut w = XmlWriter::new(false);
    w.start(
        "samlp:LogoutRequest",
        &[
            ("xmlns:samlp", Some(PROTOCOL_NS)),
            ("xmlns:saml", Some(ASSERTION_NS)),
            ("ID", Some(parts.id)),
            ("Version", Some("2.0")),
            ("IssueInstant", Some(parts.issue_instant)),
            ("Destination", Some(parts.destination)),
            ("NotOnOrAfter", parts.not_on_or_after),
        ],
    );
    w.text(
        "saml:Issuer",
        &[("Format", Some(ENTITY_FORMAT))],
        parts.issuer,
    );
    if let Some(signer) = signer {
        write_signature_template(
            &mut w,
            parts.id,
            SignatureAlgorithm::RsaSha256,
            DigestAlgorithm::Sha256,
            signer,
        );
    }
    if !parts.omit_name_id {
        w.text(
            "saml:NameID",
            &[("Format", Some(parts.name_id_format))],
            parts.name_id,
        );
    }
    if let Some(session_index) = parts.session_index {
        w.text("samlp:SessionIndex", &[], session_index);
    }
    w.end("samlp:LogoutRequest");
    let unsigned = w.finish();
    match signer {
        Some(signer) => dsig::sign(&unsigned, &signer.key_pem, &[Signed::LogoutRequest]),
        None => Ok(unsigned),
    }
}

/// Everything in one LogoutResponse the IdP sends (always unsigned XML: the HTTP-Redirect
/// binding signs the query string instead).
#[derive(Debug, Clone)]
pub struct LogoutResponseParts<'a> {
    /// `ID`.
    pub id: &'a str,
    /// `IssueInstant`, formatted.
    pub issue_instant: &'a str,
    /// `Destination`.
    pub destination: &'a str,
    /// `InResponseTo`.
    pub in_response_to: &'a str,
    /// `saml:Issuer`.
    pub issuer: &'a str,
    /// Top-level StatusCode.
    pub status: &'a StatusCode,
}

/// The LogoutResponse XML.
pub fn logout_response_xml(parts: &LogoutResponseParts<'_>) -> String {
    let mut w = XmlWriter::new(false);
    w.start(
        "samlp:LogoutResponse",
        &[
            ("xmlns:samlp", Some(PROTOCOL_NS)),
            ("xmlns:saml", Some(ASSERTION_NS)),
            ("ID", Some(parts.id)),
            ("Version", Some("2.0")),
            ("IssueInstant", Some(parts.issue_instant)),
            ("Destination", Some(parts.destination)),
            ("InResponseTo", Some(parts.in_response_to)),
        ],
    );
    w.text(
        "saml:Issuer",
        &[("Format", Some(ENTITY_FORMAT))],
        parts.issuer,
    );
    w.start("samlp:Status", &[]);
    w.empty("samlp:StatusCode", &[("Value", Some(parts.status.uri()))]);
    w.end("samlp:Status");
    w.end("samlp:LogoutResponse");
    w.finish()
}

fn decode_base64(param: &str) -> Result<Vec<u8>, LogoutDecodeError> {
    if param.len() > MAX_MESSAGE_BYTES * 2 {
        return Err(LogoutDecodeError::TooLarge(param.len()));
    }
    // SPs wrap long POST values at 76 columns and some drop the padding; both are harmless.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = param.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = LENIENT
        .decode(compact)
        .map_err(|e| LogoutDecodeError::NotBase64(e.to_string()))?;
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(LogoutDecodeError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// Parses received XML: no DTD (checked on the text, which is UTF-8 and whose prolog encoding
/// libxml ignores, so no other encoding can hide one), no network, no recovery.
pub(crate) fn parse_xml(xml: &str) -> Result<Document, LogoutDecodeError> {
    if xml.len() > MAX_MESSAGE_BYTES {
        return Err(LogoutDecodeError::TooLarge(xml.len()));
    }
    if xml
        .as_bytes()
        .windows(b"<!DOCTYPE".len())
        .any(|w| w.eq_ignore_ascii_case(b"<!DOCTYPE"))
    {
        return Err(LogoutDecodeError::DtdRefused);
    }
    let options = ParserOptions {
        recover: false,
        no_net: true,
        // See authn_request.rs: no forced encoding (libxml2 2.9 races), prolog ignored.
        ignore_enc: true,
        ..ParserOptions::default()
    };
    Parser::default()
        .parse_string_with_options(xml, options)
        .map_err(|_| LogoutDecodeError::MalformedXml)
}

fn root_named(doc: &Document, expected: &'static str) -> Result<Node, LogoutDecodeError> {
    let root = doc
        .get_root_element()
        .ok_or(LogoutDecodeError::MalformedXml)?;
    if is(&root, PROTOCOL_NS, expected) {
        return Ok(root);
    }
    Err(LogoutDecodeError::WrongRoot {
        expected,
        namespace: root
            .get_namespace()
            .map(|ns| ns.get_href())
            .unwrap_or_default(),
        name: root.get_name(),
    })
}

fn is(node: &Node, namespace: &str, name: &str) -> bool {
    node.get_name() == name
        && node
            .get_namespace()
            .is_some_and(|ns| ns.get_href() == namespace)
}

fn child(parent: &Node, namespace: &str, name: &str) -> Option<Node> {
    parent
        .get_child_elements()
        .into_iter()
        .find(|c| is(c, namespace, name))
}

fn child_text(parent: &Node, namespace: &str, name: &str) -> Option<String> {
    child(parent, namespace, name)
        .map(|c| c.get_content().trim().to_owned())
        .filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_through_redirect_encoding() {
        let parts = LogoutRequestParts {
            id: "_lr1",
            issue_instant: "2026-01-01T00:00:00Z",
            destination: "http://sp/saml/sls",
            not_on_or_after: None,
            issuer: "http://idp",
            name_id: "alice@example.com",
            omit_name_id: false,
            name_id_format: "urn:x",
            session_index: Some("_s1"),
        };
        let xml = logout_request_xml(&parts, None).expect("build");
        let decoded = decode_redirect(&deflate_base64(&xml)).expect("decode");
        let fields = parse_logout_request(&decoded).expect("parse");
        assert_eq!(fields.id, "_lr1");
        assert_eq!(fields.issuer.as_deref(), Some("http://idp"));
        assert_eq!(fields.name_id.as_deref(), Some("alice@example.com"));
        assert_eq!(fields.session_indexes, vec!["_s1".to_owned()]);
        assert!(matches!(
            parse_logout_response(&decoded),
            Err(LogoutDecodeError::WrongRoot { .. })
        ));
    }

    #[test]
    fn refuses_hostile_input() {
        assert!(matches!(
            decode_redirect("%%%"),
            Err(LogoutDecodeError::NotBase64(_))
        ));
        assert!(matches!(
            decode_redirect("aGVsbG8gd29ybGQ="),
            Err(LogoutDecodeError::NotDeflate(_))
        ));
        let bomb = deflate_base64(&" ".repeat(10 * MAX_MESSAGE_BYTES));
        assert_eq!(
            decode_redirect(&bomb),
            Err(LogoutDecodeError::InflatesTooLarge)
        );
        assert_eq!(
            parse_logout_request(r#"<!DOCTYPE x [<!ENTITY e "e">]><x/>"#),
            Err(LogoutDecodeError::DtdRefused)
        );
    }
}
