//! Safe, read-only helpers over the one libxml2 tree (`RoNode`): namespace-aware element tests,
//! child lookup, text content and an iterative (stack-safe) document walk.

use libxml::readonly::RoNode;
use libxml::tree::NodeType;

use crate::reason::{Reason, Rejection};

/// SAML 2.0 protocol namespace (`samlp:`).
pub const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 assertion namespace (`saml:`).
pub const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// XML-DSig namespace (`ds:`).
pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The `xml:` namespace (for `xml:id`).
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
/// The XML Schema instance namespace (for `xsi:type`).
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// `value` without leading and trailing XML whitespace (space, tab, CR, LF: XML 1.0 `S`), which
/// is what schema whitespace collapsing removes. Other Unicode spaces (NBSP, EM SPACE…) are
/// content: trimming them would make `"admin\u{A0}"` the identity `"admin"`.
pub fn trim_xml_whitespace(value: &str) -> &str {
    value.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// Whether `node` is an element named `{ns}local`.
pub fn is(node: RoNode, ns: &str, local: &str) -> bool {
    super::dsig::element_is(node, ns, local)
}

/// The element children of `node`, in document order.
pub fn element_children(node: RoNode) -> impl Iterator<Item = RoNode> {
    std::iter::successors(node.get_first_child(), |n| n.get_next_sibling())
        .filter(|n| n.is_element_node())
}

/// Element children named `{ns}local`.
pub fn children(
    node: RoNode,
    ns: &'static str,
    local: &'static str,
) -> impl Iterator<Item = RoNode> {
    element_children(node).filter(move |c| is(*c, ns, local))
}

/// The only child named `{ns}local`: `Ok(None)` if absent, `structure.malformed` if repeated.
pub fn at_most_one(
    node: RoNode,
    ns: &'static str,
    local: &'static str,
) -> Result<Option<RoNode>, Rejection> {
    let mut it = children(node, ns, local);
    let first = it.next();
    if it.next().is_some() {
        return Err(Rejection::new(
            Reason::RequiredElementMissingOrMalformed,
            format!("<{}> contains more than one <{local}>", node.get_name()),
        ));
    }
    Ok(first)
}

/// The only child named `{ns}local`, required.
pub fn exactly_one(
    node: RoNode,
    ns: &'static str,
    local: &'static str,
) -> Result<RoNode, Rejection> {
    at_most_one(node, ns, local)?.ok_or_else(|| {
        Rejection::new(
            Reason::RequiredElementMissingOrMalformed,
            format!("<{}> has no <{local}>", node.get_name()),
        )
    })
}

/// The text content of `node` (all descendant text, joined), as `RoNode::get_content`.
pub fn text(node: RoNode) -> String {
    super::dsig::text_content(node)
}

/// An unqualified attribute's value.
pub fn attr(node: RoNode, name: &str) -> Option<String> {
    super::dsig::attribute_no_ns(node, name)
}

/// A required unqualified attribute's value (`structure.malformed` when absent).
pub fn required_attr(node: RoNode, name: &str) -> Result<String, Rejection> {
    attr(node, name).ok_or_else(|| {
        Rejection::new(
            Reason::RequiredElementMissingOrMalformed,
            format!("<{}> has no {name} attribute", node.get_name()),
        )
    })
}

/// The text of a simple-content element (Issuer, NameID, Audience): all descendant text joined,
/// so a comment inside the value cannot truncate it; surrounding XML whitespace trimmed. An element
/// child is refused, since these types have simple content only.
pub fn simple_text(node: RoNode) -> Result<String, Rejection> {
    if element_children(node).next().is_some() {
        return Err(Rejection::new(
            Reason::RequiredElementMissingOrMalformed,
            format!(
                "<{}> must contain only text, found a child element",
                node.get_name()
            ),
        ));
    }
    Ok(trim_xml_whitespace(&text(node)).to_owned())
}

/// Every element of the subtree rooted at `root` (root included), in document order, walked
/// without recursion (so that depth cannot exhaust the stack) and without a stack: down to the
/// first child, else on to the next sibling, else up to the nearest ancestor that has one.
pub fn descendants(root: RoNode) -> Vec<RoNode> {
    let mut out = Vec::new();
    let mut node = root;
    loop {
        if node.is_element_node() {
            out.push(node);
        }
        if let Some(child) = node.get_first_child() {
            node = child;
            continue;
        }
        loop {
            if node == root {
                return out;
            }
            if let Some(next) = node.get_next_sibling() {
                node = next;
                break;
            }
            match node.get_parent() {
                Some(parent) => node = parent,
                None => return out,
            }
        }
    }
}

/// Whether the subtree holds an unexpanded entity reference node (impossible without a DTD, which
/// is refused, but checked so that no code path ever reads one).
pub fn has_entity_reference(root: RoNode) -> bool {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if matches!(
            n.get_type(),
            Some(NodeType::EntityRefNode) | Some(NodeType::EntityNode)
        ) {
            return true;
        }
        stack.extend(std::iter::successors(n.get_first_child(), |c| {
            c.get_next_sibling()
        }));
    }
    false
}

/// The ancestors of `node`, nearest first (the document node excluded).
pub fn ancestors(node: RoNode) -> impl Iterator<Item = RoNode> {
    std::iter::successors(node.get_parent(), |n| n.get_parent()).filter(|n| n.is_element_node())
}

/// `prefix:Name` style label for messages.
pub fn label(node: RoNode) -> String {
    let prefix = node
        .get_namespace()
        .map(|n| n.get_prefix())
        .unwrap_or_default();
    if prefix.is_empty() {
        node.get_name()
    } else {
        format!("{prefix}:{}", node.get_name())
    }
}

/// The raw name of `el` or of one of its attributes when it still contains `:` — what libxml2
/// leaves when a prefix is not bound to a namespace (a resolved name holds only the local part).
pub fn unbound_prefixed_name(el: RoNode) -> Option<String> {
    let prefixed = |name: &str| name.contains(':').then(|| name.to_owned());
    super::dsig::with_name(el, prefixed)
        .or_else(|| super::dsig::find_attribute(el, |name, _| prefixed(name)))
}

/// The value of `el`'s `xml:id` attribute. Most elements have none, so its absence is found
/// without the copies a value lookup makes.
pub fn xml_id(el: RoNode) -> Option<String> {
    super::dsig::find_attribute(el, |name, ns| {
        (name == "id" && ns == Some(XML)).then_some(())
    })?;
    el.get_property_ns("id", XML)
}
