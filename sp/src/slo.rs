//! Single logout messages (SAML core §3.7, bindings §3.4 and §3.5): building the LogoutRequests
//! and LogoutResponses the SP sends over HTTP-Redirect, signed with the SP key ([`SpKeys`]), and
//! decoding and verifying the ones the IdP sends to `/saml/sls` over HTTP-Redirect (query-string
//! signature) or HTTP-POST (enveloped XML signature, verified by xmlsec on the one parse tree, as
//! the ACS does). The HTTP side is `web::slo`; the store queries of this feature are here.
//!
//! Check order for an incoming message, first failure wins: **input** (`input.*`) → **structure**
//! (`logout.malformed`) → **signature** (`logout.unsigned`, `logout.response_unsigned`,
//! `logout.signature_invalid`, `signature.weak_algorithm`, …) → **issuer** → **destination** →
//! **time** (requests). Replay, sessions, InResponseTo and status need the store: `web::slo`.
//!
//! [`verify_message`] is synchronous (libxml2 documents are not `Send`): call it from
//! `spawn_blocking`.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use libxml::readonly::RoNode;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use serde::Serialize;
use sqlx::Row;
use time::{Duration, OffsetDateTime};

use crate::clock;

use crate::keys::{KeyError, SpKeys};
use crate::pages::{escape, saml_instant};
use crate::reason::{Reason, Rejection, RejectionContext};
use crate::store::{Store, StoreResult};
use crate::verify::VerifyPolicy;
use crate::verify::checks::{self, ENTITY_FORMAT, RSA_SHA1, RSA_SHA256, RSA_SHA384, RSA_SHA512};
use crate::verify::dsig;
use crate::verify::tree::{self, DS, SAML, SAMLP, XML, at_most_one, attr, children, is};

/// Top-level status: the logout succeeded.
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// Top-level status: the request was refused (the requester's fault).
pub const STATUS_REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
/// Second-level status: the responder knows no such principal (no matching session).
pub const STATUS_UNKNOWN_PRINCIPAL: &str = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal";
/// Second-level status: the request was refused (signature, issuer, time, …).
pub const STATUS_REQUEST_DENIED: &str = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";

const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

// --- outgoing ----------------------------------------------------------------------------------

/// A protocol message built by the SP, ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Its `ID` (a LogoutResponse to it must name it in `InResponseTo`).
    pub id: String,
    /// The XML, unsigned (the Redirect binding signs the query string, not the XML).
    pub xml: String,
}

/// Which query parameter carries a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MessageKind {
    /// `SAMLRequest`: a LogoutRequest.
    Request,
    /// `SAMLResponse`: a LogoutResponse.
    Response,
}

impl MessageKind {
    /// The binding's parameter name.
    pub fn parameter(self) -> &'static str {
        match self {
            MessageKind::Request => "SAMLRequest",
            MessageKind::Response => "SAMLResponse",
        }
    }
}

/// What the SP's LogoutRequest names: the session's subject at the IdP.
#[derive(Debug, Clone)]
pub struct LogoutSubject<'a> {
    /// `NameID` text, as the IdP sent it at sign-in.
    pub name_id: &'a str,
    /// Its `Format`, when the IdP sent one.
    pub name_id_format: Option<&'a str>,
    /// `SessionIndex` of the session, when the IdP sent one.
    pub session_index: Option<&'a str>,
}

