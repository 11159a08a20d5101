//! What the IdP's pages show a person exploring by hand (the workbench): the AuthnRequest that
//! arrived and the response about to be posted, decoded, pretty-printed and summarised.
//!
//! The IdP reads these with its own libxml code (it shares nothing with the SP). The input is an
//! AuthnRequest already decoded by [`crate::authn_request`] (so no DTD) or a response this IdP
//! minted; a document with a DTD (an attack knob) is shown as it is, never parsed.

use libxml::parser::{Parser, ParserOptions};
use libxml::tree::{Document, Node, SaveOptions};

use crate::xml::{ASSERTION_NS, DSIG_NS, PROTOCOL_NS};

/// One line of a summary table: a label and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

fn fact(label: &'static str, value: impl Into<String>) -> Fact {
    Fact {
        label,
        value: value.into(),
    }
}

fn parse(xml: &str) -> Option<Document> {
    if xml.to_ascii_lowercase().contains("<!doctype") {
        return None;
    }
    let options = ParserOptions {
        recover: false,
        no_net: true,
        ignore_enc: true,
        ..ParserOptions::default()
    };
    Parser::default()
        .parse_string_with_options(xml, options)
        .ok()
}

/// `xml` indented for reading (the original text when it cannot be parsed, or declares a DTD).
pub fn pretty(xml: &str) -> String {
    let Some(doc) = parse(xml) else {
        return xml.to_owned();
    };
    doc.to_string_with_options(SaveOptions {
        format: true,
        no_declaration: true,
        ..SaveOptions::default()
    })
    .trim()
    .to_owned()
}

/// Every element under `node` (itself included), in document order.
fn descendants(node: &Node) -> Vec<Node> {
    let mut out = vec![node.clone()];
    for child in node.get_child_elements() {
        out.extend(descendants(&child));
    }
    out
}

fn is(node: &Node, ns: &str, name: &str) -> bool {
    node.get_name() == name && node.get_namespace().is_some_and(|n| n.get_href() == ns)
}

fn first(nodes: &[Node], ns: &str, name: &str) -> Option<Node> {
    nodes.iter().find(|n| is(n, ns, name)).cloned()
}

fn all(nodes: &[Node], ns: &str, name: &str) -> Vec<Node> {
    nodes.iter().filter(|n| is(n, ns, name)).cloned().collect()
}

fn attr(node: &Option<Node>, name: &str) -> Option<String> {
    node.as_ref().and_then(|n| n.get_property_no_ns(name))
}

fn or_none(value: Option<String>) -> String {
    value.unwrap_or_else(|| "(none)".into())
}

/// How the AuthnRequest came: its signature, as this IdP judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSignature {
    /// HTTP-Redirect with `SigAlg`/`Signature`, verified with the SP's certificate.
    RedirectVerified,
    /// No query-string signature.
    Unsigned,
}

