//! What a reviewer wants to know about a response — its algorithms, what was signed and
//! encrypted, its validity window, audiences and attribute names — read as far as the message
//! could be read. For refusals these facts are unverified ([`crate::reason::RejectionContext`]):
//! they explain a verdict, they never make one.

use libxml::readonly::RoNode;
use serde::Serialize;
use time::OffsetDateTime;

use super::SignedElement;
use super::checks::parse_instant;
use super::tree::{DS, SAML, attr, children, element_children};

/// Which parts of the response arrived encrypted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EncryptedParts {
    /// The Assertion was a `saml:EncryptedAssertion`.
    pub assertion: bool,
    /// The Subject's NameID was a `saml:EncryptedID`.
    pub name_id: bool,
    /// At least one attribute was a `saml:EncryptedAttribute`.
    pub attributes: bool,
}

/// Facts about a response as far as it could be read (unverified when attached to a refusal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MessageFacts {
    /// SignatureMethod of the Assertion's signature, else of the Response's.
    pub signature_algorithm: Option<String>,
    /// DigestMethod of that signature.
    pub digest_algorithm: Option<String>,
    /// Which elements carry a `ds:Signature` (not necessarily a valid one).
    pub signed_element: Option<SignedElement>,
    /// What was encrypted.
    pub encrypted: EncryptedParts,
    /// `Conditions/@NotBefore`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    /// `Conditions/@NotOnOrAfter`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_on_or_after: Option<OffsetDateTime>,
    /// Every `Audience` of every AudienceRestriction.
    pub audiences: Vec<String>,
    /// The `Name` of every attribute that could be read (encrypted ones once decrypted).
    pub attribute_names: Vec<String>,
}

/// Reads the facts from the Response `root` and its Assertion (when it is readable: absent while
/// still encrypted). Never fails: what cannot be read is left out.
pub(crate) fn read(
    root: RoNode,
    assertion: Option<RoNode>,
    assertion_encrypted: bool,
) -> MessageFacts {
    let signature_of = |el: RoNode| children(el, DS, "Signature").next();
    let assertion_sig = assertion.and_then(signature_of);
    let response_sig = signature_of(root);
    let signed_element = match (assertion_sig.is_some(), response_sig.is_some()) {
        (true, true) => Some(SignedElement::Both),
        (true, false) => Some(SignedElement::Assertion),
        (false, true) => Some(SignedElement::Response),
        (false, false) => None,
    };
    let signed_info = assertion_sig
        .or(response_sig)
        .and_then(|s| children(s, DS, "SignedInfo").next());
    let algorithm = |parent: Option<RoNode>, local: &'static str| {
        parent
            .and_then(|p| children(p, DS, local).next())
            .and_then(|m| attr(m, "Algorithm"))
    };
    let reference = signed_info.and_then(|si| children(si, DS, "Reference").next());
    let mut facts = MessageFacts {
        signature_algorithm: algorithm(signed_info, "SignatureMethod"),
        digest_algorithm: algorithm(reference, "DigestMethod"),
        signed_element,
        encrypted: EncryptedParts {
            assertion: assertion_encrypted,
            ..EncryptedParts::default()
        },
        ..MessageFacts::default()
    };
    let Some(assertion) = assertion else {
        return facts;
    };
    facts.encrypted.name_id = children(assertion, SAML, "Subject")
        .any(|s| children(s, SAML, "EncryptedID").next().is_some());
    if let Some(conditions) = children(assertion, SAML, "Conditions").next() {
        let instant =
            |name: &str| attr(conditions, name).and_then(|v| parse_instant(&v, name).ok());
        facts.not_before = instant("NotBefore");
        facts.not_on_or_after = instant("NotOnOrAfter");
        facts.audiences = children(conditions, SAML, "AudienceRestriction")
            .flat_map(|r| children(r, SAML, "Audience"))
            .map(|a| super::tree::text(a).trim().to_owned())
            .collect();
    }
    for statement in children(assertion, SAML, "AttributeStatement") {
        for el in element_children(statement) {
            if super::tree::is(el, SAML, "EncryptedAttribute") {
                facts.encrypted.attributes = true;
            }
            facts
                .attribute_names
                .extend(attribute_elements(el).filter_map(|a| attr(a, "Name")));
        }
    }
    facts
}