/// A LogoutRequest from the SP (`issuer`) to the IdP's SLO URL (`destination`), valid until
/// `not_on_or_after`.
pub fn build_logout_request(
    issuer: &str,
    destination: &str,
    subject: &LogoutSubject<'_>,
    now: OffsetDateTime,
    not_on_or_after: OffsetDateTime,
) -> Outgoing {
    let id = crate::authn_request::new_request_id();
    let format = subject
        .name_id_format
        .map(|f| format!(r#" Format="{}""#, escape(f)))
        .unwrap_or_default();
    let session_index = subject
        .session_index
        .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", escape(s)))
        .unwrap_or_default();
    let xml = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{destination}" NotOnOrAfter="{until}"><saml:Issuer>{issuer}</saml:Issuer><saml:NameID{format}>{name_id}</saml:NameID>{session_index}</samlp:LogoutRequest>"#,
        instant = saml_instant(now),
        until = saml_instant(not_on_or_after),
        destination = escape(destination),
        issuer = escape(issuer),
        name_id = escape(subject.name_id),
    );
    Outgoing { id, xml }
}

/// The status the SP answers a LogoutRequest with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutStatus {
    /// Top-level `StatusCode/@Value`.
    pub code: &'static str,
    /// Second-level `StatusCode/@Value`, if any.
    pub second_level: Option<&'static str>,
    /// `StatusMessage` (shown to the IdP; never message data).
    pub message: Option<String>,
}

impl LogoutStatus {
    /// Success: the sessions ended.
    pub fn success() -> Self {
        LogoutStatus {
            code: STATUS_SUCCESS,
            second_level: None,
            message: None,
        }
    }

    /// Requester with a second-level code and the reason code as the message.
    pub fn refused(second_level: &'static str, reason: Reason) -> Self {
        LogoutStatus {
            code: STATUS_REQUESTER,
            second_level: Some(second_level),
            message: Some(reason.code().to_owned()),
        }
    }
}

/// A LogoutResponse from the SP (`issuer`) to the IdP's SLO URL, answering `in_response_to`.
pub fn build_logout_response(
    issuer: &str,
    destination: &str,
    in_response_to: Option<&str>,
    status: &LogoutStatus,
    now: OffsetDateTime,
) -> Outgoing {
    let id = crate::authn_request::new_request_id();
    let in_response_to = in_response_to
        .map(|r| format!(r#" InResponseTo="{}""#, escape(r)))
        .unwrap_or_default();
    let inner = status
        .second_level
        .map(|s| format!(r#"<samlp:StatusCode Value="{s}"/>"#))
        .unwrap_or_default();
    let message = status
        .message
        .as_deref()
        .map(|m| format!("<samlp:StatusMessage>{}</samlp:StatusMessage>", escape(m)))
        .unwrap_or_default();
    let xml = format!(
        r#"<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{destination}"{in_response_to}><saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{code}">{inner}</samlp:StatusCode>{message}</samlp:Status></samlp:LogoutResponse>"#,
        instant = saml_instant(now),
        destination = escape(destination),
        issuer = escape(issuer),
        code = status.code,
    );
    Outgoing { id, xml }
}

/// Percent-encodes a query value (`application/x-www-form-urlencoded`). The same bytes are
/// signed and sent, so the choice of encoding does not matter to a verifier that uses the bytes
/// it received.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The HTTP-Redirect URL that carries `xml` to `endpoint`, signed with the SP key (bindings
/// §3.4.4.1): RSA-SHA256 over `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as it appears in the
/// URL, then `&Signature=…`.
pub fn signed_redirect_url(
    endpoint: &str,
    kind: MessageKind,
    xml: &str,
    relay_state: Option<&str>,
    keys: &SpKeys,
) -> Result<String, KeyError> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(xml.as_bytes());
    let deflated = encoder.finish().unwrap_or_default();
    let message = base64::engine::general_purpose::STANDARD.encode(deflated);
    let mut signed = format!("{}={}", kind.parameter(), form_encode(&message));
    if let Some(relay_state) = relay_state {
        signed.push_str(&format!("&RelayState={}", form_encode(relay_state)));
    }
    signed.push_str(&format!("&SigAlg={}", form_encode(RSA_SHA256)));
    let signature = keys.sign_rsa_sha256(signed.as_bytes())?;
    let signature = base64::engine::general_purpose::STANDARD.encode(signature);
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{endpoint}{separator}{signed}&Signature={}",
        form_encode(&signature)
    ))
}

// --- incoming: transport -----------------------------------------------------------------------

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

fn input(reason: Reason, message: impl Into<String>) -> Rejection {
    Rejection::new(reason, message)
}

fn malformed(message: impl Into<String>) -> Rejection {
    Rejection::new(Reason::LogoutMessageIsMalformed, message)
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

/// Percent-decodes a form value (`+` is a space), as every SAML library encodes.
fn percent_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
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

// --- incoming: verification --------------------------------------------------------------------

/// What the SP requires of logout messages. Built from the configuration.
#[derive(Debug, Clone)]
pub struct SloPolicy {
    /// The verifier policy: pinned IdP certificates, IdP entity ID, algorithms, SHA-1, skew.
    pub verify: VerifyPolicy,
    /// This SP's `/saml/sls` URL: the Destination of every logout message to it.
    pub sls_url: String,
    /// Refuse unsigned LogoutRequests (`logout.unsigned`).
    pub require_signed_requests: bool,
    /// How old a LogoutRequest's IssueInstant may be (beyond the skew).
    pub max_request_age: Duration,
}

/// How a verified message was signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signed {
    /// The HTTP-Redirect query string, with the pinned certificate of this index.
    QueryString { certificate_index: usize },
    /// An enveloped XML signature on the root element, with the pinned certificate of this index.
    Xml { certificate_index: usize },
    /// Not signed (accepted only when `require_signed_logout_requests` is off).
    Unsigned,
}

/// A LogoutRequest from the IdP that passed every stateless check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedLogoutRequest {
    /// `ID` (the `InResponseTo` of our answer; the replay-cache key).
    pub id: String,
    /// `Issuer` (the configured IdP).
    pub issuer: String,
    /// `NameID` text.
    pub name_id: String,
    /// `NameID/@Format`.
    pub name_id_format: Option<String>,
    /// Every `SessionIndex`; empty means every session of the NameID.
    pub session_indexes: Vec<String>,
    /// `IssueInstant`.
    #[serde(with = "time::serde::rfc3339")]
    pub issue_instant: OffsetDateTime,
    /// `NotOnOrAfter`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_on_or_after: Option<OffsetDateTime>,
    /// How it was signed.
    pub signed: Signed,
}