/// The summary of an AuthnRequest: what it asks for.
pub fn request_summary(xml: &str, signature: RequestSignature) -> Vec<Fact> {
    let Some(doc) = parse(xml) else {
        return vec![fact("Request", "cannot be read")];
    };
    let Some(root) = doc.get_root_element() else {
        return vec![fact("Request", "empty")];
    };
    let nodes = descendants(&root);
    let root = Some(root);
    let policy = first(&nodes, PROTOCOL_NS, "NameIDPolicy");
    let context = first(&nodes, PROTOCOL_NS, "RequestedAuthnContext");
    let enveloped = nodes.iter().any(|n| {
        is(n, DSIG_NS, "Signature") && n.get_parent().is_some_and(|p| Some(&p) == root.as_ref())
    });
    let issuer = first(&nodes, ASSERTION_NS, "Issuer").map(|n| n.get_content());
    let acs = match (
        attr(&root, "AssertionConsumerServiceURL"),
        attr(&root, "AssertionConsumerServiceIndex"),
    ) {
        (Some(url), _) => url,
        (None, Some(index)) => format!("index {index}"),
        (None, None) => "(not given: the SP's first registered)".into(),
    };
    let name_id_policy = match &policy {
        None => "(none)".to_owned(),
        Some(_) => format!(
            "Format {}, AllowCreate {}",
            or_none(attr(&policy, "Format")),
            or_none(attr(&policy, "AllowCreate"))
        ),
    };
    let authn_context = match &context {
        None => "(none)".to_owned(),
        Some(ctx) => {
            let refs: Vec<String> = descendants(ctx)
                .iter()
                .filter(|n| {
                    is(n, ASSERTION_NS, "AuthnContextClassRef")
                        || is(n, ASSERTION_NS, "AuthnContextDeclRef")
                })
                .map(|n| n.get_content())
                .collect();
            format!(
                "{} {}",
                attr(&context, "Comparison").unwrap_or_else(|| "exact".into()),
                refs.join(", ")
            )
        }
    };
    let signed = match (signature, enveloped) {
        (RequestSignature::RedirectVerified, _) => {
            "signed (HTTP-Redirect query signature, verified)"
        }
        (RequestSignature::Unsigned, true) => "enveloped XML signature (not verified by this IdP)",
        (RequestSignature::Unsigned, false) => "not signed",
    };
    let flag = |name| attr(&root, name).unwrap_or_else(|| "false".into());
    vec![
        fact("Issuer", or_none(issuer)),
        fact("ID", or_none(attr(&root, "ID"))),
        fact("ACS URL", acs),
        fact("Protocol binding", or_none(attr(&root, "ProtocolBinding"))),
        fact("Destination", or_none(attr(&root, "Destination"))),
        fact("NameID policy", name_id_policy),
        fact("ForceAuthn", flag("ForceAuthn")),
        fact("IsPassive", flag("IsPassive")),
        fact("RequestedAuthnContext", authn_context),
        fact("Signature", signed),
    ]
}

/// The summary of a response: its signatures (algorithm and what each covers), the validity
/// window and the audience.
pub fn response_summary(xml: &str) -> Vec<Fact> {
    let Some(doc) = parse(xml) else {
        return vec![fact(
            "Response",
            "not parsed (it declares a DTD or is not well-formed XML): shown as minted",
        )];
    };
    let Some(root) = doc.get_root_element() else {
        return vec![fact("Response", "empty")];
    };
    let nodes = descendants(&root);
    let root = Some(root);
    let mut facts = vec![
        fact(
            "Document element",
            root.as_ref().map(|r| r.get_name()).unwrap_or_default(),
        ),
        fact("Destination", or_none(attr(&root, "Destination"))),
        fact("InResponseTo", or_none(attr(&root, "InResponseTo"))),
        fact(
            "Status",
            or_none(attr(&first(&nodes, PROTOCOL_NS, "StatusCode"), "Value")),
        ),
    ];
    let signatures = all(&nodes, DSIG_NS, "Signature");
    if signatures.is_empty() {
        facts.push(fact("Signature", "none: nothing is signed"));
    }
    for signature in &signatures {
        let inner = descendants(signature);
        let method = attr(&first(&inner, DSIG_NS, "SignatureMethod"), "Algorithm");
        let digest = attr(&first(&inner, DSIG_NS, "DigestMethod"), "Algorithm");
        let reference = attr(&first(&inner, DSIG_NS, "Reference"), "URI");
        let parent = signature
            .get_parent()
            .map(|p| p.get_name())
            .unwrap_or_default();
        let covers = reference
            .as_deref()
            .and_then(|uri| uri.strip_prefix('#'))
            .and_then(|id| {
                nodes
                    .iter()
                    .find(|n| n.get_property_no_ns("ID").as_deref() == Some(id))
                    .map(|n| format!("the {} with ID {id}", n.get_name()))
            })
            .unwrap_or_else(|| format!("Reference URI {}", or_none(reference.clone())));
        facts.push(fact(
            "Signature",
            format!(
                "{} (digest {}), in the {parent}, covers {covers}",
                short(method),
                short(digest)
            ),
        ));
    }
    if first(&nodes, ASSERTION_NS, "EncryptedAssertion").is_some() {
        facts.push(fact(
            "Assertion",
            "encrypted (EncryptedAssertion): its content is hidden here",
        ));
    }
    let conditions = first(&nodes, ASSERTION_NS, "Conditions");
    let confirmation = first(&nodes, ASSERTION_NS, "SubjectConfirmationData");
    let authn = first(&nodes, ASSERTION_NS, "AuthnStatement");
    let audiences: Vec<String> = all(&nodes, ASSERTION_NS, "Audience")
        .iter()
        .map(Node::get_content)
        .collect();
    facts.extend([
        fact("Issued", or_none(attr(&root, "IssueInstant"))),
        fact(
            "Valid (Conditions)",
            format!(
                "from {} until {}",
                or_none(attr(&conditions, "NotBefore")),
                or_none(attr(&conditions, "NotOnOrAfter"))
            ),
        ),
        fact(
            "Bearer confirmation",
            format!(
                "until {}, recipient {}",
                or_none(attr(&confirmation, "NotOnOrAfter")),
                or_none(attr(&confirmation, "Recipient"))
            ),
        ),
        fact("Session ends", or_none(attr(&authn, "SessionNotOnOrAfter"))),
        fact(
            "Audience",
            if audiences.is_empty() {
                "(none)".into()
            } else {
                audiences.join(", ")
            },
        ),
        fact(
            "NameID",
            or_none(first(&nodes, ASSERTION_NS, "NameID").map(|n| n.get_content())),
        ),
    ]);
    facts
}

