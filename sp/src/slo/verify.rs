//! The stateless checks on a decoded logout message, in the order the module docs of
//! [`crate::slo`] give: structure, signature, issuer, destination, time.

use libxml::readonly::RoNode;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::decode::{Binding, RawMessage, RedirectSignature};
use super::{MessageKind, input, malformed};
use crate::clock;
use crate::reason::{Reason, Rejection, RejectionContext};
use crate::verify::VerifyPolicy;
use crate::verify::checks::{self, ENTITY_FORMAT, RSA_SHA1, RSA_SHA256, RSA_SHA384, RSA_SHA512};
use crate::verify::dsig;
use crate::verify::tree::{self, DS, SAML, SAMLP, at_most_one, attr, children, is};
use crate::weakness::Weakness;
use crate::xml::saml_instant;

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
    let (doc, root) = crate::verify::parse_document(&raw.xml)?;
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
        if tree::xml_id(el).as_deref() == Some(id.as_str()) {
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
    let weak = |w| policy.verify.weaknesses.has(w);
    if let Some(sig) = &raw.redirect_signature {
        if weak(Weakness::LogoutSignatureVerification) {
            return Ok(Signed::QueryString {
                certificate_index: 0,
            });
        }
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
            MessageKind::Request
                if policy.require_signed_requests && !weak(Weakness::LogoutSignatureRequired) =>
            {
                Err(Rejection::new(
                    Reason::LogoutRequestIsUnsigned,
                    "the LogoutRequest carries no signature and require_signed_logout_requests is on",
                ))
            }
            MessageKind::Request => Ok(Signed::Unsigned),
            MessageKind::Response => Err(Rejection::new(
                Reason::LogoutResponseIsUnsigned,
                "the LogoutResponse carries no signature",
            )),
        };
    };
    let shape = checks::inspect_signature(signature, id, &policy.verify).map_err(to_logout)?;
    if weak(Weakness::LogoutSignatureVerification) {
        return Ok(Signed::Xml {
            certificate_index: 0,
        });
    }
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
        _ if policy.verify.weaknesses.has(Weakness::LogoutIssuer) => Ok(issuer),
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
    if policy.verify.weaknesses.has(Weakness::LogoutDestination) {
        return Ok(());
    }
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
    if policy.verify.weaknesses.has(Weakness::LogoutTime) {
        return Ok(());
    }
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