/// A LogoutResponse from the IdP that passed every stateless check (its InResponseTo and status
/// are the caller's to judge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedLogoutResponse {
    /// `ID`.
    pub id: String,
    /// `InResponseTo`.
    pub in_response_to: Option<String>,
    /// `Issuer`.
    pub issuer: String,
    /// Top-level `StatusCode/@Value`.
    pub status: String,
    /// Second-level `StatusCode/@Value`.
    pub second_level_status: Option<String>,
    /// How it was signed.
    pub signed: Signed,
}

/// A verified logout message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LogoutMessage {
    /// An IdP-initiated LogoutRequest.
    Request(VerifiedLogoutRequest),
    /// The IdP's answer to our LogoutRequest.
    Response(VerifiedLogoutResponse),
}

/// A refused logout message: the rejection (with the unverified issuer and NameID as context)
/// and, when the message could be read that far, its kind and ID (to answer a refused request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRefusal {
    /// Why.
    pub rejection: Rejection,
    /// Which kind of message it was, when known.
    pub kind: Option<MessageKind>,
    /// The message's `ID`, when it could be read (unverified unless `signature_verified`).
    pub id: Option<String>,
    /// Whether the message's signature verified with a pinned IdP certificate before it was
    /// refused. Only then may the SP sign an answer naming its ID: answering an unverified
    /// request would sign the sender's ID and RelayState (a signing oracle).
    pub signature_verified: bool,
}

impl From<Rejection> for LogoutRefusal {
    fn from(rejection: Rejection) -> Self {
        LogoutRefusal {
            rejection,
            kind: None,
            id: None,
            signature_verified: false,
        }
    }
}