/// The fragment of an algorithm URI people know it by (`rsa-sha256`, `sha256`).
fn short(uri: Option<String>) -> String {
    match uri {
        None => "(none)".into(),
        Some(uri) => uri.rsplit(['#', '/']).next().unwrap_or(&uri).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" ForceAuthn="true" AssertionConsumerServiceURL="https://sp/acs"><saml:Issuer>https://sp/md</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/><samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></samlp:RequestedAuthnContext></samlp:AuthnRequest>"#;

    fn value(facts: &[Fact], label: &str) -> String {
        facts
            .iter()
            .find(|f| f.label == label)
            .map(|f| f.value.clone())
            .unwrap_or_else(|| panic!("no {label} in {facts:?}"))
    }

    #[test]
    fn a_request_is_summarised_by_what_it_asks_for() {
        let facts = request_summary(REQUEST, RequestSignature::Unsigned);
        assert_eq!(value(&facts, "Issuer"), "https://sp/md");
        assert_eq!(value(&facts, "ACS URL"), "https://sp/acs");
        assert_eq!(
            value(&facts, "NameID policy"),
            "Format urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress, AllowCreate true"
        );
        assert_eq!(value(&facts, "ForceAuthn"), "true");
        assert_eq!(value(&facts, "IsPassive"), "false");
        assert_eq!(
            value(&facts, "RequestedAuthnContext"),
            "minimum urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        );
        assert_eq!(value(&facts, "Signature"), "not signed");
        let signed = request_summary(REQUEST, RequestSignature::RedirectVerified);
        assert!(value(&signed, "Signature").contains("verified"));
    }

    #[test]
    fn pretty_printing_indents_and_never_parses_a_dtd() {
        let pretty = pretty(REQUEST);
        assert!(pretty.starts_with("<samlp:AuthnRequest"), "{pretty}");
        assert!(
            pretty.contains("\n  <saml:Issuer>https://sp/md</saml:Issuer>\n"),
            "{pretty}"
        );
        let xxe = format!(r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>{REQUEST}"#);
        assert_eq!(super::pretty(&xxe), xxe);
        assert_eq!(super::pretty("<a"), "<a");
    }

    #[test]
    fn short_names_of_algorithms() {
        assert_eq!(
            short(Some(
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256".into()
            )),
            "rsa-sha256"
        );
        assert_eq!(
            short(Some("http://www.w3.org/2001/04/xmlenc#sha256".into())),
            "sha256"
        );
        assert_eq!(short(None), "(none)");
    }
}