/// The `saml:Attribute` that a child of an AttributeStatement stands for: itself, or the
/// decrypted Attribute inside an `EncryptedAttribute` (none while still encrypted).
pub(crate) fn attribute_elements(statement_child: RoNode) -> impl Iterator<Item = RoNode> {
    let direct = super::tree::is(statement_child, SAML, "Attribute").then_some(statement_child);
    let decrypted = super::tree::is(statement_child, SAML, "EncryptedAttribute")
        .then(|| children(statement_child, SAML, "Attribute").next())
        .flatten();
    direct.into_iter().chain(decrypted)
}

/// Where a response says it is going and when it was issued, read without verifying anything:
/// for a reviewer who does not know the SP's entity ID and ACS yet (`samlconf certify` without
/// an SP configuration) and so must take them from the message, and says so. Never a claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Addressing {
    /// The Issuer of the Assertion, else of the Response.
    pub issuer: Option<String>,
    /// `Response/@Destination`.
    pub destination: Option<String>,
    /// `Recipient` of each bearer `SubjectConfirmationData`.
    pub recipients: Vec<String>,
    /// Every `Audience` of every AudienceRestriction.
    pub audiences: Vec<String>,
    /// `Response/@IssueInstant`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub response_issue_instant: Option<OffsetDateTime>,
    /// `Assertion/@IssueInstant`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub assertion_issue_instant: Option<OffsetDateTime>,
    /// The Response has a `saml:Assertion` child.
    pub assertion_present: bool,
    /// The Assertion is encrypted, so the assertion fields above are unknown.
    pub assertion_encrypted: bool,
    /// The `Algorithm` of every `xenc:EncryptionMethod` inside the EncryptedAssertion (data
    /// encryption and key transport), in document order.
    pub encryption_methods: Vec<String>,
}

const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";

/// Reads the [`Addressing`] of a response (decoded XML) with the verifier's parser.
pub fn read_addressing(xml: &[u8]) -> Result<Addressing, crate::reason::Rejection> {
    let (_doc, root) = super::parse_document(xml)?;
    let instant =
        |el: RoNode| attr(el, "IssueInstant").and_then(|v| parse_instant(&v, "IssueInstant").ok());
    let issuer_of = |el: RoNode| {
        children(el, SAML, "Issuer")
            .next()
            .map(|n| super::tree::trim_xml_whitespace(&n.get_content()).to_owned())
    };
    let assertion = children(root, SAML, "Assertion").next();
    let encryption_methods = children(root, SAML, "EncryptedAssertion")
        .flat_map(super::tree::descendants)
        .filter(|e| super::tree::is(*e, XENC, "EncryptionMethod"))
        .filter_map(|e| attr(e, "Algorithm"))
        .collect();
    let mut out = Addressing {
        encryption_methods,
        issuer: assertion.and_then(issuer_of).or_else(|| issuer_of(root)),
        destination: attr(root, "Destination"),
        response_issue_instant: instant(root),
        assertion_issue_instant: assertion.and_then(instant),
        assertion_present: assertion.is_some(),
        assertion_encrypted: children(root, SAML, "EncryptedAssertion").next().is_some(),
        ..Addressing::default()
    };
    let Some(assertion) = assertion else {
        return Ok(out);
    };
    out.audiences = children(assertion, SAML, "Conditions")
        .flat_map(|c| children(c, SAML, "AudienceRestriction"))
        .flat_map(|r| children(r, SAML, "Audience"))
        .map(|a| super::tree::trim_xml_whitespace(&a.get_content()).to_owned())
        .collect();
    out.recipients = children(assertion, SAML, "Subject")
        .flat_map(|s| children(s, SAML, "SubjectConfirmation"))
        .flat_map(|c| children(c, SAML, "SubjectConfirmationData"))
        .filter_map(|d| attr(d, "Recipient"))
        .collect();
    Ok(out)
}