/// The stateless checks on a decoded logout message, at `now`.
pub fn verify_message(
    raw: &RawMessage,
    policy: &SloPolicy,
    now: OffsetDateTime,
) -> Result<LogoutMessage, LogoutRefusal> {
    if raw.xml.len() > policy.verify.max_response_bytes {
        return Err(input(
            Reason::InputExceedsSizeLimit,
            format!(
                "the message is {} bytes, limit is {}",
                raw.xml.len(),
                policy.verify.max_response_bytes
            ),
        )
        .into());
    }
    let doc = crate::verify::parse_document(&raw.xml)?;
    let root = doc.get_root_readonly().ok_or_else(|| {
        Rejection::new(
            Reason::InputIsNotWellFormedXml,
            "the document has no root element",
        )
    })?;
    if tree::has_entity_reference(root) {
        return Err(Rejection::new(
            Reason::InputContainsDoctype,
            "the document contains entity references",
        )
        .into());
    }
    let expected = match raw.kind {
        MessageKind::Request => "LogoutRequest",
        MessageKind::Response => "LogoutResponse",
    };
    if !is(root, SAMLP, expected) {
        return Err(malformed(format!(
            "{} carries <{}>, expected samlp:{expected}",
            raw.kind.parameter(),
            tree::label(root)
        ))
        .into());
    }
    let id = attr(root, "ID");
    let context = unverified_context(root);
    // Several IdPs: the unverified Issuer only selects which pinned certificates to try.
    let selected = SloPolicy {
        verify: policy
            .verify
            .for_issuer(context.issuer.as_deref())
            .into_owned(),
        ..policy.clone()
    };
    let policy = &selected;
    let refuse = |rejection: Rejection, signature_verified: bool| LogoutRefusal {
        rejection: rejection.with_context(context.clone()),
        kind: Some(raw.kind),
        id: id.clone(),
        signature_verified,
    };
    let id = check_structure(&doc, root).map_err(|r| refuse(r, false))?;
    let signed = check_signature(&doc, root, &id, raw, policy).map_err(|r| refuse(r, false))?;
    let verified = signed != Signed::Unsigned;
    let refusal = |rejection: Rejection| refuse(rejection, verified);
    let issuer = check_issuer(root, policy).map_err(refusal)?;
    check_destination(root, signed, policy).map_err(refusal)?;
    let issue_instant = checks::required_instant(root, "IssueInstant")
        .map_err(to_logout)
        .map_err(refusal)?;
    match raw.kind {
        MessageKind::Request => {
            let request = read_request(root, id, issuer, issue_instant, signed).map_err(refusal)?;
            check_request_time(&request, policy, now).map_err(refusal)?;
            Ok(LogoutMessage::Request(request))
        }
        MessageKind::Response => {
            let status = at_most_one(root, SAMLP, "Status")
                .map_err(to_logout)
                .and_then(|s| {
                    s.ok_or_else(|| malformed("the LogoutResponse has no <samlp:Status>"))
                })
                .map_err(refusal)?;
            let code = at_most_one(status, SAMLP, "StatusCode")
                .map_err(to_logout)
                .and_then(|c| {
                    c.ok_or_else(|| malformed("<samlp:Status> has no <samlp:StatusCode>"))
                })
                .map_err(refusal)?;
            let value = tree::required_attr(code, "Value")
                .map_err(to_logout)
                .map_err(refusal)?;
            let second = at_most_one(code, SAMLP, "StatusCode")
                .map_err(to_logout)
                .map_err(refusal)?
                .and_then(|c| attr(c, "Value"));
            Ok(LogoutMessage::Response(VerifiedLogoutResponse {
                id,
                in_response_to: attr(root, "InResponseTo"),
                issuer,
                status: value,
                second_level_status: second,
                signed,
            }))
        }
    }
}

/// Maps the shared tree helpers' `structure.malformed` to `logout.malformed`.
fn to_logout(rejection: Rejection) -> Rejection {
    if rejection.reason == Reason::RequiredElementMissingOrMalformed {
        Rejection::new(Reason::LogoutMessageIsMalformed, rejection.message)
    } else {
        rejection
    }
}

fn unverified_context(root: RoNode) -> RejectionContext {
    let text = |ns: &'static str, local: &'static str| {
        children(root, ns, local)
            .next()
            .map(|n| n.get_content().trim().to_owned())
    };
    RejectionContext {
        issuer: text(SAML, "Issuer"),
        subject: text(SAML, "NameID"),
        ..RejectionContext::default()
    }
}

/// Namespace well-formedness, Version, ID (plain, unique, registered as the document's one ID so
/// that a signature's `#ID` can only resolve to the root).
fn check_structure(doc: &libxml::tree::Document, root: RoNode) -> Result<String, Rejection> {
    let id = tree::required_attr(root, "ID").map_err(to_logout)?;
    if !crate::verify::is_plain_id(&id) {
        return Err(malformed(format!("ID {id:?} is not a plain NCName")));
    }
    for el in tree::descendants(root) {
        if let Some(name) = tree::unbound_prefixed_name(el) {
            return Err(Rejection::new(
                Reason::InputIsNotWellFormedXml,
                format!("the namespace prefix of {name:?} is not declared"),
            ));
        }
        if el.get_property_ns("id", XML).as_deref() == Some(id.as_str()) {
            return Err(malformed(format!("ID value {id:?} occurs more than once")));
        }
    }
    let Some(attr_node) = root.get_property_node_no_ns("ID") else {
        return Err(malformed("the root has no ID attribute"));
    };
    if dsig::register_id(doc, attr_node, &id) != dsig::IdRegistration::Registered {
        return Err(malformed(format!("ID value {id:?} cannot be registered")));
    }
    let version = tree::required_attr(root, "Version").map_err(to_logout)?;
    if version != "2.0" {
        return Err(malformed(format!(
            "Version is {version:?}, expected \"2.0\""
        )));
    }
    Ok(id)
}

/// The query-string signature (HTTP-Redirect) or the enveloped XML signature on the root
/// (HTTP-POST), verified with the pinned IdP certificates only.
fn check_signature(
    doc: &libxml::tree::Document,
    root: RoNode,
    id: &str,
    raw: &RawMessage,
    policy: &SloPolicy,
) -> Result<Signed, Rejection> {
    if let Some(sig) = &raw.redirect_signature {
        return verify_query_signature(sig, &policy.verify);
    }
    // Bindings §3.4.4.1: on HTTP-Redirect only the query string is signed (an XML signature must
    // have been removed), so a leftover XML signature counts for nothing there.
    let xml_signature = match raw.binding {
        Binding::HttpPost => at_most_one(root, DS, "Signature").map_err(to_logout)?,
        Binding::HttpRedirect => None,
    };
    let Some(signature) = xml_signature else {
        return match raw.kind {
            MessageKind::Request if policy.require_signed_requests => Err(Rejection::new(
                Reason::LogoutRequestIsUnsigned,
                "the LogoutRequest carries no signature and require_signed_logout_requests is on",
            )),
            MessageKind::Request => Ok(Signed::Unsigned),
            MessageKind::Response => Err(Rejection::new(
                Reason::LogoutResponseIsUnsigned,
                "the LogoutResponse carries no signature",
            )),
        };
    };
    let shape = checks::inspect_signature(signature, id, &policy.verify).map_err(to_logout)?;
    let verified = dsig::verify(
        doc,
        signature,
        root,
        &shape.reference_uri,
        &policy.verify.idp_certs_pem,
        dsig::Allowed {
            sha1: policy.verify.allow_sha1,
        },
    )
    .map_err(|failure| match failure {
        dsig::DsigFailure::Invalid(m) => Rejection::new(Reason::LogoutSignatureDoesNotVerify, m),
        dsig::DsigFailure::ReferenceMismatch(m) => {
            Rejection::new(Reason::SignatureReferencesAnotherElement, m)
        }
    })?;
    Ok(Signed::Xml {
        certificate_index: verified.cert_index,
    })
}

/// Verifies the HTTP-Redirect signature over the received octets with each pinned certificate.
pub fn verify_query_signature(
    sig: &RedirectSignature,
    policy: &VerifyPolicy,
) -> Result<Signed, Rejection> {
    let alg = sig.sig_alg.as_str();
    let digest = match alg {
        RSA_SHA256 | RSA_SHA384 | RSA_SHA512
            if policy.signature_algorithms.iter().any(|a| a == alg) =>
        {
            match alg {
                RSA_SHA256 => MessageDigest::sha256(),
                RSA_SHA384 => MessageDigest::sha384(),
                _ => MessageDigest::sha512(),
            }
        }
        RSA_SHA1 if policy.allow_sha1 => MessageDigest::sha1(),
        RSA_SHA1
        | "http://www.w3.org/2000/09/xmldsig#dsa-sha1"
        | "http://www.w3.org/2001/04/xmldsig-more#rsa-md5" => {
            return Err(Rejection::new(
                Reason::SignatureUsesWeakAlgorithm,
                format!(
                    "SigAlg is {alg:?}; SHA-1 is refused unless the algorithm policy allows it"
                ),
            ));
        }
        _ => {
            return Err(Rejection::new(
                Reason::SignatureUsesUnsupportedAlgorithm,
                format!(
                    "SigAlg is {alg:?}; supported: {}",
                    policy.signature_algorithms.join(", ")
                ),
            ));
        }
    };
    if policy.idp_certs_pem.is_empty() {
        return Err(Rejection::new(
            Reason::LogoutSignatureDoesNotVerify,
            "no IdP certificate is configured",
        ));
    }
    let mut notes = Vec::new();
    for (index, pem) in policy.idp_certs_pem.iter().enumerate() {
        let key = match X509::from_pem(pem.as_bytes()).and_then(|c| c.public_key()) {
            Ok(key) => key,
            Err(e) => {
                notes.push(format!("certificate #{index} could not be loaded ({e})"));
                continue;
            }
        };
        let ok = Verifier::new(digest, &key)
            .and_then(|mut v| {
                v.update(sig.signed_octets.as_bytes())?;
                v.verify(&sig.signature)
            })
            .unwrap_or(false);
        if ok {
            return Ok(Signed::QueryString {
                certificate_index: index,
            });
        }
        notes.push(format!("certificate #{index}: signature does not verify"));
    }
    Err(Rejection::new(
        Reason::LogoutSignatureDoesNotVerify,
        format!(
            "the query-string signature verifies with none of the {} pinned IdP certificate(s): {}",
            policy.idp_certs_pem.len(),
            notes.join("; ")
        ),
    ))
}

fn check_issuer(root: RoNode, policy: &SloPolicy) -> Result<String, Rejection> {
    let mismatch = |m: String| Rejection::new(Reason::LogoutIssuerIsNotTheConfiguredIdp, m);
    let node = at_most_one(root, SAML, "Issuer")
        .map_err(to_logout)?
        .ok_or_else(|| mismatch("the message has no <saml:Issuer>".into()))?;
    let issuer = tree::simple_text(node).map_err(to_logout)?;
    if let Some(format) = attr(node, "Format")
        && format != ENTITY_FORMAT
    {
        return Err(mismatch(format!(
            "Issuer Format is {format:?}, expected {ENTITY_FORMAT:?}"
        )));
    }
    match &policy.verify.idp_entity_id {
        Some(expected) if &issuer != expected => Err(mismatch(format!(
            "Issuer is {issuer:?}, expected {expected:?}"
        ))),
        _ if issuer.is_empty() => Err(mismatch("the Issuer is empty".into())),
        _ => Ok(issuer),
    }
}

/// Destination, when present, must be our SLS; a signed message must have one (bindings
/// §3.4.5.2 and §3.5.5.2).
fn check_destination(root: RoNode, signed: Signed, policy: &SloPolicy) -> Result<(), Rejection> {
    match attr(root, "Destination") {
        Some(d) if d == policy.sls_url => Ok(()),
        Some(d) => Err(Rejection::new(
            Reason::LogoutDestinationIsNotOurSls,
            format!("Destination is {d:?}, expected {:?}", policy.sls_url),
        )),
        None if signed != Signed::Unsigned => Err(Rejection::new(
            Reason::LogoutDestinationIsNotOurSls,
            format!(
                "the signed message has no Destination (expected {:?})",
                policy.sls_url
            ),
        )),
        None => Ok(()),
    }
}

fn read_request(
    root: RoNode,
    id: String,
    issuer: String,
    issue_instant: OffsetDateTime,
    signed: Signed,
) -> Result<VerifiedLogoutRequest, Rejection> {
    if children(root, SAML, "EncryptedID").next().is_some()
        || children(root, SAML, "BaseID").next().is_some()
    {
        return Err(malformed(
            "the LogoutRequest names its subject by EncryptedID or BaseID; only NameID is supported",
        ));
    }
    let name_id_node = at_most_one(root, SAML, "NameID")
        .map_err(to_logout)?
        .ok_or_else(|| malformed("the LogoutRequest has no <saml:NameID>"))?;
    let name_id = tree::simple_text(name_id_node).map_err(to_logout)?;
    if name_id.is_empty() {
        return Err(malformed("the LogoutRequest's NameID is empty"));
    }
    let session_indexes = children(root, SAMLP, "SessionIndex")
        .map(|s| tree::simple_text(s).map_err(to_logout))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VerifiedLogoutRequest {
        id,
        issuer,
        name_id,
        name_id_format: attr(name_id_node, "Format"),
        session_indexes,
        issue_instant,
        not_on_or_after: checks::optional_instant(root, "NotOnOrAfter").map_err(to_logout)?,
        signed,
    })
}

/// How long an IdP-initiated LogoutRequest's ID is remembered (replay): until it would be refused
/// as expired anyway — the later of NotOnOrAfter and IssueInstant + `ttl`, plus the skew.
/// Saturating: NotOnOrAfter may be 9999-12-31T23:59:00Z.
pub(crate) fn logout_keep_until(
    issue_instant: OffsetDateTime,
    skew: Duration,
    ttl: Duration,
) -> OffsetDateTime {
    // Saturating: the IssueInstant is the sender's.
    clock::add(clock::add(issue_instant, ttl), skew)
}

pub(crate) fn check_request_time(
    request: &VerifiedLogoutRequest,
    policy: &SloPolicy,
    now: OffsetDateTime,
) -> Result<(), Rejection> {
    let skew = policy.verify.clock_skew;
    // Saturating arithmetic: the instants are the sender's (NotOnOrAfter="9999-12-31T23:59:00Z").
    if request.issue_instant > clock::add(now, skew) {
        return Err(Rejection::new(
            Reason::LogoutRequestIsNotYetValid,
            format!(
                "IssueInstant {} is in the future (now {}, skew {skew})",
                saml_instant(request.issue_instant),
                saml_instant(now)
            ),
        ));
    }
    if clock::add(
        clock::add(request.issue_instant, policy.max_request_age),
        skew,
    ) < now
    {
        return Err(Rejection::new(
            Reason::LogoutRequestHasExpired,
            format!(
                "IssueInstant {} is older than {} (now {})",
                saml_instant(request.issue_instant),
                policy.max_request_age,
                saml_instant(now)
            ),
        ));
    }
    if let Some(until) = request.not_on_or_after
        && now >= clock::add(until, skew)
    {
        return Err(Rejection::new(
            Reason::LogoutRequestHasExpired,
            format!(
                "NotOnOrAfter {} has passed (now {}, skew {skew})",
                saml_instant(until),
                saml_instant(now)
            ),
        ));
    }
    Ok(())
}

// --- store -------------------------------------------------------------------------------------

/// A LogoutRequest the SP sent and still accepts a LogoutResponse to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingLogout {
    /// The IdP it was sent to.
    pub idp_entity_id: String,
    /// The NameID it named.
    pub name_id: Option<String>,
}

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

impl Store {
    /// Remembers an SP-initiated LogoutRequest until `expires_at`.
    pub async fn remember_logout_request(
        &self,
        request_id: &str,
        idp_entity_id: &str,
        name_id: Option<&str>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        crate::store::evict_oldest(
            &mut tx,
            "outstanding_logout_requests",
            self.limits.max_outstanding_requests,
        )
        .await?;
        sqlx::query(
            "INSERT INTO outstanding_logout_requests (request_id, idp_entity_id, name_id, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(request_id)
        .bind(idp_entity_id)
        .bind(name_id)
        .bind(unix(now))
        .bind(unix(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The IdP an outstanding LogoutRequest was sent to, without consuming it.
    pub async fn logout_request_idp(&self, request_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "SELECT idp_entity_id FROM outstanding_logout_requests WHERE request_id = ?",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.get("idp_entity_id")))
    }

    /// Removes and returns the outstanding LogoutRequest if still answerable: answered once.
    pub async fn take_logout_request(
        &self,
        request_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OutstandingLogout>> {
        let row = sqlx::query(
            "DELETE FROM outstanding_logout_requests WHERE request_id = ?
             RETURNING idp_entity_id, name_id, expires_at",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|row| {
            let expires_at: i64 = row.get("expires_at");
            (expires_at > unix(now)).then(|| OutstandingLogout {
                idp_entity_id: row.get("idp_entity_id"),
                name_id: row.get("name_id"),
            })
        }))
    }

    /// Records an IdP LogoutRequest ID as processed. False if it already was: a replay.
    pub async fn consume_logout_request_id(
        &self,
        request_id: &str,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM seen_logout_requests WHERE expires_at <= ?")
            .bind(unix(now))
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO seen_logout_requests (request_id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(request_id)
        .bind(crate::clock::unix_ceil(keep_until))
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Ends the sessions of `name_id` at `idp` — only those with one of `session_indexes` when
    /// any is given — and returns their cookie tokens.
    pub async fn end_sessions_for_logout(
        &self,
        idp_entity_id: &str,
        name_id: &str,
        session_indexes: &[String],
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT token, session_index FROM sessions WHERE idp_entity_id = ? AND name_id = ?",
        )
        .bind(idp_entity_id)
        .bind(name_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut ended = Vec::new();
        for row in rows {
            let index: Option<String> = row.get("session_index");
            let matches =
                session_indexes.is_empty() || index.is_some_and(|i| session_indexes.contains(&i));
            if matches {
                let token: String = row.get("token");
                sqlx::query("DELETE FROM sessions WHERE token = ?")
                    .bind(&token)
                    .execute(&mut *tx)
                    .await?;
                ended.push(token);
            }
        }
        tx.commit().await?;
        Ok(ended)
    }

    /// Records the Format of a new session's NameID (for the LogoutRequest that names it).
    pub async fn remember_name_id_format(
        &self,
        token: &str,
        format: Option<&str>,
    ) -> StoreResult<()> {
        let Some(format) = format else { return Ok(()) };
        sqlx::query("INSERT OR REPLACE INTO session_name_id_formats (token, format) VALUES (?, ?)")
            .bind(token)
            .bind(format)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The Format of a session's NameID, if it was recorded.
    pub async fn name_id_format(&self, token: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT format FROM session_name_id_formats WHERE token = ?")
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get("format")))
    }
}
